#!/usr/bin/env bash
# Run the unit and integration tests on the oldest and the newest supported ansible-core:
#   .venv-2.17  Python 3.11 + ansible-core 2.17.x
#   .venv-2.21  Python 3.13 + ansible-core 2.21.x  (2.21 needs Python >= 3.12)
# The default interpreter's run (ansible-core 2.19, .venv) is `make unit integration`.
# Each venv is (re)built only when its pins change (stamp file); pip's wheel cache is shared,
# so a rebuild downloads nothing it already has.
#
#   scripts/compat.sh                 both
#   scripts/compat.sh 2.17            one
#   COMPAT_PYTEST_ARGS='-k role' scripts/compat.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
say() { printf '[compat] %s\n' "$*" >&2; }

# name | python | ansible-core pin
MATRIX=(
    "2.17|${COMPAT_PY_OLD:-/root/.pyenv/versions/3.11.7/bin/python3}|${COMPAT_CORE_OLD:-ansible-core==2.17.14}"
    "2.21|${COMPAT_PY_NEW:-/root/.pyenv/versions/3.13.0/bin/python3}|${COMPAT_CORE_NEW:-ansible-core==2.21.5}"
)

# Test tooling pinned like requirements-dev.txt (only what pytest needs here).
test_pins() {
    grep -E '^(pytest|pytest-timeout|pytest-xdist|requests|ansible-runner|redis)==' requirements-dev.txt
}

core_version() {
    "$1/bin/python" -c 'from ansible.release import __version__; print(__version__)'
}

find_python() {
    local wanted=$1 minor=$2
    if [[ -x "$wanted" ]]; then echo "$wanted"; return 0; fi
    command -v "python$minor" 2>/dev/null && return 0
    return 1
}

build() {
    local name=$1 python=$2 core=$3
    local venv stamp minor
    venv="$ROOT/.venv-$name"
    minor=$([[ $name == 2.17 ]] && echo 3.11 || echo 3.13)
    python=$(find_python "$python" "$minor") || { say "no Python $minor for ansible-core $name (set COMPAT_PY_*)"; return 1; }
    stamp=$( (echo "$python $core"; cat requirements.txt; test_pins) | sha256sum | cut -d' ' -f1)
    if [[ -x "$venv/bin/python" && "$(cat "$venv/.argus-compat.sha256" 2>/dev/null)" == "$stamp" ]]; then
        say "$venv up to date (ansible-core $(core_version "$venv"))"
        return 0
    fi
    say "building $venv with $python ($("$python" -V 2>&1)) and $core"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    local pins
    mapfile -t pins < <(test_pins)
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "$core" -r requirements.txt "${pins[@]}" 2>&1 |
        sed '/is ignored: it is neither/d'
    echo "$stamp" >"$venv/.argus-compat.sha256"
}

run_tests() {
    local name=$1 venv
    venv="$ROOT/.venv-$name"
    say "ansible-core $name: $(core_version "$venv"), $("$venv/bin/python" -V)"
    # The tests find ansible-playbook next to sys.executable, so they use this venv's ansible.
    # Two sessions, like `make unit` and `make integration` (both suites have test_preflight.py...).
    local suite rc=0
    for suite in tests/unit tests/integration; do
        say "ansible-core $name: $suite"
        # shellcheck disable=SC2086 # COMPAT_PYTEST_ARGS is a list of words
        PATH="$venv/bin:$PATH" "$venv/bin/python" -m pytest -p no:cacheprovider -q "$suite" ${COMPAT_PYTEST_ARGS:-} || rc=1
    done
    return $rc
}

want=${1:-all}
status=0
for row in "${MATRIX[@]}"; do
    IFS='|' read -r name python core <<<"$row"
    [[ "$want" == all || "$want" == "$name" ]] || continue
    build "$name" "$python" "$core"
    if ! run_tests "$name"; then
        say "ansible-core $name: FAILED"
        status=1
    fi
done
exit $status

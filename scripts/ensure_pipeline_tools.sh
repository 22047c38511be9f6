#!/usr/bin/env bash
# What tests/integration/test_breaker_pipelines.py needs besides Docker, installed when missing
# (idempotent; a second run only checks):
#   - Debian's redis-server: a real shared fact cache. The tests start their own server on a free
#     loopback port and stop it; this script only installs the package (whose own service, where an
#     init system starts one, the tests do not use).
#   - community.general, for its redis cache plugin: PyPI ships it only inside the `ansible`
#     package (~50 MB, 100+ collections). Only that collection is extracted from the pinned wheel
#     into build/pipeline-collections; nothing else of the package is needed or installed.
#   - in the Python that runs the tests (default .venv/bin/python; scripts/compat.sh's venvs get
#     them through the tests' fixture): ansible-runner and the redis client, pinned in
#     requirements-dev.txt.
#
#   scripts/ensure_pipeline_tools.sh [PYTHON]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
say() { printf '[ensure_pipeline_tools] %s\n' "$*" >&2; }

PY=${1:-$ROOT/.venv/bin/python}
# community.general 11.4.2 (requires ansible-core >= 2.16) is the one in this `ansible` release.
ANSIBLE_WHEEL_PIN=ansible==12.3.0
COLLECTIONS=$ROOT/build/pipeline-collections
LOCK_WAIT=${ARGUS_PIPELINE_TOOLS_WAIT:-600}

[[ -x "$PY" ]] || { say "no Python at $PY (run 'make venv')"; exit 1; }
mkdir -p "$ROOT/build"
# Parallel test sessions (pytest-xdist workers, compat runs) take turns; the wait has a deadline.
exec 9>"$ROOT/build/.pipeline-tools.lock"
flock -w "$LOCK_WAIT" 9 || { say "another install still runs after ${LOCK_WAIT}s"; exit 1; }

# -- redis-server (Debian) -------------------------------------------------------------------
if ! command -v redis-server >/dev/null 2>&1; then
    if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        say "redis-server is missing and this script installs it only as root on Debian:"
        say "install it (e.g. 'sudo apt-get install redis-server') and run the tests again."
        exit 1
    fi
    say "installing Debian's redis-server ..."
    export DEBIAN_FRONTEND=noninteractive
    apt_install() { apt-get install -y -qq --no-install-recommends redis-server >/dev/null; }
    # apt-get update only when the package is not known yet (fresh machine / stale lists).
    apt-cache show redis-server >/dev/null 2>&1 || apt-get update -qq
    apt_install || { apt-get update -qq && apt_install; }
    command -v redis-server >/dev/null 2>&1 || { say "redis-server not found after install"; exit 1; }
fi

# -- community.general from the ansible wheel ------------------------------------------------
target=$COLLECTIONS/ansible_collections/community/general
if [[ "$(cat "$COLLECTIONS/.source" 2>/dev/null)" != "$ANSIBLE_WHEEL_PIN" || ! -f $target/plugins/cache/redis.py ]]; then
    say "extracting community.general from $ANSIBLE_WHEEL_PIN ..."
    work=$(mktemp -d "$ROOT/build/.pipeline-collections.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    "$PY" -m pip download -q --disable-pip-version-check --no-deps "$ANSIBLE_WHEEL_PIN" -d "$work/wheel" 2>&1 |
        sed '/is ignored: it is neither/d'
    "$PY" - "$work/wheel" "$work/out" <<'EOF'
import pathlib, sys, zipfile

wheel = next(pathlib.Path(sys.argv[1]).glob("ansible-*.whl"))
prefix = "ansible_collections/community/general/"
with zipfile.ZipFile(wheel) as archive:
    members = [name for name in archive.namelist() if name.startswith(prefix)]
    if not members:
        sys.exit(f"{wheel.name} holds no {prefix}")
    archive.extractall(sys.argv[2], members)
EOF
    echo "$ANSIBLE_WHEEL_PIN" >"$work/out/.source"
    rm -rf "$COLLECTIONS"
    mv "$work/out" "$COLLECTIONS"
fi

# -- ansible-runner and the redis client in the tests' Python --------------------------------
mapfile -t pins < <(grep -E '^(ansible-runner|redis)==' requirements-dev.txt)
[[ ${#pins[@]} -eq 2 ]] || { say "requirements-dev.txt must pin ansible-runner and redis"; exit 1; }
if ! "$PY" - "${pins[@]}" <<'EOF'; then
import sys
from importlib.metadata import PackageNotFoundError, version

for pin in sys.argv[1:]:
    name, wanted = pin.split("==")
    try:
        if version(name) != wanted:
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
EOF
    say "installing ${pins[*]} into $("$PY" -c 'import sys; print(sys.prefix)') ..."
    "$PY" -m pip install -q --disable-pip-version-check "${pins[@]}" 2>&1 | sed '/is ignored: it is neither/d'
fi
say "ready: $(redis-server --version | cut -d' ' -f1-3), community.general from $ANSIBLE_WHEEL_PIN, ${pins[*]}"

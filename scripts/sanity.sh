#!/usr/bin/env bash
# Run `ansible-test sanity` on a copy of the collection.
#
# ansible-test derives the collection name from the *real* path of the cwd, which must end in
# ansible_collections/<namespace>/<name>; the build/collections symlink is not enough. So we copy
# the tracked + untracked-but-not-ignored files into build/sanity/ansible_collections/argusai/resilience.
# The copy gets its own (empty) git repo: ansible-test walks up from the cwd to find a content root,
# and without one it would find this repo's .git, where build/ is ignored, and skip every target.
#
# Extra arguments are passed to ansible-test (e.g. `scripts/sanity.sh --test pep8`).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
say() { printf '[sanity] %s\n' "$*" >&2; }
VENV=${VENV:-$ROOT/.venv}
ANSIBLE_TEST="$VENV/bin/ansible-test"
PYVER=$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')

# --- pip bootstrap script for ansible-test's sanity virtualenvs (offline workaround) ---------
pip_version=$("$VENV/bin/python" - <<'PY'
import re, pathlib, ansible_test
src = pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
m = re.search(r"default_packages = dict\(\s*pip='([^']+)'", src.read_text())
print(m.group(1) if m else "")
PY
)
if [[ -z "$pip_version" ]]; then
    say "could not find the pip version ansible-test bootstraps; continuing without the stand-in"
else
    cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
    if [[ ! -f "$cache" ]]; then
        url="https://ci-files.testing.ansible.com/ansible-test/get-pip-${pip_version}.py"
        mkdir -p "$(dirname "$cache")"
        if "$VENV/bin/python" - "$url" "$cache.download" <<'PY' 2>/dev/null; then
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=5) as r, open(sys.argv[2], "wb") as f:
    f.write(r.read())
PY
            mv "$cache.download" "$cache"
            say "downloaded the real get-pip $pip_version to $cache"
        else
            rm -f "$cache.download"
            cp "$ROOT/scripts/get_pip_standin.py" "$cache"
            say "get-pip download impossible here; installed the ensurepip stand-in at $cache"
        fi
    fi
fi

# --- shellcheck: ansible-test's "shellcheck" sanity test is skipped (with a warning) without it --
if ! command -v shellcheck >/dev/null 2>&1; then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        say "installing Debian's shellcheck for the shellcheck sanity test ..."
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq shellcheck >/dev/null 2>&1 ||
            { apt-get update -qq && apt-get install -y -qq shellcheck >/dev/null; } ||
            say "could not install shellcheck; ansible-test will skip that test"
    else
        say "shellcheck not found; ansible-test will skip the shellcheck sanity test"
    fi
fi

# --- copy the collection to a real ansible_collections/argusai/resilience path ---------------
DEST="$ROOT/build/sanity/ansible_collections/argusai/resilience"
rm -rf "$DEST"
mkdir -p "$DEST"
git ls-files -z -co --exclude-standard |
    while IFS= read -r -d '' f; do
        case "$f" in build/* | .venv/* | .cache/* | tests/output/*) continue ;; esac
        [[ -e "$f" || -L "$f" ]] && printf '%s\0' "$f"
    done |
    tar -C "$ROOT" --null -T - -cf - | tar -C "$DEST" -xf -

cd "$DEST"
git init -q .  # ansible-test's git provider lists `git ls-files --cached --others --exclude-standard`
export PATH="$VENV/bin:$PATH"
unset ANSIBLE_CONFIG ANSIBLE_COLLECTIONS_PATH
say "ansible-test sanity --local --python $PYVER (in $DEST)"
# No --skip-test: every sanity test ansible-test selects runs offline here (pip packages come
# from PyPI, which is reachable; the pip bootstrap is handled above).
# (sed drops pip's noise about this machine's unused local index locations; pipefail keeps rc.)
"$ANSIBLE_TEST" sanity --local --python "$PYVER" --color no "$@" 2>&1 |
    sed -u '/is ignored: it is neither a file nor a directory/d'

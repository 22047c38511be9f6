#!/usr/bin/env bash
# Create .venv and make the collection visible to Ansible. Idempotent: pip runs only when
# requirements*.txt changed since the last successful install (stamp file in .venv).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
say() { printf '[bootstrap] %s\n' "$*" >&2; }

VENV=${VENV:-$ROOT/.venv}
STAMP="$VENV/.argus-requirements.sha256"

pick_python() {
    local c
    for c in "${PYTHON:-}" /root/.pyenv/versions/3.11.7/bin/python3 python3.11 python3.12 python3.13 python3; do
        [[ -n "$c" ]] || continue
        if command -v "$c" >/dev/null 2>&1 &&
            "$c" -c 'import sys, venv, ensurepip; assert sys.version_info >= (3, 11)' >/dev/null 2>&1; then
            command -v "$c"
            return 0
        fi
    done
    return 1
}

want=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    PY=$(pick_python) || {
        say "Need Python >= 3.11 with venv/ensurepip (set PYTHON=/path/to/python3.11)."
        exit 1
    }
    say "creating $VENV with $PY ($("$PY" -V 2>&1))"
    rm -rf "$VENV"
    "$PY" -m venv "$VENV"
fi

if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$want" ]]; then
    say "installing requirements-dev.txt ..."
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 | sed "/is ignored: it is neither/d"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements-dev.txt 2>&1 | sed "/is ignored: it is neither/d"
    echo "$want" >"$STAMP"
else
    say "requirements unchanged; skipping pip."
fi

# The collection, as Ansible sees it: build/collections/ansible_collections/argusai/resilience -> repo root
link="$ROOT/build/collections/ansible_collections/argusai/resilience"
mkdir -p "$(dirname "$link")"
if [[ "$(readlink "$link" 2>/dev/null)" != "$ROOT" ]]; then
    rm -rf "$link"
    ln -s "$ROOT" "$link"
fi
mkdir -p "$ROOT/.cache/facts"

#!/usr/bin/env bash
# Ensure the tools to run a process in a network namespace of its own: `ip netns` (iproute2) and
# `nsenter` (util-linux). The tests that play several controllers on one daemon need them
# (tests/integration/test_daemon_state.py); making namespaces needs root.
#  - both present and root    -> exit 0
#  - root on Debian           -> apt-get install iproute2 util-linux
#  - anything else            -> explain, exit 1
set -euo pipefail

say() { printf '[ensure_netns] %s\n' "$*" >&2; }

if [[ "$(id -u)" != 0 ]]; then
    say "network namespaces need root: run the tests as root (CI does)."
    exit 1
fi
if command -v ip >/dev/null 2>&1 && command -v nsenter >/dev/null 2>&1; then
    exit 0
fi
if [[ ! -f /etc/debian_version ]] || ! command -v apt-get >/dev/null 2>&1; then
    say "ip (iproute2) or nsenter (util-linux) is missing and this script only installs them on Debian."
    exit 1
fi
say "Installing Debian's iproute2 and util-linux ..."
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-install-recommends iproute2 util-linux >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends iproute2 util-linux >/dev/null
fi
if ! command -v ip >/dev/null 2>&1 || ! command -v nsenter >/dev/null 2>&1; then
    say "still missing after the install"
    exit 1
fi

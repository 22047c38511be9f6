#!/usr/bin/env bash
# Ensure Debian's OpenSSH server binary is installed (the remote-host integration tests start their
# own sshd inside a network namespace, with their own config and keys; the machine's sshd service is
# never started or changed).
#  - /usr/sbin/sshd present      -> exit 0
#  - root on Debian              -> apt-get install openssh-server (without starting its service)
#  - anything else               -> explain, exit 1
set -euo pipefail

say() { printf '[ensure_sshd] %s\n' "$*" >&2; }

if [[ -x /usr/sbin/sshd ]] && command -v ssh >/dev/null 2>&1 && command -v ssh-keygen >/dev/null 2>&1; then
    say "OpenSSH present ($(/usr/sbin/sshd -V 2>&1 | head -1 || true))."
    exit 0
fi

if [[ "$(id -u)" != 0 || ! -f /etc/debian_version ]] || ! command -v apt-get >/dev/null 2>&1; then
    say "sshd is missing and this script only installs it on a root Debian machine: install openssh-server"
    say "(and openssh-client) yourself."
    exit 1
fi

# The package's postinst would start the ssh service on port 22 of this machine: forbid service
# starts for the install (policy-rc.d exit 101), unless the machine already has such a policy.
policy=/usr/sbin/policy-rc.d
own_policy=false
if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    own_policy=true
fi
cleanup() { if [[ "$own_policy" == true ]]; then rm -f "$policy"; fi; }
trap cleanup EXIT

say "Installing Debian's openssh-server ..."
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-install-recommends openssh-server openssh-client >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends openssh-server openssh-client >/dev/null
fi
[[ -x /usr/sbin/sshd ]] || { say "sshd not found after the install"; exit 1; }
say "OpenSSH installed ($(/usr/sbin/sshd -V 2>&1 | head -1 || true))."

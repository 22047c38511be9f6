#!/usr/bin/env bash
# Ensure a Docker Engine is reachable.
#  - `docker info` works            -> exit 0
#  - root on Debian, no daemon       -> install Debian's docker.io (if needed), start dockerd
#  - anything else                   -> explain what to do, exit 1
set -euo pipefail

LOG=${ARGUS_DOCKERD_LOG:-/var/log/argus-dockerd.log}
WAIT_SECONDS=${ARGUS_DOCKERD_WAIT:-60}

say() { printf '[ensure_docker] %s\n' "$*" >&2; }

docker_ok() { command -v docker >/dev/null 2>&1 && timeout 10 docker info >/dev/null 2>&1; }

if docker_ok; then
    say "Docker Engine reachable ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))."
    exit 0
fi

if [[ -n "${DOCKER_HOST:-}" ]]; then
    say "DOCKER_HOST=${DOCKER_HOST} is set but 'docker info' fails: start that engine or unset DOCKER_HOST."
    exit 1
fi

is_debian=false
[[ -f /etc/debian_version ]] && command -v apt-get >/dev/null 2>&1 && is_debian=true

if [[ "$(id -u)" != 0 || "$is_debian" != true ]]; then
    say "No Docker Engine is reachable and this script only self-installs on a root Debian machine."
    say "Install Docker Engine (e.g. 'apt-get install docker.io' or https://docs.docker.com/engine/install/),"
    say "start it (e.g. 'sudo systemctl start docker'), and make sure your user can run 'docker info'"
    say "(add it to the 'docker' group or set DOCKER_HOST)."
    exit 1
fi

DOCKERD=$(command -v dockerd || true)
[[ -z "$DOCKERD" && -x /usr/sbin/dockerd ]] && DOCKERD=/usr/sbin/dockerd
if [[ -z "$DOCKERD" ]]; then
    say "Installing Debian's docker.io ..."
    export DEBIAN_FRONTEND=noninteractive
    # apt-get update only when the package is not known yet (fresh machine / empty lists).
    if ! apt-cache show docker.io >/dev/null 2>&1; then
        apt-get update -qq
    fi
    if ! apt-get install -y -qq --no-install-recommends docker.io iptables >/dev/null; then
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends docker.io iptables >/dev/null
    fi
    DOCKERD=/usr/sbin/dockerd
fi
[[ -x "$DOCKERD" ]] || { say "dockerd not found after install"; exit 1; }

# A client that matches the daemon: prefer Debian's /usr/bin/docker if the PATH one is absent.
command -v docker >/dev/null 2>&1 || export PATH="/usr/bin:$PATH"

# Is the *default* daemon (pid file /var/run/docker.pid) already starting? Other dockerd processes
# (e.g. a test's private daemon on its own socket) do not count.
default_pid=$(cat /var/run/docker.pid 2>/dev/null || true)
if [[ -n "$default_pid" && "$(cat "/proc/$default_pid/comm" 2>/dev/null)" == dockerd ]]; then
    say "dockerd is already running (pid $default_pid); waiting for it to answer ..."
else
    # containerd: docker.io's dockerd starts its own managed containerd when none runs.
    # A dockerd killed hard (e.g. when CI ends a session) leaves its pid file behind.
    for pidfile in /var/run/docker.pid /var/run/docker/containerd/containerd.pid; do
        if [[ -f "$pidfile" ]]; then
            pid=$(cat "$pidfile" 2>/dev/null || true)
            if [[ -z "$pid" ]] || ! kill -0 "$pid" 2>/dev/null || [[ "$pidfile" == /var/run/docker.pid ]]; then
                rm -f "$pidfile"
            fi
        fi
    done
    say "Starting $DOCKERD (log: $LOG) ..."
    mkdir -p "$(dirname "$LOG")"
    # setsid + nohup: the daemon must survive the make/CI process group that started it.
    setsid nohup "$DOCKERD" >>"$LOG" 2>&1 </dev/null &
    disown || true
fi

deadline=$((SECONDS + WAIT_SECONDS))
until docker_ok; do
    if ((SECONDS >= deadline)); then
        say "dockerd did not answer within ${WAIT_SECONDS}s. Last lines of $LOG:"
        tail -n 40 "$LOG" >&2 || true
        exit 1
    fi
    sleep 1
done
say "Docker Engine ready ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))."

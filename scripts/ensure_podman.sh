#!/usr/bin/env bash
# Ensure Podman's Docker-compatible API answers on ARGUS_PODMAN_SOCK (default /run/argus-podman.sock)
# and holds the test image. Idempotent, like ensure_docker.sh:
#  - the socket answers                      -> only make sure the test image is there
#  - root on Debian                          -> install Debian's podman (if needed), write the
#                                               containers.conf this host needs, start
#                                               `podman system service --time=0` in the background
#  - anything else                           -> explain what to do, exit 1
# The test image comes from Docker when Docker has it (`docker save | podman load`), else it is
# built straight into Podman by ensure_test_image.sh (podman speaks the same import commands).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SOCK=${ARGUS_PODMAN_SOCK:-/run/argus-podman.sock}
LOG=${ARGUS_PODMAN_LOG:-/var/log/argus-podman.log}
PIDFILE=${ARGUS_PODMAN_PIDFILE:-/run/argus-podman.pid}
WAIT_SECONDS=${ARGUS_PODMAN_WAIT:-60}
# Project-owned configuration (the distribution's /usr/share and /etc files stay untouched).
CONF_DIR="$ROOT/build/podman"
CONF="$CONF_DIR/containers.conf"
IMAGE=${ARGUS_TEST_IMAGE:-$(sed -n 's/^TEST_IMAGE *= *"\(.*\)".*/\1/p' "$ROOT/tests/integration/conftest.py" 2>/dev/null | head -1 || true)}
IMAGE=${IMAGE:-argusai/testbox:latest}

say() { printf '[ensure_podman] %s\n' "$*" >&2; }

api_ok() {
    command -v podman >/dev/null 2>&1 && [[ -S "$SOCK" ]] &&
        timeout 10 podman --remote --url "unix://$SOCK" version >/dev/null 2>&1
}
api_version() { podman --remote --url "unix://$SOCK" version --format '{{.Server.Version}}' 2>/dev/null || echo '?'; }

ensure_image() {
    local remote=(podman --remote --url "unix://$SOCK")
    if "${remote[@]}" image exists "$IMAGE" 2>/dev/null; then
        say "$IMAGE present in Podman."
        return
    fi
    if command -v docker >/dev/null 2>&1 && timeout 10 docker image inspect "$IMAGE" >/dev/null 2>&1; then
        say "loading $IMAGE from Docker ..."
        docker save "$IMAGE" | "${remote[@]}" load >/dev/null
    else
        say "Docker has no $IMAGE: building it in Podman (ensure_test_image.sh through a docker->podman shim) ..."
        local shim="$CONF_DIR/bin"
        mkdir -p "$shim"
        printf '#!/bin/sh\nexec podman --remote --url "unix://%s" "$@"\n' "$SOCK" >"$shim/docker"
        chmod 0755 "$shim/docker"
        PATH="$shim:$PATH" bash "$ROOT/scripts/ensure_test_image.sh"
    fi
    "${remote[@]}" image exists "$IMAGE" || { say "$IMAGE is still missing in Podman"; exit 1; }
    say "$IMAGE loaded into Podman."
}

service_pid() {
    local pid
    pid=$(cat "$PIDFILE" 2>/dev/null || true)
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == podman ]] && echo "$pid"
}

# A service started from a checkout since deleted has lost its working directory (and maybe its
# containers.conf): the API answers, but every container start fails ("write child: broken pipe").
service_stale() {
    local conf
    conf=$(tr '\0' '\n' <"/proc/$1/environ" 2>/dev/null | sed -n 's/^CONTAINERS_CONF=//p')
    [[ "$(readlink "/proc/$1/cwd" 2>/dev/null)" == *" (deleted)" || ! -f "$conf" ]]
}

if pid=$(service_pid) && service_stale "$pid"; then
    say "podman system service (pid $pid) was started from a directory that is gone; replacing it ..."
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
fi

if api_ok; then
    say "Podman API answers on $SOCK (Podman $(api_version))."
    ensure_image
    exit 0
fi

# Only a root Debian machine installs and starts Podman by itself.
if [[ "$(id -u)" != 0 || ! -f /etc/debian_version ]] || ! command -v apt-get >/dev/null 2>&1; then
    say "Podman's API does not answer on $SOCK and this script only self-installs on a root Debian machine."
    say "Install Podman >= 4.3 (e.g. 'apt-get install podman' / 'dnf install podman'), start its Docker-compatible"
    say "API with 'podman system service --time=0 unix://$SOCK' (rootless: set ARGUS_PODMAN_SOCK to a socket you"
    say "own, e.g. \$XDG_RUNTIME_DIR/podman/podman.sock, or 'systemctl --user start podman.socket'), then rerun."
    exit 1
fi

# netavark + aardvark-dns: container names resolve on user-defined networks (the CNI fallback has
# no DNS); runc is the OCI runtime (crun is only recommended).
PACKAGES=(podman netavark aardvark-dns runc conmon iptables)
apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null; }
if ! command -v podman >/dev/null 2>&1; then
    say "Installing Debian's podman ..."
    # the package lists are refreshed only when the install fails with them (stale or empty)
    apt_install || { apt-get update -qq && apt_install; }
fi
command -v podman >/dev/null 2>&1 || { say "podman not found after install"; exit 1; }

# Rootful Podman gives containers nofile/nproc limits of about a million, above what this host's
# hard limits let the runtime set (the container then fails to start): use the host's limits. The
# service lowers its own nproc limit to kernel.pid_max, so nproc may not exceed that either.
# No systemd here: cgroups through cgroupfs, events in a file (the API's /events reads them).
mkdir -p "$CONF_DIR"
nofile=$(ulimit -Hn)
nproc=$(ulimit -Hu)
[[ "$nofile" == unlimited ]] && nofile=1048576
pid_max=$(cat /proc/sys/kernel/pid_max 2>/dev/null || echo 32768)
[[ "$nproc" == unlimited || "$nproc" -gt "$pid_max" ]] && nproc=$pid_max
cat >"$CONF.tmp" <<EOF
# Written by scripts/ensure_podman.sh; read by the Podman API service through CONTAINERS_CONF.
[containers]
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"

[network]
network_backend = "netavark"
EOF
mv "$CONF.tmp" "$CONF"
export CONTAINERS_CONF="$CONF"

start_service() {
    rm -f "$PIDFILE" "$SOCK" # left by a service that was killed
    say "Starting podman system service on $SOCK (log: $LOG, config: $CONF) ..."
    mkdir -p "$(dirname "$LOG")" "$(dirname "$SOCK")" "$(dirname "$PIDFILE")"
    # setsid + nohup: the service must survive the make/CI process group that started it.
    # Run from /: the service must not hold on to this checkout's directory.
    setsid nohup env --chdir=/ podman system service --time=0 "unix://$SOCK" >>"$LOG" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    disown || true
}

started=false
if pid=$(service_pid); then
    say "podman system service is already running (pid $pid); waiting for it to answer ..."
else
    start_service
    started=true
fi

give_up() {
    say "$1 Last lines of $LOG:"
    tail -n 40 "$LOG" >&2 || true
    exit 1
}

deadline=$((SECONDS + WAIT_SECONDS))
until api_ok; do
    if ! service_pid >/dev/null; then
        # one that was stopping when we looked is replaced; ours must not die
        [[ "$started" == true ]] && give_up "podman system service exited."
        start_service
        started=true
    fi
    ((SECONDS < deadline)) || give_up "Podman's API did not answer on $SOCK within ${WAIT_SECONDS}s."
    sleep 1
done
say "Podman API ready on $SOCK (Podman $(api_version))."
ensure_image

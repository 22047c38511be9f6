#!/usr/bin/env bash
# Ensure the local test image exists. It is built from Debian's busybox-static with
# `docker import`: nothing is pulled from any registry.
#
# The image name is defined once, in tests/integration/conftest.py (TEST_IMAGE); this script
# reads it from there so the two cannot drift. Override with ARGUS_TEST_IMAGE.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
say() { printf '[ensure_test_image] %s\n' "$*" >&2; }

IMAGE=${ARGUS_TEST_IMAGE:-$(sed -n 's/^TEST_IMAGE *= *"\(.*\)".*/\1/p' "$ROOT/tests/integration/conftest.py" 2>/dev/null | head -1)}
IMAGE=${IMAGE:-argusai/testbox:latest}

if [[ "${1:-}" != "--force" ]] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
    say "$IMAGE present."
    exit 0
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# 1. a static busybox binary from Debian's package (download only, no install needed)
# Prefer what is already on disk: an installed busybox-static, or a .deb in apt's cache.
BB=""
if dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed' && [[ -x /bin/busybox ]]; then
    BB=/bin/busybox
else
    deb=$(find /var/cache/apt/archives -maxdepth 1 -name 'busybox-static_*.deb' 2>/dev/null | sort | tail -1)
    if [[ -z "$deb" ]]; then
        chmod 0755 "$WORK" # apt's _apt user downloads into it
        (cd "$WORK" && apt-get download busybox-static >/dev/null 2>&1) || {
            say "apt-get download busybox-static failed; refreshing package lists ..."
            apt-get update -qq
            (cd "$WORK" && apt-get download busybox-static >/dev/null)
        }
        deb=$(find "$WORK" -maxdepth 1 -name 'busybox-static_*.deb' | head -1)
    fi
    dpkg-deb -x "$deb" "$WORK/deb"
    BB="$WORK/deb/bin/busybox"
fi
"$BB" --list >"$WORK/applets"
grep -qx nc "$WORK/applets" || { say "$BB has no nc applet"; exit 1; }

# 2. minimal rootfs: /bin/busybox + a symlink per applet
R="$WORK/rootfs"
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,var/www,proc,sys,dev,run}
chmod 1777 "$R/tmp"
install -m 0755 "$BB" "$R/bin/busybox"
while IFS= read -r applet; do
    [[ "$applet" == busybox ]] && continue
    ln -sf busybox "$R/bin/$applet"
done <"$WORK/applets"
cat >"$R/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PW
cat >"$R/etc/group" <<'GR'
root:x:0:
nogroup:x:65534:
GR
echo 'hosts: files dns' >"$R/etc/nsswitch.conf"
echo 'argusai testbox' >"$R/var/www/index.html"

# 3. import it
tar -C "$R" --numeric-owner --owner=0 --group=0 -c . |
    docker import \
        --change 'CMD ["/bin/sh"]' \
        --change 'ENV PATH=/bin:/sbin:/usr/bin:/usr/sbin' \
        --change 'LABEL org.opencontainers.image.title=argusai-testbox' \
        - "$IMAGE" >/dev/null
say "built $IMAGE ($(docker image inspect --format '{{.Size}}' "$IMAGE") bytes)"

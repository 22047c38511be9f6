"""The integration tests that cannot hold on Podman yet, each with why (``make integration-podman``).

Each entry is ``nodeid: (reason, run)``. ``run=True``: the test runs as a strict xfail, so the day
it passes the suite fails until its entry goes. ``run=False``: not run (it would only wait out a
timeout), reported as XFAIL with the reason. Measured against Debian's Podman 4.3.1 (cgroup v1, no
systemd). An entry naming a test that no longer exists fails the collection.
"""

from __future__ import annotations

import pytest

# Empty since issue 16 part 2: every test of make integration-podman holds on Podman 4.3.1 (what still
# differs is handled by the collection and asserted per runtime in the tests, see docs/runtimes.md).
PODMAN_PENDING: dict[str, tuple[str, bool]] = {}


def mark_podman_pending(items) -> None:
    """Mark the collected items listed above; fail on an entry of a collected file that matched nothing."""
    found = set()
    for item in items:
        nodeid = item.nodeid.split("[")[0]
        if nodeid in PODMAN_PENDING:
            reason, run = PODMAN_PENDING[nodeid]
            found.add(nodeid)
            item.add_marker(pytest.mark.xfail(reason=f"Podman: {reason}", run=run, strict=True))
    collected_files = {item.nodeid.split("::")[0] for item in items}
    stale = [nodeid for nodeid in PODMAN_PENDING if nodeid.split("::")[0] in collected_files and nodeid not in found]
    if stale:
        raise pytest.UsageError(f"podman_pending.py names tests that do not exist: {stale}")

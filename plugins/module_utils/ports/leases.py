# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host-wide port leases: concurrent resolutions on one host do not hand out the same port.

Probing and using a port are two steps: two resolvers probing at the same time would both see it
free. The window is narrowed by a host-wide lease file: a resolution takes an exclusive
``fcntl.flock`` on ``<state dir>/reservations.lock`` (:mod:`host_lock`) for the whole scan, skips
the ports listed in ``reservations.json`` whose lease has not expired, and writes its own picks
there (lease ``lease_seconds``, default 120 s) before releasing the lock. ``flock`` locks belong
to open file descriptions, so threads, processes and separate ``ansible-playbook`` runs of the
same host all serialise on it. The state dir is ``$ARGUS_PORT_STATE_DIR`` or
``/tmp/argusai-ports``. A lease held under the same ``owner`` (the module passes
``<project>/<service>``) does not block its owner, so re-running a project gets its port back.
What remains is a process outside the collection binding the port between the resolution and the
container start; Docker then answers "port is already allocated" / "address already in use", and
the container guard calls ``reresolve_after_allocation_error`` (:mod:`.single_port`).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.host_lock import host_lock
from ansible_collections.argusai.resilience.plugins.module_utils.ports.holders import Holder

DEFAULT_LEASE_SECONDS = 120.0
# A resolution holds the lease lock for one scan (milliseconds); waiting longer means it is stuck.
DEFAULT_LOCK_TIMEOUT = 30.0
STATE_DIR_ENV = "ARGUS_PORT_STATE_DIR"
DEFAULT_STATE_DIR = "/tmp/argusai-ports"


class ReservationStore:
    """Leases of recently handed-out ports, shared by every resolver of the host.

    ``session()`` holds an exclusive ``flock`` on ``reservations.lock`` while the caller scans;
    the leases live in ``reservations.json`` (``{"tcp/8080": {expires, owner, service, pid}}``),
    rewritten atomically (temp file + rename). A missing or corrupt file counts as no leases.
    The directory must be a real directory owned by the current user (not a symlink), else
    ``session()`` raises OSError and the resolver goes on without leases, with a warning.
    """

    def __init__(
        self,
        directory: str | None = None,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        clock: Callable[[], float] = time.time,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ) -> None:
        self.directory = directory or os.environ.get(STATE_DIR_ENV) or DEFAULT_STATE_DIR
        self.lease_seconds = lease_seconds
        self.lock_timeout = lock_timeout
        self.clock = clock
        self._thread_lock = threading.Lock()

    @property
    def data_path(self) -> str:
        return os.path.join(self.directory, "reservations.json")

    @contextlib.contextmanager
    def session(self) -> Iterator[LeaseSession]:
        with self._thread_lock, host_lock(self.directory, "reservations", self.lock_timeout):
            lease = LeaseSession(self._load(), self.clock(), self.lease_seconds)
            yield lease
            if lease.dirty:
                try:
                    self._save(lease.entries)
                except OSError as exc:  # reported by the resolver; the ports are still right
                    lease.save_error = f"leases not saved in {self.directory}: {exc}"

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            with open(self.data_path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            return {}
        return {key: value for key, value in data.items() if isinstance(value, dict)} if isinstance(data, dict) else {}

    def _save(self, entries: Mapping[str, Any]) -> None:
        fd, tmp = tempfile.mkstemp(prefix=".reservations-", dir=self.directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(entries, handle, sort_keys=True)
            os.replace(tmp, self.data_path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


class LeaseSession:
    """The leases seen under the lock; expired ones are dropped on load."""

    def __init__(self, entries: dict[str, dict[str, Any]], now: float, lease_seconds: float) -> None:
        self.now = now
        self.lease_seconds = lease_seconds
        self.entries = {key: value for key, value in entries.items() if _as_float(value.get("expires")) > now}
        self.dirty = len(self.entries) != len(entries)
        self.save_error: str | None = None

    def held_by_other(self, protocol: str, port: int, owner: str | None) -> Holder | None:
        entry = self.entries.get(f"{protocol}/{port}")
        if entry is None or (owner is not None and entry.get("owner") == owner):
            return None
        return Holder(
            "reservation", service=entry.get("service"), expires_in=round(_as_float(entry["expires"]) - self.now, 1)
        )

    def lease(self, protocol: str, port: int, owner: str | None, service: str) -> None:
        self.entries[f"{protocol}/{port}"] = {
            "expires": self.now + self.lease_seconds,
            "owner": owner,
            "service": service,
            "pid": os.getpid(),
        }
        self.dirty = True


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0

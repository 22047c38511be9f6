# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Port leases, kept in the Docker daemon: resolutions from any controller never hand out one port twice.

Probing a port and publishing it are two steps; two resolvers probing at once would both find it
free. So a resolver takes a port only by creating the lease volume ``argusai-lease-<protocol>-<port>``
(:mod:`..daemon_lock`: the unique volume name makes taking it atomic, on Docker and Podman alike).
Every controller that uses the daemon sees the same leases, and nothing is kept on any machine.

A lease is owned by project + run (:class:`Owner`), not by the service it was taken for, so a
service renamed within a run keeps its port. It ends with what it protects:

* superseded when a container of the collection publishes the port (the guard, after a start:
  :func:`supersede`); from then on the container itself holds the port for every resolver;
* released by the guard's ``state: absent`` for that container's ports (:func:`release_for_container`);
* released by the teardown of its run and by the orphan cleanup of its project
  (:func:`release_runs`; lease volumes are not listed among a cleanup's resources);
* expired ``lease_seconds`` after it was taken (its run died before starting anything): ignored,
  and removed by the next resolver that lists the leases.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils import daemon_lock
from ansible_collections.argusai.resilience.plugins.module_utils import labels as L
from ansible_collections.argusai.resilience.plugins.module_utils.errors import utc_now
from ansible_collections.argusai.resilience.plugins.module_utils.ports.holders import Holder

PORT_LOCK = "port"
# Only a crashed run's lease lives this long: the others end with their run (module docstring).
# It must outlast the longest gap between resolving and starting (the mocks start first).
DEFAULT_LEASE_SECONDS = 300.0
_NAME = re.compile(r"^argusai-lease-(tcp|udp)-(\d{1,5})$")


def lease_name(protocol: str, port: int) -> str:
    return f"argusai-lease-{protocol}-{port}"


def _port_of(lock: daemon_lock.Lock) -> tuple[str, int] | None:
    match = _NAME.match(lock.name)
    return (match.group(1), int(match.group(2))) if match else None


@dataclass(frozen=True)
class Owner:
    """Whose leases a resolution takes, and which leases do not block it.

    A lease of the same project and run (both set; a missing run id matches a missing one) is the
    resolution's own. Without a project, or ``exclusive``, no lease is its own: every lease
    blocks it. The labels carry what is set, so that cleanups find the leases of their runs.
    """

    project: str | None = None
    run_id: str | None = None
    exclusive: bool = False

    def owns(self, lock: daemon_lock.Lock) -> bool:
        return (
            not self.exclusive
            and self.project is not None
            and lock.project == self.project
            and lock.run_id == self.run_id
        )

    def labels(self, service: str) -> dict[str, str]:
        labels = {L.CREATED_AT: utc_now(), L.SERVICE: service}
        if self.project is not None:
            labels[L.PROJECT] = self.project
        if self.run_id is not None:
            labels[L.RUN_ID] = self.run_id
        return labels


@dataclass(frozen=True)
class LeaseHolder(Holder):
    """``occupied_by`` of a port leased by another run: ``{type: lease, project, run_id, service, expires_in}``."""

    project: str | None = None
    run_id: str | None = None

    def describe(self) -> str:
        if self.expires_in is None:
            return "a volume named like a port lease that the collection did not make"
        run = f"run {self.run_id or '(none)'} of project {self.project}" if self.project else "a resolution"
        return f"a port lease of {run} (service {self.service}, {self.expires_in:.0f}s left)"


def holder_of(lock: daemon_lock.Lock, now: datetime) -> LeaseHolder:
    remaining = lock.remaining(now)
    expires_in = round(max(remaining, 0.0), 1) if remaining != float("inf") else None
    return LeaseHolder("lease", service=lock.service, expires_in=expires_in, project=lock.project, run_id=lock.run_id)


class LeaseBook:
    """The leases one resolution reads (one list call) and takes (one create per port taken).

    ``take=False`` reads and judges the leases but takes none (check mode). :meth:`rollback`
    releases what this book took (a resolution that failed); :meth:`sweep` removes the expired
    leases it saw. Docker errors while taking stop the taking, with a warning: the ports are still
    right, only unprotected.
    """

    def __init__(self, api: Any, owner: Owner, lease_seconds: float = DEFAULT_LEASE_SECONDS, take: bool = True):
        self.api = api
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.take_leases = take
        self.clock = daemon_lock.DaemonClock(api)
        self.seen: dict[tuple[str, int], daemon_lock.Lock] = {}
        self.taken: list[daemon_lock.Lock] = []
        self.warnings: list[str] = []

    def load(self) -> LeaseBook:
        for lock in daemon_lock.listing(self.api, PORT_LOCK):
            key = _port_of(lock)
            if key is not None:
                self.seen[key] = lock
        return self

    def _stale(self, lock: daemon_lock.Lock) -> bool:
        return lock.remaining(self.clock.now()) <= 0

    def held_by_other(self, protocol: str, port: int) -> LeaseHolder | None:
        """The lease that keeps this resolution off the port, or None (none, its own, or expired)."""
        lock = self.seen.get((protocol, port))
        if lock is None or self.owner.owns(lock) or self._stale(lock):
            return None
        return holder_of(lock, self.clock.now())

    def take(self, protocol: str, port: int, service: str) -> LeaseHolder | None:
        """Lease a port found free: None when it is this resolution's now, else who got it first."""
        if not self.take_leases:
            return None
        key = (protocol, port)
        current = self.seen.get(key)
        if current is not None and not self._stale(current) and self.owner.owns(current):
            return None  # its own lease (a rerun or a renamed service of the same run)
        try:
            if current is not None and self._stale(current):
                daemon_lock.break_stale(self.api, current, self.clock)
            ours, lock = daemon_lock.claim(
                self.api, lease_name(protocol, port), PORT_LOCK, self.lease_seconds, self.owner.labels(service)
            )
        except Exception as exc:  # noqa: BLE001 - the ports stay right, only unprotected
            self.warnings.append(f"port leases disabled ({exc}); concurrent resolutions are not kept apart")
            self.take_leases = False
            return None
        if lock is None:  # released between Podman's 409 and the inspect: taken by someone just now
            return LeaseHolder("lease", expires_in=self.lease_seconds)
        self.seen[key] = lock
        if ours:
            self.taken.append(lock)
            return None
        if self.owner.owns(lock):
            return None
        return holder_of(lock, self.clock.now())

    def rollback(self) -> None:
        for lock in self.taken:
            try:
                daemon_lock.release(self.api, lock.name, lock.token)
            except Exception:  # noqa: BLE001 - a lease left behind expires
                pass
        self.taken = []

    def sweep(self) -> None:
        """Remove the expired leases seen (best effort: the next resolver tries again)."""
        if not self.take_leases:
            return
        for lock in list(self.seen.values()):
            if lock.managed and lock not in self.taken and self._stale(lock):
                try:
                    daemon_lock.break_stale(self.api, lock, self.clock)
                except Exception:  # noqa: BLE001
                    return


def release_leases(client: Any, ports: Iterable[tuple[str, int]], project: str | None = None) -> int:
    """Remove the leases of ``ports`` (only ``project``'s when given); how many were removed.

    Best effort: a lease that cannot be removed now expires by itself.
    """
    names = {lease_name(protocol, port) for protocol, port in ports}
    if client is None or not names:
        return 0
    return _release(client.api, lambda lock: lock.name in names and (project is None or lock.project == project))


def release_runs(
    client: Any, project: str, run_selected: Callable[[str | None], bool], before: datetime | None = None
) -> int:
    """Remove the leases of ``project`` whose run is selected (taken before ``before`` when given)."""
    slack = timedelta(seconds=daemon_lock.CREATED_PRECISION_SECONDS)

    def selected(lock: daemon_lock.Lock) -> bool:
        if lock.project != project or not run_selected(lock.run_id):
            return False
        # a lease that may be newer than ``before`` is kept, as the inventory keeps such resources
        return before is None or (lock.created is not None and lock.created + slack <= before)

    return _release(client.api, selected)


def _release(api: Any, selected: Callable[[daemon_lock.Lock], bool]) -> int:
    try:
        locks = daemon_lock.listing(api, PORT_LOCK)
    except Exception:  # noqa: BLE001 - best effort (module docstring)
        return 0
    released = 0
    for lock in locks:
        if _port_of(lock) is not None and selected(lock):
            try:
                released += daemon_lock.release(api, lock.name, lock.token)
            except Exception:  # noqa: BLE001
                pass
    return released


def published(attrs: Mapping[str, Any]) -> set[tuple[str, int]]:
    """(protocol, host port) of every port a container publishes, from its inspect answer."""
    ports: set[tuple[str, int]] = set()
    for key, bindings in ((attrs.get("NetworkSettings") or {}).get("Ports") or {}).items():
        protocol = key.partition("/")[2] or "tcp"
        for binding in bindings or []:
            if str(binding.get("HostPort") or "").isdigit():
                ports.add((protocol, int(binding["HostPort"])))
    return ports


def supersede(client: Any, container: Any) -> None:
    """A container of the collection publishes its ports now: their leases have done their job.

    Best effort, like every release: a lease left behind expires.
    """
    try:
        release_leases(client, published(container.attrs))
    except Exception:  # noqa: BLE001 - never fails the start it follows
        pass


def release_for_container(client: Any, project: str, port_specs: Iterable[Any], container: Any = None) -> None:
    """``state: absent``: the project's leases of the container's ports (declared and published) end."""
    try:
        ports = {(spec.protocol, spec.host_port) for spec in port_specs if spec.host_port}
        if container is not None:
            ports |= published(container.attrs)
        release_leases(client, ports, project)
    except Exception:  # noqa: BLE001 - never fails the removal it comes with
        pass

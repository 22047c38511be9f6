# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Removal: what earlier runs of a project left behind (or, for a teardown, one run), and nothing else.

What is removed is exactly what :meth:`OrphanCleaner.detect` selects: for the orphan cleaner
:func:`inventory.find_orphans`, resources labeled ``argusai.managed=true`` and
``argusai.project=<project>`` whose ``argusai.run-id`` is not the current run, created before
the cleanup started; ``teardown.RunTeardown`` selects one run instead and removes the same way.
Containers go first (forced, with their anonymous volumes), then networks, then volumes, so
that nothing the cleanup itself removes still holds a network or a volume. Within a type the
removals run in parallel.

The port leases of the runs a cleanup ends are released after the removals (:mod:`..ports.leases`);
lease volumes and the cleanup lock are not resources of a run: they are never listed in ``found``.

Each resource succeeds or fails on its own. A resource that is already gone (another cleanup
won the race) counts as removed. A network that still has a container attached, or a volume
still mounted, is reported in ``failed`` with the daemon's refusal: the cleaner never
disconnects or stops a container it was not asked to remove. Podman's API removes a network with
containers attached (Docker refuses, "has active endpoints"), so a network's attachments are
checked before it is removed, and one still in use fails the same way (cause ``network_in_use``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils import daemon_lock
from ansible_collections.argusai.resilience.plugins.module_utils import labels as L
from ansible_collections.argusai.resilience.plugins.module_utils.cleanup.inventory import (
    RESOURCE_TYPES,
    Cutoff,
    find_orphans,
)
from ansible_collections.argusai.resilience.plugins.module_utils.deadline import Deadline
from ansible_collections.argusai.resilience.plugins.module_utils.docker_client import NotFound
from ansible_collections.argusai.resilience.plugins.module_utils.errors import (
    ArgusError,
    classify,
    from_exception,
    utc_now,
)
from ansible_collections.argusai.resilience.plugins.module_utils.events import EventLog
from ansible_collections.argusai.resilience.plugins.module_utils.ports.leases import release_runs

# Parallel removals per resource type. Measured on Docker 20.10 (2 CPUs, overlay2, other load on
# the host) with benchmarks/bench_orphan_clean.py, 200 containers + 20 networks: 4, 8, 16 and 32
# workers all land within ~15% of each other (the daemon is the bottleneck); 16 gave the best or
# near-best median in each sweep. Above the SDK's connection pool (10) the extra connections are simply closed after
# use (no warning; cheap on a unix socket).
DEFAULT_WORKERS = 16
# How long to wait for a container another cleanup is removing at the same time.
IN_PROGRESS_WAIT_SECONDS = 15.0
IN_PROGRESS_POLL_SECONDS = 0.1

REMOVED = "removed"
ALREADY_GONE = "already_gone"
FAILED = "failed"
WOULD_REMOVE = "would_remove"

_ORDER = ("container", "network", "volume")


@dataclass
class CleanupOptions:
    project: str
    run_id: str | None = None
    resource_types: tuple[str, ...] = RESOURCE_TYPES
    workers: int = DEFAULT_WORKERS
    in_progress_wait: float = IN_PROGRESS_WAIT_SECONDS

    def __post_init__(self) -> None:
        L.validate_project(self.project)
        if self.run_id is not None:
            L.validate_run_id(self.run_id)
        for resource_type in self.resource_types:
            if resource_type not in RESOURCE_TYPES:
                raise ArgusError(
                    "INVALID_INPUT",
                    f"resource_types: {resource_type!r} is not one of {', '.join(RESOURCE_TYPES)}",
                    {"field": "resource_types", "value": resource_type},
                )
        if self.workers < 1:
            raise ArgusError("INVALID_INPUT", "workers must be >= 1", {"field": "workers", "value": self.workers})

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> CleanupOptions:
        """From a module's checked params (``project``, ``run_id``, ``resource_types`` in any order)."""
        types = tuple(t for t in RESOURCE_TYPES if t in params["resource_types"])
        return cls(project=params["project"], run_id=params["run_id"], resource_types=types)


def _is_not_found(exc: BaseException) -> bool:
    return isinstance(exc, NotFound)


def _attached(network: Mapping[str, Any]) -> list[str]:
    """Names of the containers a network inspect lists (Podman also lists stopped ones)."""
    attached = network.get("Containers") or {}
    return sorted(entry.get("Name") or cid for cid, entry in attached.items())


CLEANUP_LOCK = "cleanup"
# A cleanup of one project waits this long for another one's turn, then goes on unserialised.
LOCK_WAIT_SECONDS = 120.0
# A turn older than this is stale (its holder died): the next cleanup breaks it.
LOCK_TTL_SECONDS = 120.0


@contextlib.contextmanager
def removal_lock(
    api: Any,
    project: str,
    run_id: str | None = None,
    timeout: float = LOCK_WAIT_SECONDS,
    ttl: float = LOCK_TTL_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> Iterator[bool]:
    """Serialise the removals of concurrent cleanups of one project on one daemon; yields whether
    the turn was had.

    Docker 20.10 can leave a stale endpoint behind (the network then refuses removal for good,
    "has active endpoints") when two clients force-remove the same attached container at once.
    Under this lock (the volume ``argusai-cleanup-<project>`` in that daemon, seen by every
    controller) the second cleanup finds the first one's resources gone instead. The wait ends at
    a deadline fixed at the call; a turn whose holder died is broken ``ttl`` seconds after it was
    taken. When the turn cannot be had (still held at the deadline, or the daemon refuses the
    volume), the cleanup goes on unserialised: only that race stays open.
    """
    labels = {L.PROJECT: L.validate_project(project), L.CREATED_AT: utc_now()}
    if run_id is not None:
        labels[L.RUN_ID] = run_id
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(
                daemon_lock.held(
                    api, f"argusai-cleanup-{project}", CLEANUP_LOCK, labels, ttl, timeout, sleep, monotonic
                )
            )
            had = True
        except Exception:  # noqa: BLE001 - TimeoutError, or a daemon that refuses the volume
            had = False
        yield had


class OrphanCleaner:
    """Finds and removes the orphans of one project.

    ``client`` is a ``docker.DockerClient`` (only its low-level ``api`` is used).
    :meth:`clean` returns ``{found, removed, failed, duration_ms}``; :meth:`error_for` turns a
    result with failures into the CLEANUP_FAILED error.
    """

    def __init__(
        self,
        client: Any,
        options: CleanupOptions,
        events: EventLog,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.api = client.api
        self.options = options
        self.events = events
        self._sleep = sleep
        self._monotonic = monotonic
        self._in_progress: Deadline | None = None  # fixed by the first wait for another remover

    # -- detection -----------------------------------------------------------------------------

    def detect(self, cutoff: Cutoff | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """``(orphans, excluded)``: what would be removed, and what is too new to touch."""
        cutoff = cutoff or Cutoff.now(self.client)
        excluded: list[dict[str, Any]] = []
        found = find_orphans(
            self.client,
            self.options.project,
            self.options.run_id,
            self.options.resource_types,
            cutoff=cutoff,
            excluded=excluded,
        )
        return found, excluded

    # -- removal -------------------------------------------------------------------------------

    def _remove_call(self, resource: dict[str, Any]) -> None:
        kind = resource["type"]
        if kind == "container":
            self.api.remove_container(resource["id"], v=True, force=True)
        elif kind == "network":
            self.api.remove_network(resource["id"])
        else:
            self.api.remove_volume(resource["id"])

    def _wait_gone(self, container_id: str) -> bool:
        """True once a container another remover is removing has disappeared.

        The waits of one cleanup share one deadline, fixed when the first of them starts: however
        many containers the other remover holds, the cleanup waits ``in_progress_wait`` at most.
        (Threads racing to fix it fix the same moment, give or take microseconds.)
        """
        if self._in_progress is None:
            self._in_progress = Deadline(self.options.in_progress_wait, self._monotonic)
        deadline = self._in_progress
        while True:
            try:
                self.api.inspect_container(container_id)
            except Exception as exc:  # noqa: BLE001 - only "gone" ends the wait early
                if _is_not_found(exc):
                    return True
            if deadline.expired():
                return False
            self._sleep(deadline.cap(IN_PROGRESS_POLL_SECONDS))

    def _attached_containers(self, network_id: str) -> list[str]:
        """Names of the containers still attached to a network (for the error details)."""
        try:
            return _attached(self.api.inspect_network(network_id))
        except Exception:  # noqa: BLE001 - the details are a courtesy; the refusal is the error
            return []

    def _network_in_use(self, resource: dict[str, Any]) -> ArgusError | None:
        """The refusal Docker would give for a network containers are still attached to (Podman
        would remove it with them attached); None when nothing is. Every container this cleanup
        removes is gone by now (containers go first)."""
        attached = _attached(self.api.inspect_network(resource["id"]))
        if not attached:
            return None
        return ArgusError(
            "CLEANUP_FAILED",
            f"removing network {resource['name']} failed: it has active endpoints ({', '.join(attached)} attached); "
            "it was left in place",
            {
                "cause": "network_in_use",
                "checked_before_removal": True,  # found attached here, not refused by the daemon
                "resource_type": "network",
                "resource_id": resource["id"],
                "attached_containers": attached,
            },
        )

    def _remove(self, resource: dict[str, Any]) -> tuple[str, ArgusError | None]:
        """Remove one resource; every failure is returned, never raised."""
        try:
            in_use = self._network_in_use(resource) if resource["type"] == "network" else None
            if in_use is not None:
                in_use.with_context(project=self.events.project, run_id=self.events.run_id)
                return FAILED, in_use
            self._remove_call(resource)
            return REMOVED, None
        except Exception as exc:  # noqa: BLE001 - isolated per resource, classified by the table
            if _is_not_found(exc):
                return ALREADY_GONE, None
            _code, cause = classify(exc)
            if cause == "removal_in_progress" and self._wait_gone(resource["id"]):
                return ALREADY_GONE, None  # a concurrent cleanup removed it
            error = from_exception(exc, f"removing {resource['type']} {resource['name']} failed")
            error.details.update({"resource_type": resource["type"], "resource_id": resource["id"]})
            if cause == "network_in_use":
                error.details["attached_containers"] = self._attached_containers(resource["id"])
            error.with_context(project=self.events.project, run_id=self.events.run_id)
            return FAILED, error

    def _report(self, resource: dict[str, Any], outcome: str, error: ArgusError | None = None) -> None:
        """The ``cleanup_resource`` event of one resource."""
        data: dict[str, Any] = {
            "resource_type": resource["type"],
            "id": resource["id"],
            "name": resource["name"],
            "resource_run_id": resource["run_id"],
            "outcome": outcome,
        }
        if error is not None:
            data.update({"error_code": error.code, "error": error.message})
        self.events.emit("cleanup_resource", **data)

    def _remove_and_report(self, resource: dict[str, Any]) -> tuple[str, ArgusError | None]:
        outcome, error = self._remove(resource)
        self._report(resource, outcome, error)
        return outcome, error

    def _remove_all(self, resources: list[dict[str, Any]]) -> list[tuple[str, ArgusError | None]]:
        if not resources:
            return []
        workers = min(self.options.workers, len(resources))
        if workers == 1:
            return [self._remove_and_report(r) for r in resources]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(self._remove_and_report, resources))

    def clean(self, check_mode: bool = False) -> dict[str, Any]:
        """Detect and (unless ``check_mode``) remove; returns ``{found, removed, failed, leases_released,
        duration_ms}`` (``leases_released``: the port leases of the ended runs given back, a count)."""
        started = self._monotonic()
        cutoff = Cutoff.now(self.client)
        found, excluded = self.detect(cutoff)
        self.events.emit(
            "cleanup_start",
            resource_types=list(self.options.resource_types),
            found=len(found),
            excluded_newer=len(excluded),
            check_mode=check_mode,
        )
        removed: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        turn: dict[str, Any] = {}
        if check_mode:
            for resource in found:
                self._report(resource, WOULD_REMOVE)
        else:
            lock = removal_lock(
                self.api, self.options.project, self.options.run_id, sleep=self._sleep, monotonic=self._monotonic
            )
            with lock as serialised:
                for kind in _ORDER:  # containers, then networks, then volumes
                    batch = [r for r in found if r["type"] == kind]
                    for resource, (_outcome, error) in zip(batch, self._remove_all(batch), strict=True):
                        if error is None:
                            removed.append(resource)
                        else:
                            failed.append(dict(resource, error=error.to_dict()))
                turn = {"serialised": serialised, "leases_released": self.release_leases(cutoff)}
        result = {
            "found": found,
            "removed": removed,
            "failed": failed,
            "leases_released": turn.get("leases_released", 0),
            "duration_ms": int((self._monotonic() - started) * 1000),
        }
        self.events.emit(
            "cleanup_end",
            found=len(found),
            removed=len(removed),
            failed=len(failed),
            check_mode=check_mode,
            duration_ms=result["duration_ms"],
            **turn,
        )
        return result

    def release_leases(self, cutoff: Cutoff) -> int:
        """Release the port leases of the runs this cleanup ends (those older than its start)."""
        current, before = self.options.run_id, cutoff.daemon or cutoff.local
        return release_runs(self.client, self.options.project, lambda run: run != current, before)

    def scope(self) -> str:
        """What this cleaner removes, as named in its error message."""
        return f"orphaned resources of {self.options.project}"

    def error_for(self, result: dict[str, Any]) -> ArgusError | None:
        """CLEANUP_FAILED naming every resource that could not be removed, or None."""
        failed = result["failed"]
        if not failed:
            return None
        names = ", ".join(
            f"{f['type']} {f['name']} ({f['error']['details'].get('cause', f['error']['code'])})" for f in failed[:10]
        )
        more = f" and {len(failed) - 10} more" if len(failed) > 10 else ""
        errors = [{"type": f["type"], "id": f["id"], "name": f["name"], "error": f["error"]} for f in failed]
        return ArgusError(
            "CLEANUP_FAILED",
            f"{len(failed)} of {len(result['found'])} {self.scope()} could not be removed: {names}{more}",
            {"errors": errors, "result": result},
        ).with_context(project=self.events.project, run_id=self.events.run_id)

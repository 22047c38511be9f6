# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What exists: the managed resources of a project, and which are orphans or one run's.

An orphan is a managed resource of the project that belongs to another run (what the cleaner
removes); a run's resources are the opposite scope (what a teardown of that run removes). The
volumes labeled ``argusai.lock`` (port leases, cleanup turns: :mod:`..daemon_lock`) are bookkeeping,
not resources: they are never listed here (the cleaners release leases on their own).

A cleanup must never take a resource created after it started (a concurrent run's fresh
resources). :class:`Cutoff` records the start on two clocks, the daemon's and this host's, and
each creation time is compared with the start on its own clock:

* Docker's creation time (daemon clock) against the daemon's ``SystemTime`` at the start. The
  list calls give it at full precision for networks but only to the second for containers and
  volumes; a container created in the very second of the start is inspected once for the exact
  time, a volume falls back to its ``argusai.created-at`` label.
* The ``argusai.created-at`` label (written with the creating host's clock, normally this one)
  against this host's clock at the start, when Docker gives no usable time.

When the answer is uncertain the resource is kept: leaving an orphan for the next cleanup is
harmless, removing a live run's resource is not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils import labels as L

RESOURCE_TYPES = ("containers", "networks", "volumes")

_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?\s*(Z|[+-]\d{2}:?\d{2})?$", re.IGNORECASE
)
_SECOND = timedelta(seconds=1)
_PRECISE = timedelta(0)


def parse_timestamp(value: Any) -> datetime | None:
    """An aware UTC datetime from Docker's or the label's ISO-8601 / RFC 3339 text, else None.

    Accepts nanoseconds (truncated to microseconds), ``Z`` or ``+hh:mm`` offsets (no offset
    means UTC), and integer epoch seconds. Go's zero time and anything unparsable give None.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc) if value > 0 else None
    match = _TIMESTAMP.match(str(value).strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    if int(year) <= 1:  # Go's zero time: "0001-01-01T00:00:00Z"
        return None
    tz = timezone.utc
    if offset and offset.upper() != "Z":
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        parsed = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second),
            int((fraction or "0")[:6].ljust(6, "0")), tzinfo=tz,
        )  # fmt: skip
    except ValueError:
        return None
    return parsed.astimezone(timezone.utc)


@dataclass(frozen=True)
class Cutoff:
    """The moment a cleanup started, on the daemon's clock (if known) and on this host's."""

    local: datetime
    daemon: datetime | None = None

    @classmethod
    def now(cls, client: Any) -> Cutoff:
        """Read both clocks; the daemon's comes from ``docker info`` (``SystemTime``)."""
        local = datetime.now(timezone.utc)
        try:
            daemon = parse_timestamp(client.api.info().get("SystemTime"))
        except Exception:  # noqa: BLE001 - without the daemon clock the labels decide
            daemon = None
        return cls(local=local, daemon=daemon)


@dataclass
class _Listed:
    """One listed resource: its public description and what decides whether it is too new."""

    description: dict[str, Any]
    docker_created: datetime | None
    precision: timedelta  # how much later than docker_created the real creation time may be


def _describe(resource_type: str, resource_id: str, name: str, resource_labels: dict[str, str]) -> dict[str, Any]:
    return {
        "type": resource_type[:-1],  # container / network / volume
        "id": resource_id,
        "name": name,
        "project": resource_labels.get(L.PROJECT),
        "run_id": resource_labels.get(L.RUN_ID),
        "created_at": resource_labels.get(L.CREATED_AT),
        "service": resource_labels.get(L.SERVICE),
    }


def _list(api: Any, resource_type: str, project: str) -> list[_Listed]:
    """One low-level list call per type: no per-resource inspect."""
    filters = L.project_filter(project)
    if resource_type == "containers":
        # "Created" is epoch seconds in the list answer
        rows = [
            (r["Id"], r["Names"][0].lstrip("/"), r.get("Labels"), r.get("Created"), _SECOND)
            for r in api.containers(all=True, filters=filters)
        ]
    elif resource_type == "networks":
        rows = [
            (r["Id"], r["Name"], r.get("Labels"), r.get("Created"), _PRECISE)  # RFC 3339 with nanoseconds
            for r in api.networks(filters=filters)
        ]
    else:
        rows = [
            (r["Name"], r["Name"], r.get("Labels"), r.get("CreatedAt"), _SECOND)  # RFC 3339, seconds
            for r in api.volumes(filters=filters).get("Volumes") or []
        ]
    # The daemon filtered by label already; checking again means a filter bug can never
    # hand a foreign resource to the cleaner. Locks and port leases are no run's resources.
    return [
        _Listed(_describe(resource_type, rid, name, labels), parse_timestamp(created), precision)
        for rid, name, labels, created, precision in rows
        if L.is_managed(labels, project) and not (labels or {}).get(L.LOCK)
    ]


def _list_project(client: Any, project: str, resource_types: tuple[str, ...] | list[str]) -> list[_Listed]:
    """Every managed resource of ``project`` of the given types, containers first.

    Every list call is made before anything is inspected.
    """
    return [r for t in RESOURCE_TYPES if t in resource_types for r in _list(client.api, t, project)]


def created_after(listed: _Listed, cutoff: Cutoff, api: Any = None) -> bool:
    """True when the resource was (or may have been) created after the cutoff: keep it."""
    if cutoff.daemon is not None and listed.docker_created is not None:
        if listed.docker_created >= cutoff.daemon:
            return True
        if listed.docker_created + listed.precision <= cutoff.daemon:
            return False
        # Created in the very second the cleanup started: look closer.
        if listed.description["type"] == "container" and api is not None:
            try:
                exact = parse_timestamp(api.inspect_container(listed.description["id"]).get("Created"))
            except Exception:  # noqa: BLE001 - gone or unreadable: the label decides
                exact = None
            if exact is not None:
                return exact >= cutoff.daemon
    label_time = parse_timestamp(listed.description.get("created_at"))
    if label_time is not None:
        return label_time >= cutoff.local
    # No usable label: only an undecided Docker time (same second) keeps the resource.
    return cutoff.daemon is not None and listed.docker_created is not None


def find_orphans(
    client: Any,
    project: str,
    run_id: str | None = None,
    resource_types: tuple[str, ...] | list[str] = RESOURCE_TYPES,
    cutoff: Cutoff | None = None,
    excluded: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Managed resources of ``project`` whose run id is not ``run_id``, containers first.

    The daemon filters by label; the labels are checked again here so that nothing without
    ``argusai.managed=true`` of this project can ever be returned. With a ``cutoff``, resources
    created after it are left out (and appended to ``excluded`` when a list is given).
    """
    L.validate_project(project)
    orphans = []
    for resource in _list_project(client, project, resource_types):
        if run_id is not None and resource.description["run_id"] == run_id:
            continue
        if cutoff is not None and created_after(resource, cutoff, client.api):
            if excluded is not None:
                excluded.append(resource.description)
            continue
        orphans.append(resource.description)
    return orphans


def find_run_resources(
    client: Any, project: str, run_id: str, resource_types: tuple[str, ...] | list[str] = RESOURCE_TYPES
) -> list[dict[str, Any]]:
    """The opposite scope of :func:`find_orphans`: the managed resources of ``project`` labeled
    with ``run_id`` (what a teardown of that run removes), containers first, same entries."""
    L.validate_project(project)
    L.validate_run_id(run_id)
    return [r.description for r in _list_project(client, project, resource_types) if r.description["run_id"] == run_id]

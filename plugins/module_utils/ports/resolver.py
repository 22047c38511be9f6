# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Port conflict resolution: pick host ports that are really free, and say who holds the others.

A port is *taken* when any of these holds:

* a process has it bound (the bind probe, :mod:`.probe`);
* a Docker container publishes it (:func:`.holders.published_ports`, read once per resolution);
* an earlier entry of the same request got it;
* another run holds a lease on it in the Docker daemon (:mod:`.leases`; expired leases do not count).

A port found free is taken by creating its lease; when another resolver created it first, the scan
goes on as if the port were taken. The leases are listed before the published ports are read: a
lease is superseded only after its container started, so a port is never missed by both reads.
The candidates are :func:`.probe.candidates`; when none is free: ``PORT_EXHAUSTION``. The holders
of a resolution are looked up in one scan (:mod:`.holders`). A failed resolution gives back the
leases it took. The one-port helpers the container guard calls are in :mod:`.single_port`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError, invalid_input
from ansible_collections.argusai.resilience.plugins.module_utils.ports.holders import (
    Holder,
    find_process_holders,
    published_ports,
)
from ansible_collections.argusai.resilience.plugins.module_utils.ports.leases import (
    DEFAULT_LEASE_SECONDS,
    LeaseBook,
    LeaseHolder,
    Owner,
)
from ansible_collections.argusai.resilience.plugins.module_utils.ports.probe import (
    DEFAULT_BIND_ADDRESS,
    bind_probe,
    candidates,
    probe_targets,
    validate_bind_address,
    validate_max_attempts,
    validate_port,
    validate_protocol,
)

STRATEGIES = ("auto", "fail")
DEFAULT_MAX_ATTEMPTS = 100


@dataclass(frozen=True)
class PortRequest:
    """One entry of a request: a service and its preferred host port."""

    name: str
    port: int
    protocol: str = "tcp"


@dataclass(frozen=True)
class PortMapping:
    """The outcome for one entry (SPEC shape plus ``protocol``)."""

    service: str
    original_port: int
    actual_port: int
    reassigned: bool
    occupied_by: Holder | None = None
    protocol: str = "tcp"

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "original_port": self.original_port,
            "actual_port": self.actual_port,
            "reassigned": self.reassigned,
            "occupied_by": self.occupied_by.to_dict() if self.occupied_by else None,
            "protocol": self.protocol,
        }


@dataclass(frozen=True)
class Resolution:
    """Every mapping of one request, and how many candidate ports were examined."""

    mappings: tuple[PortMapping, ...]
    probes: int = 0
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ports(self) -> dict[str, int]:
        """Service name → actual port (a fresh dict each time)."""
        return {mapping.service: mapping.actual_port for mapping in self.mappings}

    def to_dict(self) -> dict[str, Any]:
        return {"mappings": [mapping.to_dict() for mapping in self.mappings], "ports": self.ports}


def validate_requests(entries: Any, field_name: str = "ports") -> tuple[PortRequest, ...]:
    """Turn ``[{name, port, protocol}]`` into PortRequests; names must be unique."""
    if not isinstance(entries, (list, tuple)):
        raise invalid_input(field_name, entries, "must be a list of {name, port, protocol}")
    requests: list[PortRequest] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        where = f"{field_name}[{index}]"
        if isinstance(entry, PortRequest):
            entry = {"name": entry.name, "port": entry.port, "protocol": entry.protocol}
        if not isinstance(entry, Mapping):
            raise invalid_input(where, entry, "must be a dict with name, port and protocol")
        unknown = sorted(set(entry) - {"name", "port", "protocol"})
        if unknown:
            raise invalid_input(where, ", ".join(unknown), "unknown keys (allowed: name, port, protocol)")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise invalid_input(f"{where}.name", name, "must be a non-empty string")
        if name in seen:
            raise invalid_input(f"{where}.name", name, "duplicate service name")
        seen.add(name)
        if entry.get("port") is None:
            raise invalid_input(f"{where}.port", None, "is required")
        port = validate_port(entry.get("port"), f"{where}.port")
        raw_protocol = entry.get("protocol")
        protocol = validate_protocol("tcp" if raw_protocol is None else raw_protocol, f"{where}.protocol")
        requests.append(PortRequest(name, port, protocol))
    return tuple(requests)


class _NoLeases:
    """Stand-in without a Docker client (or with ``lease=None``): no lease read or taken."""

    warnings: tuple[str, ...] = ()

    def held_by_other(self, protocol: str, port: int) -> Holder | None:
        return None

    def take(self, protocol: str, port: int, service: str) -> Holder | None:
        return None

    def rollback(self) -> None:
        return None

    def sweep(self) -> None:
        return None


@dataclass(frozen=True)
class _Pick:
    request: PortRequest
    port: int | None
    preferred_taken_by: Holder | None  # None: preferred was free
    preferred_bound: bool  # the preferred port failed the bind probe (holder looked up later)
    taken: tuple[tuple[int, str], ...]  # (port, why) for exhaustion reports


class PortResolver:
    """Resolve a request's ports: ``resolve(requests, strategy)`` → :class:`Resolution`.

    ``client``: a docker.DockerClient (its published ports and its leases count as taken) or None
    (no leases then). ``events``: anything with ``emit(type, **data)`` (events.EventLog) or None.
    ``owner``: whose leases are taken and which do not block (:class:`.leases.Owner`; default: no
    project, so every lease blocks). ``lease``: True reads and takes leases, False only reads them
    (check mode), None ignores them.
    """

    def __init__(
        self,
        client=None,
        bind_address: str = DEFAULT_BIND_ADDRESS,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        events=None,
        owner: Owner | None = None,
        lease: bool | None = True,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        probe: Callable[[int, str, Iterable[tuple[int, str]]], int | None] = bind_probe,
        holder_lookup: Callable[[Iterable[int], str], Mapping[int, Holder]] = find_process_holders,
    ) -> None:
        self.client = client
        self.bind_address = validate_bind_address(bind_address)
        self.max_attempts = validate_max_attempts(max_attempts)
        self.events = events
        self.owner = owner or Owner()
        self.lease = lease
        self.lease_seconds = lease_seconds
        self.probe = probe
        self.holder_lookup = holder_lookup
        self.probes = 0
        self.warnings: list[str] = []

    # -- public ---------------------------------------------------------------------------------

    def resolve(
        self,
        requests: Iterable[PortRequest | Mapping[str, Any]],
        strategy: str = "auto",
        exclude: Iterable[int] = (),
    ) -> Resolution:
        """Pick a port per entry. ``strategy`` auto reassigns, fail raises PORT_CONFLICT."""
        entries = validate_requests(list(requests))
        if strategy not in STRATEGIES:
            raise invalid_input("strategy", strategy, "must be one of auto, fail")
        excluded = {validate_port(port, "exclude") for port in exclude}
        self.probes = 0
        self.warnings = []
        leases = self._leases()  # before the published ports (module docstring)
        try:
            published = published_ports(self.client)  # once per resolution
            targets = probe_targets(self.bind_address)
            picks: list[_Pick] = []
            handed: dict[tuple[str, int], str] = {}
            for entry in entries:
                pick = self._pick(entry, strategy, targets, published, leases, handed, excluded)
                picks.append(pick)
                if pick.port is not None:
                    handed[(entry.protocol, pick.port)] = entry.name
            resolution = self._report(picks, strategy, leases.warnings)
        except BaseException:
            leases.rollback()
            raise
        leases.sweep()
        return resolution

    # -- internals ------------------------------------------------------------------------------

    def _leases(self) -> LeaseBook | _NoLeases:
        """The daemon's leases; none without a client, and a warning when they cannot be listed."""
        if self.client is None or self.lease is None:
            return _NoLeases()
        try:
            return LeaseBook(self.client.api, self.owner, self.lease_seconds, take=self.lease).load()
        except Exception as exc:  # noqa: BLE001 - a daemon that is down fails on the next call
            self.warnings.append(f"port leases disabled ({exc}); concurrent resolutions are not kept apart")
            return _NoLeases()

    def _why_taken(self, port, entry, targets, published, leases, handed, excluded) -> tuple[Holder | None, bool]:
        """(holder, bound): holder is set for known holders; bound is True when the probe failed.

        A port found free is leased here; a lease another resolver took first is its holder.
        """
        key = (entry.protocol, port)
        if key in handed:
            return Holder("request", service=handed[key]), False
        if port in excluded:
            return Holder("excluded"), False
        if key in published:
            return published[key], False
        leased = leases.held_by_other(entry.protocol, port)
        if leased is not None:
            return leased, False
        self.probes += 1
        if self.probe(port, entry.protocol, targets) is not None:
            return None, True
        return leases.take(entry.protocol, port, entry.name), False  # None: free, and leased now

    def _pick(self, entry, strategy, targets, published, leases, handed, excluded) -> _Pick:
        taken: list[tuple[int, str]] = []
        first_holder: Holder | None = None
        first_bound = False
        ports = candidates(entry.port, self.max_attempts) if strategy == "auto" else iter([entry.port])
        for index, port in enumerate(ports):
            holder, bound = self._why_taken(port, entry, targets, published, leases, handed, excluded)
            if holder is None and not bound:
                return _Pick(entry, port, first_holder, first_bound, tuple(taken))
            if index == 0:
                first_holder, first_bound = holder, bound
            taken.append((port, holder.type if holder else "bound"))
        return _Pick(entry, None, first_holder, first_bound, tuple(taken))

    def _holders(self, picks: list[_Pick]) -> list[Holder | None]:
        """Who held each preferred port; one process lookup per protocol for all bound ones."""
        bound: dict[str, set[int]] = {}
        for pick in picks:
            if pick.preferred_taken_by is None and pick.preferred_bound:
                bound.setdefault(pick.request.protocol, set()).add(pick.request.port)
        found = {protocol: self.holder_lookup(ports, protocol) for protocol, ports in bound.items()}
        holders: list[Holder | None] = []
        for pick in picks:
            if pick.preferred_taken_by is not None:
                holders.append(pick.preferred_taken_by)
            elif pick.preferred_bound:
                holders.append(found[pick.request.protocol].get(pick.request.port) or Holder("unknown"))
            else:
                holders.append(None)
        return holders

    def _emit(self, event_type: str, **data: Any) -> None:
        if self.events is not None:
            self.events.emit(event_type, **data)

    def _report(self, picks: list[_Pick], strategy: str, lease_warnings: Iterable[str] = ()) -> Resolution:
        mappings: list[PortMapping] = []
        conflicts: list[dict[str, Any]] = []
        exhausted: list[_Pick] = []
        for pick, holder in zip(picks, self._holders(picks), strict=True):
            entry = pick.request
            if holder is not None:
                self._emit(
                    "port_conflict",
                    service=entry.name,
                    port=entry.port,
                    protocol=entry.protocol,
                    occupied_by=holder.to_dict(),
                    strategy=strategy,
                )
                conflicts.append(
                    {"service": entry.name, "port": entry.port, "protocol": entry.protocol, "holder": holder}
                )
            if pick.port is None:
                exhausted.append(pick)
                continue
            mapping = PortMapping(entry.name, entry.port, pick.port, pick.port != entry.port, holder, entry.protocol)
            mappings.append(mapping)
            if mapping.reassigned:
                self._emit(
                    "port_reassigned",
                    service=entry.name,
                    original_port=entry.port,
                    actual_port=pick.port,
                    protocol=entry.protocol,
                    occupied_by=holder.to_dict() if holder else None,
                )
        if strategy == "fail" and conflicts:
            raise _conflict_error(conflicts)
        if exhausted:
            raise _exhaustion_error(exhausted, self.max_attempts)
        return Resolution(tuple(mappings), self.probes, tuple(self.warnings) + tuple(lease_warnings))


def _conflict_error(conflicts: list[dict[str, Any]]) -> ArgusError:
    first = conflicts[0]
    holder: Holder = first["holder"]
    others = f" (and {len(conflicts) - 1} more)" if len(conflicts) > 1 else ""
    details: dict[str, Any] = {
        "service": first["service"],
        "port": first["port"],
        "protocol": first["protocol"],
        "occupied_by": holder.to_dict(),
        "conflicts": [
            {
                "service": c["service"],
                "port": c["port"],
                "protocol": c["protocol"],
                "occupied_by": c["holder"].to_dict(),
            }
            for c in conflicts
        ],
    }
    if holder.pid is not None:
        details["pid"] = holder.pid
        details["process"] = holder.process
    # Held only by other runs' leases: they end with those runs, or expire; then it is free.
    leased = [c["holder"].expires_in for c in conflicts if isinstance(c["holder"], LeaseHolder)]
    retryable = len(leased) == len(conflicts) and None not in leased
    hint = ""
    if retryable:
        details["retry_after_seconds"] = max(1, math.ceil(max(leased)))
        hint = f"; the lease ends with that run, at the latest in {details['retry_after_seconds']}s: retry then"
    return ArgusError(
        "PORT_CONFLICT",
        f"port {first['port']}/{first['protocol']} of service {first['service']} is held by {holder.describe()}"
        f"{others}; strategy is fail{hint}",
        details,
        retryable=True if retryable else None,
    )


def _exhaustion_error(exhausted: list[_Pick], max_attempts: int) -> ArgusError:
    first = exhausted[0]
    entry = first.request
    ports = [taken[0] for taken in first.taken]
    return ArgusError(
        "PORT_EXHAUSTION",
        f"no free {entry.protocol} port for service {entry.name} in {ports[0]}..{ports[-1]} "
        f"({len(ports)} examined, max_attempts {max_attempts})",
        {
            "service": entry.name,
            "preferred_port": entry.port,
            "protocol": entry.protocol,
            "max_attempts": max_attempts,
            "range": [ports[0], ports[-1]],
            "taken": [{"port": port, "reason": why} for port, why in first.taken],
            "services": [pick.request.name for pick in exhausted],
        },
    )

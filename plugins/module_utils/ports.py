# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Port conflict resolution: pick host ports that are really free, and say who holds the others.

A port is *taken* when any of these holds:

* a process has it bound: probed by ``bind()`` on the bind address, IPv4 and, where the host has
  IPv6 and the bind address is the wildcard, ``::`` with ``IPV6_V6ONLY`` too;
* a Docker container publishes it (``PublicPort`` of the daemon's container list, read once per
  resolution: this covers a daemon running without the userland proxy, where nothing is bound);
* an earlier entry of the same request got it;
* another resolver on this host handed it out less than ``lease_seconds`` ago (see *Races*).

The probe binds without ``SO_REUSEADDR`` first: with it, Linux lets the probe bind a port whose
current owner also set it (any UDP socket, a TCP socket that is bound but not yet listening), so a
held port would look free. When a TCP bind is refused, the probe tries once more with
``SO_REUSEADDR``, as Docker's port proxy and most servers bind: Linux lets that through only when
no socket listens on the port and what remains are ``TIME_WAIT`` connections of a listener that
set it too (e.g. Docker's proxy in the previous E2E run), so such a port stays with its service
instead of being reassigned on every rerun. The probe only
binds (never listens or connects), so closing it leaves no ``TIME_WAIT`` behind.

Ports below 1024 are never chosen as alternatives. A preferred port below 1024 is probed like any
other (it is the caller's explicit choice). The scan goes upward from the preferred port and
stops at 65535 (no wrap-around); ``max_attempts`` counts every candidate examined, preferred
port included. When none is free: ``PORT_EXHAUSTION``.

Who holds a port: psutil (``psutil.net_connections``) when installed, else ``/proc/net/{tcp,
tcp6,udp,udp6}`` socket inodes matched against ``/proc/<pid>/fd``: ``{type: process, pid,
process}``; a container: ``{type: container, container, container_id}``; another entry:
``{type: request, service}``; a lease of another resolver: ``{type: reservation, service,
expires_in}``; only TIME_WAIT connections left: ``{type: time_wait}``; a bind that fails with
no visible holder (another network namespace, no permission to read /proc): ``{type: unknown}``.
The holders of a resolution are looked up in one scan, after the lease lock is released.

Races
    Probing and using a port are two steps: two resolvers probing at the same time would both
    see it free. The window is narrowed by a host-wide lease file: a resolution takes an
    exclusive ``fcntl.flock`` on ``<state dir>/reservations.lock`` for the whole scan, skips the
    ports listed in ``reservations.json`` whose lease has not expired, and writes its own picks
    there (lease ``lease_seconds``, default 120 s) before releasing the lock. ``flock`` locks
    belong to open file descriptions, so threads, processes and separate ``ansible-playbook`` runs
    of the same host all serialise on it. The state dir is ``$ARGUS_PORT_STATE_DIR`` or
    ``/tmp/argusai-ports``. A lease held under the same ``owner`` (the module passes
    ``<project>/<service>``) does not block its owner, so re-running a project gets its port back.
    What remains is a process outside the collection binding the port between the resolution and
    the container start; Docker then answers "port is already allocated" / "address already in
    use", and the container guard calls :func:`reresolve_after_allocation_error`.

Stable helpers (the container guard calls these; their signatures do not change)::

    next_free_port(preferred: int, protocol: str = "tcp", bind_address: str = "0.0.0.0",
                   max_attempts: int = 100, exclude: frozenset[int] | set[int] = frozenset(),
                   client=None) -> int
        # the first free port >= preferred (preferred itself when free), leased; raises
        # ArgusError PORT_EXHAUSTION (or INVALID_INPUT for bad arguments)

    reresolve_after_allocation_error(service: str, port: int, protocol: str = "tcp",
                   bind_address: str = "0.0.0.0", max_attempts: int = 100,
                   exclude: frozenset[int] | set[int] = frozenset(), client=None,
                   events=None, project: str | None = None) -> dict
        # {service, original_port, actual_port, reassigned: True, occupied_by, protocol};
        # never returns ``port`` itself; emits port_conflict + port_reassigned on ``events``

    is_port_allocation_error(exc: BaseException) -> bool
        # True when errors.classify() says PORT_CONFLICT (port_allocated / address_in_use)

    port_holder(port: int, protocol: str = "tcp", bind_address: str = "0.0.0.0",
                client=None) -> dict | None
        # read-only "is it taken?": the occupied_by dict, or None when free; no lease read or
        # written (use this, not next_free_port(max_attempts=1), to test a port)
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import json
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.errors import (
    ArgusError,
    classify,
    from_exception,
    invalid_input,
)
from ansible_collections.argusai.resilience.plugins.module_utils.host_lock import host_lock

try:  # psutil beats hand-parsing /proc (and works where /proc/<pid>/fd is not readable to us)
    import psutil

    HAS_PSUTIL = True
except ImportError:  # the /proc fallback below is used
    psutil = None
    HAS_PSUTIL = False

PROTOCOLS = ("tcp", "udp")
STRATEGIES = ("auto", "fail")
MIN_PORT = 1
MAX_PORT = 65535
FIRST_UNPRIVILEGED = 1024
DEFAULT_MAX_ATTEMPTS = 100
DEFAULT_BIND_ADDRESS = "0.0.0.0"
DEFAULT_LEASE_SECONDS = 120.0
# A resolution holds the lease lock for one scan (milliseconds); waiting longer means it is stuck.
DEFAULT_LOCK_TIMEOUT = 30.0
STATE_DIR_ENV = "ARGUS_PORT_STATE_DIR"
DEFAULT_STATE_DIR = "/tmp/argusai-ports"

_WILDCARDS = ("0.0.0.0", "::", "")
# bind() errors that mean "this address family / address does not exist here", not "taken"
_FAMILY_MISSING = (errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL, errno.EPROTONOSUPPORT)


# ---------------------------------------------------------------------------------------------
# Immutable results
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Holder:
    """Who holds a port.

    ``type``: process, container, request, reservation, excluded, time_wait or unknown.
    """

    type: str
    pid: int | None = None
    process: str | None = None
    container: str | None = None
    container_id: str | None = None
    service: str | None = None
    expires_in: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if value is not None}

    def describe(self) -> str:
        if self.type == "process":
            if self.pid is not None:
                return f"process {self.process or '?'} (pid {self.pid})"
            return f"process {self.process}" if self.process else "a process"
        if self.type == "container":
            return f"container {self.container} ({self.container_id})"
        if self.type == "time_wait":
            return "connections in TIME_WAIT"
        if self.type == "request":
            return f"service {self.service} of the same request"
        if self.type == "reservation":
            return f"a lease of another resolution ({self.service}, {self.expires_in:.0f}s left)"
        return "an unidentified holder"


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


# ---------------------------------------------------------------------------------------------
# Validation (INVALID_INPUT before anything touches a socket or Docker)
# ---------------------------------------------------------------------------------------------


def validate_port(value: Any, field_name: str = "port") -> int:
    """An int 1..65535; numeric strings are accepted (Ansible passes them), bools are not."""
    if isinstance(value, bool):
        raise invalid_input(field_name, value, "must be an integer between 1 and 65535")
    if isinstance(value, str):
        text = value.strip()
        if not text.isdigit():
            raise invalid_input(field_name, value, "must be an integer between 1 and 65535")
        value = int(text)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or not MIN_PORT <= value <= MAX_PORT:
        raise invalid_input(field_name, value, "must be an integer between 1 and 65535")
    return value


def validate_protocol(value: Any, field_name: str = "protocol") -> str:
    if not isinstance(value, str) or value.lower() not in PROTOCOLS:
        raise invalid_input(field_name, value, "must be one of tcp, udp")
    return value.lower()


def validate_max_attempts(value: Any, field_name: str = "max_attempts") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PORT:
        raise invalid_input(field_name, value, "must be an integer between 1 and 65535")
    return value


def validate_bind_address(value: Any, field_name: str = "bind_address") -> str:
    """An IPv4/IPv6 literal (``localhost`` means 127.0.0.1); names are not resolved."""
    if value is None or value == "":
        return DEFAULT_BIND_ADDRESS
    if value == "localhost":
        return "127.0.0.1"
    if not isinstance(value, str):
        raise invalid_input(field_name, value, "must be an IPv4 or IPv6 address")
    try:
        return str(ipaddress.ip_address(value.strip("[]")))
    except ValueError:
        raise invalid_input(field_name, value, "must be an IPv4 or IPv6 address") from None


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


# ---------------------------------------------------------------------------------------------
# Probing
# ---------------------------------------------------------------------------------------------

_ipv6_available: bool | None = None


def host_has_ipv6() -> bool:
    """Whether an IPv6 socket can be bound here (cached)."""
    global _ipv6_available
    if _ipv6_available is None:
        if not socket.has_ipv6:
            _ipv6_available = False
        else:
            try:
                with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                    sock.bind(("::1", 0))
                _ipv6_available = True
            except OSError:
                _ipv6_available = False
    return _ipv6_available


def probe_targets(bind_address: str) -> tuple[tuple[int, str], ...]:
    """The (family, address) pairs a port must be bindable on."""
    address = ipaddress.ip_address(bind_address)
    if str(address) in _WILDCARDS:
        targets = [(socket.AF_INET, "0.0.0.0")]
        if host_has_ipv6():
            targets.append((socket.AF_INET6, "::"))
        return tuple(targets)
    if address.version == 4:
        return ((socket.AF_INET, str(address)),)
    return ((socket.AF_INET6, str(address)),)


def bind_probe(port: int, protocol: str, targets: Iterable[tuple[int, str]]) -> int | None:
    """Try to bind ``port`` on every target; return None when free, else the errno that refused.

    A refused TCP bind is retried once with SO_REUSEADDR, which only TIME_WAIT leftovers let
    through (see the module docstring). EADDRINUSE and EACCES mean "not usable"; an address
    family the host lacks (EADDRNOTAVAIL, EAFNOSUPPORT) is ignored.
    """
    kind = socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM
    for family, address in targets:
        refused = _bind_once(family, kind, address, port, reuse_address=False)
        if refused == errno.EADDRINUSE and protocol == "tcp":
            refused = _bind_once(family, kind, address, port, reuse_address=True)
        if refused is not None:
            return refused
    return None


def _bind_once(family: int, kind: int, address: str, port: int, reuse_address: bool) -> int | None:
    """Bind and close one socket; None when it bound (or the host lacks IPv6), else the errno."""
    try:
        sock = socket.socket(family, kind)
    except OSError as exc:
        if exc.errno in _FAMILY_MISSING:
            return None
        raise
    try:
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        if reuse_address:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
    except OSError as exc:
        if exc.errno in _FAMILY_MISSING and family == socket.AF_INET6:
            return None
        return exc.errno or errno.EADDRINUSE
    finally:
        sock.close()
    return None


# ---------------------------------------------------------------------------------------------
# Who holds a port
# ---------------------------------------------------------------------------------------------


def _process_name(pid: int) -> str | None:
    if HAS_PSUTIL:
        try:
            return psutil.Process(pid).name()
        except Exception:  # gone or not ours to see
            pass
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8") as handle:
            return handle.read().strip() or None
    except OSError:
        return None


def _holders_from_psutil(ports: set[int], protocol: str) -> dict[int, Holder]:
    """One ``psutil.net_connections`` call for every port of interest (its cost dominates)."""
    try:
        connections = psutil.net_connections(kind=protocol)
    except Exception:  # AccessDenied on some platforms; the /proc fallback takes over
        return {}
    found: dict[int, Holder] = {}
    by_pid: dict[int, Holder] = {}  # one name lookup per process
    for conn in connections:
        if not conn.laddr or conn.laddr.port not in ports or conn.raddr:
            continue  # outgoing / accepted connections do not hold the port for binding purposes
        port = conn.laddr.port
        if conn.pid is not None and (port not in found or found[port].pid is None):
            if conn.pid not in by_pid:
                by_pid[conn.pid] = Holder("process", pid=conn.pid, process=_process_name(conn.pid))
            found[port] = by_pid[conn.pid]
        elif port not in found:
            found[port] = Holder("process")  # the socket is visible but its owner is not
    return found


def _proc_sockets(protocol: str, proc_net: str = "/proc/net") -> Iterator[tuple[int, int, str, str]]:
    """``(local port, remote port, state, inode)`` of every socket in /proc/net/<protocol>{,6}."""
    for table in (protocol, protocol + "6"):
        try:
            with open(f"{proc_net}/{table}", encoding="ascii") as handle:
                next(handle, None)
                for line in handle:
                    fields = line.split()
                    if len(fields) >= 10:
                        local, remote = fields[1].rsplit(":", 1)[1], fields[2].rsplit(":", 1)[1]
                        yield int(local, 16), int(remote, 16), fields[3], fields[9]
        except OSError:
            continue


def _holders_from_proc(ports: set[int], protocol: str, proc_root: str = "/proc") -> dict[int, Holder]:
    """Listening (tcp) / bound (udp) socket inodes on ``ports``, matched against /proc/<pid>/fd."""
    inode_port: dict[str, int] = {}
    for local, remote, state, inode in _proc_sockets(protocol, f"{proc_root}/net"):
        if local not in ports or inode == "0":
            continue
        if (protocol == "tcp" and state == "0A") or (protocol == "udp" and remote == 0):  # 0A: LISTEN
            inode_port[f"socket:[{inode}]"] = local
    found: dict[int, Holder] = {}
    if not inode_port:
        return found
    try:
        pids = [entry for entry in os.listdir(proc_root) if entry.isdigit()]
    except OSError:
        pids = []
    for pid in pids:
        fd_dir = f"{proc_root}/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                port = inode_port.get(os.readlink(f"{fd_dir}/{fd}"))
            except OSError:
                continue
            if port is not None and port not in found:
                found[port] = Holder("process", pid=int(pid), process=_process_name(int(pid)))
        if len(found) == len(set(inode_port.values())):
            break
    for port in inode_port.values():
        found.setdefault(port, Holder("process"))  # visible socket, owner not readable
    return found


def find_process_holders(ports: Iterable[int], protocol: str = "tcp") -> dict[int, Holder]:
    """Port → the process holding it (psutil first, /proc fallback); ports with none are absent.

    One scan for all ports. A TCP port refused only because of connections in TIME_WAIT is
    reported as ``{type: time_wait}`` (no process holds it; the kernel frees it within a minute).
    """
    wanted = set(ports)
    found = _holders_from_psutil(wanted, protocol) if HAS_PSUTIL and wanted else {}
    missing = {port for port in wanted if port not in found or found[port].pid is None}
    if missing:
        for port, holder in _holders_from_proc(missing, protocol).items():
            if port not in found or holder.pid is not None:
                found[port] = holder
    if protocol == "tcp" and wanted - set(found):
        for local, _remote, state, _inode in _proc_sockets("tcp"):
            if state == "06" and local in wanted and local not in found:  # 06: TIME_WAIT
                found[local] = Holder("time_wait")
    return found


def find_process_holder(port: int, protocol: str = "tcp") -> Holder | None:
    """The process holding ``port``, or None when none is visible (see :func:`find_process_holders`)."""
    return find_process_holders([port], protocol).get(port)


def published_ports(client) -> dict[tuple[str, int], Holder]:
    """``(protocol, public port) → container holder`` for every running container of the daemon."""
    if client is None:
        return {}
    try:
        containers = client.api.containers()
    except Exception as exc:  # classified by the one table (DOCKER_UNAVAILABLE, ...)
        raise from_exception(exc, "listing containers for their published ports") from exc
    published: dict[tuple[str, int], Holder] = {}
    for container in containers:
        names = container.get("Names") or []
        name = names[0].lstrip("/") if names else None
        holder = Holder("container", container=name, container_id=(container.get("Id") or "")[:12] or None)
        for binding in container.get("Ports") or []:
            public = binding.get("PublicPort")
            if public:
                published.setdefault(((binding.get("Type") or "tcp").lower(), int(public)), holder)
    return published


# ---------------------------------------------------------------------------------------------
# Host-wide leases
# ---------------------------------------------------------------------------------------------


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


class _NoLeases:
    """Stand-in when no store is used (``reservations=None``)."""

    def held_by_other(self, protocol: str, port: int, owner: str | None) -> Holder | None:
        return None

    def lease(self, protocol: str, port: int, owner: str | None, service: str) -> None:
        return None


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


# ---------------------------------------------------------------------------------------------
# The resolver
# ---------------------------------------------------------------------------------------------


def candidates(preferred: int, max_attempts: int) -> Iterator[int]:
    """The ports to examine, lazily: the preferred one, then upward, skipping < 1024, up to 65535."""
    yield preferred
    first = max(preferred + 1, FIRST_UNPRIVILEGED)
    yield from range(first, min(first + max_attempts - 1, MAX_PORT + 1))


@dataclass(frozen=True)
class _Pick:
    request: PortRequest
    port: int | None
    preferred_taken_by: Holder | None  # None: preferred was free
    preferred_bound: bool  # the preferred port failed the bind probe (holder looked up later)
    taken: tuple[tuple[int, str], ...]  # (port, why) for exhaustion reports


class PortResolver:
    """Resolve a request's ports: ``resolve(requests, strategy)`` → :class:`Resolution`.

    ``client``: a docker.DockerClient (its published ports count as taken) or None.
    ``reservations``: a :class:`ReservationStore` (default: the host-wide one) or None.
    ``events``: anything with ``emit(type, **data)`` (events.EventLog) or None.
    ``owner_prefix``: lease owner is ``<owner_prefix>/<service>`` (the module passes the project);
    a lease of the same owner does not block it. None: every resolution is its own owner.
    ``lease``: False reads the leases but writes none (check mode).
    """

    def __init__(
        self,
        client=None,
        bind_address: str = DEFAULT_BIND_ADDRESS,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        reservations: ReservationStore | None | str = "default",
        events=None,
        owner_prefix: str | None = None,
        lease: bool = True,
        probe: Callable[[int, str, Iterable[tuple[int, str]]], int | None] = bind_probe,
        holder_lookup: Callable[[Iterable[int], str], Mapping[int, Holder]] = find_process_holders,
    ) -> None:
        self.client = client
        self.bind_address = validate_bind_address(bind_address)
        self.max_attempts = validate_max_attempts(max_attempts)
        self.reservations = ReservationStore() if reservations == "default" else reservations
        self.events = events
        self.owner_prefix = owner_prefix
        self.lease = lease
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
        published = published_ports(self.client)  # once per resolution
        targets = probe_targets(self.bind_address)
        self.probes = 0
        self.warnings = []
        picks: list[_Pick] = []
        with self._leases() as leases:
            handed: dict[tuple[str, int], str] = {}
            for entry in entries:
                pick = self._pick(entry, strategy, targets, published, leases, handed, excluded)
                picks.append(pick)
                if pick.port is not None:
                    handed[(entry.protocol, pick.port)] = entry.name
            failures = [pick for pick in picks if pick.port is None]
            if not failures and self.lease:
                for pick in picks:
                    leases.lease(pick.request.protocol, pick.port, self._owner(pick.request), pick.request.name)
        return self._report(picks, strategy)

    # -- internals ------------------------------------------------------------------------------

    def _owner(self, request: PortRequest) -> str | None:
        return f"{self.owner_prefix}/{request.name}" if self.owner_prefix else None

    @contextlib.contextmanager
    def _leases(self) -> Iterator[Any]:
        """The lease session; without a usable store, no leases and a warning (never a failure)."""
        if self.reservations is None:
            yield _NoLeases()
            return
        stack = contextlib.ExitStack()
        try:
            session = stack.enter_context(self.reservations.session())
        except OSError as exc:
            self.warnings.append(
                f"port leases disabled ({exc}); concurrent resolutions on this host are not kept apart. "
                f"Set {STATE_DIR_ENV} to a directory of your own."
            )
            yield _NoLeases()
            return
        with stack:
            yield session
        if session.save_error:
            self.warnings.append(session.save_error)

    def _why_taken(self, port, entry, targets, published, leases, handed, excluded) -> tuple[Holder | None, bool]:
        """(holder, bound): holder is set for known holders; bound is True when the probe failed."""
        key = (entry.protocol, port)
        if key in handed:
            return Holder("request", service=handed[key]), False
        if port in excluded:
            return Holder("excluded"), False
        if key in published:
            return published[key], False
        leased = leases.held_by_other(entry.protocol, port, self._owner(entry))
        if leased is not None:
            return leased, False
        self.probes += 1
        if self.probe(port, entry.protocol, targets) is not None:
            return None, True
        return None, False

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

    def _report(self, picks: list[_Pick], strategy: str) -> Resolution:
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
        return Resolution(tuple(mappings), self.probes, tuple(self.warnings))


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
    return ArgusError(
        "PORT_CONFLICT",
        f"port {first['port']}/{first['protocol']} of service {first['service']} is held by {holder.describe()}"
        f"{others}; strategy is fail",
        details,
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


# ---------------------------------------------------------------------------------------------
# Stable helpers for the container guard
# ---------------------------------------------------------------------------------------------


def next_free_port(
    preferred: int,
    protocol: str = "tcp",
    bind_address: str = DEFAULT_BIND_ADDRESS,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    exclude: frozenset[int] | set[int] = frozenset(),
    client=None,
) -> int:
    """The first free port from ``preferred`` upward (``preferred`` itself when free), leased.

    Raises ArgusError PORT_EXHAUSTION when none of ``max_attempts`` candidates is free, and
    INVALID_INPUT for bad arguments. Ports in ``exclude`` are never returned.
    """
    port = validate_port(preferred, "preferred")
    request = PortRequest("port", port, validate_protocol(protocol))
    resolver = PortResolver(client=client, bind_address=bind_address, max_attempts=max_attempts)
    return resolver.resolve([request], "auto", exclude).mappings[0].actual_port


def port_holder(
    port: int,
    protocol: str = "tcp",
    bind_address: str = DEFAULT_BIND_ADDRESS,
    client=None,
) -> dict[str, Any] | None:
    """Who holds ``port`` right now (``occupied_by`` dict), or None when it is free.

    A read-only check for "is this port taken?": a container publishing it, else a failed bind
    probe (then the holding process, ``{type: unknown}`` when not visible). Leases are neither
    consulted nor written, unlike :func:`next_free_port`, which allocates.
    """
    port = validate_port(port, "port")
    protocol = validate_protocol(protocol)
    published = published_ports(client).get((protocol, port))
    if published is not None:
        return published.to_dict()
    if bind_probe(port, protocol, probe_targets(validate_bind_address(bind_address))) is None:
        return None
    return (find_process_holder(port, protocol) or Holder("unknown")).to_dict()


def is_port_allocation_error(exc: BaseException) -> bool:
    """Whether Docker refused a start because a published port is taken (by the one table)."""
    code, cause = classify(exc)
    return code == "PORT_CONFLICT" and cause in ("port_allocated", "address_in_use")


def reresolve_after_allocation_error(
    service: str,
    port: int,
    protocol: str = "tcp",
    bind_address: str = DEFAULT_BIND_ADDRESS,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    exclude: frozenset[int] | set[int] = frozenset(),
    client=None,
    events=None,
    project: str | None = None,
) -> dict[str, Any]:
    """Docker said ``port`` is already allocated at start time: pick another one.

    Never returns ``port`` itself (Docker knows better than any probe). Returns the mapping
    ``{service, original_port, actual_port, reassigned: True, occupied_by, protocol}``, emits
    ``port_conflict`` and ``port_reassigned`` on ``events`` and leases the new port.
    ``project`` makes the lease owner ``<project>/<service>``, as the module does.
    Raises PORT_EXHAUSTION when nothing is free.
    """
    original = validate_port(port, "port")
    proto = validate_protocol(protocol)
    if original >= MAX_PORT:
        raise ArgusError(
            "PORT_EXHAUSTION",
            f"no port above {original} for service {service}",
            {"service": service, "preferred_port": original, "protocol": proto, "max_attempts": max_attempts},
        )
    holder = published_ports(client).get((proto, original)) or find_process_holder(original, proto)
    holder = holder or Holder("unknown")
    resolver = PortResolver(client=client, bind_address=bind_address, max_attempts=max_attempts, owner_prefix=project)
    request = PortRequest(service, max(original + 1, FIRST_UNPRIVILEGED), proto)
    actual = resolver.resolve([request], "auto", set(exclude) | {original}).mappings[0].actual_port
    mapping = PortMapping(service, original, actual, True, holder, proto).to_dict()
    if events is not None:
        events.emit(
            "port_conflict",
            service=service,
            port=original,
            protocol=proto,
            occupied_by=holder.to_dict(),
            strategy="auto",
            cause="port_allocated",
        )
        events.emit(
            "port_reassigned",
            service=service,
            original_port=original,
            actual_port=actual,
            protocol=proto,
            occupied_by=holder.to_dict(),
        )
    return mapping

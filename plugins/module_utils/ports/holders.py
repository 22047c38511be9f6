# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who holds a port: the ``occupied_by`` of a conflict.

* a process: psutil (``psutil.net_connections``) when installed, else the socket inodes of
  ``/proc/net/{tcp,tcp6,udp,udp6}`` matched against ``/proc/<pid>/fd``: ``{type: process, pid,
  process}``;
* a Docker container publishing it (``PublicPort`` of the daemon's container list: this covers a
  daemon running without the userland proxy, where nothing is bound): ``{type: container,
  container, container_id}``;
* only TIME_WAIT connections left: ``{type: time_wait}``;
* a socket on the daemon's machine when that is another one (seen by a helper container, see
  :mod:`.remote`): ``{type: process, uid, host}``; its pid is not visible from there.

The resolver adds the holders only it knows: another entry: ``{type: request, service}``; a lease
of another run (:mod:`.leases`): ``{type: lease, project, run_id, service, expires_in}``; an
excluded port: ``{type: excluded}``; a bind that fails with no visible holder (another network namespace, no permission
to read /proc): ``{type: unknown}``.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from ansible_collections.argusai.resilience.plugins.module_utils.errors import from_exception

try:  # psutil beats hand-parsing /proc (and works where /proc/<pid>/fd is not readable to us)
    import psutil

    HAS_PSUTIL = True
except ImportError:  # the /proc fallback below is used
    psutil = None
    HAS_PSUTIL = False


LISTEN, TIME_WAIT = "0A", "06"  # TCP states as /proc/net/tcp prints them


@dataclass(frozen=True)
class Holder:
    """Who holds a port.

    ``type``: process, container, request, excluded, time_wait or unknown (leases: :class:`.leases.LeaseHolder`).
    ``uid`` and ``host``: a socket seen on the daemon's machine when that is another one.
    """

    type: str
    pid: int | None = None
    process: str | None = None
    uid: int | None = None
    host: str | None = None
    container: str | None = None
    container_id: str | None = None
    service: str | None = None
    expires_in: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if value is not None}

    def describe(self) -> str:
        if self.type == "process":
            if self.host is not None:
                return f"a process of uid {self.uid} on {self.host}"
            if self.pid is not None:
                return f"process {self.process or '?'} (pid {self.pid})"
            return f"process {self.process}" if self.process else "a process"
        if self.type == "container":
            return f"container {self.container} ({self.container_id})"
        if self.type == "time_wait":
            return "connections in TIME_WAIT"
        if self.type == "request":
            return f"service {self.service} of the same request"
        if self.type == "excluded":
            return "a port excluded by the caller"
        return "an unidentified holder"


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


class ProcSocket(NamedTuple):
    """One row of ``/proc/net/{tcp,udp}{,6}``; ``state`` in hex (``0A`` LISTEN, ``06`` TIME_WAIT)."""

    port: int
    remote_port: int
    state: str
    inode: str
    address: str = "0.0.0.0"  # local address; an IPv4-mapped IPv6 address as IPv4
    uid: int = 0


def parse_proc_net(lines: Iterable[str]) -> Iterator[ProcSocket]:
    """The sockets of one ``/proc/net/{tcp,udp}{,6}`` table (header and malformed lines skipped)."""
    for line in lines:
        fields = line.split()
        if len(fields) < 10 or fields[0] == "sl":
            continue
        try:
            local, local_port = fields[1].rsplit(":", 1)
            yield ProcSocket(
                int(local_port, 16),
                int(fields[2].rsplit(":", 1)[1], 16),
                fields[3],
                fields[9],
                _proc_address(local),
                int(fields[7]),
            )
        except (ValueError, IndexError):
            continue


def _proc_address(text: str) -> str:
    """The kernel prints addresses as 32-bit words in the machine's byte order (taken to be ours)."""
    raw = bytes.fromhex(text)
    if sys.byteorder == "little":
        raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    address = ipaddress.ip_address(raw)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def _proc_sockets(protocol: str, proc_net: str = "/proc/net") -> Iterator[ProcSocket]:
    """Every socket in /proc/net/<protocol>{,6} of this machine."""
    for table in (protocol, protocol + "6"):
        try:
            with open(f"{proc_net}/{table}", encoding="ascii") as handle:
                yield from parse_proc_net(handle)
        except OSError:
            continue


def _holders_from_proc(ports: set[int], protocol: str, proc_root: str = "/proc") -> dict[int, Holder]:
    """Listening (tcp) / bound (udp) socket inodes on ``ports``, matched against /proc/<pid>/fd."""
    inode_port: dict[str, int] = {}
    for sock in _proc_sockets(protocol, f"{proc_root}/net"):
        if sock.port not in ports or sock.inode == "0":
            continue
        if (protocol == "tcp" and sock.state == LISTEN) or (protocol == "udp" and sock.remote_port == 0):
            inode_port[f"socket:[{sock.inode}]"] = sock.port
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
        for sock in _proc_sockets("tcp"):
            if sock.state == TIME_WAIT and sock.port in wanted and sock.port not in found:
                found[sock.port] = Holder("time_wait")
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

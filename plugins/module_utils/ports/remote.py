# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host-port checks on the daemon's machine, wherever that is.

The bind probe (:mod:`.probe`) and the holder lookup (:mod:`.holders`) look at the machine the
module runs on: right when the daemon runs there too. When it runs on another machine
(:mod:`..machine.location`), :func:`port_checks` reads that machine's socket tables once per
resolution through a helper container (:mod:`..machine.helper`) and answers from them
(:class:`SocketTable`): a TCP port is taken when a socket listens on it, a UDP port when a socket
is bound to it, on an address that overlaps the bind address (a wildcard overlaps everything; a
socket on ``::`` is taken to accept IPv4 too). Their holders are ``{type: process, uid, host}``:
the helper does not see the host's processes, so no pid.

When no helper can run there (the probe image is missing, the daemon refuses host networking),
the checks are skipped with the reason: only the ports the daemon publishes and the leases count
then, and the caller warns. Never the wrong machine silently.
"""

from __future__ import annotations

import errno
import ipaddress
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.machine.helper import HelperUnavailable, MachineHelper
from ansible_collections.argusai.resilience.plugins.module_utils.machine.location import DaemonLocation
from ansible_collections.argusai.resilience.plugins.module_utils.ports.holders import (
    LISTEN,
    Holder,
    ProcSocket,
    find_process_holders,
    parse_proc_net,
)
from ansible_collections.argusai.resilience.plugins.module_utils.ports.probe import bind_probe

LOCAL, HELPER, SKIPPED = "local", "helper_container", "skipped"


@dataclass
class PortChecks:
    """What a resolver probes with, and how the checks were done (``report``, the ``daemon_machine`` result)."""

    probe: Callable[[int, str, Iterable[tuple[int, str]]], int | None]
    holder_lookup: Callable[[Iterable[int], str], Mapping[int, Holder]]
    report: dict[str, Any] = field(default_factory=dict)
    warning: str | None = None


class SocketTable:
    """The socket tables of the daemon's machine, read once; answers like the bind probe and holder lookup."""

    def __init__(self, tables: Mapping[str, str], host: str) -> None:
        self.host = host
        self.sockets: dict[str, list[ProcSocket]] = {"tcp": [], "udp": []}
        for table, text in tables.items():
            protocol = table.rstrip("6")
            if protocol in self.sockets:
                self.sockets[protocol].extend(parse_proc_net(text.splitlines()))

    def _holding(self, port: int, protocol: str, addresses: Iterable[str]) -> ProcSocket | None:
        wanted = list(addresses)
        for sock in self.sockets.get(protocol, ()):
            if sock.port != port or (protocol == "tcp" and sock.state != LISTEN):
                continue
            if any(_overlaps(address, sock.address) for address in wanted):
                return sock
        return None

    def probe(self, port: int, protocol: str, targets: Iterable[tuple[int, str]]) -> int | None:
        """None when ``port`` is free on every target address, else EADDRINUSE (as :func:`.probe.bind_probe`)."""
        held = self._holding(port, protocol, [address for _family, address in targets])
        return None if held is None else errno.EADDRINUSE

    def holders(self, ports: Iterable[int], protocol: str = "tcp") -> dict[int, Holder]:
        """Port → ``{type: process, uid, host}`` for every port a socket holds on any address."""
        found: dict[int, Holder] = {}
        for port in ports:
            held = self._holding(port, protocol, ["0.0.0.0", "::"])
            if held is not None:
                found[port] = Holder("process", uid=held.uid, host=self.host)
        return found


def _overlaps(target: str, bound: str) -> bool:
    """Whether binding ``target`` collides with a socket bound to ``bound``."""
    want, have = ipaddress.ip_address(target), ipaddress.ip_address(bound)
    if want.version == have.version:
        return want.is_unspecified or have.is_unspecified or want == have
    return have.version == 6 and have.is_unspecified  # "::" without IPV6_V6ONLY takes IPv4 too


def port_checks(
    client: Any, location: DaemonLocation, probe_image: str, project: str | None = None, run_id: str | None = None
) -> PortChecks:
    """The probe and holder lookup for the daemon at ``location``: this machine's, or a helper's snapshot."""
    report = dict(location.to_dict())
    if not location.remote:
        return PortChecks(bind_probe, find_process_holders, dict(report, checks=LOCAL))
    helper = MachineHelper(client.api, probe_image, project, run_id)
    try:
        table = SocketTable(helper.socket_tables(), location.machine)
    except HelperUnavailable as exc:
        reason = str(exc)
        warning = (
            f"host ports on {location.machine} (the daemon's machine) were not probed: {reason}. Only the ports "
            "the daemon publishes and the leases count as taken."
        )
        return PortChecks(_never_bound, _no_holders, dict(report, checks=SKIPPED, reason=reason), warning)
    return PortChecks(table.probe, table.holders, dict(report, checks=HELPER, probe_image=probe_image))


def _never_bound(port: int, protocol: str, targets: Iterable[tuple[int, str]]) -> int | None:
    return None


def _no_holders(ports: Iterable[int], protocol: str = "tcp") -> dict[int, Holder]:
    return {}

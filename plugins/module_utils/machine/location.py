# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the Docker daemon runs: on the machine the module runs on, or on another one.

Checks that look at the machine itself (host-port probes, free disk space) must look at the
machine whose daemon runs the containers. :func:`locate` decides from the address, before any
request; :meth:`DaemonLocation.confirm` may then move a local-looking daemon to "remote":

1. ``daemon_location`` ``local`` / ``remote``: the caller says so, nothing else is consulted;
2. the address: a ``unix://`` (or ``npipe://``) socket is on this machine; ``tcp://``,
   ``http(s)://`` and ``ssh://`` to ``localhost``, a loopback address or an address of one of this
   machine's interfaces are this machine; anything else, host names included (no DNS lookup), is
   another machine;
3. the daemon's host name (``docker info`` ``Name``): a local-looking address whose daemon answers
   with another host name than this machine's is another machine (a socket mounted into a
   container the module runs in, a socket or port forwarded over SSH, a VM).

Doubt means remote: taking a local daemon for a remote one costs a helper container and the pids
of holders, while the checks stay right; the other mistake would check the wrong machine.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from ansible_collections.argusai.resilience.plugins.module_utils.docker_client import candidate_hosts

AUTO, LOCAL, REMOTE = "auto", "local", "remote"
LOCATIONS = (AUTO, LOCAL, REMOTE)
_LOCAL_SCHEMES = ("unix", "npipe")
_NETWORK_SCHEMES = ("tcp", "http", "https", "ssh")


@dataclass(frozen=True)
class DaemonLocation:
    """Whether the daemon at ``docker_host`` runs on another machine, and why we think so.

    ``machine`` names the daemon's machine for messages (the address's host, or the daemon's host
    name); ``forced``: ``daemon_location`` decided, :meth:`confirm` changes nothing.
    """

    remote: bool
    docker_host: str
    decided_by: str
    machine: str = "this machine"
    forced: bool = False

    def confirm(self, daemon_name: str | None, this_host: str | None = None) -> DaemonLocation:
        """Step 3: a local-looking daemon that reports another host name is on another machine."""
        this_host = socket.gethostname() if this_host is None else this_host
        if self.forced or self.remote or not daemon_name or _same_host(daemon_name, this_host):
            return self
        return replace(
            self,
            remote=True,
            machine=daemon_name,
            decided_by=(
                f"{self.decided_by}, but the daemon reports host name {daemon_name!r} and this machine is "
                f"{this_host!r} (a socket mounted into a container, or forwarded from another machine)"
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "location": REMOTE if self.remote else LOCAL,
            "docker_host": self.docker_host,
            "machine": self.machine,
            "decided_by": self.decided_by,
        }


def locate(docker_host: str | None, override: str = AUTO) -> DaemonLocation:
    """Steps 1 and 2: the location of the daemon ``docker_host`` (the option; None: DOCKER_HOST or the sockets)."""
    hosts = candidate_hosts(docker_host)
    shown = " or ".join(hosts)
    if override in (LOCAL, REMOTE):
        remote = override == REMOTE
        machine = (_host_part(hosts[0]) or "the daemon's machine") if remote else "this machine"
        return DaemonLocation(remote, shown, f"daemon_location is {override}", machine, forced=True)
    verdicts = [_by_address(host) for host in hosts]
    remote_verdict = next((verdict for verdict in verdicts if verdict[0]), None)
    if remote_verdict is not None:  # only a single host (the option or DOCKER_HOST) can be remote
        return DaemonLocation(True, shown, remote_verdict[1], remote_verdict[2])
    return DaemonLocation(False, shown, verdicts[0][1])


def _by_address(url: str) -> tuple[bool, str, str]:
    """(remote, why, machine) from the address alone."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else "tcp"
    if scheme in _LOCAL_SCHEMES:
        return False, f"{scheme} socket on this machine", "this machine"
    if scheme not in _NETWORK_SCHEMES:
        return True, f"{url!r} is not an address of this machine", url
    host = _host_part(url) or "127.0.0.1"  # tcp://:2375 is the SDK's 127.0.0.1
    if host.lower() == "localhost":
        return False, "localhost is this machine", "this machine"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return True, f"host name {host!r} (not looked up; set daemon_location if it is this machine)", host
    if address.is_loopback:
        return False, f"{host} is a loopback address", "this machine"
    if is_own_address(address):
        return False, f"{host} is an address of this machine", "this machine"
    return True, f"{host} is not an address of this machine", host


def _host_part(url: str) -> str | None:
    if "://" not in url:
        url = f"tcp://{url}"
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def is_own_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether ``address`` belongs to this machine's interfaces.

    A UDP "connect" sends nothing; it only asks the kernel for a route. To one of our own
    addresses the route is local and the source it picks is that address itself. (Binding the
    address would say yes to anything where ``ip_nonlocal_bind`` is set.)
    """
    family = socket.AF_INET if address.version == 4 else socket.AF_INET6
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.connect((str(address), 9))
            source = sock.getsockname()[0]
    except OSError:  # no route there: not ours
        return False
    return ipaddress.ip_address(source.split("%", 1)[0]) == address


def _same_host(name: str, this_host: str) -> bool:
    """Host names compared without their domain (``box`` and ``box.example.com`` are one machine)."""
    return name.split(".", 1)[0].lower() == this_host.split(".", 1)[0].lower()


def locate_daemon(client: Any, docker_host: str | None, override: str = AUTO) -> DaemonLocation:
    """:func:`locate`, then :meth:`DaemonLocation.confirm` with the daemon's host name (one ``info`` request)."""
    location = locate(docker_host, override)
    if location.remote or location.forced:
        return location
    return location.confirm(client.info().get("Name"))

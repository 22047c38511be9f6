# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a host port can be bound: argument validation, the bind probe, the candidate ports.

A port is bound on the bind address: IPv4 and, where the host has IPv6 and the bind address is the
wildcard, ``::`` with ``IPV6_V6ONLY`` too.

The probe binds without ``SO_REUSEADDR`` first: with it, Linux lets the probe bind a port whose
current owner also set it (any UDP socket, a TCP socket that is bound but not yet listening), so a
held port would look free. When a TCP bind is refused, the probe tries once more with
``SO_REUSEADDR``, as Docker's port proxy and most servers bind: Linux lets that through only when
no socket listens on the port and what remains are ``TIME_WAIT`` connections of a listener that
set it too (e.g. Docker's proxy in the previous E2E run), so such a port stays with its service
instead of being reassigned on every rerun. The probe only binds (never listens or connects), so
closing it leaves no ``TIME_WAIT`` behind.

Ports below 1024 are never chosen as alternatives. A preferred port below 1024 is probed like any
other (it is the caller's explicit choice). The scan goes upward from the preferred port and
stops at 65535 (no wrap-around); ``max_attempts`` counts every candidate examined, preferred
port included. When none is free, the resolver raises ``PORT_EXHAUSTION``.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Iterable, Iterator
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.errors import invalid_input

PROTOCOLS = ("tcp", "udp")
MIN_PORT = 1
MAX_PORT = 65535
FIRST_UNPRIVILEGED = 1024
DEFAULT_BIND_ADDRESS = "0.0.0.0"

_WILDCARDS = ("0.0.0.0", "::", "")
# bind() errors that mean "this address family / address does not exist here", not "taken"
_FAMILY_MISSING = (errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL, errno.EPROTONOSUPPORT)


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
# Candidates
# ---------------------------------------------------------------------------------------------


def candidates(preferred: int, max_attempts: int) -> Iterator[int]:
    """The ports to examine, lazily: the preferred one, then upward, skipping < 1024, up to 65535."""
    yield preferred
    first = max(preferred + 1, FIRST_UNPRIVILEGED)
    yield from range(first, min(first + max_attempts - 1, MAX_PORT + 1))

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One port at a time: the stable helpers the container guard calls.

Their signatures do not change::

    next_free_port(preferred: int, protocol: str = "tcp", bind_address: str = "0.0.0.0",
                   max_attempts: int = 100, exclude: frozenset[int] | set[int] = frozenset(),
                   client=None) -> int
        # the first free port >= preferred (preferred itself when free), leased in the daemon of
        # ``client`` (no lease without one); raises ArgusError PORT_EXHAUSTION (or INVALID_INPUT)

    reresolve_after_allocation_error(service: str, port: int, protocol: str = "tcp",
                   bind_address: str = "0.0.0.0", max_attempts: int = 100,
                   exclude: frozenset[int] | set[int] = frozenset(), client=None,
                   events=None, project: str | None = None) -> dict
        # {service, original_port, actual_port, reassigned: True, occupied_by, protocol};
        # never returns ``port`` itself; emits port_conflict + port_reassigned on ``events``;
        # leases the new port for ``project`` (every lease blocks it, its run's own included)

    is_port_allocation_error(exc: BaseException) -> bool
        # True when errors.classify() says PORT_CONFLICT (port_allocated / address_in_use)

    port_holder(port: int, protocol: str = "tcp", bind_address: str = "0.0.0.0",
                client=None) -> dict | None
        # read-only "is it taken?": the occupied_by dict, or None when free; no lease read or
        # taken (use this, not next_free_port(max_attempts=1), to test a port)
"""

from __future__ import annotations

from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError, classify
from ansible_collections.argusai.resilience.plugins.module_utils.ports.holders import (
    Holder,
    find_process_holder,
    published_ports,
)
from ansible_collections.argusai.resilience.plugins.module_utils.ports.leases import Owner
from ansible_collections.argusai.resilience.plugins.module_utils.ports.probe import (
    DEFAULT_BIND_ADDRESS,
    FIRST_UNPRIVILEGED,
    MAX_PORT,
    bind_probe,
    probe_targets,
    validate_bind_address,
    validate_port,
    validate_protocol,
)
from ansible_collections.argusai.resilience.plugins.module_utils.ports.resolver import (
    DEFAULT_MAX_ATTEMPTS,
    PortMapping,
    PortRequest,
    PortResolver,
)


def next_free_port(
    preferred: int,
    protocol: str = "tcp",
    bind_address: str = DEFAULT_BIND_ADDRESS,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    exclude: frozenset[int] | set[int] = frozenset(),
    client=None,
) -> int:
    """The first free port from ``preferred`` upward (``preferred`` itself when free), leased in
    the daemon of ``client`` (without a client nothing is leased; the lease has no owner, so it
    blocks every resolver until a container publishes the port or it expires).

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
    ``port_conflict`` and ``port_reassigned`` on ``events`` and leases the new port, labeled with
    ``project`` (its orphan cleanup releases it) but exclusive: every lease blocks it, those of its
    own run included, so that services re-resolved at the same time never get the same port. The
    guard's start supersedes the lease. Raises PORT_EXHAUSTION when nothing is free.
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
    resolver = PortResolver(
        client=client, bind_address=bind_address, max_attempts=max_attempts, owner=Owner(project, exclusive=True)
    )
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

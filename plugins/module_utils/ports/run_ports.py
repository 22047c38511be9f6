# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One port resolution on one daemon, as argus_port_resolve does it, callable from any module.

argus_port_resolve and the guard's ``resolve_ports`` (guard/port_plan.py) both go through
:func:`resolve_on_daemon`: where the daemon runs decides how ports are probed (ports/remote.py),
then the resolver picks, leases and reports (ports/resolver.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.machine.location import locate_daemon
from ansible_collections.argusai.resilience.plugins.module_utils.ports.leases import Owner
from ansible_collections.argusai.resilience.plugins.module_utils.ports.probe import validate_bind_address
from ansible_collections.argusai.resilience.plugins.module_utils.ports.remote import port_checks
from ansible_collections.argusai.resilience.plugins.module_utils.ports.resolver import (
    PortRequest,
    PortResolver,
    Resolution,
)


@dataclass
class DaemonResolution:
    """A resolution, how the daemon's machine was probed (``daemon_machine``) and what to warn about."""

    resolution: Resolution
    daemon_machine: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def resolve_on_daemon(
    client: Any,
    requests: Iterable[PortRequest | Mapping[str, Any]],
    settings: Mapping[str, Any],
    project: str | None,
    run_id: str | None,
    events: Any,
    lease: bool,
) -> DaemonResolution:
    """Resolve ``requests`` with ``settings`` (``strategy``, ``max_attempts``, ``bind_address``,
    ``docker_host``, ``daemon_location``, ``probe_image``); ``lease`` False only reads leases (check mode).

    Raises PORT_CONFLICT / PORT_EXHAUSTION as the resolver does.
    """
    bind_address = validate_bind_address(settings["bind_address"])
    location = locate_daemon(client, settings.get("docker_host"), settings["daemon_location"])
    checks = port_checks(client, location, settings["probe_image"], project, run_id)
    resolver = PortResolver(
        client=client,
        bind_address=bind_address,
        max_attempts=settings["max_attempts"],
        events=events,
        owner=Owner(project, run_id),
        lease=lease,
        probe=checks.probe,
        holder_lookup=checks.holder_lookup,
    )
    resolution = resolver.resolve(requests, settings["strategy"])
    warnings = ([checks.warning] if checks.warning else []) + list(resolution.warnings)
    return DaemonResolution(resolution, checks.report, warnings)

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guard's ``resolve_ports``: the host ports of a call's containers, resolved in that call.

What the setup role did in two module calls before the guard (argus_run_info, then
argus_port_resolve) happens here, in the guard's own process: the ports that running containers
of the run publish already are kept, the others go through the same resolution as
argus_port_resolve (ports/run_ports.py), and each container spec gets its port.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.config.plan import port_name
from ansible_collections.argusai.resilience.plugins.module_utils.guard.options import DEFAULTS
from ansible_collections.argusai.resilience.plugins.module_utils.guard.spec import ContainerSpec, PortSpec
from ansible_collections.argusai.resilience.plugins.module_utils.ports.resolver import PortMapping


def _request_name(spec: ContainerSpec, port: PortSpec) -> str:
    return port_name(spec.service, {"container_port": port.container_port, "protocol": port.protocol})


def port_requests(specs: list[ContainerSpec]) -> list[dict[str, Any]]:
    """``{name, port, protocol}`` of every published port with a preferred host port, in spec order."""
    return [
        {"name": _request_name(spec, port), "port": port.host_port, "protocol": port.protocol}
        for spec in specs
        for port in spec.ports
        if port.host_port is not None
    ]


def kept_mappings(requests: list[dict[str, Any]], kept: Mapping[str, int]) -> list[dict[str, Any]]:
    """The mapping rows of the ports a rerun keeps from its running containers."""
    return [
        dict(
            PortMapping(
                request["name"],
                request["port"],
                kept[request["name"]],
                kept[request["name"]] != request["port"],
                protocol=request["protocol"],
            ).to_dict(),
            kept_from_run=True,
        )
        for request in requests
        if request["name"] in kept
    ]


def with_ports(specs: list[ContainerSpec], ports: Mapping[str, int]) -> list[ContainerSpec]:
    """The specs with each published port's ``host_port`` replaced by its resolved port."""
    updated = []
    for spec in specs:
        new_ports = tuple(
            PortSpec(p.container_port, ports.get(_request_name(spec, p), p.host_port), p.protocol, p.bind_address)
            if p.host_port is not None
            else p
            for p in spec.ports
        )
        values = {name: getattr(spec, name) for name in DEFAULTS}
        updated.append(ContainerSpec(**dict(values, ports=new_ports)))
    return updated


def plan_ports(
    client: Any,
    specs: list[ContainerSpec],
    settings: Mapping[str, Any],
    project: str,
    run_id: str | None,
    events: Any,
    check_mode: bool,
) -> tuple[list[ContainerSpec], dict[str, Any], list[str]]:
    """``(specs with their ports, port_resolution, warnings)``; raises PORT_CONFLICT / PORT_EXHAUSTION.

    ``settings``: the ``resolve_ports`` option plus ``docker_host``. ``port_resolution`` is
    ``{mappings, ports, kept, daemon_machine}``; ``kept`` holds the ports kept from the run.
    """
    requests = port_requests(specs)
    kept: dict[str, int] = {}
    if run_id is not None and requests:
        from ansible_collections.argusai.resilience.plugins.module_utils.cleanup.run_containers import (
            list_containers,
            published_ports,
        )

        names = {request["name"] for request in requests}
        published = published_ports(list_containers(client, project, run_id))
        kept = {name: port for name, port in published.items() if name in names}
    remaining = [request for request in requests if request["name"] not in kept]
    report: dict[str, Any] = {"mappings": kept_mappings(requests, kept), "ports": dict(kept), "kept": dict(kept)}
    warnings: list[str] = []
    if remaining:
        from ansible_collections.argusai.resilience.plugins.module_utils.ports.run_ports import resolve_on_daemon

        found = resolve_on_daemon(client, remaining, settings, project, run_id, events, lease=not check_mode)
        report["mappings"] += [mapping.to_dict() for mapping in found.resolution.mappings]
        report["ports"].update(found.resolution.ports)
        report["daemon_machine"] = found.daemon_machine
        warnings = found.warnings
    return with_ports(specs, report["ports"]), report, warnings

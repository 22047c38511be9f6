# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The network as Docker sees it: its containers, their IPv4 addresses and aliases.

The topology explains a failure (which name is where) and bounds the probes: only the addresses
of the containers attached to the network are ever connected to.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.docker_client import NotFound
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError


def missing(what: str, field_name: str, name: str) -> ArgusError:
    """INVALID_INPUT for a network or container the option ``field_name`` names but Docker does not know."""
    return ArgusError(
        "INVALID_INPUT",
        f"{what} {name!r} does not exist on the Docker host",
        {"field": field_name, "value": name, "cause": "not_found"},
    )


def inspect_network(api: Any, name: str) -> dict[str, Any]:
    """``docker network inspect``; a missing network is INVALID_INPUT (the ``network`` option)."""
    try:
        return api.inspect_network(name)
    except NotFound as exc:
        raise missing("network", "network", name) from exc


def endpoint_addresses(network: dict[str, Any]) -> set[str]:
    """The IPv4 addresses of the containers attached to ``network`` (inspect data)."""
    addresses = {
        (endpoint.get("IPv4Address") or "").split("/")[0] for endpoint in (network.get("Containers") or {}).values()
    }
    return {address for address in addresses if address}


def read_topology(api: Any, name: str) -> dict[str, Any]:
    """Inspect the network and each of its containers; see :func:`build_topology`."""
    network = inspect_network(api, name)
    inspected: dict[str, dict[str, Any]] = {}
    for container_id in network.get("Containers") or {}:
        try:
            inspected[container_id] = api.inspect_container(container_id)
        except NotFound:  # removed between the two calls: listed without aliases
            inspected[container_id] = {}
    return build_topology(network, inspected)


def build_topology(network: dict[str, Any], containers: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``{network, id, driver, subnets, containers: [{name, id, ipv4, aliases}]}`` from inspect data.

    ``containers`` maps container id -> container inspect data (for the aliases, which only the
    container's NetworkSettings.Networks[<network>].Aliases holds). The container's short id,
    which Docker also registers as an alias, is left out of ``aliases``.
    """
    name = network.get("Name", "")
    subnets = [cfg.get("Subnet") for cfg in (network.get("IPAM") or {}).get("Config") or [] if cfg.get("Subnet")]
    entries = []
    for container_id, endpoint in (network.get("Containers") or {}).items():
        inspect = containers.get(container_id) or {}
        settings = ((inspect.get("NetworkSettings") or {}).get("Networks") or {}).get(name) or {}
        aliases = [a for a in settings.get("Aliases") or [] if a != container_id[:12]]
        entries.append(
            {
                "name": endpoint.get("Name") or (inspect.get("Name") or "").lstrip("/"),
                "id": container_id[:12],
                "ipv4": (endpoint.get("IPv4Address") or "").split("/")[0] or None,
                "aliases": aliases,
            }
        )
    entries.sort(key=lambda entry: entry["name"])
    return {
        "network": name,
        "id": (network.get("Id") or "")[:12],
        "driver": network.get("Driver"),
        "subnets": subnets,
        "containers": entries,
    }


def describe_topology(topology: dict[str, Any]) -> str:
    """``containers on the network e2e: api (172.18.0.2, aliases api), ...``."""
    parts = []
    for entry in topology["containers"]:
        aliases = ", ".join(entry["aliases"]) or "none"
        parts.append(f"{entry['name']} ({entry['ipv4'] or 'no IPv4'}, aliases {aliases})")
    listing = "; ".join(parts) if parts else "none"
    return f"Containers on the network {topology['network']}: {listing}"

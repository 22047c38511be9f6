# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The containers of ONE run as the daemon lists them, and the ports they publish (argus_run_info).

Kept apart from ``inventory``: the port names come from ``e2e_config``, which the cleaners and
the preflight need not carry in their module payload.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils import labels as L
from ansible_collections.argusai.resilience.plugins.module_utils.config.plan import port_name
from ansible_collections.argusai.resilience.plugins.module_utils.errors import from_exception


def _managed_by_run(labels: dict[str, str] | None, project: str, run_id: str) -> bool:
    # The daemon filtered by label already; checking again means a filter bug can never hand a
    # foreign resource to the caller.
    return L.is_managed(labels, project) and (labels or {}).get(L.RUN_ID) == run_id


def list_containers(client: Any, project: str, run_id: str) -> list[dict[str, Any]]:
    """The run's containers as the daemon lists them (with ``Ports`` and ``State``)."""
    try:
        rows = client.api.containers(all=True, filters=L.run_filter(project, run_id))
    except Exception as exc:  # classified by the one table
        raise from_exception(exc, "listing the containers of the run") from exc
    return [row for row in rows if _managed_by_run(row.get("Labels"), project, run_id)]


def published_ports(containers: list[dict[str, Any]]) -> dict[str, int]:
    """``config.plan.port_name`` → host port, for the RUNNING containers given (daemon list rows).

    These are the ``ports`` keys of argus_port_resolve in the argus_setup role, so a re-run of
    the same run can keep its ports.
    """
    ports: dict[str, int] = {}
    for row in containers:
        if row.get("State") != "running":
            continue
        service = (row.get("Labels") or {}).get(L.SERVICE) or (row.get("Names") or ["/"])[0].lstrip("/")
        for binding in row.get("Ports") or []:
            if binding.get("PublicPort"):
                port = {"container_port": binding["PrivatePort"], "protocol": (binding.get("Type") or "tcp").lower()}
                ports.setdefault(port_name(service, port), int(binding["PublicPort"]))
    return ports


def container_summary(row: dict[str, Any]) -> dict[str, Any]:
    """A short description of a listed container."""
    return {
        "id": row["Id"],
        "name": (row.get("Names") or ["/"])[0].lstrip("/"),
        "image": row.get("Image"),
        "state": row.get("State"),
        "status": row.get("Status"),
        "service": (row.get("Labels") or {}).get(L.SERVICE),
        "ports": [
            {
                "container_port": binding.get("PrivatePort"),
                "host_port": binding.get("PublicPort"),
                "host_ip": binding.get("IP"),
                "protocol": binding.get("Type"),
            }
            for binding in row.get("Ports") or []
        ],
    }

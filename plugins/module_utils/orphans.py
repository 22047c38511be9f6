# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Finding orphans: managed resources of a project that belong to another run."""

from __future__ import annotations

from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils import labels as L

RESOURCE_TYPES = ("containers", "networks", "volumes")


def _describe(resource_type: str, resource_id: str, name: str, resource_labels: dict[str, str]) -> dict[str, Any]:
    return {
        "type": resource_type[:-1],  # container / network / volume
        "id": resource_id,
        "name": name,
        "project": resource_labels.get(L.PROJECT),
        "run_id": resource_labels.get(L.RUN_ID),
        "created_at": resource_labels.get(L.CREATED_AT),
    }


def _list(api: Any, resource_type: str, project: str) -> list[dict[str, Any]]:
    """One low-level list call per type: no per-resource inspect."""
    filters = L.project_filter(project)
    if resource_type == "containers":
        rows = [
            (r["Id"], r["Names"][0].lstrip("/"), r.get("Labels")) for r in api.containers(all=True, filters=filters)
        ]
    elif resource_type == "networks":
        rows = [(r["Id"], r["Name"], r.get("Labels")) for r in api.networks(filters=filters)]
    else:
        rows = [(r["Name"], r["Name"], r.get("Labels")) for r in api.volumes(filters=filters).get("Volumes") or []]
    # The daemon filtered by label already; checking again means a filter bug can never
    # hand a foreign resource to the cleaner.
    return [_describe(resource_type, rid, name, labels) for rid, name, labels in rows if L.is_managed(labels, project)]


def find_orphans(
    client: Any, project: str, run_id: str | None = None, resource_types: tuple[str, ...] | list[str] = RESOURCE_TYPES
) -> list[dict[str, Any]]:
    """Managed resources of ``project`` whose run id is not ``run_id``, containers first.

    The daemon filters by label; the labels are checked again here so that nothing without
    ``argusai.managed=true`` of this project can ever be returned.
    """
    L.validate_project(project)
    listed = [_list(client.api, t, project) for t in resource_types]
    orphans = []
    for resources in listed:
        for resource in resources:
            if run_id is None or resource["run_id"] != run_id:
                orphans.append(resource)
    return orphans

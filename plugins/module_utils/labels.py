# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``argusai.*`` labels every resource carries, filters on them, and name validation."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.errors import invalid_input, utc_now

MANAGED = "argusai.managed"
PROJECT = "argusai.project"
RUN_ID = "argusai.run-id"
CREATED_AT = "argusai.created-at"
SERVICE = "argusai.service"
# On the volumes that are locks and port leases (daemon_lock.py): not resources of a run.
LOCK = "argusai.lock"

PROJECT_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
# Run ids follow the project rule so that they are safe inside label filters.
RUN_ID_PATTERN = PROJECT_NAME
# Docker's own rule for container, network and volume names, with a length cap.
RESOURCE_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$")

_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def validate_project(name: Any, field_name: str = "project") -> str:
    """Return the project name, or raise INVALID_INPUT before Docker is ever called."""
    if not isinstance(name, str) or not PROJECT_NAME.match(name):
        raise invalid_input(
            field_name, name, "must match ^[a-z0-9][a-z0-9_.-]{0,62}$ (lower-case letters, digits, '_', '.', '-')"
        )
    return name


def validate_run_id(run_id: Any, field_name: str = "run_id") -> str:
    if not isinstance(run_id, str) or not RUN_ID_PATTERN.match(run_id):
        raise invalid_input(field_name, run_id, "must match ^[a-z0-9][a-z0-9_.-]{0,62}$")
    return run_id


def validate_resource_name(name: Any, field_name: str = "name") -> str:
    """Container, network and volume names: Docker's character rule, at most 128 characters."""
    if not isinstance(name, str) or not RESOURCE_NAME.match(name):
        raise invalid_input(field_name, name, "must match ^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$")
    return name


def new_run_id(now_ms: int | None = None) -> str:
    """Base-36 of the epoch milliseconds, as the original implementation generated it."""
    value = int(time.time() * 1000) if now_ms is None else now_ms
    digits = ""
    while True:
        value, remainder = divmod(value, 36)
        digits = _BASE36[remainder] + digits
        if value == 0:
            return digits


def resource_labels(
    project: str, run_id: str, service: str | None = None, created_at: str | None = None
) -> dict[str, str]:
    """The labels for a resource this collection creates."""
    labels = {
        MANAGED: "true",
        PROJECT: validate_project(project),
        RUN_ID: validate_run_id(run_id),
        CREATED_AT: created_at or utc_now(),
    }
    if service is not None:
        labels[SERVICE] = service
    return labels


def project_filter(project: str) -> dict[str, list[str]]:
    """Docker list filter for every managed resource of a project."""
    return {"label": [f"{MANAGED}=true", f"{PROJECT}={validate_project(project)}"]}


def run_filter(project: str, run_id: str) -> dict[str, list[str]]:
    """Docker list filter for the managed resources of one run of a project."""
    labels = project_filter(project)["label"] + [f"{RUN_ID}={validate_run_id(run_id)}"]
    return {"label": labels}


def is_managed(labels: Mapping[str, str] | None, project: str | None = None) -> bool:
    """True when the labels say this collection manages the resource (for that project)."""
    labels = labels or {}
    if labels.get(MANAGED) != "true":
        return False
    return project is None or labels.get(PROJECT) == project

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resilience events: the 16 types and the one builder modules use to emit them."""

from __future__ import annotations

from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.errors import utc_now

EVENT_TYPES = frozenset(
    {
        "preflight_start",
        "preflight_check",
        "preflight_end",
        "restart_attempt",
        "restart_success",
        "restart_exhausted",
        "cleanup_start",
        "cleanup_resource",
        "cleanup_end",
        "port_conflict",
        "port_reassigned",
        "circuit_open",
        "circuit_half_open",
        "circuit_closed",
        "network_check",
        "network_verified",
    }
)


def make_event(event_type: str, project: str | None, run_id: str | None, data: dict[str, Any] | None = None) -> dict:
    """One event: ``{type, timestamp, project, run_id, data}``."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    return {"type": event_type, "timestamp": utc_now(), "project": project, "run_id": run_id, "data": data or {}}


class EventLog:
    """Collects the events of one module run; safe to emit from several threads.

    In check mode every event's data has ``check_mode: true``: what it reports was predicted, not
    done, and a reader of the events file must be able to tell.
    """

    def __init__(self, project: str | None, run_id: str | None, check_mode: bool = False) -> None:
        self.project = project
        self.run_id = run_id
        self.check_mode = check_mode
        self.events: list[dict] = []

    def emit(self, event_type: str, **data: Any) -> dict:
        if self.check_mode:
            data["check_mode"] = True
        event = make_event(event_type, self.project, self.run_id, data)
        self.events.append(event)  # list.append is atomic in CPython
        return event

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the guard did to one container, and how it went: filled in by the supervisor and the starts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError

# Actions the guard takes on a container.
NONE, CREATE, RECREATE, START, REMOVE = "none", "create", "recreate", "start", "remove"


@dataclass
class GuardOutcome:
    """The result for one container; ``error`` is set when the guard failed it."""

    name: str
    action: str = NONE
    changed: bool = False
    container: dict[str, Any] | None = None
    attempts: list[dict[str, Any]] = field(default_factory=list)
    final_status: str | None = None
    port_mappings: list[dict[str, Any]] = field(default_factory=list)
    run_id: str | None = None
    error: ArgusError | None = None
    duration_ms: int = 0
    run_since_ns: int | None = None  # just before the current run was started (events and logs since)
    start_seconds: float = 0.0  # how long the last start call took (Docker's own start latency)
    not_started_because: list[str] = field(default_factory=list)  # the failed start_first containers

    @property
    def restart_history(self) -> dict[str, Any]:
        return {"container_name": self.name, "attempts": self.attempts, "final_status": self.final_status}

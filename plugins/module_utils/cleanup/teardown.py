# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Teardown of ONE run: everything labeled with its run id, removed the orphan cleaner's way.

The orphan cleaner removes the runs of a project *other than* the current one; teardown needs
the opposite scope. :class:`RunTeardown` is the orphan cleaner with the other selection
(``inventory.find_run_resources``), so removal order (containers, networks, volumes),
parallelism, "already gone counts as removed", per-resource errors and events are exactly the
cleaner's; the port leases released are the run's own.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.cleanup.cleaner import OrphanCleaner
from ansible_collections.argusai.resilience.plugins.module_utils.cleanup.inventory import find_run_resources
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError
from ansible_collections.argusai.resilience.plugins.module_utils.ports.leases import release_runs


class RunTeardown(OrphanCleaner):
    """Remove everything of one run (``options.run_id``), with the orphan cleaner's removal logic."""

    def detect(self, cutoff: Any = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        if self.options.run_id is None:
            raise ArgusError("INVALID_INPUT", "run_id is required for a teardown", {"field": "run_id", "value": None})
        return find_run_resources(
            self.client, self.options.project, self.options.run_id, self.options.resource_types
        ), []

    def release_leases(self, cutoff: Any) -> int:
        """The run's port leases, however new: the run ends here."""
        run_id = self.options.run_id
        return release_runs(self.client, self.options.project, lambda run: run == run_id)

    def scope(self) -> str:
        return f"resources of run {self.options.run_id} of project {self.options.project}"


class RunReconcile(RunTeardown):
    """The containers of one run whose service a setup no longer has (renamed or dropped): a run
    set up again is brought to its configuration, not left with the old containers beside it."""

    def __init__(self, client: Any, options: Any, events: Any, keep_services: list[str] | tuple[str, ...]) -> None:
        super().__init__(client, options, events)
        self.keep_services = frozenset(keep_services)

    def detect(self, cutoff: Any = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        found, _excluded = super().detect(cutoff)
        return [r for r in found if r["type"] == "container" and r.get("service") not in self.keep_services], []

    def release_leases(self, cutoff: Any) -> int:
        return 0  # the run goes on: its leases stay (a removed container's were superseded at its start)

    def scope(self) -> str:
        return f"containers of run {self.options.run_id} of project {self.options.project} no longer configured"

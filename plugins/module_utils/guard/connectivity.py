# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guard's ``verify``: argus_network_verify's check, run in the guard's own process.

The guard calls it once every container of the call is ready (guard/tiers.py), while their
stability windows run on; it is the same NetworkVerifier with the same options, events, report and
errors as the module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError, from_exception
from ansible_collections.argusai.resilience.plugins.module_utils.network.options import options_from_params
from ansible_collections.argusai.resilience.plugins.module_utils.network.verifier import NetworkVerifier


class ConnectivityCheck:
    """Callable once or more; after a call, ``report`` and ``error`` (the failure, or None) hold its answer.

    The options are checked when it is made, before any container is touched (INVALID_INPUT).
    """

    def __init__(
        self, client: Any, params: Mapping[str, Any], project: str, run_id: str | None, timeout: int, events: Any
    ):
        self.client = client
        self.events = events
        self.options = options_from_params(dict(params, project=project, run_id=run_id, timeout=timeout))
        self.report: dict[str, Any] | None = None
        self.error: ArgusError | None = None
        self.runs = 0

    def __call__(self) -> None:
        self.runs += 1
        try:
            verifier = NetworkVerifier(self.client, self.options, self.events)
            self.report = verifier.run()
            self.error = verifier.failure
        except Exception as exc:  # noqa: BLE001 - classified by the one table, reported by the guard
            self.report, self.error = None, from_exception(exc, "the connectivity check could not run")

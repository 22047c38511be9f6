# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""argus_result: record one host's outcome of a playbook run in the result file; fail with the error.

Runs on the controller. The playbooks call it last, on success and on failure, so that the result
file holds every host and the last failed task carries ``error``.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.errors import (
    ArgusError,
    from_failed_task,
    scope_to_host,
    utc_now,
)
from ansible_collections.argusai.resilience.plugins.module_utils.module_options import RESULT
from ansible_collections.argusai.resilience.plugins.plugin_utils.controller_action import ControllerAction
from ansible_collections.argusai.resilience.plugins.plugin_utils.result_file import with_rerun_inputs, write_entry


class ActionModule(ControllerAction):
    OPTIONS = RESULT

    def core(self, params: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        host = task_vars.get("inventory_hostname") or "localhost"
        error = params["error"]
        if error is not None and not error.get("code"):
            # a failure without a structured error (a role's refused variables, a templating error in a
            # task): never a bare message
            error = from_failed_task(error).to_dict()
        if error is not None:
            error = with_rerun_inputs(
                scope_to_host(error, host, params["docker_host"]), params["playbook"], params["rerun"]
            )
        entry = {
            "ok": error is None,
            "failed_stage": params["failed_stage"] if error is not None else None,
            "error": error,
            "result": params["result"],
            "timestamp": utc_now(),
        }
        if params["path"] and not self._task.check_mode:
            try:
                write_entry(params["path"], params["playbook"], host, entry)
            except OSError as exc:
                raise ArgusError(
                    "INVALID_INPUT",
                    f"the result file {params['path']} cannot be written ({exc.strerror})",
                    {"field": "path", "value": params["path"]},
                ) from None
        outcome: dict[str, Any] = {"changed": False, "ok": entry["ok"], "result_file": params["path"]}
        if error is None:
            return outcome
        stage = f" at stage {entry['failed_stage']}" if entry["failed_stage"] else ""
        message = f"{params['playbook']} failed{stage}: {error.get('code')}: {error.get('message')}"
        return dict(outcome, failed=True, msg=message, error=error, failed_stage=entry["failed_stage"])

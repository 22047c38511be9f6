# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""argus_circuit: read or reset a circuit breaker. Runs on the controller only (no module is sent)."""

from __future__ import annotations

from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError
from ansible_collections.argusai.resilience.plugins.module_utils.labels import validate_project
from ansible_collections.argusai.resilience.plugins.plugin_utils.breaker import CircuitBreaker
from ansible_collections.argusai.resilience.plugins.plugin_utils.breaker_action import (
    SETTINGS_ARG,
    SETTINGS_VAR,
    failure,
    read_settings,
    stored_circuits,
    transition_events,
    utc_now,
)
from ansible_collections.argusai.resilience.plugins.plugin_utils.breaker_store import (
    FACT,
    project_state,
    with_project_state,
)

# Must match DOCUMENTATION in plugins/modules/argus_circuit.py.
ARGUMENT_SPEC: dict[str, Any] = {
    "project": {"type": "str", "required": True},
    "state": {"type": "str", "choices": ["status", "reset"], "default": "status"},
    SETTINGS_ARG: {"type": "dict"},
    # Accepted and ignored so that module_defaults for group/argusai.resilience.docker apply.
    "docker_host": {"type": "str"},
    "timeout": {"type": "int"},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars if task_vars is not None else {}
        result = super().run(tmp, task_vars)
        del tmp
        validation = ArgumentSpecValidator(ARGUMENT_SPEC).validate(dict(self._task.args))
        if validation.error_messages:
            message = "; ".join(validation.error_messages)
            result.update(failure(ArgusError("INVALID_INPUT", message, {"field": None})))
            return result
        args = validation.validated_parameters
        try:
            project = validate_project(args["project"])
            settings = read_settings(self._templar.template(task_vars.get(SETTINGS_VAR)), args[SETTINGS_ARG])
        except ArgusError as exc:
            result.update(failure(exc))
            return result

        stored = stored_circuits(task_vars.get("ansible_facts"))
        circuits = self._templar.template(stored) if stored is not None else None
        stored_state, notes = project_state(circuits, project)
        breaker, breaker_notes = CircuitBreaker.from_dict(stored_state, settings, f"breaker '{project}'")
        previous = breaker.to_dict()
        transition = breaker.reset(utc_now()) if args["state"] == "reset" else None
        current = breaker.to_dict()

        result.update(
            changed=transition is not None,
            project=project,
            previous=previous,
            current=current,
            argus_events=transition_events(
                [transition] if transition else [], breaker, project, None, self._task.get_name()
            ),
        )
        if args["state"] == "reset":
            result["msg"] = (
                f"breaker of project '{project}' moved from open to half-open: the next task is the probe"
                if transition
                else f"breaker of project '{project}' is {previous['state']}: nothing to reset"
            )
        else:
            result["msg"] = f"breaker of project '{project}' is {current['state']}"
        if transition and not self._task.check_mode:
            result["ansible_facts"] = {FACT: with_project_state(circuits, project, current)}
            result[FACT] = {"project": project, **current}
        if notes or breaker_notes:
            result["warnings"] = notes + breaker_notes
        return result

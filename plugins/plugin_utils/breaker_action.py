# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The circuit-breaker gate shared by the action plugins of every Docker-touching module.

Where the state lives: ``ansible_facts.argus_circuit[<project>]`` of the host (the facts cache,
format in ``breaker_store``). This action plugin reads it from the (templated) task vars and
returns the new state in ``ansible_facts`` and in the ``argus_circuit`` result key. Core keeps
``ansible_facts`` of successful tasks only; the ``argusai.resilience.argus_events`` callback
stores the state of failed ones (``breaker_store.HostFactsStore`` in the main process), and the
action plugin warns when that callback is not loaded (:func:`events_callback_enabled`).

Settings (docs/circuit-breaker.md): the variable ``argus_circuit_breaker`` (a dict with
``enabled``, ``failure_threshold``, ``cooldown_seconds``, ``history_size``), overridden key by
key by the task argument ``circuit_breaker`` - meant for ``module_defaults`` of
``group/argusai.resilience.docker``. That argument is stripped before the module is sent.

Outcome classification:

* success                                   -> consecutive failures reset; a probe closes
* failed with ``error.code`` in ``errors.INFRASTRUCTURE_FAILURE_CODES``
                                            -> counted; opens at the threshold / on a probe
* any other failure (user-caused: port conflict under ``strategy: fail``, a crashing app,
  bad arguments, a failure without a structured error)
                                            -> neutral: neither counted nor resetting, and a
                                               half-open breaker stays half-open (the probe
                                               said nothing about the Docker host)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from ansible import constants as C
from ansible import context
from ansible.plugins.action import ActionBase
from ansible_collections.argusai.resilience.plugins.module_utils.errors import (
    INFRASTRUCTURE_FAILURE_CODES,
    ArgusError,
    command_line,
    invalid_input,
    scope_to_host,
)
from ansible_collections.argusai.resilience.plugins.module_utils.events import make_event
from ansible_collections.argusai.resilience.plugins.module_utils.labels import validate_project
from ansible_collections.argusai.resilience.plugins.plugin_utils import module_call
from ansible_collections.argusai.resilience.plugins.plugin_utils.breaker import (
    BreakerSettings,
    CircuitBreaker,
    SettingsError,
    Transition,
)
from ansible_collections.argusai.resilience.plugins.plugin_utils.breaker_store import (
    FACT,
    project_state,
    with_project_state,
)

SETTINGS_VAR = "argus_circuit_breaker"
SETTINGS_ARG = "circuit_breaker"
DEFAULT_PROJECT = "default"

EVENTS_CALLBACK = "argusai.resilience.argus_events"
CALLBACK_WARNING = (
    "The argusai.resilience.argus_events callback is not enabled: circuit-breaker failures are not "
    "remembered between tasks and runs (ansible-core drops ansible_facts of failed tasks), so the breaker "
    "will not open. Add "
    "'callbacks_enabled = argusai.resilience.argus_events' to the [defaults] section of ansible.cfg "
    "(ad-hoc 'ansible' also needs 'bin_ansible_callbacks = True'; see docs/circuit-breaker.md)."
)


def events_callback_loaded(enabled: Any, adhoc: bool, load_callback_plugins: bool) -> bool:
    """Whether ansible-core's ``TaskQueueManager.load_callbacks`` loads the argus_events callback.

    Core's rule (2.17 to 2.21) for a callback that needs enabling, as ours does: its name is in
    ``callbacks_enabled`` and the CLI runs additional callbacks - ``ansible-playbook`` always,
    the ad-hoc CLIs (``ansible``, ``ansible-console``) only with ``bin_ansible_callbacks``.
    Wrappers such as ansible-runner act through that same configuration (it sets the stdout
    callback, and ``bin_ansible_callbacks`` for ad-hoc commands), which the worker reads as core did.
    """
    if adhoc and not load_callback_plugins:
        return False
    return EVENTS_CALLBACK in (enabled or ())


def adhoc_cli(cli_args: Mapping[str, Any]) -> bool:
    """True when the parsed command line is ad-hoc ``ansible`` (``-m``) or ``ansible-console`` (a pattern)."""
    return "module_name" in cli_args or "pattern" in cli_args


def events_callback_enabled() -> bool:
    """The decision for this run, from the configuration and command line the worker inherited.

    Workers are forked from the main process after it parsed both, so they see what
    ``load_callbacks`` saw; nothing has to be handed over at run time.
    """
    return events_callback_loaded(C.CALLBACKS_ENABLED, adhoc_cli(context.CLIARGS), C.DEFAULT_LOAD_CALLBACK_PLUGINS)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def read_settings(variable: Any, override: Any = None) -> BreakerSettings:
    """Settings from the templated ``argus_circuit_breaker`` variable and the task argument."""
    try:
        return BreakerSettings.from_mapping(variable, override)
    except SettingsError as exc:
        raise invalid_input(f"{SETTINGS_VAR}.{exc.field}", exc.value, exc.reason) from None


def stored_circuits(facts: Any) -> Any:
    """``argus_circuit`` from the task's ``ansible_facts``, freshest copy first.

    Within one task, between loop items and ``until`` attempts, ansible-core (2.19) merges
    the previous run's facts into the task vars as ``ansible_facts.ansible_facts.<fact>``
    (``namespace_facts`` nests them); that copy is newer than the one the task started with.
    """
    if not isinstance(facts, Mapping):
        return None
    nested = facts.get("ansible_facts")
    if isinstance(nested, Mapping) and FACT in nested:
        return nested[FACT]
    return facts.get(FACT)


def breaker_key(project: Any) -> str:
    """The facts key: the validated project, or ``default`` for modules without one."""
    if project is None or project == "":
        return DEFAULT_PROJECT
    return validate_project(project)


def transition_events(
    transitions: list[Transition] | tuple[Transition, ...],
    breaker: CircuitBreaker,
    project: str,
    run_id: str | None,
    task: str | None,
) -> list[dict[str, Any]]:
    """``circuit_open`` / ``circuit_half_open`` / ``circuit_closed`` events for transitions."""
    return [
        make_event(
            transition.event_type,
            project,
            run_id,
            {
                "from": transition.previous,
                "to": transition.current,
                "reason": transition.reason,
                "failure_count": breaker.failure_count,
                "failure_threshold": breaker.settings.failure_threshold,
                "task": task,
            },
        )
        for transition in transitions
    ]


def classify_result(result: Mapping[str, Any]) -> tuple[str, str | None, str]:
    """``(outcome, code, message)`` with outcome ``success``, ``infrastructure`` or ``neutral``."""
    if not result.get("failed") and not result.get("unreachable"):
        return "success", None, ""
    error = result.get("error") if isinstance(result.get("error"), Mapping) else {}
    code = error.get("code")
    message = str(error.get("message") or result.get("msg") or "")
    return ("infrastructure" if code in INFRASTRUCTURE_FAILURE_CODES else "neutral"), code, message


def refusal(
    breaker: CircuitBreaker,
    project: str,
    run_id: str | None,
    host: str | None,
    retry_after: float | None,
    docker_host: str | None = None,
) -> dict[str, Any]:
    """The CIRCUIT_OPEN failure returned instead of sending the module; its ``reset_circuit`` action
    and the command the message prints act on this host's breaker."""
    last = breaker.failure_history[-1] if breaker.failure_history else {}
    details = {
        "project": project,
        "host": host,
        "state": breaker.state,
        "retry_after_seconds": retry_after,
        "failure_count": breaker.failure_count,
        "failure_threshold": breaker.settings.failure_threshold,
        "last_failure_time": breaker.last_failure_time,
        "failure_history": breaker.to_dict()["failure_history"],
    }
    context = {"project": project, "run_id": run_id, "host": host, "docker_host": docker_host}
    actions = ArgusError("CIRCUIT_OPEN", "", details).with_context(**context).to_dict()["suggested_actions"]
    reset = next(action for action in actions if action["id"] == "reset_circuit")
    message = (
        f"circuit breaker of project '{project}' on {host or 'this host'} is open after "
        f"{breaker.failure_count} consecutive infrastructure failures"
        + (f" (last: {last.get('code')} at {last.get('time')})" if last else "")
        + "; the task was not sent. Fix the Docker host, then reset the breaker"
        + (f" (or wait {retry_after:g}s for the cooldown)" if retry_after is not None else "")
        + f": {command_line(reset)}"
    )
    return failure(ArgusError("CIRCUIT_OPEN", message, details).with_context(**context))


def docker_host(module_args: Mapping[str, Any]) -> str | None:
    """The daemon the task named (None: the module's default, ``DOCKER_HOST`` or the local socket)."""
    value = module_args.get("docker_host")
    return value if isinstance(value, str) and value else None


def failure(error: ArgusError) -> dict[str, Any]:
    """A failed result: ``msg`` for people, ``error`` for machines."""
    return {"failed": True, "changed": False, "msg": f"{error.code}: {error.message}", "error": error.to_dict()}


class BreakerAction(ActionBase):
    """Run the module behind the breaker of ``(host, project)``."""

    TRANSFERS_FILES = False
    _host: str | None = None  # the inventory host of the running task
    _supports_check_mode = True  # the module decides; every wrapped module supports check mode
    _supports_async = False  # an async job's outcome is unknown when the task returns

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars if task_vars is not None else {}
        self._host = task_vars.get("inventory_hostname")
        result = super().run(tmp, task_vars)
        del tmp
        module_args = dict(self._task.args)
        override = module_args.pop(SETTINGS_ARG, None)
        warnings: list[str] = [] if events_callback_enabled() else [CALLBACK_WARNING]
        try:
            settings = read_settings(self._templar.template(task_vars.get(SETTINGS_VAR)), override)
            project = breaker_key(module_args.get("project"))
        except ArgusError as exc:
            if exc.details.get("field") == "project":
                # The module reports its own bad input; there is no breaker to consult.
                return self._finish(result, self._run_module(module_args, task_vars), warnings)
            return self._finish(result, failure(exc), warnings)
        if not settings.enabled:
            return self._finish(result, self._run_module(module_args, task_vars), [])

        stored = stored_circuits(task_vars.get("ansible_facts"))
        circuits = self._templar.template(stored) if stored is not None else None
        stored_state, notes = project_state(circuits, project)
        breaker, breaker_notes = CircuitBreaker.from_dict(stored_state, settings, f"breaker '{project}'")
        warnings += notes + breaker_notes
        run_id = module_args.get("run_id") if isinstance(module_args.get("run_id"), str) else None
        task_name = self._task.get_name()
        now = utc_now()

        decision = breaker.before_call(now)
        transitions = list(decision.transitions)
        if decision.allowed:
            outcome = self._run_module(module_args, task_vars)
            kind, code, message = classify_result(outcome)
            if kind == "success":
                transitions += breaker.record_success(utc_now())
            elif kind == "infrastructure":
                transitions += breaker.record_failure(code or "", message, utc_now(), task_name)
        else:
            outcome = refusal(
                breaker,
                project,
                run_id,
                task_vars.get("inventory_hostname"),
                decision.retry_after_seconds,
                docker_host(module_args),
            )

        state = breaker.to_dict()
        outcome[FACT] = {"project": project, **state}
        outcome.setdefault("ansible_facts", {})[FACT] = with_project_state(circuits, project, state)
        events = outcome.get("argus_events")
        outcome["argus_events"] = (list(events) if isinstance(events, list) else []) + transition_events(
            transitions, breaker, project, run_id, task_name
        )
        return self._finish(result, outcome, warnings)

    def _run_module(self, module_args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        module = module_call.module_of(self)
        validation = module_call.validate(module, module_args)
        if validation.error_messages:
            return module_call.refusal(module, module_args, validation)
        if module_call.runs_here(self, task_vars):
            return module_call.run_here(module, validation, bool(self._task.check_mode))
        try:
            return self._execute_module(module_args=module_args, task_vars=task_vars)
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)

    def _finish(self, result: dict[str, Any], outcome: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        """The task result: ``outcome`` with its suggested actions scoped to this host and daemon."""
        result.update(scope_to_host(outcome, self._host, docker_host(self._task.args)))
        if warnings:
            result["warnings"] = list(result.get("warnings") or []) + warnings
        return result

"""Unit tests of the breaker gate (BreakerAction) and argus_circuit, with a fake module run.

Ansible's executor is replaced by the minimum an action plugin touches: a task with args, a
connection whose tmpdir exists, an identity templar. Facts persistence is simulated by feeding
each result's ``ansible_facts`` into the next call's task vars (what core + the callback do).
"""

from __future__ import annotations

import os
from types import SimpleNamespace
from unittest import mock

import pytest
from ansible import constants as C
from ansible_collections.argusai.resilience.plugins.action.argus_circuit import ActionModule as CircuitAction
from ansible_collections.argusai.resilience.plugins.plugin_utils import breaker_action
from ansible_collections.argusai.resilience.plugins.plugin_utils.breaker_action import (
    CALLBACK_WARNING,
    EVENTS_CALLBACK,
    BreakerAction,
    classify_result,
    stored_circuits,
)

DOWN = {
    "failed": True,
    "msg": "DOCKER_UNAVAILABLE: Docker daemon unreachable",
    "error": {"code": "DOCKER_UNAVAILABLE", "message": "Docker daemon unreachable"},
    "argus_events": [{"type": "preflight_start", "project": "shop"}],
}
API_500 = {"failed": True, "msg": "boom", "error": {"code": "DOCKER_API_ERROR", "message": "500 Server Error"}}
PORT_CONFLICT = {"failed": True, "msg": "PORT_CONFLICT: taken", "error": {"code": "PORT_CONFLICT", "message": "taken"}}
OK = {"changed": False, "report": {"overall": "healthy"}, "ansible_facts": {"argus_preflight": {"overall": "healthy"}}}


def make_task(args, check_mode=False, name="the task"):
    task = mock.MagicMock()
    task.args = dict(args)
    task.async_val = 0
    task.check_mode = check_mode
    task.action = "argusai.resilience.argus_preflight"
    task.get_name.return_value = name
    return task


def make_action(cls, args, check_mode=False):
    connection = mock.MagicMock()
    connection._shell.tmpdir = "/tmp/fake"
    templar = SimpleNamespace(template=lambda value: value)
    return cls(make_task(args, check_mode), connection, mock.MagicMock(), mock.MagicMock(), templar, mock.MagicMock())


class Host:
    """One host's facts across tasks, and the module runs the gate let through."""

    def __init__(self, outcomes=(), variables=None):
        self.facts: dict = {}
        self.variables = dict(variables or {})
        self.outcomes = list(outcomes)
        self.sent: list[dict] = []

    def run(self, args, check_mode=False):
        host = self

        class Action(BreakerAction):
            def _run_module(self, module_args, task_vars):
                host.sent.append(dict(module_args))
                return dict(host.outcomes.pop(0))

        task_vars = {"inventory_hostname": "h1", "ansible_facts": dict(self.facts), **self.variables}
        result = make_action(Action, args, check_mode).run(task_vars=task_vars)
        # core keeps facts of successes; the callback stores the breaker of failures
        self.facts.update(result.get("ansible_facts") or {})
        return result

    def circuit(self, args):
        task_vars = {"ansible_facts": dict(self.facts), **self.variables}
        result = make_action(CircuitAction, args).run(task_vars=task_vars)
        self.facts.update(result.get("ansible_facts") or {})
        return result


@pytest.fixture(autouse=True)
def callback_enabled(monkeypatch):
    """ansible-playbook with the callback in callbacks_enabled (the decision: test_callback_detection.py)."""
    monkeypatch.setattr(C, "CALLBACKS_ENABLED", ["ansible.posix.profile_tasks", EVENTS_CALLBACK])
    monkeypatch.setattr(breaker_action.context, "CLIARGS", {})


def types(result):
    return [event["type"] for event in result["argus_events"]]


def test_opens_after_five_infrastructure_failures_then_refuses_without_sending():
    host = Host([DOWN] * 5)
    for attempt in range(1, 6):
        result = host.run({"project": "shop"})
        assert result["error"]["code"] == "DOCKER_UNAVAILABLE"
        assert result["argus_circuit"]["failure_count"] == attempt
    assert result["argus_circuit"]["state"] == "open"
    assert types(result) == ["preflight_start", "circuit_open"]
    assert result["argus_events"][-1]["project"] == "shop"
    assert result["argus_events"][-1]["data"]["failure_count"] == 5

    refused = host.run({"project": "shop"})
    assert len(host.sent) == 5  # the sixth was not sent
    assert refused["failed"] is True and refused["msg"].startswith("CIRCUIT_OPEN: ")
    error = refused["error"]
    assert error["code"] == "CIRCUIT_OPEN"
    assert error["details"]["retry_after_seconds"] is None
    assert error["details"]["state"] == "open"
    assert len(error["details"]["failure_history"]) == 5
    assert error["details"]["failure_history"][0]["task"] == "the task"
    assert error["retryable"] is False
    reset = [a for a in error["suggested_actions"] if a["id"] == "reset_circuit"][0]
    assert reset["playbook"] == "argusai.resilience.reset_circuit"
    assert reset["extra_vars"] == {"argus_hosts": "h1", "argus_project": "shop"}
    assert refused["argus_events"] == []


def test_other_projects_are_unaffected_and_kept():
    host = Host([DOWN] * 5 + [OK])
    for _unused in range(5):
        host.run({"project": "shop"})
    other = host.run({"project": "blog"})
    assert other.get("failed") is not True
    assert set(other["ansible_facts"]["argus_circuit"]) == {"shop", "blog"}
    assert other["ansible_facts"]["argus_circuit"]["shop"]["state"] == "open"
    assert other["ansible_facts"]["argus_preflight"] == {"overall": "healthy"}  # the module's own facts stay


def test_user_caused_failures_neither_count_nor_reset():
    host = Host([DOWN] * 4 + [PORT_CONFLICT] * 3 + [API_500])
    for _unused in range(4):
        host.run({"project": "shop"})
    for _unused in range(3):
        result = host.run({"project": "shop"})
        assert result["argus_circuit"]["failure_count"] == 4
        assert result["argus_circuit"]["state"] == "closed"
    result = host.run({"project": "shop"})
    assert result["argus_circuit"]["state"] == "open"  # DOCKER_API_ERROR is the 5th consecutive


def test_success_resets_the_count():
    host = Host([DOWN] * 4 + [OK] + [DOWN])
    for _unused in range(5):
        host.run({"project": "shop"})
    assert host.run({"project": "shop"})["argus_circuit"]["failure_count"] == 1


def test_reset_probe_good_closes_bad_reopens():
    host = Host([DOWN] * 5 + [OK] + [DOWN] * 5 + [DOWN])
    for _unused in range(5):
        host.run({"project": "shop"})
    reset = host.circuit({"project": "shop", "state": "reset"})
    assert reset["changed"] is True
    assert (reset["previous"]["state"], reset["current"]["state"]) == ("open", "half-open")
    assert types(reset) == ["circuit_half_open"]
    probe = host.run({"project": "shop"})
    assert probe["argus_circuit"]["state"] == "closed" and types(probe) == ["circuit_closed"]

    for _unused in range(5):
        host.run({"project": "shop"})
    host.circuit({"project": "shop", "state": "reset"})
    probe = host.run({"project": "shop"})
    assert probe["argus_circuit"]["state"] == "open"
    assert types(probe) == ["preflight_start", "circuit_open"]
    assert probe["argus_events"][-1]["data"]["reason"] == "probe failed (DOCKER_UNAVAILABLE)"


def test_neutral_probe_leaves_half_open():
    host = Host([DOWN] * 5 + [PORT_CONFLICT])
    for _unused in range(5):
        host.run({"project": "shop"})
    host.circuit({"project": "shop", "state": "reset"})
    assert host.run({"project": "shop"})["argus_circuit"]["state"] == "half-open"


def test_cooldown_lets_a_probe_through():
    host = Host([DOWN] * 2 + [OK], {"argus_circuit_breaker": {"failure_threshold": 2, "cooldown_seconds": 3600}})
    host.run({"project": "shop"})
    host.run({"project": "shop"})
    refused = host.run({"project": "shop"})
    assert 3500 < refused["error"]["details"]["retry_after_seconds"] <= 3600
    assert refused["error"]["retryable"] is True
    assert "or wait" in refused["msg"]
    # move the opening back in time: the cooldown has elapsed
    host.facts["argus_circuit"]["shop"]["last_state_transition"]["timestamp"] = "2000-01-01T00:00:00.000Z"
    probe = host.run({"project": "shop"})
    assert types(probe) == ["circuit_half_open", "circuit_closed"]
    assert len(host.sent) == 3


def test_settings_argument_is_stripped_and_overrides_the_variable():
    host = Host([DOWN], {"argus_circuit_breaker": {"failure_threshold": 5}})
    result = host.run({"project": "shop", "circuit_breaker": {"failure_threshold": 1}})
    assert host.sent == [{"project": "shop"}]
    assert result["argus_circuit"]["state"] == "open"


def test_bad_settings_fail_with_invalid_input_before_sending():
    host = Host([OK], {"argus_circuit_breaker": {"failure_threshold": 0}})
    result = host.run({"project": "shop"})
    assert host.sent == []
    assert result["error"]["code"] == "INVALID_INPUT"
    assert result["error"]["details"]["field"] == "argus_circuit_breaker.failure_threshold"


def test_disabled_breaker_passes_through():
    host = Host([DOWN] * 7, {"argus_circuit_breaker": {"enabled": False, "failure_threshold": 1}})
    for _unused in range(7):
        result = host.run({"project": "shop"})
    assert len(host.sent) == 7
    assert "argus_circuit" not in result and "argus_circuit" not in host.facts


def test_invalid_project_goes_to_the_module_unguarded():
    host = Host([{"failed": True, "msg": "INVALID_INPUT: project", "error": {"code": "INVALID_INPUT"}}])
    result = host.run({"project": "Bad Name"})
    assert host.sent == [{"project": "Bad Name"}]
    assert result["error"]["code"] == "INVALID_INPUT" and "argus_circuit" not in result


def test_module_without_project_uses_the_default_breaker():
    host = Host([OK])
    result = host.run({"ports": [{"name": "web", "port": 8080}]})
    assert result["argus_circuit"]["project"] == "default"
    assert "default" in result["ansible_facts"]["argus_circuit"]


def test_corrupted_facts_start_closed_with_a_warning():
    host = Host([OK])
    host.facts["argus_circuit"] = {"shop": "garbage"}
    result = host.run({"project": "shop"})
    assert result["argus_circuit"]["state"] == "closed"
    assert any("starting closed" in warning for warning in result["warnings"])
    host = Host([OK])
    host.facts["argus_circuit"] = ["not", "a", "dict"]
    result = host.run({"project": "shop"})
    assert any("every breaker starts closed" in warning for warning in result["warnings"])


def test_warns_when_the_callback_is_not_enabled(monkeypatch):
    monkeypatch.setattr(C, "CALLBACKS_ENABLED", ["ansible.posix.profile_tasks"])
    result = Host([OK]).run({"project": "shop"})
    assert CALLBACK_WARNING in result["warnings"]
    monkeypatch.setattr(C, "CALLBACKS_ENABLED", [EVENTS_CALLBACK])
    # listed, but ad-hoc 'ansible' without bin_ansible_callbacks does not load it
    monkeypatch.setattr(breaker_action.context, "CLIARGS", {"module_name": "argusai.resilience.argus_preflight"})
    monkeypatch.setattr(C, "DEFAULT_LOAD_CALLBACK_PLUGINS", False)
    assert CALLBACK_WARNING in Host([OK]).run({"project": "shop"})["warnings"]


def test_the_decision_holds_in_forked_workers():
    """Workers are forked per task: what they inherit decides, nothing handed over at run time."""
    assert breaker_action.events_callback_enabled()
    pid = os.fork()
    if pid == 0:  # the worker
        os._exit(0 if breaker_action.events_callback_enabled() else 1)
    _unused, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_module_warnings_are_kept(monkeypatch):
    result = Host([{**OK, "warnings": ["from the module"]}]).run({"project": "shop"})
    assert result["warnings"] == ["from the module"]
    monkeypatch.setattr(C, "CALLBACKS_ENABLED", None)
    result = Host([{**OK, "warnings": ["from the module"]}]).run({"project": "shop"})
    assert result["warnings"] == ["from the module", CALLBACK_WARNING]


def test_freshest_facts_are_the_nested_ones_core_writes_between_loop_items():
    outer = {"argus_circuit": {"shop": {"state": "closed"}}}
    assert stored_circuits(outer) == {"shop": {"state": "closed"}}
    nested = {**outer, "ansible_facts": {"argus_circuit": {"shop": {"state": "open"}}}}
    assert stored_circuits(nested) == {"shop": {"state": "open"}}
    assert stored_circuits(None) is None


@pytest.mark.parametrize(
    ("result", "kind"),
    [
        (OK, "success"),
        (DOWN, "infrastructure"),
        (API_500, "infrastructure"),
        (PORT_CONFLICT, "neutral"),
        ({"failed": True, "msg": "Unsupported parameters"}, "neutral"),
        ({"failed": True, "error": "not a dict"}, "neutral"),
        ({"unreachable": True, "msg": "no connection"}, "neutral"),
    ],
)
def test_classify_result(result, kind):
    assert classify_result(result)[0] == kind


# -- argus_circuit ----------------------------------------------------------------------------


def test_status_of_an_unknown_project_is_closed():
    result = Host().circuit({"project": "shop"})
    assert result["changed"] is False and "ansible_facts" not in result
    assert result["current"] == result["previous"]
    assert result["current"]["state"] == "closed" and result["current"]["failure_threshold"] == 5
    assert result["msg"] == "breaker of project 'shop' is closed"


def test_reset_of_a_closed_breaker_is_a_noop():
    result = Host().circuit({"project": "shop", "state": "reset"})
    assert result["changed"] is False and result["argus_events"] == [] and "ansible_facts" not in result
    assert "nothing to reset" in result["msg"]


def test_reset_in_check_mode_reports_and_stores_nothing():
    host = Host([DOWN] * 5)
    for _unused in range(5):
        host.run({"project": "shop"})
    task_vars = {"ansible_facts": dict(host.facts)}
    result = make_action(CircuitAction, {"project": "shop", "state": "reset"}, check_mode=True).run(task_vars=task_vars)
    assert result["changed"] is True and result["current"]["state"] == "half-open"
    assert "ansible_facts" not in result


def test_circuit_accepts_group_module_defaults():
    result = Host().circuit({"project": "shop", "docker_host": "tcp://x:1", "timeout": 3, "circuit_breaker": {}})
    assert result.get("failed") is not True


@pytest.mark.parametrize(
    "args",
    [{}, {"project": "shop", "state": "open"}, {"project": "shop", "bogus": 1}, {"project": "Bad"}],
)
def test_circuit_rejects_bad_arguments_with_a_structured_error(args):
    result = Host().circuit(args)
    assert result["failed"] is True and result["error"]["code"] == "INVALID_INPUT"


def test_circuit_rejects_bad_settings():
    host = Host(variables={"argus_circuit_breaker": {"cooldown_seconds": -3}})
    assert host.circuit({"project": "shop"})["error"]["details"]["field"] == "argus_circuit_breaker.cooldown_seconds"

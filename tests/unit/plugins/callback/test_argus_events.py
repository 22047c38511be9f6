"""Unit tests of the argus_events callback: stand-ins for results, ansible-core's real
VariableManager (memory fact cache) behind the breaker store."""

from __future__ import annotations

import json
import os
from types import SimpleNamespace
from unittest import mock

import pytest
from ansible import constants as C
from ansible.parsing.dataloader import DataLoader
from ansible.vars.manager import VariableManager
from ansible_collections.argusai.resilience.plugins.callback.argus_events import CallbackModule
from ansible_collections.argusai.resilience.plugins.plugin_utils.breaker_store import cached_host_facts


def result(data, host="h1", task="the task", action="argusai.resilience.argus_preflight"):
    task_obj = SimpleNamespace(get_name=lambda: task, resolved_action=action, action=action)
    return SimpleNamespace(result=data, host=SimpleNamespace(get_name=lambda: host), task=task_obj)


def state(project, value, count=0):
    return {"project": project, "state": value, "failure_count": count, "failure_threshold": 5}


@pytest.fixture
def vm(monkeypatch):
    monkeypatch.setattr(C, "CACHE_PLUGIN", "memory")  # not the developer's jsonfile cache
    return VariableManager(loader=DataLoader())


@pytest.fixture
def callback(tmp_path, vm):
    cb = CallbackModule(display=mock.MagicMock(verbosity=0))
    # options come from ansible's config system (exercised by the integration tests)
    cb._events_path = str(tmp_path / "sub" / "events.jsonl")
    cb.v2_playbook_on_play_start(SimpleNamespace(get_variable_manager=lambda: vm))
    return cb


def test_no_handshake_through_the_environment():
    """The action plugins decide from the configuration (breaker_action.events_callback_enabled)."""
    before = dict(os.environ)
    CallbackModule(display=mock.MagicMock(verbosity=0))
    assert dict(os.environ) == before


def test_failed_task_breaker_is_merged_into_the_host_facts(callback, vm):
    vm.set_host_facts("h1", {"argus_circuit": {"blog": {"state": "open"}}, "other_fact": 1})
    callback.v2_runner_on_failed(result({"failed": True, "argus_circuit": state("shop", "closed", 1)}))
    assert cached_host_facts(vm, "h1")["argus_circuit"] == {
        "blog": {"state": "open"},
        "shop": {"state": "closed", "failure_count": 1, "failure_threshold": 5},
    }
    assert cached_host_facts(vm, "h1")["other_fact"] == 1
    callback.v2_runner_on_ok(result({"argus_circuit": state("shop", "closed")}, host="h2"))
    assert cached_host_facts(vm, "h2")["argus_circuit"]["shop"]["failure_count"] == 0


def test_loop_stores_the_last_item_and_writes_item_events_once(callback, vm, tmp_path):
    items = [
        {"argus_circuit": state("shop", "closed", 4), "argus_events": [{"type": "preflight_start", "project": "shop"}]},
        {"argus_circuit": state("shop", "open", 5), "argus_events": [{"type": "circuit_open", "project": "shop"}]},
    ]
    for item in items:
        callback.v2_runner_item_on_failed(result(item))
    callback.v2_runner_on_failed(result({"failed": True, "results": items}))
    assert cached_host_facts(vm, "h1")["argus_circuit"]["shop"]["state"] == "open"
    lines = [json.loads(line) for line in (tmp_path / "sub" / "events.jsonl").read_text().splitlines()]
    assert [line["type"] for line in lines] == ["preflight_start", "circuit_open"]
    assert all(line["host"] == "h1" and line["task"] == "the task" and line["project"] == "shop" for line in lines)


def test_retry_attempt_events_are_written(callback, tmp_path):
    callback.v2_runner_retry(result({"argus_events": [{"type": "circuit_open", "project": "shop"}]}))
    assert "circuit_open" in (tmp_path / "sub" / "events.jsonl").read_text()


def test_unusable_path_warns_once_and_never_raises(callback, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    callback._events_path = str(blocker / "events.jsonl")
    for _unused in range(3):
        callback.v2_runner_on_ok(result({"argus_events": [{"type": "preflight_start", "project": "p"}]}))
    assert callback._display.warning.call_count == 1
    assert "cannot write events" in callback._display.warning.call_args[0][0]


def test_summary(callback):
    callback.v2_runner_on_ok(
        result(
            {
                "report": {"overall": "healthy", "checks": [{"status": "pass"}, {"status": "skipped"}]},
                "argus_circuit": state("shop", "closed"),
            }
        )
    )
    callback.v2_runner_on_ok(
        result(
            {"mappings": [{"service": "web", "original_port": 80, "actual_port": 8081, "reassigned": True}]},
            action="argusai.resilience.argus_port_resolve",
        )
    )
    callback.v2_runner_on_ok(result({"removed": [{}, {}]}, action="argusai.resilience.argus_orphan_clean"))
    callback.v2_runner_on_ok(
        result(
            {"argus_events": [{"type": "restart_attempt", "project": "shop"}]},
            action="argusai.resilience.argus_container_guard",
        )
    )
    refused = {"failed": True, "error": {"code": "CIRCUIT_OPEN"}, "argus_circuit": state("blog", "open", 5)}
    callback.v2_runner_on_failed(result(refused))
    callback.v2_playbook_on_stats(None)
    printed = [c.args[0] for c in callback._display.display.call_args_list]
    assert printed[:7] == [
        "h1:",
        "  preflight  shop: healthy (1 pass, 1 skipped)",
        "  ports      1 mapped, 1 reassigned (web 80->8081)",
        "  restarts   1 restart attempt(s)",
        "  orphans    2 removed",
        "  breaker    blog: open (5/5 consecutive failures), 1 task(s) refused",
        "  breaker    shop: closed (0/5 consecutive failures)",
    ]
    callback._display.banner.assert_called_once_with("ARGUS RESILIENCE SUMMARY")


def test_summary_off_or_nothing_to_say(callback):
    callback.v2_playbook_on_stats(None)
    callback._display.banner.assert_not_called()
    callback._summary_enabled = False
    callback.v2_runner_on_ok(result({"argus_circuit": state("shop", "closed")}))
    callback.v2_playbook_on_stats(None)
    callback._display.banner.assert_not_called()


def test_summary_of_the_combined_setup_calls_and_the_stage_times(callback, monkeypatch):
    clock = iter([10.0, 10.5, 20.0, 22.25, 30.0, 30.1])
    monkeypatch.setattr("time.monotonic", lambda: next(clock))

    def staged(data, stage, action):
        task = SimpleNamespace(_uuid=stage)
        callback.v2_playbook_on_task_start(task, False)
        outcome = result(data, action=action)
        outcome.task.vars, outcome.task._uuid = {"argus_setup__stage": stage}, stage
        return outcome

    preflight = {"report": {"overall": "healthy", "checks": []}, "orphan_cleanup": {"removed": [{}, {}, {}]}}
    callback.v2_runner_on_ok(staged(preflight, "preflight", "argusai.resilience.argus_preflight"))
    guard = {"port_resolution": {"mappings": [{"service": "web-8080", "reassigned": False}]}}
    callback.v2_runner_on_ok(staged(guard, "containers", "argusai.resilience.argus_container_guard"))
    callback.v2_runner_on_failed(staged({"failed": True}, "result", "argusai.resilience.argus_result"))
    callback.v2_playbook_on_stats(None)
    printed = [c.args[0] for c in callback._display.display.call_args_list]
    assert "  ports      1 mapped, 0 reassigned" in printed
    assert "  orphans    3 removed" in printed
    assert (
        "  stages     preflight 0.50 s, containers 2.25 s, result 0.10 s (setup stages, wall time: 2.85 s)" in printed
    )

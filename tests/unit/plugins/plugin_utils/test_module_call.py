"""module_call: arguments refused on the controller with every problem named; when a module's core
runs in the action's process, and that its result is the one the sent module would return (same
argument checks, same envelope, same hidden values)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from ansible_collections.argusai.resilience.plugins.modules import argus_container_guard
from ansible_collections.argusai.resilience.plugins.plugin_utils import module_call

SECRET = "s3cret-token"


def action(transport="local", become=False, environment=None):
    return SimpleNamespace(
        _connection=SimpleNamespace(transport=transport),
        _play_context=SimpleNamespace(become=become),
        _task=SimpleNamespace(environment=environment),
        _templar=SimpleNamespace(template=lambda value: value.replace("{{ ansible_playbook_python }}", sys.executable)),
    )


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, True),
        ({"environment": [{}, {}]}, True),  # levels that set nothing
        ({"transport": "ssh"}, False),
        ({"become": True}, False),
        ({"environment": [{}, {"LANG": "C"}]}, False),
        ({"environment": ["{{ env_from_vars }}"]}, False),  # not yet templated: assume it sets something
    ],
)
def test_runs_here_only_for_a_local_connection_in_the_same_environment(kwargs, expected):
    assert module_call.runs_here(action(**kwargs), {}) is expected


def test_runs_here_needs_the_docker_sdk(monkeypatch):
    monkeypatch.setattr(module_call, "HAS_DOCKER", False)
    assert module_call.runs_here(action(), {}) is False


@pytest.mark.parametrize(
    ("interpreter", "expected"),
    [
        ("auto_silent", True),
        ("{{ ansible_playbook_python }}", True),  # implicit localhost
        (sys.executable, True),
        (str(Path(sys.executable).with_name("python3")), True),  # the same virtualenv's other name
        (str(Path(sys.executable).resolve()), Path(sys.executable).resolve() == Path(sys.executable)),  # base Python
        ("/usr/bin/python3", False),
        ("/usr/bin/env python3", False),
    ],
)
def test_runs_here_only_with_this_processes_python(interpreter, expected):
    assert module_call.runs_here(action(), {"ansible_python_interpreter": interpreter}) is expected


@pytest.fixture
def fake_core(monkeypatch):
    """The guard's core replaced by one that warns, echoes the secret and reports a change."""

    def core(run):
        run.warn(f"starting {run.params['name']}")
        run.events.emit("port_reassigned", original_port=8080, actual_port=8081)
        return {"changed": not run.check_mode, "echo": run.params["env"]["TOKEN"], "timeout": run.params["timeout"]}

    monkeypatch.setattr(argus_container_guard, "core", core)
    return core


ARGS = {"project": "shop", "name": "web", "image": "img:1", "env": {"TOKEN": SECRET}}


def call(args, check_mode=False):
    """What the action does with ``args`` for argus_container_guard on the controller."""
    validation = module_call.validate(argus_container_guard, args)
    if validation.error_messages:
        return module_call.refusal(argus_container_guard, args, validation)
    return module_call.run_here(argus_container_guard, validation, check_mode)


@pytest.mark.parametrize("check_mode", [False, True])
def test_result_is_the_sent_modules_with_secrets_hidden(fake_core, module_main, check_mode):
    here = call(ARGS, check_mode)
    sent = module_main(argus_container_guard, dict(ARGS, _ansible_check_mode=check_mode))
    assert SECRET not in json.dumps(here)
    assert here["echo"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    assert here["changed"] is (not check_mode) and here["timeout"] == 60  # the spec's default filled in
    assert here["warnings"] == ["starting web"]
    (event,) = here["argus_events"]  # a predicted event says so in check mode
    assert event["data"] == dict(
        {"original_port": 8080, "actual_port": 8081}, **({"check_mode": True} if check_mode else {})
    )
    sent.pop("warnings", None)  # its form is the core version's (strings or WarningSummary objects)
    for result in (here, sent):
        for emitted in result["argus_events"]:
            emitted.pop("timestamp")
    assert {key: here.get(key) for key in sent} == sent  # core >= 2.21 sends invocation only when asked


def test_bad_arguments_fail_with_every_problem_named_before_the_core(monkeypatch):
    monkeypatch.setattr(argus_container_guard, "core", pytest.fail)
    args = {
        "project": "shop",
        "timeout": "soon",
        "colour": "red",
        "containers": [{"name": "a", "image": "i"}, {"image": "i", "memory": 5}],
    }
    result = call(args)
    assert result["failed"] is True and result["changed"] is False
    error = result["error"]
    assert error["code"] == "INVALID_INPUT" and result["msg"].startswith("INVALID_INPUT: ")
    fields = {problem["field"] for problem in error["details"]["errors"]}
    assert {"timeout", "colour", "containers[1].name"} <= fields, error["details"]["errors"]


def test_rules_across_options_are_named_by_their_options(monkeypatch):
    monkeypatch.setattr(argus_container_guard, "core", pytest.fail)
    both = call({"project": "shop", "name": "web", "image": "i", "containers": [{"name": "a", "image": "i"}]})
    neither = call({"project": "shop"})
    assert both["error"]["details"]["errors"] == [
        {"field": "name|containers", "value": None, "reason": "parameters are mutually exclusive"}
    ]
    assert neither["error"]["details"]["field"] == "name, containers"


def test_a_failure_of_the_core_is_a_structured_error(monkeypatch):
    def core(run):
        raise ConnectionError("daemon went away")

    monkeypatch.setattr(argus_container_guard, "core", core)
    result = call(ARGS)
    assert result["failed"] is True
    assert result["error"]["code"] and result["msg"].startswith(result["error"]["code"])
    assert result["argus_events"] == [] and "daemon went away" in result["error"]["message"]

"""The error registry, StructuredError shape and the one classification table."""

from __future__ import annotations

import errno
import json
import re
import shlex

import pytest
import requests
from ansible_collections.argusai.resilience.plugins.module_utils import error_model, errors
from docker import errors as docker_errors

SPEC_CODES = {
    "DOCKER_UNAVAILABLE",
    "DISK_SPACE_LOW",
    "PORT_CONFLICT",
    "PORT_EXHAUSTION",
    "CONTAINER_OOM",
    "CONTAINER_CRASH",
    "CONTAINER_RESTART_EXHAUSTED",
    "HEALTH_CHECK_TIMEOUT",
    "NETWORK_UNREACHABLE",
    "DNS_RESOLUTION_FAILED",
    "CIRCUIT_OPEN",
    "ORPHAN_DETECTED",
    "CLEANUP_FAILED",
}
CATEGORIES = {
    error_model.INFRASTRUCTURE,
    error_model.RESOURCE,
    error_model.CONTAINER,
    error_model.NETWORK,
    error_model.CONFIGURATION,
    error_model.INTERNAL,
}
ACTION_ID = re.compile(r"^[a-z][a-z0-9_]+$")
MIB = 1024**2


CONTEXT = {"project": "shop", "run_id": "r1"}
SCOPE = {"argus_hosts": "web1", "argus_project": "shop"}
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
# The names a template may use besides the context and the derived values: detail keys.
DETAIL_NAMES = {"max_attempts", "wait_seconds", "conflicts", "retry_after_seconds"}


def render(code, details=None, context=None, host="web1", docker_host=None, **kwargs):
    """The StructuredError as a task result carries it: built on the host, scoped on the controller
    (``context``: CONTEXT unless given)."""
    context = CONTEXT if context is None else context
    error = errors.structured_error(code, "boom", details or {}, context=context, **kwargs)
    return errors.scope_to_host(error, host, docker_host)


def actions(error):
    return {action["id"]: action for action in error["suggested_actions"]}


def test_registry_holds_every_spec_code():
    assert set(errors.REGISTRY) >= SPEC_CODES


@pytest.mark.parametrize("code", sorted(errors.REGISTRY))
def test_every_code_builds_a_complete_structured_error(code):
    error = render(code, {"a": 1})
    assert set(error) == {
        "code",
        "category",
        "severity",
        "message",
        "details",
        "suggested_actions",
        "retryable",
        "timestamp",
    }
    assert error["code"] == code
    assert error["category"] in CATEGORIES
    assert error["severity"] in errors.SEVERITIES
    assert isinstance(error["retryable"], bool)
    assert error["details"] == {"a": 1}
    assert error["suggested_actions"], "every code suggests at least one action"
    for action in error["suggested_actions"]:
        assert set(action) <= {"id", "kind", "description", "playbook", "extra_vars"}
        assert ACTION_ID.match(action["id"])
        assert action["kind"] in errors.KINDS
        assert action["description"] and "{" not in action["description"]
        if "playbook" in action:
            assert action["playbook"].startswith("argusai.resilience.")
            assert action["extra_vars"]["argus_hosts"] == "web1"
            assert action["extra_vars"]["argus_project"] == "shop"
            assert not PLACEHOLDER.search(json.dumps(action["extra_vars"])), "placeholders are filled"
    assert error["timestamp"].endswith("Z")


@pytest.mark.parametrize("code", sorted(errors.REGISTRY))
def test_every_declared_action_has_a_kind_and_known_names(code):
    spec = errors.REGISTRY[code]
    ids = [action.id for action in spec.actions]
    assert len(ids) == len(set(ids))
    known = {"project", "run_id", "host", "docker_host", "code"} | set(errors.DERIVED) | DETAIL_NAMES
    for action in spec.actions:
        assert action.kind in errors.KINDS
        names = set(PLACEHOLDER.findall(action.description + repr(dict(action.extra_vars)))) | set(action.needs)
        assert names <= known, (action.id, names - known)
        if action.playbook:
            assert {"argus_hosts", "argus_project"} <= set(action.extra_vars)
            assert "project" in action.needs
        if action.kind == error_model.RETRY and action.playbook:
            assert action.when_retryable is True, "a rerun as is only for errors that can pass"


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown kind"):
        errors.SuggestedAction("x", "maybe", "?")


def test_each_code_says_what_an_agent_can_do():
    """retryable only where the same call can pass; the kinds of the SPEC on the actions."""
    expected = {
        "DOCKER_UNAVAILABLE": (True, {"start_docker_daemon": "manual", "check_docker_host": "diagnose"}),
        "DISK_SPACE_LOW": (False, {"free_disk_space": "manual", "run_orphan_clean": "cleanup"}),
        "PORT_CONFLICT": (False, {"stop_port_holder": "manual"}),
        "PORT_EXHAUSTION": (False, {"free_ports": "manual", "run_orphan_clean": "cleanup"}),
        "CONTAINER_OOM": (False, {"inspect_container_logs": "diagnose", "run_teardown": "cleanup"}),
        "CONTAINER_CRASH": (False, {"inspect_container_logs": "diagnose", "fix_application": "manual"}),
        "CONTAINER_RESTART_EXHAUSTED": (False, {"raise_max_restarts": "manual", "run_teardown": "cleanup"}),
        "HEALTH_CHECK_TIMEOUT": (True, {"inspect_health_log": "diagnose", "rerun_setup": "retry"}),
        "NETWORK_UNREACHABLE": (True, {"check_service_listening": "diagnose", "run_teardown": "cleanup"}),
        "DNS_RESOLUTION_FAILED": (False, {"check_target_name": "diagnose", "attach_to_network": "manual"}),
        "CIRCUIT_OPEN": (False, {"check_docker_health": "diagnose", "reset_circuit": "fix"}),
        "ORPHAN_DETECTED": (False, {"run_orphan_clean": "fix"}),
        "CLEANUP_FAILED": (True, {"retry_cleanup": "retry", "inspect_cleanup_failures": "diagnose"}),
        "INVALID_INPUT": (False, {"fix_input": "manual"}),
        "IMAGE_NOT_FOUND": (False, {"provide_image": "manual"}),
        "DOCKER_API_ERROR": (True, {"inspect_daemon_logs": "diagnose"}),
        "DOCKER_REQUEST_REJECTED": (False, {"inspect_error_details": "diagnose"}),
        "INTERNAL_ERROR": (False, {"report_bug": "manual"}),
    }
    assert set(expected) == set(errors.REGISTRY)
    for code, (retryable, kinds) in expected.items():
        error = render(code)
        assert error["retryable"] is retryable, code
        found = {action["id"]: action["kind"] for action in error["suggested_actions"]}
        assert found.items() >= kinds.items(), (code, found)
        if not retryable:
            assert "rerun_setup" not in found, code


def test_run_orphan_clean_keeps_the_run_that_reported_the_error():
    action = actions(render("ORPHAN_DETECTED"))["run_orphan_clean"]
    assert action == {
        "id": "run_orphan_clean",
        "kind": "fix",
        "description": action["description"],
        "playbook": "argusai.resilience.preflight",
        "extra_vars": {**SCOPE, "argus_run_id": "r1", "auto_fix": True},
    }
    # Without a run (a preflight of its own), every managed resource of the project is an orphan.
    unscoped = actions(render("DISK_SPACE_LOW", context={"project": "shop"}))["run_orphan_clean"]
    assert unscoped["kind"] == "cleanup"
    assert unscoped["extra_vars"] == {**SCOPE, "auto_fix": True}


def test_run_teardown_is_a_cleanup_of_the_failed_run_only_when_it_is_known():
    teardown = actions(render("CONTAINER_CRASH"))["run_teardown"]
    assert teardown["kind"] == "cleanup"
    assert teardown["playbook"] == "argusai.resilience.teardown"
    assert teardown["extra_vars"] == {**SCOPE, "argus_run_id": "r1"}
    assert "run_teardown" not in actions(render("CONTAINER_CRASH", context={"project": "shop"}))


def test_playbook_actions_need_the_project():
    error = render("CONTAINER_CRASH", context={})
    assert [a["id"] for a in error["suggested_actions"]] == ["inspect_container_logs", "fix_application"]


def test_circuit_open_resets_this_host_and_project_only():
    error = render("CIRCUIT_OPEN", {"retry_after_seconds": None}, docker_host="tcp://d1:2375")
    reset = actions(error)["reset_circuit"]
    assert reset["playbook"] == "argusai.resilience.reset_circuit"
    assert reset["extra_vars"] == SCOPE  # the breaker is per (host, project): no run, no daemon
    assert error["retryable"] is False
    assert render("CIRCUIT_OPEN", {"retry_after_seconds": 12.5})["retryable"] is True
    # only where the code is declared to pass after a delay
    assert render("CONTAINER_CRASH", {"retry_after_seconds": 12.5})["retryable"] is False


OOM_DETAILS = {"container_name": "shop-api", "service": "api", "memory_limit_bytes": 32 * MIB, "last_reason": "x"}


@pytest.mark.parametrize(
    ("code", "details", "current", "proposed"),
    [
        ("CONTAINER_OOM", OOM_DETAILS, "32m", "64m"),
        ("CONTAINER_OOM", dict(OOM_DETAILS, memory_limit_bytes=16 * MIB), "16m", "64m"),  # at least 64m
        ("CONTAINER_OOM", dict(OOM_DETAILS, memory_limit_bytes=100 * MIB + 1), "104857601", "201m"),  # rounded up
        (
            "CONTAINER_RESTART_EXHAUSTED",
            dict(OOM_DETAILS, last_reason="CONTAINER_OOM", oom_attempts=2),
            "32m",
            "64m",
        ),
        (  # every attempt OOM-killed
            "CONTAINER_RESTART_EXHAUSTED",
            dict(OOM_DETAILS, memory_limit_bytes=48 * MIB, oom_attempts=2, restart_history={"attempts": [{}, {}]}),
            "48m",
            "96m",
        ),
    ],
)
def test_an_oom_suggests_a_runnable_memory_fix(code, details, current, proposed):
    error = render(code, details, docker_host="tcp://d1:2375")
    fix = actions(error)["raise_memory_limit"]
    assert error["suggested_actions"][0] is fix, "the fix comes first"
    assert fix["kind"] == "fix"
    assert fix["playbook"] == "argusai.resilience.setup"
    assert fix["extra_vars"] == {
        **SCOPE,
        "argus_run_id": "r1",
        "argus_docker_host": "tcp://d1:2375",
        "argus_container_overrides": {"api": {"memory": proposed}},
    }
    assert f"service api from {current} to {proposed}" in fix["description"]
    assert error["retryable"] is False
    assert "rerun_setup" not in actions(error)


@pytest.mark.parametrize(
    ("code", "details"),
    [
        ("CONTAINER_RESTART_EXHAUSTED", dict(OOM_DETAILS, last_reason="CONTAINER_CRASH", oom_attempts=0)),
        (  # some attempts OOM-killed, the last one not: not the memory for sure
            "CONTAINER_RESTART_EXHAUSTED",
            dict(OOM_DETAILS, last_reason="CONTAINER_CRASH", oom_attempts=1, restart_history={"attempts": [{}, {}]}),
        ),
        ("CONTAINER_OOM", dict(OOM_DETAILS, memory_limit_bytes=None)),  # no limit to raise
        ("CONTAINER_OOM", {"container_name": "custom", "memory_limit_bytes": 32 * MIB}),  # service unknown
        ("CONTAINER_CRASH", OOM_DETAILS),
    ],
)
def test_no_memory_fix_without_an_oom_under_a_limit(code, details):
    assert "raise_memory_limit" not in actions(render(code, details))


def test_the_service_defaults_to_the_docker_name_without_the_project():
    details = {"container_name": "shop-api", "memory_limit_bytes": 32 * MIB}
    fix = actions(render("CONTAINER_OOM", details))["raise_memory_limit"]
    assert fix["extra_vars"]["argus_container_overrides"] == {"api": {"memory": "64m"}}


PORT_DETAILS = {
    "service": "web-8080",
    "port": 8080,
    "protocol": "tcp",
    "occupied_by": {"type": "process", "pid": 42, "process": "nginx"},
    "conflicts": [{"service": "web-8080", "port": 8080}],
}


def test_port_conflict_under_fail_suggests_a_rerun_with_strategy_auto():
    error = render("PORT_CONFLICT", PORT_DETAILS)
    assert error["retryable"] is False
    found = actions(error)
    assert list(found) == ["use_port_strategy_auto", "stop_port_holder"]
    assert found["use_port_strategy_auto"]["kind"] == "fix"
    assert found["use_port_strategy_auto"]["playbook"] == "argusai.resilience.setup"
    assert found["use_port_strategy_auto"]["extra_vars"] == {
        **SCOPE,
        "argus_run_id": "r1",
        "argus_resilience_overrides": {"ports": {"strategy": "auto"}},
    }


def test_port_conflict_held_by_a_lease_is_retryable_after_it():
    error = render("PORT_CONFLICT", dict(PORT_DETAILS, occupied_by={"type": "lease"}, retry_after_seconds=30))
    assert error["retryable"] is True
    rerun = actions(error)["rerun_setup"]
    assert rerun["kind"] == "retry"
    assert rerun["extra_vars"] == {**SCOPE, "argus_run_id": "r1"}
    assert "use_port_strategy_auto" in actions(error)


def test_port_conflict_held_by_a_container_suggests_the_orphan_cleanup():
    details = dict(PORT_DETAILS, occupied_by={"type": "container", "container": "shop-web", "container_id": "ab"})
    cleanup = actions(render("PORT_CONFLICT", details))["run_orphan_clean"]
    assert cleanup["kind"] == "cleanup"
    assert cleanup["extra_vars"]["argus_run_id"] == "r1"


def test_a_port_conflict_the_daemon_reports_offers_no_strategy_change():
    error = render("PORT_CONFLICT", {"cause": "port_allocated", "container_name": "shop-web"})
    assert "use_port_strategy_auto" not in actions(error)


def test_port_exhaustion_suggests_a_wider_scan():
    fix = actions(render("PORT_EXHAUSTION", {"max_attempts": 100}))["widen_port_range"]
    assert fix["kind"] == "fix"
    assert fix["extra_vars"]["argus_resilience_overrides"] == {"ports": {"max_attempts": 400}}
    assert "widen_port_range" not in actions(render("PORT_EXHAUSTION", {"max_attempts": 65535}))


@pytest.mark.parametrize(
    ("cause", "retryable", "wait", "proposed"),
    [
        ("closed", False, 30, None),
        ("outside_network", False, 30, None),
        ("not_answering", True, 30, 60),
        ("not_answering", True, 0, 30),
    ],
)
def test_network_unreachable_is_retryable_only_when_it_can_pass(cause, retryable, wait, proposed):
    error = render("NETWORK_UNREACHABLE", {"cause": cause, "wait_seconds": wait, "results": []})
    assert error["retryable"] is retryable
    found = actions(error)
    assert found["check_service_listening"]["kind"] == "diagnose"
    assert "details.closed_targets" in found["check_service_listening"]["description"]
    if proposed is None:
        assert "raise_wait_seconds" not in found
    else:
        assert found["raise_wait_seconds"]["kind"] == "retry"
        assert found["raise_wait_seconds"]["extra_vars"]["argus_resilience_overrides"] == {
            "network": {"wait_seconds": proposed}
        }


def test_a_command_not_found_is_final_with_a_diagnosis():
    exc = errors.from_exception(_api_error(400, 'exec: "nope": executable file not found in $PATH'))
    error = errors.scope_to_host(exc.with_context(**CONTEXT).to_dict(), "web1")
    assert error["code"] == "CONTAINER_CRASH" and error["details"]["cause"] == "bad_command"
    assert error["retryable"] is False
    assert actions(error)["inspect_container_logs"]["kind"] == "diagnose"
    assert "rerun_setup" not in actions(error)
    # The code that raises an error may know better than the default: the rerun follows retryable.
    assert "rerun_setup" in actions(render("HEALTH_CHECK_TIMEOUT"))
    assert "rerun_setup" not in actions(render("HEALTH_CHECK_TIMEOUT", retryable=False))


@pytest.mark.parametrize(
    ("cause", "retryable"),
    [
        ("socket_missing", True),
        ("connection_refused", True),
        ("timeout", True),
        ("permission_denied", False),
        ("host_unknown", False),
        ("api_version", False),
    ],
)
def test_docker_unavailable_is_retryable_unless_the_cause_stays(cause, retryable):
    assert render("DOCKER_UNAVAILABLE", {"cause": cause})["retryable"] is retryable


def test_scope_to_host_fills_every_error_of_a_result():
    nested = errors.structured_error("ORPHAN_DETECTED", "left", context=CONTEXT)
    result = {
        "failed": True,
        "error": errors.structured_error("CONTAINER_CRASH", "x", context=CONTEXT),
        "containers": [{"name": "a", "error": errors.structured_error("CONTAINER_CRASH", "y", context=CONTEXT)}],
        "report": {"checks": [{"name": "orphans", "error": nested}]},
    }
    assert result["error"]["suggested_actions"][-1]["extra_vars"]["argus_hosts"] == "{host}"
    assert errors.scope_to_host(result, "remote1", "ssh://d1") is result
    for error in (result["error"], result["containers"][0]["error"], nested):
        for action in error["suggested_actions"]:
            if "playbook" in action:
                assert action["extra_vars"]["argus_hosts"] == "remote1"
                assert action["extra_vars"]["argus_docker_host"] == "ssh://d1"


def test_scope_to_host_without_a_daemon_or_host():
    error = errors.structured_error("CONTAINER_CRASH", "x", context=CONTEXT)
    errors.scope_to_host(error, None)
    teardown = actions(error)["run_teardown"]
    # An unknown host stays visible (run as is, it matches no host, never localhost by default).
    assert teardown["extra_vars"] == {"argus_hosts": "{host}", "argus_project": "shop", "argus_run_id": "r1"}


def test_command_line_runs_an_action_as_given():
    action = actions(render("CONTAINER_OOM", OOM_DETAILS))["raise_memory_limit"]
    line = errors.command_line(action)
    assert line.startswith("ansible-playbook argusai.resilience.setup -e '{")
    assert json.loads(shlex.split(line)[-1]) == action["extra_vars"]


def test_overrides_and_validation():
    error = errors.structured_error("DISK_SPACE_LOW", "low", severity=error_model.WARNING, retryable=True)
    assert error["severity"] == "warning"
    assert error["retryable"] is True
    with pytest.raises(ValueError):
        errors.structured_error("DISK_SPACE_LOW", "low", severity="bad")
    pytest.raises(ValueError, errors.ArgusError, "NOT_A_CODE", "x")


def test_retryable_defaults_follow_the_spec():
    assert errors.REGISTRY["DOCKER_UNAVAILABLE"].retryable is True
    assert errors.REGISTRY["CONTAINER_CRASH"].retryable is False  # an app crashing on start stays crashed


def test_argus_error_round_trip():
    exc = errors.ArgusError("PORT_CONFLICT", "port 8080 held", {"port": 8080}, context={"project": "p"})
    assert str(exc) == "port 8080 held"
    data = exc.to_dict()
    assert data["code"] == "PORT_CONFLICT"
    assert data["details"] == {"port": 8080}
    assert exc.with_context(run_id="r") is exc
    assert exc.context == {"project": "p", "run_id": "r"}


def test_invalid_input_names_field_and_value():
    exc = errors.invalid_input("project", "My Project", "bad characters")
    assert exc.code == "INVALID_INPUT"
    assert exc.details == {"field": "project", "value": "My Project"}
    assert "project" in exc.message and "'My Project'" in exc.message
    assert errors.invalid_input("ports", [1], "x").details["value"] == "[1]"


def _api_error(status: int, explanation: str) -> docker_errors.APIError:
    response = requests.Response()
    response.status_code = status
    return docker_errors.APIError("request failed", response=response, explanation=explanation)


def _wrapped(inner: BaseException) -> BaseException:
    """How requests surfaces a socket error: nested in args, not chained with __cause__."""
    return requests.exceptions.ConnectionError(requests.exceptions.ConnectionError("aborted", inner))


@pytest.mark.parametrize(
    ("exc", "code", "cause"),
    [
        (_wrapped(FileNotFoundError(errno.ENOENT, "No such file")), "DOCKER_UNAVAILABLE", "socket_missing"),
        (_wrapped(PermissionError(errno.EACCES, "denied")), "DOCKER_UNAVAILABLE", "permission_denied"),
        (_wrapped(ConnectionRefusedError(errno.ECONNREFUSED, "refused")), "DOCKER_UNAVAILABLE", "connection_refused"),
        (requests.exceptions.ReadTimeout("read timed out"), "DOCKER_UNAVAILABLE", "timeout"),
        (TimeoutError("timed out"), "DOCKER_UNAVAILABLE", "timeout"),
        (requests.exceptions.ConnectionError("reset"), "DOCKER_UNAVAILABLE", "connection_failed"),
        (requests.exceptions.ChunkedEncodingError("broke off"), "DOCKER_UNAVAILABLE", "connection_reset"),
        (docker_errors.InvalidVersion("too old"), "DOCKER_UNAVAILABLE", "api_version"),
        (_api_error(400, "client version 1.99 is too new"), "DOCKER_UNAVAILABLE", "api_version"),
        (
            _api_error(500, "driver failed: Bind for 0.0.0.0:8080 failed: port is already allocated"),
            "PORT_CONFLICT",
            "port_allocated",
        ),
        (_api_error(500, "listen tcp4 0.0.0.0:80: bind: address already in use"), "PORT_CONFLICT", "address_in_use"),
        (OSError(errno.EADDRINUSE, "in use"), "PORT_CONFLICT", "address_in_use"),
        (docker_errors.ImageNotFound("No such image: x"), "IMAGE_NOT_FOUND", "image_missing"),
        (_api_error(404, "No such image: nope:latest"), "IMAGE_NOT_FOUND", "image_missing"),
        (_api_error(400, 'exec: "nope": executable file not found in $PATH'), "CONTAINER_CRASH", "bad_command"),
        (_api_error(500, 'exec: "nope": executable file not found in $PATH'), "CONTAINER_CRASH", "bad_command"),
        (_api_error(400, "invalid reference format"), "INVALID_INPUT", "rejected_by_daemon"),
        (docker_errors.InvalidArgument("bad"), "INVALID_INPUT", "rejected_by_sdk"),
        (docker_errors.DockerException("Invalid bind address format: x"), "INVALID_INPUT", "bad_docker_host"),
        (_api_error(404, 'plugin "nodriver" not found'), "DOCKER_REQUEST_REJECTED", "driver_missing"),
        (_api_error(500, "unsupported driver nodriver: invalid argument"), "DOCKER_REQUEST_REJECTED", "driver_missing"),
        (_api_error(503, "daemon busy"), "DOCKER_API_ERROR", "daemon_error"),
        (_api_error(409, "conflict"), "DOCKER_REQUEST_REJECTED", "api_error"),
        (docker_errors.DockerException("other"), "DOCKER_REQUEST_REJECTED", "sdk_error"),
        (ValueError("a defect"), "INTERNAL_ERROR", "unclassified"),
    ],
)
def test_classification_table(exc, code, cause):
    assert errors.classify(exc) == (code, cause)


def test_classify_follows_cause_chain():
    try:
        try:
            raise ConnectionRefusedError(errno.ECONNREFUSED, "refused")
        except ConnectionRefusedError as inner:
            raise RuntimeError("wrapper") from inner
    except RuntimeError as outer:
        assert errors.classify(outer) == ("DOCKER_UNAVAILABLE", "connection_refused")


def test_classify_argus_error_keeps_its_code():
    exc = errors.ArgusError("CLEANUP_FAILED", "x", {"cause": "in_use"})
    assert errors.classify(exc) == ("CLEANUP_FAILED", "in_use")
    assert errors.from_exception(exc, extra=1) is exc
    assert exc.details["extra"] == 1


def test_from_exception_reports_root_cause_and_status():
    wrapped = errors.from_exception(_api_error(500, "port is already allocated"), "starting web", service="web")
    assert wrapped.code == "PORT_CONFLICT"
    assert wrapped.message == "starting web: port is already allocated"
    assert wrapped.details == {"cause": "port_allocated", "exception": "APIError", "status": 500, "service": "web"}
    refused = errors.from_exception(_wrapped(ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")))
    assert "Connection refused" in refused.message


def test_cyclic_exception_chain_terminates():
    first = RuntimeError("a")
    second = RuntimeError("b")
    first.__context__ = second
    second.__context__ = first
    assert errors.classify(first) == ("INTERNAL_ERROR", "unclassified")
    assert errors.root_cause_message(RuntimeError()) == "RuntimeError"


def test_infrastructure_failure_codes_are_registered():
    assert set(errors.REGISTRY) >= errors.INFRASTRUCTURE_FAILURE_CODES
    for user_caused in (
        "PORT_CONFLICT",
        "CONTAINER_CRASH",
        "INVALID_INPUT",
        "DOCKER_REQUEST_REJECTED",
        "INTERNAL_ERROR",
    ):
        assert user_caused not in errors.INFRASTRUCTURE_FAILURE_CODES


def test_a_failed_task_without_a_structured_error_gets_one():
    refused = errors.from_failed_task(
        {
            "msg": "Validation of arguments failed",
            "argument_errors": [
                "argument 'argus_docker_timeout' is of type str and we were unable to convert to int",
                "missing required arguments: name found in argus_test",
            ],
        }
    ).to_dict()
    assert refused["code"] == "INVALID_INPUT" and refused["retryable"] is False
    assert [problem["field"] for problem in refused["details"]["errors"]] == ["argus_docker_timeout", "argus_test"]
    other = errors.from_failed_task({"message": "template error while templating"}).to_dict()
    assert other["code"] == "INTERNAL_ERROR" and other["message"] == "template error while templating"

"""The error registry, StructuredError shape and the one classification table."""

from __future__ import annotations

import errno
import re

import pytest
import requests
from ansible_collections.argusai.resilience.plugins.module_utils import errors
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
    errors.INFRASTRUCTURE,
    errors.RESOURCE,
    errors.CONTAINER,
    errors.NETWORK,
    errors.CONFIGURATION,
    errors.INTERNAL,
}
ACTION_ID = re.compile(r"^[a-z][a-z0-9_]+$")


def test_registry_holds_every_spec_code():
    assert set(errors.REGISTRY) >= SPEC_CODES


@pytest.mark.parametrize("code", sorted(errors.REGISTRY))
def test_every_code_builds_a_complete_structured_error(code):
    error = errors.structured_error(code, "boom", {"a": 1}, context={"project": "shop", "run_id": "r1"})
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
        assert ACTION_ID.match(action["id"])
        assert action["description"]
        if "playbook" in action:
            assert action["playbook"].startswith("argusai.resilience.")
            filled = [str(value) for value in action["extra_vars"].values()]
            assert not any(value.startswith("{") for value in filled), "placeholders are filled from the context"
    assert error["timestamp"].endswith("Z")


def test_action_ids_are_unique_per_code():
    for spec in errors.REGISTRY.values():
        ids = [action.id for action in spec.actions]
        assert len(ids) == len(set(ids))


def test_playbook_actions_name_the_project_and_keep_types():
    error = errors.structured_error("ORPHAN_DETECTED", "left", context={"project": "shop"})
    action = error["suggested_actions"][0]
    assert action == {
        "id": "run_orphan_clean",
        "description": action["description"],
        "playbook": "argusai.resilience.preflight",
        "extra_vars": {"argus_project": "shop", "auto_fix": True},
    }


def test_circuit_open_points_at_the_reset_playbook():
    error = errors.ArgusError("CIRCUIT_OPEN", "open").with_context(project="shop", run_id=None).to_dict()
    reset = next(a for a in error["suggested_actions"] if a["id"] == "reset_circuit")
    assert reset["playbook"] == "argusai.resilience.reset_circuit"
    assert reset["extra_vars"] == {"argus_project": "shop"}


def test_missing_context_leaves_the_placeholder_visible():
    error = errors.structured_error("CONTAINER_RESTART_EXHAUSTED", "x")
    teardown = next(a for a in error["suggested_actions"] if a["id"] == "run_teardown")
    assert teardown["extra_vars"] == {"argus_project": "{project}", "argus_run_id": "{run_id}"}


def test_overrides_and_validation():
    error = errors.structured_error("DISK_SPACE_LOW", "low", severity=errors.WARNING, retryable=True)
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

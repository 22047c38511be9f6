# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Structured errors: the code registry, ArgusError and the one classification table.

Every failure the collection reports is a StructuredError dict::

    {code, category, severity, message, details, suggested_actions, retryable, timestamp}

so that a pipeline or an agent decides what to do from ``code`` and
``suggested_actions[].id`` without parsing ``message``.
"""

from __future__ import annotations

import errno
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

# Categories tell who can fix a failure: the host/daemon, a resource on it, the
# application in a container, the network between containers, or the caller's input.
INFRASTRUCTURE = "infrastructure"
RESOURCE = "resource"
CONTAINER = "container"
NETWORK = "network"
CONFIGURATION = "configuration"
INTERNAL = "internal"

CRITICAL = "critical"
ERROR = "error"
WARNING = "warning"

SEVERITIES = (CRITICAL, ERROR, WARNING)


@dataclass(frozen=True)
class SuggestedAction:
    """A recovery step with a stable machine id.

    ``playbook`` and ``extra_vars`` are set when one of the collection's playbooks performs
    the step. Values in ``extra_vars`` may hold ``{project}`` / ``{run_id}`` placeholders that
    are filled from the failing call's context.
    """

    id: str
    description: str
    playbook: str | None = None
    extra_vars: Mapping[str, Any] = field(default_factory=dict)

    def render(self, context: Mapping[str, Any]) -> dict[str, Any]:
        action: dict[str, Any] = {"id": self.id, "description": self.description}
        if self.playbook:
            action["playbook"] = self.playbook
            action["extra_vars"] = {key: _fill(value, context) for key, value in self.extra_vars.items()}
        return action


def _fill(value: Any, context: Mapping[str, Any]) -> Any:
    """Replace a ``{name}`` placeholder by the context value, keeping its type."""
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return context.get(value[1:-1], value)
    return value


@dataclass(frozen=True)
class ErrorSpec:
    category: str
    severity: str
    retryable: bool
    actions: tuple[SuggestedAction, ...]


PLAYBOOK_PREFLIGHT = "argusai.resilience.preflight"
PLAYBOOK_RESET_CIRCUIT = "argusai.resilience.reset_circuit"
PLAYBOOK_TEARDOWN = "argusai.resilience.teardown"
PLAYBOOK_SETUP = "argusai.resilience.setup"

_START_DOCKER = SuggestedAction("start_docker_daemon", "Start the Docker daemon (e.g. 'systemctl start docker').")
_CHECK_HOST = SuggestedAction("check_docker_host", "Check docker_host / DOCKER_HOST points at a running daemon.")
_CHECK_PERMS = SuggestedAction(
    "check_docker_permissions", "Give the user access to the Docker socket (e.g. the 'docker' group)."
)
_ORPHAN_CLEAN = SuggestedAction(
    "run_orphan_clean",
    "Remove resources left by earlier runs of this project.",
    PLAYBOOK_PREFLIGHT,
    {"argus_project": "{project}", "auto_fix": True},
)
_TEARDOWN_RUN = SuggestedAction(
    "run_teardown",
    "Remove every resource of this run.",
    PLAYBOOK_TEARDOWN,
    {"argus_project": "{project}", "argus_run_id": "{run_id}"},
)
_RESET_CIRCUIT = SuggestedAction(
    "reset_circuit",
    "After fixing Docker, move the breaker to half-open so that one probe can close it.",
    PLAYBOOK_RESET_CIRCUIT,
    {"argus_project": "{project}"},
)
_RERUN_SETUP = SuggestedAction(
    "rerun_setup",
    "Run the setup again; it cleans the previous run first.",
    PLAYBOOK_SETUP,
    {"argus_project": "{project}"},
)
_INSPECT_LOGS = SuggestedAction("inspect_container_logs", "Read the diagnostics logs: the application fails on start.")

REGISTRY: dict[str, ErrorSpec] = {
    "DOCKER_UNAVAILABLE": ErrorSpec(INFRASTRUCTURE, CRITICAL, True, (_START_DOCKER, _CHECK_HOST, _CHECK_PERMS)),
    "DISK_SPACE_LOW": ErrorSpec(
        RESOURCE,
        CRITICAL,
        False,
        (
            SuggestedAction("free_disk_space", "Free disk space (e.g. 'docker system prune')."),
            _ORPHAN_CLEAN,
        ),
    ),
    "PORT_CONFLICT": ErrorSpec(
        RESOURCE,
        ERROR,
        False,
        (
            SuggestedAction("use_port_strategy_auto", "Let the collection pick a free port (strategy: auto)."),
            SuggestedAction("stop_port_holder", "Stop the process or container holding the port."),
            _ORPHAN_CLEAN,
        ),
    ),
    "PORT_EXHAUSTION": ErrorSpec(
        RESOURCE,
        ERROR,
        False,
        (
            SuggestedAction("widen_port_range", "Raise max_attempts or choose another preferred port."),
            _ORPHAN_CLEAN,
        ),
    ),
    "CONTAINER_OOM": ErrorSpec(
        CONTAINER,
        ERROR,
        False,
        (
            SuggestedAction("raise_memory_limit", "Raise the container's memory limit."),
            _INSPECT_LOGS,
            _RERUN_SETUP,
        ),
    ),
    "CONTAINER_CRASH": ErrorSpec(CONTAINER, ERROR, False, (_INSPECT_LOGS, _RERUN_SETUP)),
    "CONTAINER_RESTART_EXHAUSTED": ErrorSpec(
        CONTAINER,
        CRITICAL,
        False,
        (
            _INSPECT_LOGS,
            SuggestedAction("raise_max_restarts", "Raise max_restarts if the failure is transient."),
            _TEARDOWN_RUN,
        ),
    ),
    "HEALTH_CHECK_TIMEOUT": ErrorSpec(
        CONTAINER,
        ERROR,
        True,
        (
            SuggestedAction("raise_startup_timeout", "Raise startup_timeout or the healthcheck retries."),
            SuggestedAction("inspect_health_log", "Read health_log in the diagnostics."),
        ),
    ),
    "NETWORK_UNREACHABLE": ErrorSpec(
        NETWORK,
        ERROR,
        True,
        (
            SuggestedAction("check_service_listening", "Check the service listens on that port inside its container."),
            SuggestedAction("raise_wait_seconds", "Raise wait_seconds if the service starts slowly."),
        ),
    ),
    "DNS_RESOLUTION_FAILED": ErrorSpec(
        NETWORK,
        ERROR,
        False,
        (
            SuggestedAction(
                "attach_to_network", "Attach the target and the test container to the same network, or add an alias."
            ),
            SuggestedAction("check_target_name", "Check the target host name against network_topology."),
        ),
    ),
    "CIRCUIT_OPEN": ErrorSpec(
        INFRASTRUCTURE,
        ERROR,
        False,
        (SuggestedAction("check_docker_health", "Fix the Docker host (see failure_history)."), _RESET_CIRCUIT),
    ),
    "ORPHAN_DETECTED": ErrorSpec(RESOURCE, WARNING, True, (_ORPHAN_CLEAN,)),
    "CLEANUP_FAILED": ErrorSpec(
        RESOURCE,
        ERROR,
        True,
        (
            SuggestedAction("retry_cleanup", "Retry the cleanup; resources in use are freed when their users stop."),
            _ORPHAN_CLEAN,
        ),
    ),
    # Codes added beyond the original 13, for failures none of those describes.
    "INVALID_INPUT": ErrorSpec(
        CONFIGURATION,
        ERROR,
        False,
        (SuggestedAction("fix_input", "Correct the option named in details.field."),),
    ),
    "IMAGE_NOT_FOUND": ErrorSpec(
        CONFIGURATION,
        ERROR,
        False,
        (SuggestedAction("provide_image", "Build, load or pull the image on the Docker host."),),
    ),
    "DOCKER_API_ERROR": ErrorSpec(
        INFRASTRUCTURE,
        ERROR,
        True,
        (SuggestedAction("inspect_daemon_logs", "Read the Docker daemon's log for this request."), _START_DOCKER),
    ),
    "DOCKER_REQUEST_REJECTED": ErrorSpec(
        CONFIGURATION,
        ERROR,
        False,
        (SuggestedAction("inspect_error_details", "Read the daemon's reason in details and change the request."),),
    ),
    "INTERNAL_ERROR": ErrorSpec(
        INTERNAL,
        ERROR,
        False,
        (SuggestedAction("report_bug", "Report this failure with its details: it is a defect of the collection."),),
    ),
}

# Failures that say the Docker host itself is broken; only these count for the circuit breaker.
INFRASTRUCTURE_FAILURE_CODES = frozenset({"DOCKER_UNAVAILABLE", "DOCKER_API_ERROR"})


def utc_now() -> str:
    """ISO-8601 UTC timestamp with milliseconds, e.g. ``2026-11-25T10:00:00.123Z``."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def structured_error(code: str, message: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """A StructuredError dict: :class:`ArgusError` (same arguments) as a dict."""
    return ArgusError(code, message, *args, **kwargs).to_dict()


class ArgusError(Exception):
    """An exception carrying a StructuredError."""

    def __init__(
        self,
        code: str,
        message: str,
        details: Mapping[str, Any] | None = None,
        severity: str | None = None,
        retryable: bool | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        if code not in REGISTRY:
            raise ValueError(f"unknown error code {code!r}")
        if severity is not None and severity not in SEVERITIES:
            raise ValueError(f"unknown severity {severity!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = dict(details or {})
        self.severity = severity
        self.retryable = retryable
        self.context = dict(context or {})

    def with_context(self, **context: Any) -> ArgusError:
        """Add context (project, run_id) used to fill suggested actions; returns self."""
        self.context.update({key: value for key, value in context.items() if value is not None})
        return self

    def to_dict(self) -> dict[str, Any]:
        """The StructuredError, from the registry; ``context`` (``project``, ``run_id``) fills the
        suggested actions' ``extra_vars``."""
        spec = REGISTRY[self.code]
        return {
            "code": self.code,
            "category": spec.category,
            "severity": self.severity or spec.severity,
            "message": self.message,
            "details": dict(self.details),
            "suggested_actions": [action.render(self.context) for action in spec.actions],
            "retryable": spec.retryable if self.retryable is None else self.retryable,
            "timestamp": utc_now(),
        }


def invalid_input(field_name: str, value: Any, reason: str) -> ArgusError:
    """The error for a bad option or config value, naming the field and the value."""
    return ArgusError(
        "INVALID_INPUT",
        f"{field_name}: {reason} (got {value!r})",
        {
            "field": field_name,
            "value": value if isinstance(value, (str, int, float, bool, type(None))) else repr(value),
        },
    )


# ---------------------------------------------------------------------------------------------
# The classification table: exception type / Docker API status (and, for the API errors whose
# status is shared by different causes, the daemon's explanation) → code. Rules are tried in
# order; the first match wins. Nothing else in the collection maps exceptions to codes.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    code: str
    exception: str | None = None  # class name anywhere in the exception's MRO
    status: int | tuple[int, int] | None = None  # HTTP status, or an inclusive range
    explanation: str | None = None  # lower-case substring of the daemon's explanation
    errnos: tuple[int, ...] = ()  # errno of the root cause
    cause: str | None = None  # root-cause label reported in details


CLASSIFICATION_TABLE: tuple[Rule, ...] = (
    Rule("DOCKER_UNAVAILABLE", errnos=(errno.ENOENT,), cause="socket_missing"),
    Rule("DOCKER_UNAVAILABLE", errnos=(errno.EACCES, errno.EPERM), cause="permission_denied"),
    Rule("DOCKER_UNAVAILABLE", errnos=(errno.ECONNREFUSED,), cause="connection_refused"),
    Rule("DOCKER_UNAVAILABLE", errnos=(errno.EHOSTUNREACH, errno.ENETUNREACH), cause="host_unreachable"),
    Rule("DOCKER_UNAVAILABLE", exception="TimeoutError", cause="timeout"),
    Rule("DOCKER_UNAVAILABLE", exception="ReadTimeout", cause="timeout"),
    Rule("DOCKER_UNAVAILABLE", exception="ConnectTimeout", cause="timeout"),
    Rule("DOCKER_UNAVAILABLE", exception="gaierror", cause="host_unknown"),
    Rule("DOCKER_UNAVAILABLE", exception="InvalidVersion", cause="api_version"),
    Rule("DOCKER_UNAVAILABLE", status=400, explanation="client version", cause="api_version"),
    Rule("DOCKER_UNAVAILABLE", exception="ConnectionError", cause="connection_failed"),
    Rule("DOCKER_UNAVAILABLE", exception="ConnectionResetError", cause="connection_reset"),
    Rule("DOCKER_UNAVAILABLE", exception="BrokenPipeError", cause="connection_reset"),
    # The daemon went away in the middle of a response (e.g. a streamed events request).
    Rule("DOCKER_UNAVAILABLE", exception="ChunkedEncodingError", cause="connection_reset"),
    Rule("DOCKER_UNAVAILABLE", exception="ProtocolError", cause="connection_reset"),
    Rule("DOCKER_UNAVAILABLE", exception="IncompleteRead", cause="connection_reset"),
    Rule("INVALID_INPUT", exception="DockerException", explanation="invalid bind address", cause="bad_docker_host"),
    Rule("DOCKER_UNAVAILABLE", exception="DockerException", explanation="error while fetching server api version"),
    Rule("PORT_CONFLICT", status=(500, 599), explanation="port is already allocated", cause="port_allocated"),
    Rule("PORT_CONFLICT", status=(500, 599), explanation="address already in use", cause="address_in_use"),
    Rule("PORT_CONFLICT", errnos=(errno.EADDRINUSE,), cause="address_in_use"),
    Rule("IMAGE_NOT_FOUND", exception="ImageNotFound", cause="image_missing"),
    Rule("IMAGE_NOT_FOUND", status=404, explanation="no such image", cause="image_missing"),
    Rule("CONTAINER_CRASH", status=(400, 499), explanation="executable file not found", cause="bad_command"),
    Rule("CONTAINER_CRASH", status=(500, 599), explanation="executable file not found", cause="bad_command"),
    Rule("CONTAINER_CRASH", status=(400, 499), explanation="no such file or directory", cause="bad_command"),
    Rule("CONTAINER_CRASH", status=(500, 599), explanation="no such file or directory", cause="bad_command"),
    # Removals the daemon refuses because something still uses the resource, or does already.
    Rule("CLEANUP_FAILED", status=409, explanation="volume is in use", cause="volume_in_use"),
    Rule("CLEANUP_FAILED", status=403, explanation="has active endpoints", cause="network_in_use"),
    Rule("CLEANUP_FAILED", status=409, explanation="is already in progress", cause="removal_in_progress"),
    Rule("INVALID_INPUT", status=400, cause="rejected_by_daemon"),
    Rule("INVALID_INPUT", exception="InvalidArgument", cause="rejected_by_sdk"),
    Rule("DOCKER_API_ERROR", status=(500, 599), cause="daemon_error"),
    # A 4xx or an SDK-side refusal is about this request, not the host: it never opens the breaker.
    Rule("DOCKER_REQUEST_REJECTED", exception="APIError", cause="api_error"),
    Rule("DOCKER_REQUEST_REJECTED", exception="DockerException", cause="sdk_error"),
)


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and its chain of causes/contexts, outermost first."""
    chain: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        chain.append(current)
        seen.add(id(current))
        # requests/urllib3 keep the underlying error in args or .reason rather than __cause__
        nested = [arg for arg in current.args if isinstance(arg, BaseException)]
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            nested.insert(0, reason)
        current = current.__cause__ or (nested[0] if nested else None) or current.__context__
    return chain


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _explanation(exc: BaseException) -> str:
    explanation = getattr(exc, "explanation", None)
    return str(explanation if explanation else exc).lower()


def _status_matches(rule: Rule, status: int | None) -> bool:
    if rule.status is None:
        return True
    if status is None:
        return False
    if isinstance(rule.status, tuple):
        return rule.status[0] <= status <= rule.status[1]
    return status == rule.status


def _rule_matches(rule: Rule, chain: list[BaseException]) -> bool:
    for exc in chain:
        names = {cls.__name__ for cls in type(exc).__mro__}
        if rule.exception is not None and rule.exception not in names:
            continue
        if rule.errnos and getattr(exc, "errno", None) not in rule.errnos:
            continue
        if not _status_matches(rule, _status(exc)):
            continue
        if rule.explanation is not None and rule.explanation not in _explanation(exc):
            continue
        return True
    return False


def classify(exc: BaseException) -> tuple[str, str]:
    """Return ``(code, root_cause)`` for an exception, following its cause chain."""
    if isinstance(exc, ArgusError):
        return exc.code, exc.details.get("cause", "argus_error")
    chain = _causes(exc)
    for rule in CLASSIFICATION_TABLE:
        if _rule_matches(rule, chain):
            return rule.code, rule.cause or "unknown"
    return "INTERNAL_ERROR", "unclassified"


def root_cause_message(exc: BaseException) -> str:
    """The daemon's explanation when there is one, else the innermost readable message of the chain.

    (An ``APIError`` wraps the requests ``HTTPError``, whose text is only "409 Client Error ...";
    the daemon's reason, e.g. "volume is in use", is the APIError's ``explanation``.)
    """
    chain = _causes(exc)
    for candidate in chain:
        explanation = getattr(candidate, "explanation", None)
        if explanation:
            return str(explanation)
    for candidate in reversed(chain):
        text = getattr(candidate, "explanation", None) or str(candidate)
        if text:
            return str(text)
    return type(exc).__name__


def from_exception(exc: BaseException, message: str | None = None, **details: Any) -> ArgusError:
    """Wrap any exception in an ArgusError classified by the table."""
    if isinstance(exc, ArgusError):
        exc.details.update(details)
        return exc
    code, cause = classify(exc)
    status = _status(exc)
    full_details: dict[str, Any] = {"cause": cause, "exception": type(exc).__name__}
    if status is not None:
        full_details["status"] = status
    full_details.update(details)
    reason = root_cause_message(exc)
    return ArgusError(code, f"{message}: {reason}" if message else reason, full_details)

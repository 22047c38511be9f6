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
import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.error_model import (
    KINDS,
    LATE_BOUND,
    SEVERITIES,
    ErrorSpec,
    SuggestedAction,
)
from ansible_collections.argusai.resilience.plugins.module_utils.error_registry import (
    DERIVED,
    INFRASTRUCTURE_FAILURE_CODES,
    REGISTRY,
)

# This module is the public home of structured errors (SPEC: plugins/module_utils/errors.py); the
# declaration types (with the categories and kinds) live in error_model, the codes in error_registry.
__all__ = [
    "DERIVED",
    "INFRASTRUCTURE_FAILURE_CODES",
    "KINDS",
    "REGISTRY",
    "SEVERITIES",
    "ArgusError",
    "ErrorSpec",
    "SuggestedAction",
    "classify",
    "command_line",
    "from_exception",
    "invalid_input",
    "root_cause_message",
    "scope_to_host",
    "structured_error",
    "utc_now",
]


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
        """Add context (``project``, ``run_id``; on the controller ``host``, ``docker_host``) that fills
        the suggested actions; returns self."""
        self.context.update({key: value for key, value in context.items() if value is not None})
        return self

    def to_dict(self) -> dict[str, Any]:
        """The StructuredError: the registry's declaration rendered for this failure (error_model)."""
        spec = REGISTRY[self.code]
        retryable = spec.retryable_for(self.details) if self.retryable is None else self.retryable
        facts = {**self.details, "code": self.code, **self.context}
        derived = {name: value.compute(facts) for name, value in DERIVED.items()}
        values = {**facts, **{name: value for name, value in derived.items() if value is not None}, **self.context}
        actions = (action.render(values, retryable) for action in spec.actions)
        return {
            "code": self.code,
            "category": spec.category,
            "severity": self.severity or spec.severity,
            "message": self.message,
            "details": dict(self.details),
            "suggested_actions": [action for action in actions if action is not None],
            "retryable": retryable,
            "timestamp": utc_now(),
        }


def scope_to_host(value: Any, host: str | None, docker_host: str | None = None) -> Any:
    """Scope the playbook actions of every StructuredError in ``value`` (a module result, an error, a
    list) to the inventory host that failed and the Docker daemon its task used; returns ``value``.

    Only the controller knows these (``error_model.LATE_BOUND``): a module leaves ``{host}`` and
    ``{docker_host}`` placeholders, filled here; without an explicit daemon the entry is left out.
    """
    known = {"host": host, "docker_host": docker_host}
    late = {f"{{{name}}}": name for name in LATE_BOUND}
    for error in _structured_errors(value):
        for action in error["suggested_actions"]:
            extra_vars = action.get("extra_vars") if isinstance(action, dict) else None
            for key, item in list(extra_vars.items()) if isinstance(extra_vars, dict) else ():
                name = late.get(item) if isinstance(item, str) else None
                if name is None:
                    continue
                if known[name] is not None:
                    extra_vars[key] = known[name]
                elif name != "host":  # an unknown host stays visible: run as is, it matches no host
                    del extra_vars[key]
    return value


def _structured_errors(value: Any) -> list[dict[str, Any]]:
    """Every dict inside ``value`` that holds ``code`` and a ``suggested_actions`` list."""
    found: list[dict[str, Any]] = []
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            if "code" in current and isinstance(current.get("suggested_actions"), list):
                found.append(current)
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)
    return found


def command_line(action: Mapping[str, Any]) -> str:
    """How a person runs a playbook action as given: ``ansible-playbook <playbook> -e '<json>'``."""
    extra_vars = json.dumps(action.get("extra_vars") or {}, separators=(", ", ": "))
    return f"ansible-playbook {action['playbook']} -e {shlex.quote(extra_vars)}"


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


_ROLE_VARIABLE = re.compile(r"\b(argus_[a-z0-9_]+)")


def from_failed_task(result: Mapping[str, Any]) -> ArgusError:
    """The structured error of a failure that carries none (``{message}``, or a failed task's result).

    When an argument spec refused the variables of a role (ansible-core's ``argument_errors``), it is
    INVALID_INPUT with each problem in ``details.errors``, its field the role variable it names;
    anything else is INTERNAL_ERROR with the failure's message.
    """
    reasons = [str(reason) for reason in result.get("argument_errors") or []]
    if not reasons:
        return ArgusError("INTERNAL_ERROR", str(result.get("message") or result.get("msg") or "unknown failure"))
    problems = []
    for reason in reasons:
        named = _ROLE_VARIABLE.search(reason)
        problems.append({"field": named.group(1) if named else "", "value": None, "reason": reason})
    message = "the role's variables: " + "; ".join(reasons)
    return ArgusError("INVALID_INPUT", message, {"field": problems[0]["field"], "value": None, "errors": problems})


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
    Rule("CLEANUP_FAILED", status=409, explanation="volume is being used", cause="volume_in_use"),  # Podman
    Rule("CLEANUP_FAILED", status=403, explanation="has active endpoints", cause="network_in_use"),
    Rule("CLEANUP_FAILED", status=409, explanation="is already in progress", cause="removal_in_progress"),
    Rule("INVALID_INPUT", status=400, cause="rejected_by_daemon"),
    # A network or volume driver the daemon does not have (Podman answers 500 for it).
    Rule("DOCKER_REQUEST_REJECTED", status=404, explanation="plugin", cause="driver_missing"),
    Rule("DOCKER_REQUEST_REJECTED", status=(500, 599), explanation="unsupported driver", cause="driver_missing"),
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

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How an error code is declared: category, severity, retryable, suggested actions.

The registry (``error_registry``) is written with these types; ``errors`` renders them into a
StructuredError. Import them from ``errors``, the public home of structured errors.

A suggested action's ``description`` and ``extra_vars`` are templates: a ``{name}`` is filled from
the values of the failing call, in this order of precedence: the context (``project``, ``run_id``,
``host``, ``docker_host``), the derived values (:class:`Derived`, computed from the details), the
error's ``details``, and ``code``. In ``extra_vars`` a value or key that is exactly ``{name}`` is
replaced by the value itself (types kept); an entry whose value is unknown is left out, except the
controller-side scope (:data:`LATE_BOUND`), which stays a placeholder until the action plugin fills
it (``errors.scope_to_host``). An action is offered only when every name in ``needs`` has a value
and, if ``when_retryable`` is set, when the error's ``retryable`` equals it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
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

# What following an action does (SPEC "Structured errors").
FIX = "fix"  # removes the cause
RETRY = "retry"  # the same run again, possibly with changed settings
CLEANUP = "cleanup"  # removes resources
DIAGNOSE = "diagnose"  # gathers information, changes nothing
MANUAL = "manual"  # only a person or an outside system can do it

KINDS = (FIX, RETRY, CLEANUP, DIAGNOSE, MANUAL)

# Known only on the controller: the inventory host and the Docker daemon the task used.
LATE_BOUND = ("host", "docker_host")

# The scope every playbook action carries, as extra_vars templates.
SCOPE_VARS = {
    "host": ("argus_hosts", "{host}"),
    "project": ("argus_project", "{project}"),
    "run_id": ("argus_run_id", "{run_id}"),
    "docker_host": ("argus_docker_host", "{docker_host}"),
}
FULL_SCOPE = ("host", "project", "run_id", "docker_host")

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_MISSING = object()


@dataclass(frozen=True)
class Derived:
    """A value computed from the failing call (``facts``: details, code and context), or None.

    ``means`` says in words what it is, ``when`` when it exists (docs/errors.md prints them).
    """

    compute: Callable[[Mapping[str, Any]], Any]
    means: str
    when: str


@dataclass(frozen=True)
class SuggestedAction:
    """A recovery step with a stable machine id and a kind (see the module docstring)."""

    id: str
    kind: str
    description: str
    playbook: str | None = None
    extra_vars: Mapping[str, Any] = field(default_factory=dict)
    needs: tuple[str, ...] = ()
    when_retryable: bool | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"action {self.id}: unknown kind {self.kind!r}")

    def but(self, **changes: Any) -> SuggestedAction:
        """The same action with some fields changed (e.g. another kind for one code)."""
        return replace(self, **changes)

    def render(self, values: Mapping[str, Any], retryable: bool) -> dict[str, Any] | None:
        """The action for one error, or None when it does not apply to it."""
        if self.when_retryable is not None and self.when_retryable != retryable:
            return None
        if any(values.get(name) is None for name in self.needs):
            return None
        action: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "description": _PLACEHOLDER.sub(lambda m: _text(values, m), self.description),
        }
        if self.playbook:
            action["playbook"] = self.playbook
            action["extra_vars"] = fill(self.extra_vars, values)
        return action


def _text(values: Mapping[str, Any], match: re.Match) -> str:
    value = values.get(match.group(1))
    return match.group(0) if value is None else str(value)


def fill(template: Any, values: Mapping[str, Any]) -> Any:
    """``template`` with its ``{name}`` values and keys replaced; unknown entries left out."""
    if isinstance(template, Mapping):
        filled = {}
        for key, value in template.items():
            key, value = fill(key, values), fill(value, values)
            if key is not _MISSING and value is not _MISSING:
                filled[key] = value
        return filled
    if isinstance(template, (list, tuple)):
        return [item for item in (fill(item, values) for item in template) if item is not _MISSING]
    match = _PLACEHOLDER.fullmatch(template) if isinstance(template, str) else None
    if match is None:
        return template
    value = values.get(match.group(1))
    if value is not None:
        return value
    return template if match.group(1) in LATE_BOUND else _MISSING


def playbook_action(
    action_id: str,
    kind: str,
    description: str,
    playbook: str,
    scope: tuple[str, ...] = FULL_SCOPE,
    needs: tuple[str, ...] = (),
    when_retryable: bool | None = None,
    **extra_vars: Any,
) -> SuggestedAction:
    """An action one of the collection's playbooks performs, scoped to the failing host, daemon,
    project and (when known) run. ``needs`` adds what it cannot run without; the project always."""
    template = dict(SCOPE_VARS[name] for name in scope)
    template.update(extra_vars)
    return SuggestedAction(action_id, kind, description, playbook, template, ("project", *needs), when_retryable)


@dataclass(frozen=True)
class ErrorSpec:
    """One code of the registry.

    ``retryable`` is the default. An error whose ``details.cause`` is in ``final_causes`` is not
    retryable. Where ``passes_after`` is set, the raising code puts ``retry_after_seconds`` in the
    details when the failure ends by itself (a lease that expires, a breaker's cooldown), and the
    error is retryable then. The code that raises the error may still say otherwise.
    """

    category: str
    severity: str
    retryable: bool
    actions: tuple[SuggestedAction, ...]
    final_causes: frozenset[str] = frozenset()
    passes_after: bool = False

    def retryable_for(self, details: Mapping[str, Any]) -> bool:
        if self.passes_after and details.get("retry_after_seconds") is not None:
            return True
        if details.get("cause") in self.final_causes:
            return False
        return self.retryable

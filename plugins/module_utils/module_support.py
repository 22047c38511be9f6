# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every module shares: the Docker connection options and the failure envelope."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.argusai.resilience.plugins.module_utils.docker_client import (
    DEFAULT_TIMEOUT,
    DOCKER_IMPORT_ERROR,
    HAS_DOCKER,
    connect,
)
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError, from_exception
from ansible_collections.argusai.resilience.plugins.module_utils.events import EventLog


class FailWithResult(Exception):
    """Fail the module with a structured error and keep the result gathered so far (a report)."""

    def __init__(self, error: ArgusError, **result: Any) -> None:
        super().__init__(error.message)
        self.error = error
        self.result = result


def docker_argument_spec(**options: Any) -> dict[str, Any]:
    """The common connection options (doc fragment ``argusai.resilience.docker``) plus ``options``."""
    spec: dict[str, Any] = {
        "docker_host": {"type": "str"},
        "timeout": {"type": "int", "default": DEFAULT_TIMEOUT},
    }
    spec.update(options)
    return spec


def require_docker_sdk(module: AnsibleModule) -> None:
    if not HAS_DOCKER:
        module.fail_json(msg=missing_required_lib("docker"), exception=DOCKER_IMPORT_ERROR)


def client_for(module: AnsibleModule, connect_timeout: float | None = None):
    """A connected client built from the module's connection options."""
    if module.params["timeout"] <= 0:
        raise ArgusError(
            "INVALID_INPUT", "timeout must be > 0", {"field": "timeout", "value": module.params["timeout"]}
        )
    return connect(module.params["docker_host"], module.params["timeout"], connect_timeout)


def fail(module: AnsibleModule, error: ArgusError, events: EventLog | None = None, **result: Any) -> None:
    """Fail with ``msg`` for people and ``error`` (a StructuredError) for machines."""
    if events is not None:
        error.with_context(project=events.project, run_id=events.run_id)
        result["argus_events"] = events.events
    module.fail_json(msg=f"{error.code}: {error.message}", error=error.to_dict(), **result)


def run(module: AnsibleModule, body: Callable[[], dict[str, Any]], events: EventLog | None = None) -> None:
    """Run the module body; any failure leaves as a structured error, never as a traceback."""
    try:
        result = body()
    except FailWithResult as exc:
        fail(module, exc.error, events, **exc.result)
    except ArgusError as exc:
        fail(module, exc, events)
    except Exception as exc:  # noqa: BLE001 - classified by the one table instead of a traceback
        fail(module, from_exception(exc), events)
    else:
        if events is not None:
            result["argus_events"] = events.events
        module.exit_json(**result)


def cleanup_result(cleaner: Any, check_mode: bool) -> dict[str, Any]:
    """Module result of an OrphanCleaner run; fails with its CLEANUP_FAILED error.

    ``failed_resources`` repeats ``failed`` because Ansible owns a result's ``failed`` key.
    """
    result = cleaner.clean(check_mode=check_mode)
    changed = bool(result["found"]) if check_mode else bool(result["removed"])
    error = cleaner.error_for(result)
    if error is not None:
        raise FailWithResult(error, changed=changed, failed_resources=result["failed"], **result)
    return dict(result, changed=changed, failed_resources=result["failed"])

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way a module runs: validate -> connect -> run the core -> structured result.

A module's ``main()`` is ``run_module(OPTIONS, core)``: its option table and a core function that
takes a :class:`ModuleRun` and returns the result. Every failure leaves as ``msg`` (for people)
and ``error`` (a StructuredError, for machines), never as a traceback. :func:`outcome` is that
run without ``AnsibleModule``, for the controller running a module's core itself
(``plugin_utils/module_call.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.argusai.resilience.plugins.module_utils.docker_client import (
    DOCKER_IMPORT_ERROR,
    HAS_DOCKER,
    connect,
)
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError, from_exception
from ansible_collections.argusai.resilience.plugins.module_utils.events import EventLog
from ansible_collections.argusai.resilience.plugins.module_utils.options import Option, argument_spec, check


class FailWithResult(Exception):
    """Fail the module with a structured error and keep the result gathered so far (a report)."""

    def __init__(self, error: ArgusError, **result: Any) -> None:
        super().__init__(error.message)
        self.error = error
        self.result = result


class ModuleRun:
    """What a module's core works with: the checked params, its events, check mode, a Docker client."""

    def __init__(
        self, params: dict[str, Any], check_mode: bool, warn: Callable[[str], None], events: EventLog | None
    ) -> None:
        self.params = params
        self.check_mode = check_mode
        self.warn = warn
        self.events = events
        self._client: Any = None

    def client(self, connect_timeout: float | None = None) -> Any:
        """The Docker client of ``docker_host``/``timeout``, connected on first use.

        ``connect_timeout`` bounds the first request (the liveness probe); later ones take ``timeout``.
        """
        if self._client is None:
            self._client = connect(self.params["docker_host"], self.params["timeout"], connect_timeout)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def outcome(
    options: Sequence[Option],
    core: Callable[[ModuleRun], dict[str, Any]],
    params: dict[str, Any],
    check_mode: bool,
    warn: Callable[[str], None],
    docker: bool = True,
) -> dict[str, Any]:
    """The module's result for ``params`` (already through Ansible's argument spec): the table's own
    checks, then the core. A failure is a result with ``failed``, ``msg`` and ``error``, never raised.

    ``docker``: the module talks to Docker (needs the SDK) and returns ``argus_events`` of the
    ``project``/``run_id`` it was given.
    """
    events = EventLog(params.get("project"), params.get("run_id"), check_mode) if docker else None
    run = ModuleRun(params, check_mode, warn, events)
    try:
        check(options, params)
        if docker and not HAS_DOCKER:
            return {"failed": True, "msg": missing_required_lib("docker"), "exception": DOCKER_IMPORT_ERROR}
        result = core(run)
    except FailWithResult as exc:
        return failed_result(exc.error, events, exc.result)
    except ArgusError as exc:
        return failed_result(exc, events)
    except Exception as exc:  # noqa: BLE001 - classified by the one table instead of a traceback
        return failed_result(from_exception(exc), events)
    finally:
        run.close()
    if events is not None:
        result["argus_events"] = events.events
    return result


def run_module(
    options: Sequence[Option],
    core: Callable[[ModuleRun], dict[str, Any]],
    docker: bool = True,
    **module_kwargs: Any,
) -> None:
    """Run a module: its argument spec from ``options``, every input checked before anything else.

    ``module_kwargs`` go to ``AnsibleModule`` (``mutually_exclusive``, ...).
    """
    module = AnsibleModule(argument_spec=argument_spec(options), supports_check_mode=True, **module_kwargs)
    result = outcome(options, core, module.params, module.check_mode, module.warn, docker)
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)


def controller_only(options: Sequence[Option], name: str) -> None:
    """``main()`` of a module whose action plugin does the work on the controller: sent to a host
    by other means, it refuses (its argument spec still documents and checks the options)."""
    module = AnsibleModule(argument_spec=argument_spec(options), supports_check_mode=True)
    module.fail_json(
        msg=f"argusai.resilience.{name} runs on the controller through its action plugin; "
        "it cannot be executed on a host directly."
    )


def failed_result(
    error: ArgusError, events: EventLog | None = None, result: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A failed result: ``msg`` for people and ``error`` (a StructuredError) for machines."""
    result = dict(result or {})
    if events is not None:
        error.with_context(project=events.project, run_id=events.run_id)
        result["argus_events"] = events.events
    return dict(result, failed=True, msg=f"{error.code}: {error.message}", error=error.to_dict())


def cleanup_outcome(cleaner: Any, check_mode: bool) -> tuple[dict[str, Any], ArgusError | None]:
    """An OrphanCleaner run: its result with ``changed`` and ``failed_resources``, and its
    CLEANUP_FAILED error (None when every resource went).

    A change is something removed or a port lease given back; in check mode, something found that
    would be removed. ``failed_resources`` repeats ``failed`` because Ansible owns a result's
    ``failed`` key.
    """
    result = cleaner.clean(check_mode=check_mode)
    changed = bool(result["found"]) if check_mode else bool(result["removed"] or result["leases_released"])
    return dict(result, changed=changed, failed_resources=result["failed"]), cleaner.error_for(result)


def cleanup_result(cleaner: Any, check_mode: bool) -> dict[str, Any]:
    """Module result of an OrphanCleaner run; fails with its CLEANUP_FAILED error."""
    result, error = cleanup_outcome(cleaner, check_mode)
    if error is not None:
        raise FailWithResult(error, **result)
    return result

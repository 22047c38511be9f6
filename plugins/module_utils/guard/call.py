# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One argus_container_guard call, phase by phase: what the module runs (``guard_call``).

``reconcile`` (keep_services) removes the run's containers of services no longer configured;
``ports`` (resolve_ports, guard/port_plan.py) keeps or resolves the host ports; ``containers``
supervises every container (guard/tiers.py: start_first, and ``verify``'s connectivity check,
guard/connectivity.py, once all are ready). A failure names its phase (``phase``), and each
phase's time is returned (``phases_ms``). The cleanup, port and network code is imported only by
a call that uses it.
"""

from __future__ import annotations

import time
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError, invalid_input
from ansible_collections.argusai.resilience.plugins.module_utils.guard.spec import specs_from_params
from ansible_collections.argusai.resilience.plugins.module_utils.guard.supervisor import ContainerGuardian
from ansible_collections.argusai.resilience.plugins.module_utils.module_support import FailWithResult, ModuleRun


def item_result(outcome: Any) -> dict[str, Any]:
    result = {
        "name": outcome.name,
        "action": outcome.action,
        "changed": outcome.changed,
        "container": outcome.container,
        "restart_history": outcome.restart_history,
        "port_mappings": outcome.port_mappings,
        "run_id": outcome.run_id,
        "duration_ms": outcome.duration_ms,
    }
    if outcome.not_started_because:
        result["not_started_because"] = outcome.not_started_because
    if outcome.error is not None:
        result["error"] = outcome.error.to_dict()
    return result


def reconcile(run: ModuleRun) -> dict[str, Any] | None:
    """Remove the run's containers of services no longer configured (``keep_services``)."""
    params = run.params
    if params["keep_services"] is None or params["run_id"] is None:
        return None
    # imported here: a call without keep_services does not load the cleanup code
    from ansible_collections.argusai.resilience.plugins.module_utils.cleanup.cleaner import CleanupOptions
    from ansible_collections.argusai.resilience.plugins.module_utils.cleanup.teardown import RunReconcile

    options = CleanupOptions(project=params["project"], run_id=params["run_id"], resource_types=("containers",))
    reconciler = RunReconcile(run.client(), options, run.events, params["keep_services"])
    result = reconciler.clean(check_mode=run.check_mode)
    error = reconciler.error_for(result)
    if error is not None:
        raise FailWithResult(error, reconciled=result, phase="reconcile")
    return result


def resolve_ports(run: ModuleRun, specs: list) -> tuple[list, dict[str, Any] | None]:
    """The specs on the ports ``resolve_ports`` picks (guard/port_plan.py), and RV(port_resolution)."""
    settings = run.params["resolve_ports"]
    if settings is None:
        return specs, None
    from ansible_collections.argusai.resilience.plugins.module_utils.guard.port_plan import plan_ports

    try:
        specs, report, warnings = plan_ports(
            run.client(),
            specs,
            dict(settings, docker_host=run.params["docker_host"]),
            run.params["project"],
            run.params["run_id"],
            run.events,
            run.check_mode,
        )
    except ArgusError as exc:
        raise FailWithResult(exc, phase="ports") from exc
    for warning in warnings:
        run.warn(warning)
    return specs, report


def connectivity_check(run: ModuleRun) -> Any:
    """The check of ``verify`` (guard/connectivity.py), its options checked now; None without ``verify``."""
    if run.params["verify"] is None:
        return None
    from ansible_collections.argusai.resilience.plugins.module_utils.guard.connectivity import ConnectivityCheck

    params = run.params
    try:
        return ConnectivityCheck(
            run.client(), params["verify"], params["project"], params["run_id"], params["timeout"], run.events
        )
    except ArgusError as exc:  # e.g. a timeout too short for probe_timeout: before any container is touched
        raise FailWithResult(exc, phase="network_verification") from exc


def guard_call(run: ModuleRun) -> dict[str, Any]:
    """argus_container_guard's core: reconcile, ports, the containers (tiers), the connectivity check."""
    specs = specs_from_params(run.params)
    names = {spec.name for spec in specs}
    unknown = [name for name in run.params["start_first"] if name not in names]
    if unknown:
        raise invalid_input("start_first", unknown, "must name items of containers")
    try:
        run.client()  # the daemon first: one that cannot be reached fails no phase of its own
    except ArgusError as exc:
        raise FailWithResult(exc, phase="connect") from exc
    check = connectivity_check(run)
    phases: dict[str, int] = {}
    began = time.monotonic()
    reconciled = reconcile(run)
    phases["reconcile"], began = _ms_since(began), time.monotonic()
    specs, port_resolution = resolve_ports(run, specs)
    phases["ports"], began = _ms_since(began), time.monotonic()
    guardian = ContainerGuardian(
        run.client(), run.params["project"], run.params["run_id"], run.events, check_mode=run.check_mode
    )
    outcomes = guardian.ensure_all(specs, run.params["start_first"], None if run.check_mode else check)
    phases["containers"] = _ms_since(began)
    port_mappings = [mapping for outcome in outcomes for mapping in outcome.port_mappings]
    changed = any(outcome.changed for outcome in outcomes) or bool(reconciled and reconciled["found"])
    result: dict[str, Any] = {"changed": changed, "port_mappings": port_mappings, "phases_ms": phases}
    if reconciled is not None:
        result["reconciled"] = reconciled
    if port_resolution is not None:
        result["port_resolution"] = port_resolution
    if run.params["containers"] is None:
        single = item_result(outcomes[0])
        result.update({key: single[key] for key in ("action", "run_id", "container", "restart_history")})
    else:
        items = [item_result(outcome) for outcome in outcomes]
        result.update(
            containers=items,
            restart_histories=[item["restart_history"] for item in items],
            duration_ms=phases["containers"],
        )
    failed = [outcome for outcome in outcomes if outcome.error is not None]
    if failed:
        error = failed[0].error
        if len(outcomes) > 1:
            error.details["failed_containers"] = [outcome.name for outcome in failed]
        raise FailWithResult(error, phase="containers", **result)
    if check is not None and check.runs:
        result["network_verification"] = check.report
        if check.error is not None:
            raise FailWithResult(check.error, phase="network_verification", **result)
    return result


def _ms_since(began: float) -> int:
    return int((time.monotonic() - began) * 1000)

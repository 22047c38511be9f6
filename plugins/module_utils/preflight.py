# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Preflight: is this host fit for an E2E run? Daemon, disk space, leftovers of earlier runs."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.cleanup.inventory import find_orphans
from ansible_collections.argusai.resilience.plugins.module_utils.errors import (
    ArgusError,
    from_exception,
    invalid_input,
    utc_now,
)
from ansible_collections.argusai.resilience.plugins.module_utils.events import EventLog
from ansible_collections.argusai.resilience.plugins.module_utils.module_options import PREFLIGHT
from ansible_collections.argusai.resilience.plugins.module_utils.options import defaults

PASS, WARN, FAIL, SKIPPED = "pass", "warn", "fail", "skipped"
HEALTHY, DEGRADED, UNHEALTHY = "healthy", "degraded", "unhealthy"
GIB = 1024**3
# Free space below the threshold fails; below WARN_FACTOR times the threshold warns.
WARN_FACTOR = 2
_DEFAULTS = defaults(PREFLIGHT)


@dataclass
class PreflightOptions:
    project: str
    run_id: str | None = None
    disk_threshold_gb: float = _DEFAULTS["disk_threshold_gb"]
    disk_paths: list[str] | None = None  # None: "/" and Docker's root dir
    skip_disk_check: bool = _DEFAULTS["skip_disk_check"]
    skip_orphan_check: bool = _DEFAULTS["skip_orphan_check"]
    daemon_timeout: float = _DEFAULTS["daemon_timeout"]

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> PreflightOptions:
        """The module's checked params; a disk path that does not exist fails before Docker is called."""
        for path in params["disk_paths"] or []:
            if not os.path.isabs(path) or not os.path.exists(path):
                raise invalid_input("disk_paths", path, "must be an existing absolute path")
        return cls(**{key: params[key] for key in cls.__dataclass_fields__})


@dataclass
class Check:
    name: str
    status: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    duration_ms: int = 0
    error: ArgusError | None = None

    def to_dict(self, project: str | None, run_id: str | None) -> dict[str, Any]:
        data = {
            "name": self.name,
            "status": self.status,
            "message": self.message,
            "details": self.details,
            "duration_ms": self.duration_ms,
        }
        if self.error is not None:
            data["error"] = self.error.with_context(project=project, run_id=run_id).to_dict()
        return data


def overall_status(statuses: list[str]) -> str:
    if FAIL in statuses:
        return UNHEALTHY
    if WARN in statuses:
        return DEGRADED
    return HEALTHY


def _timed(run_check: Callable[[], Check]) -> Check:
    started = time.monotonic()
    check = run_check()
    check.duration_ms = int((time.monotonic() - started) * 1000)
    return check


def check_disk(paths: list[str], threshold_gb: float) -> Check:
    """Free space of each path against the threshold; the worst path decides the status."""
    results = []
    for path in paths:
        usage = shutil.disk_usage(path)
        free_gb = usage.free / GIB
        if free_gb < threshold_gb:
            status = FAIL
        elif free_gb < threshold_gb * WARN_FACTOR:
            status = WARN
        else:
            status = PASS
        results.append(
            {"path": path, "free_gb": round(free_gb, 2), "total_gb": round(usage.total / GIB, 2), "status": status}
        )
    worst = overall_status([r["status"] for r in results])
    status = {HEALTHY: PASS, DEGRADED: WARN, UNHEALTHY: FAIL}[worst]
    summary = ", ".join(f"{r['path']} {r['free_gb']} GB free" for r in results)
    details = {"threshold_gb": threshold_gb, "warn_below_gb": threshold_gb * WARN_FACTOR, "paths": results}
    if status == FAIL:
        low = [r["path"] for r in results if r["status"] == FAIL]
        error = ArgusError(
            "DISK_SPACE_LOW", f"less than {threshold_gb} GB free on {', '.join(low)} ({summary})", details
        )
        return Check("disk_space", FAIL, error.message, details, error=error)
    if status == WARN:
        return Check("disk_space", WARN, f"free space is close to the {threshold_gb} GB threshold: {summary}", details)
    return Check("disk_space", PASS, summary, details)


class PreflightChecker:
    """Runs the checks in order and builds the report; ``connect`` opens a Docker client."""

    def __init__(self, options: PreflightOptions, connect: Callable[[float], Any], events: EventLog) -> None:
        self.options = options
        self.connect = connect
        self.events = events
        self.client: Any = None
        self.docker_root_dir: str | None = None
        self.failure: ArgusError | None = None  # the first failed check's error, after run()

    def check_daemon(self) -> Check:
        try:
            self.client = self.connect(self.options.daemon_timeout)
            # The whole liveness probe is bounded by daemon_timeout, not by the request timeout.
            request_timeout = self.client.api.timeout
            self.client.api.timeout = self.options.daemon_timeout
            try:
                info = self.client.info()
            finally:
                self.client.api.timeout = request_timeout
        except Exception as exc:  # classified, reported as the check's error
            error = from_exception(exc, "Docker daemon unavailable")
            return Check("docker_daemon", FAIL, error.message, error.details, error=error)
        self.docker_root_dir = info.get("DockerRootDir")
        details = {
            "server_version": info.get("ServerVersion"),
            "api_version": self.client.api.api_version,
            "docker_root_dir": self.docker_root_dir,
            "containers_running": info.get("ContainersRunning"),
        }
        return Check("docker_daemon", PASS, f"Docker {details['server_version']} answers", details)

    def disk_paths(self) -> list[str]:
        if self.options.disk_paths:
            return list(self.options.disk_paths)
        paths = ["/"]
        # Docker's root dir is only meaningful when the daemon runs on this host.
        if self.docker_root_dir and os.path.isdir(self.docker_root_dir):
            paths.append(self.docker_root_dir)
        return paths

    def check_disk(self) -> Check:
        if self.options.skip_disk_check:
            return Check("disk_space", SKIPPED, "skipped (skip_disk_check)")
        return check_disk(self.disk_paths(), self.options.disk_threshold_gb)

    def check_orphans(self) -> Check:
        if self.options.skip_orphan_check:
            return Check("orphans", SKIPPED, "skipped (skip_orphan_check)")
        if self.client is None:
            return Check("orphans", SKIPPED, "skipped: the Docker daemon is unavailable")
        try:
            orphans = find_orphans(self.client, self.options.project, self.options.run_id)
        except Exception as exc:  # a daemon failure mid-check fails the check, not the module
            error = from_exception(exc, "listing resources failed")
            return Check("orphans", FAIL, error.message, error.details, error=error)
        details = {"count": len(orphans), "resources": orphans}
        if not orphans:
            return Check("orphans", PASS, f"no resources of earlier runs of {self.options.project}", details)
        names = ", ".join(f"{o['type']} {o['name']}" for o in orphans[:10])
        more = f" and {len(orphans) - 10} more" if len(orphans) > 10 else ""
        error = ArgusError(
            "ORPHAN_DETECTED",
            f"{len(orphans)} resources of earlier runs of {self.options.project}: {names}{more}",
            details,
        )
        return Check("orphans", WARN, error.message, details, error=error)

    def run(self) -> dict[str, Any]:
        started = time.monotonic()
        self.events.emit("preflight_start", checks=["docker_daemon", "disk_space", "orphans"])
        checks = []
        for run_check in (self.check_daemon, self.check_disk, self.check_orphans):
            check = _timed(run_check)
            checks.append(check)
            self.events.emit("preflight_check", name=check.name, status=check.status, message=check.message)
        overall = overall_status([c.status for c in checks])
        report = {
            "overall": overall,
            "checks": [c.to_dict(self.events.project, self.events.run_id) for c in checks],
            "duration_ms": int((time.monotonic() - started) * 1000),
            "timestamp": utc_now(),
        }
        self.events.emit("preflight_end", overall=overall, duration_ms=report["duration_ms"])
        self.failure = next((c.error for c in checks if c.status == FAIL), None)
        return report

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Preflight: is this host fit for an E2E run? Daemon, disk space, leftovers of earlier runs.

The disk check looks at the daemon's machine: this one when the daemon runs here, else through a
helper container there (:mod:`.machine.helper`), or it is skipped with the reason. The daemon
check says which runtime answered (Docker Engine or Podman, :mod:`.machine.runtime`) and where it
runs (:mod:`.machine.location`).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.cleanup.inventory import find_orphans
from ansible_collections.argusai.resilience.plugins.module_utils.deadline import Deadline
from ansible_collections.argusai.resilience.plugins.module_utils.errors import (
    ArgusError,
    from_exception,
    invalid_input,
    utc_now,
)
from ansible_collections.argusai.resilience.plugins.module_utils.events import EventLog
from ansible_collections.argusai.resilience.plugins.module_utils.machine.helper import HelperUnavailable, MachineHelper
from ansible_collections.argusai.resilience.plugins.module_utils.machine.location import DaemonLocation, locate
from ansible_collections.argusai.resilience.plugins.module_utils.machine.runtime import runtime_of
from ansible_collections.argusai.resilience.plugins.module_utils.module_options import MACHINE_CHECKS, PREFLIGHT
from ansible_collections.argusai.resilience.plugins.module_utils.options import defaults

PASS, WARN, FAIL, SKIPPED = "pass", "warn", "fail", "skipped"
HEALTHY, DEGRADED, UNHEALTHY = "healthy", "degraded", "unhealthy"
GIB = 1024**3
# Free space below the threshold fails; below WARN_FACTOR times the threshold warns.
WARN_FACTOR = 2
_DEFAULTS = defaults(PREFLIGHT + MACHINE_CHECKS)
LOCAL_CHECK, HELPER_CHECK = "local", "helper_container"


@dataclass
class PreflightOptions:
    project: str
    run_id: str | None = None
    disk_threshold_gb: float = _DEFAULTS["disk_threshold_gb"]
    disk_paths: list[str] | None = None  # None: "/" and Docker's root dir
    skip_disk_check: bool = _DEFAULTS["skip_disk_check"]
    skip_orphan_check: bool = _DEFAULTS["skip_orphan_check"]
    clean_orphans: bool = _DEFAULTS["clean_orphans"]
    daemon_timeout: float = _DEFAULTS["daemon_timeout"]
    docker_host: str | None = None
    daemon_location: str = _DEFAULTS["daemon_location"]
    probe_image: str = _DEFAULTS["probe_image"]

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> PreflightOptions:
        """The module's checked params; a local disk path that does not exist fails before Docker is called."""
        options = cls(**{key: params[key] for key in cls.__dataclass_fields__ if key in params})
        remote = locate(options.docker_host, options.daemon_location).remote
        for path in options.disk_paths or []:
            if not os.path.isabs(path) or (not remote and not os.path.exists(path)):
                raise invalid_input("disk_paths", path, "must be an existing absolute path")
        return options


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


def local_usage(path: str) -> tuple[int, int]:
    """(total, free) bytes of the file system holding ``path`` on this machine."""
    usage = shutil.disk_usage(path)
    return usage.total, usage.free


def check_disk(
    paths: list[str],
    threshold_gb: float,
    usage: Callable[[str], tuple[int, int]] = local_usage,
    where: Mapping[str, Any] | None = None,
) -> Check:
    """Free space of each path against the threshold; the worst path decides the status.

    ``usage``: path → (total, free) bytes; ``where``: the machine and method, for details and messages.
    """
    where = dict(where or {"machine": "this machine", "method": LOCAL_CHECK})
    results = []
    for path in paths:
        total, free = usage(path)
        free_gb = free / GIB
        if free_gb < threshold_gb:
            status = FAIL
        elif free_gb < threshold_gb * WARN_FACTOR:
            status = WARN
        else:
            status = PASS
        results.append(
            {"path": path, "free_gb": round(free_gb, 2), "total_gb": round(total / GIB, 2), "status": status}
        )
    worst = overall_status([r["status"] for r in results])
    status = {HEALTHY: PASS, DEGRADED: WARN, UNHEALTHY: FAIL}[worst]
    summary = ", ".join(f"{r['path']} {r['free_gb']} GB free" for r in results)
    if where["method"] != LOCAL_CHECK:
        summary = f"on {where['machine']} (through a helper container): {summary}"
    details = {"threshold_gb": threshold_gb, "warn_below_gb": threshold_gb * WARN_FACTOR, "paths": results, **where}
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
        self.location: DaemonLocation = locate(options.docker_host, options.daemon_location)
        # where and how the machine checks ran; the docker_daemon check reports it (filled in by check_disk)
        self.machine: dict[str, Any] = self.location.to_dict()
        self.failure: ArgusError | None = None  # the first failed check's error, after run()

    def check_daemon(self) -> Check:
        # The whole liveness probe (connect, then its requests) ends at daemon_timeout, fixed here.
        deadline = Deadline(self.options.daemon_timeout)

        def within_deadline(request: Callable[[], Any]) -> Any:
            if deadline.expired():
                raise TimeoutError(f"the daemon did not answer within {self.options.daemon_timeout:g} s")
            self.client.api.timeout = deadline.remaining()
            return request()

        try:
            self.client = self.connect(self.options.daemon_timeout)
            request_timeout = self.client.api.timeout
            try:
                info = within_deadline(self.client.info)
                version = within_deadline(self.client.version)
            finally:
                self.client.api.timeout = request_timeout
        except Exception as exc:  # classified, reported as the check's error
            error = from_exception(exc, "Docker daemon unavailable")
            return Check(
                "docker_daemon", FAIL, error.message, dict(error.details, daemon_machine=self.machine), error=error
            )
        self.docker_root_dir = info.get("DockerRootDir")
        self.location = self.location.confirm(info.get("Name"))
        self.machine.update(self.location.to_dict())
        runtime = runtime_of(version)
        details = {
            "server_version": info.get("ServerVersion"),
            "api_version": self.client.api.api_version,
            "docker_root_dir": self.docker_root_dir,
            "containers_running": info.get("ContainersRunning"),
            **runtime,
            "daemon_machine": self.machine,
        }
        where = f"another machine, {self.location.machine}" if self.location.remote else "this machine"
        message = (
            f"{runtime['runtime_name']} {runtime['runtime_version']} answers at {self.location.docker_host} ({where})"
        )
        return Check("docker_daemon", PASS, message, details)

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
            self.machine["checks"] = SKIPPED
            return Check("disk_space", SKIPPED, "skipped (skip_disk_check)")
        if not self.location.remote:
            self.machine["checks"] = LOCAL_CHECK
            return check_disk(self.disk_paths(), self.options.disk_threshold_gb)
        return self._check_remote_disk()

    def _check_remote_disk(self) -> Check:
        """The disks of the daemon's machine, measured by a helper container there, or skipped with the reason."""
        machine = self.location.machine
        self.machine["checks"] = SKIPPED
        if self.client is None:
            reason = "its daemon is unavailable"
        else:
            paths = list(self.options.disk_paths or ["/", *([self.docker_root_dir] if self.docker_root_dir else [])])
            helper = MachineHelper(self.client.api, self.options.probe_image, self.options.project, self.options.run_id)
            try:
                usage = helper.disk_usage(paths)
            except HelperUnavailable as exc:
                reason = str(exc)
            except Exception as exc:  # a daemon failure mid-check fails the check, not the module
                error = from_exception(exc, f"measuring the disks of {machine} through a helper container")
                return Check("disk_space", FAIL, error.message, error.details, error=error)
            else:
                self.machine.update(checks=HELPER_CHECK, probe_image=self.options.probe_image)
                where = {"machine": machine, "method": HELPER_CHECK}
                return check_disk(paths, self.options.disk_threshold_gb, usage.__getitem__, where)
        self.machine["reason"] = reason
        details = {"machine": machine, "method": SKIPPED, "reason": reason}
        return Check(
            "disk_space", SKIPPED, f"skipped: the daemon runs on another machine ({machine}) and {reason}", details
        )

    def check_orphans(self) -> Check:
        if self.options.clean_orphans:  # listed once, by the cleanup that follows the checks
            return Check("orphans", SKIPPED, "skipped: the cleanup after the checks lists them (clean_orphans)")
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

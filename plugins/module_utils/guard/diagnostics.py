# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Diagnostics of a failed container, captured before anything else touches it, and their class.

``exit_code`` and ``oom_killed`` are reported as Docker gives them (``State.ExitCode``,
``State.OOMKilled``, or Docker's own ``oom`` event for the container); they are never guessed
from an exit status such as 137. A SIGKILL (137) under a memory limit without an OOM report is a
crash with its own cause, SIGKILL_UNDER_LIMIT, and a hint that says what is known: the limit, the
signal, and that the runtime did not report an OOM kill (Podman 4.3 on cgroup v1 never does).
Log lines and health-probe outputs that look like credentials are masked.

``observed`` (guard/exec_health.HealthWatcher.observed) adds what the guard's watcher knows: the
``runtime``, and, where the guard ran the healthcheck itself, its ``health`` (as ``State.Health``)
with ``health_source: exec``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.error_registry import SIGKILL_UNDER_LIMIT
from ansible_collections.argusai.resilience.plugins.module_utils.errors import utc_now

LOG_LINES = 100
HEALTH_LOG_ENTRIES = 5
MASK = "********"
# Podman reports a dead container as "stopped" until its cleanup has run (~0.2 s, measured on 4.3.1),
# then "exited"; Docker has no such state. The capture waits that long at most for the final word.
STOPPED_SETTLE_SECONDS = 2.0
SIGKILL_EXIT = 137
RUNTIME_EXEC_REFUSED = "runtime_exec_refused"  # the guard's health probe could not run: the runtime refused it

# Credential-looking fragments. Each pattern keeps its group 1 (the key) and masks the value.
_SECRET_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"(authorization\s*[:=]\s*(?:bearer|basic|token)\s+)\S+", re.IGNORECASE),
    re.compile(r"(\bbearer\s+)[A-Za-z0-9\-._~+/]{8,}=*", re.IGNORECASE),
    re.compile(
        r"((?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|client[_-]?secret"
        r"|aws_secret_access_key|aws_session_token|credentials?)[\"']?\s*[:=]\s*[\"']?)[^\s\"',;&]+",
        re.IGNORECASE,
    ),
    re.compile(r"(://[^/\s:@]+:)[^@\s/]+(?=@)"),  # user:password@ in URLs
    re.compile(r"()\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),  # AWS access key ids
)


def mask_line(line: str, secrets: Iterable[str] = ()) -> str:
    """Mask credential-looking values in one line, and any of ``secrets`` (e.g. env values)."""
    for pattern in _SECRET_PATTERNS:
        line = pattern.sub(lambda m: m.group(1) + MASK, line)
    for secret in secrets:
        if secret and len(secret) >= 4:  # masking "1" or "yes" would destroy the log, not protect it
            line = line.replace(secret, MASK)
    return line


def mask_lines(lines: Iterable[str], secrets: Iterable[str] = ()) -> list[str]:
    secrets = tuple(secrets)
    return [mask_line(line, secrets) for line in lines]


def _logs(container: Any, since: float | None) -> list[str]:
    try:
        kwargs: dict[str, Any] = {"tail": LOG_LINES, "stdout": True, "stderr": True}
        if since:
            kwargs["since"] = since
        raw = container.logs(**kwargs)
    except Exception as exc:  # noqa: BLE001 - diagnostics are best effort; the failure is reported
        return [f"<logs unavailable: {exc}>"]
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return text.splitlines()[-LOG_LINES:]


def _memory_stats(container: Any, state: dict[str, Any], host_config: dict[str, Any]) -> dict[str, Any]:
    """Memory figures: live usage only while the container runs (Docker has none afterwards)."""
    stats: dict[str, Any] = {"limit_bytes": host_config.get("Memory") or None, "source": "unavailable"}
    if not state.get("Running"):
        return stats
    try:
        # one_shot: a single sample now, instead of waiting ~1 s for a second one (API >= 1.41)
        raw = container.stats(stream=False, one_shot=True).get("memory_stats") or {}
    except Exception:  # noqa: BLE001 - the container may stop between inspect and stats
        return stats
    if raw:
        stats.update(
            {
                "usage_bytes": raw.get("usage"),
                "max_usage_bytes": raw.get("max_usage"),
                "limit_bytes": raw.get("limit") or stats["limit_bytes"],
                "failcnt": raw.get("failcnt"),
                "source": "stats",
            }
        )
    return stats


def _health_log(health: Mapping[str, Any], secrets: tuple[str, ...]) -> list[dict[str, Any]]:
    entries = (health.get("Log") or [])[-HEALTH_LOG_ENTRIES:]
    return [
        {
            "start": entry.get("Start"),
            "end": entry.get("End"),
            "exit_code": entry.get("ExitCode"),
            "output": mask_line((entry.get("Output") or "").strip(), secrets),
        }
        for entry in entries
    ]


def _settled(container: Any) -> dict[str, Any]:
    """The container reloaded, past Podman's transient ``stopped`` (within STOPPED_SETTLE_SECONDS)."""
    container.reload()
    deadline = time.monotonic() + STOPPED_SETTLE_SECONDS
    while (container.attrs.get("State") or {}).get("Status") == "stopped" and time.monotonic() < deadline:
        time.sleep(0.05)
        container.reload()
    return container.attrs


def capture(
    container: Any,
    since: float | None = None,
    oom_event: bool = False,
    secrets: Iterable[str] = (),
    observed: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything Docker still knows about a failed attempt.

    ``container`` is a docker SDK Container; it is reloaded here. ``since`` (epoch seconds) keeps
    the logs to the failed attempt. ``oom_event``: Docker emitted an ``oom`` event for the
    container during the attempt. ``observed``: see the module docstring.
    """
    secrets = tuple(secrets)
    observed = observed or {}
    attrs = _settled(container)
    state = attrs.get("State") or {}
    host_config = attrs.get("HostConfig") or {}
    oom_state = bool(state.get("OOMKilled"))
    health = observed.get("health") or state.get("Health") or {}
    return {
        "container_id": container.id,
        "container_name": container.name,
        "status": state.get("Status"),
        "exit_code": state.get("ExitCode"),
        "oom_killed": oom_state or oom_event,
        "oom_evidence": [source for source, seen in (("state", oom_state), ("event", oom_event)) if seen],
        "error": state.get("Error") or None,
        "health_status": health.get("Status") or None,
        "health_source": observed.get("health_source") or ("runtime" if health.get("Status") else None),
        "health_exec_refused": bool(observed.get("health_exec_refused")),
        "started_at": state.get("StartedAt"),
        "finished_at": state.get("FinishedAt"),
        "logs": mask_lines(_logs(container, since), secrets),
        "memory_stats": _memory_stats(container, state, host_config),
        "health_log": _health_log(health, secrets),
        "runtime": observed.get("runtime"),
        "timestamp": utc_now(),
    }


# Why an attempt failed, as the watcher saw it.
DIED = "died"
UNHEALTHY = "unhealthy"
NOT_HEALTHY_IN_TIME = "not_healthy_in_time"


def classify(diagnostics: dict[str, Any], failure: str) -> tuple[str, str]:
    """``(code, cause)`` of a failed attempt: OOM beats everything, then the health check, else a crash."""
    if diagnostics.get("oom_killed"):
        return "CONTAINER_OOM", "oom_killed"
    if failure in (UNHEALTHY, NOT_HEALTHY_IN_TIME):
        # a probe the runtime would not run says nothing of the application
        return "HEALTH_CHECK_TIMEOUT", RUNTIME_EXEC_REFUSED if diagnostics.get("health_exec_refused") else failure
    if diagnostics.get("status") == "running":
        # e.g. the start hook failed but the process still runs; keep the watcher's word.
        return "CONTAINER_CRASH", failure
    if _sigkill_under_limit(diagnostics):
        return "CONTAINER_CRASH", SIGKILL_UNDER_LIMIT
    return "CONTAINER_CRASH", "exited" if diagnostics.get("exit_code") is not None else failure


def _sigkill_under_limit(diagnostics: dict[str, Any]) -> bool:
    return diagnostics.get("exit_code") == SIGKILL_EXIT and bool(
        (diagnostics.get("memory_stats") or {}).get("limit_bytes")
    )


def summary(code: str, diagnostics: dict[str, Any]) -> str:
    """One line for people: what happened to the attempt."""
    name = diagnostics.get("container_name")
    if code == "CONTAINER_OOM":
        return (
            f"container {name} was killed for lack of memory (limit {diagnostics['memory_stats'].get('limit_bytes')})"
        )
    if code == "HEALTH_CHECK_TIMEOUT":
        outputs = [entry["output"] for entry in diagnostics.get("health_log") or [] if entry.get("output")]
        last = f"; last probe: {outputs[-1][:200]}" if outputs else ""
        return f"container {name} did not become healthy (health {diagnostics.get('health_status')}){last}"
    tail = (diagnostics.get("logs") or [""])[-1][:200]
    text = f"container {name} exited with code {diagnostics.get('exit_code')}"
    if _sigkill_under_limit(diagnostics):  # a hint, not a verdict
        text += f" ({_sigkill_hint(diagnostics)})"
    return text + (f"; last log: {tail}" if tail else "")


def _sigkill_hint(diagnostics: dict[str, Any]) -> str:
    limit = diagnostics["memory_stats"]["limit_bytes"]
    shown = f"{limit // 1048576} MiB" if limit % 1048576 == 0 else f"{limit} bytes"
    if diagnostics.get("runtime") == "podman":
        why = "Podman reported no OOM kill, and it does not report them everywhere (4.3 on cgroup v1 never does)"
    else:
        why = "Docker reported no OOM kill, but it can miss one right after the start"
    return f"killed by SIGKILL under a memory limit of {shown}; {why}: an OOM kill is likely, not confirmed"

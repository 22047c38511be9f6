# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One attempt of a container, watched to its end: stable (None) or a Failure.

One attempt = one run of the container from ``State.StartedAt``. It succeeds when the container
is running, healthy if it has a healthcheck (within ``startup_timeout``), and then stays so for
``stable_seconds``. It fails when the container dies (``die`` event), turns ``unhealthy`` or is
not healthy in time. Watching uses the container's Docker events (event_stream).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.guard import diagnostics
from ansible_collections.argusai.resilience.plugins.module_utils.guard.event_stream import (
    HEALTHY,
    TIMEOUT,
    EventStream,
    parse_docker_time,
)
from ansible_collections.argusai.resilience.plugins.module_utils.guard.spec import ContainerSpec


@dataclass
class Failure:
    """What the watcher saw end an attempt."""

    kind: str  # diagnostics.DIED / UNHEALTHY / NOT_HEALTHY_IN_TIME
    at_ns: int  # when it happened (the event's timeNano): the backoff counts from here
    oom_event: bool = False


def watch_attempt(
    stream: EventStream, spec: ContainerSpec, container: Any, since_ns: int | None
) -> tuple[Failure | None, int | None]:
    """Watch the current run until it is stable (None) or failed; returns it with its start time.

    ``since_ns``: taken just before the start call (a quick death can precede ``StartedAt``).
    """
    container.reload()
    state = container.attrs.get("State") or {}
    started_ns = parse_docker_time(state.get("StartedAt")) or time.time_ns()
    since_ns = since_ns or started_ns
    if not state.get("Running"):  # already gone: its events still tell when, and Docker's oom word
        kind, at_ns, oom = stream.watch(container.id, since_ns, time.time_ns(), want_healthy=False)
        return Failure(diagnostics.DIED, at_ns if kind == diagnostics.DIED else time.time_ns(), oom), since_ns
    stable_from = started_ns
    if spec.healthcheck is not None:
        until = started_ns + int(spec.startup_timeout * 1e9)
        kind, at_ns, oom = stream.watch(container.id, since_ns, until, want_healthy=True)
        if kind == HEALTHY:
            stable_from = at_ns
        elif kind != TIMEOUT:
            return Failure(kind, at_ns, oom), since_ns
        else:
            container.reload()
            health = ((container.attrs.get("State") or {}).get("Health") or {}).get("Status")
            if health != "healthy":
                return Failure(diagnostics.NOT_HEALTHY_IN_TIME, time.time_ns(), oom), since_ns
            stable_from = time.time_ns()
    failure = watch_window(stream, container, min(since_ns, stable_from), spec.stable_seconds, stable_from)
    return failure, since_ns


def watch_window(
    stream: EventStream, container: Any, since_ns: int, seconds: float, from_ns: int | None = None
) -> Failure | None:
    """No death for ``seconds`` from ``from_ns`` (default ``since_ns``); events read from ``since_ns``."""
    until_ns = (from_ns or since_ns) + int(seconds * 1e9)
    kind, at_ns, oom = stream.watch(container.id, since_ns, until_ns, want_healthy=False)
    if kind != TIMEOUT:
        return Failure(kind, at_ns, oom)
    container.reload()
    if container.status != "running":  # e.g. a die the stream could not deliver
        return Failure(diagnostics.DIED, time.time_ns(), oom)
    return None

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One attempt of a container, watched to its end: stable or failed, and when.

One attempt = one run of the container from ``State.StartedAt``. It is stable when the container
is running, healthy if it has a healthcheck (within ``startup_timeout``), and then stays so for
``stable_seconds``. A stable run is watched on to the end of the guard's watch window. It fails
when the container dies (``die`` event), turns ``unhealthy`` or is not healthy in time. Watching
uses the container's Docker events (event_stream); every wait ends at a time fixed from Docker's
own timestamps and the options, never moved by what the wait sees.
"""

from __future__ import annotations

import time
from collections.abc import Callable
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


@dataclass
class Attempt:
    """One run as watched: from when its events count, when it was stable, and how it ended."""

    since_ns: int  # events and logs of the run are read from here
    stable_ns: int | None = None  # when it had been up (and healthy) for stable_seconds; None: failed before
    failure: Failure | None = None  # None: stable, and still up at the end of the watch


def _ns(seconds: float) -> int:
    return int(seconds * 1e9)


def watch_attempt(
    stream: EventStream,
    spec: ContainerSpec,
    container: Any,
    since_ns: int | None,
    window_end_ns: int | None = None,
    on_ready: Callable[[], None] | None = None,
) -> Attempt:
    """Watch the current run until it fails, or is stable and the watch window is over.

    ``since_ns``: taken just before the start call (a quick death can precede ``StartedAt``).
    ``window_end_ns``: the end of the guard's watch window, fixed when the container was first
    stable; None before that, when the window is ``watch_seconds`` from this run's stable moment.
    A run is always watched until it is stable, even past the window.
    ``on_ready``: called once the run is ready (running, and healthy with a healthcheck), before
    its stability wait: what lets containers that depend on it start meanwhile.
    """
    container.reload()
    state = container.attrs.get("State") or {}
    started_ns = parse_docker_time(state.get("StartedAt")) or time.time_ns()
    since_ns = since_ns or started_ns
    if not state.get("Running"):  # already gone: its events still tell when, and Docker's oom word
        kind, at_ns, oom = stream.watch(container.id, since_ns, time.time_ns(), want_healthy=False)
        return Attempt(
            since_ns, failure=Failure(diagnostics.DIED, at_ns if kind == diagnostics.DIED else time.time_ns(), oom)
        )
    healthy_ns = started_ns
    if spec.healthcheck is not None:
        kind, at_ns, oom = stream.watch(
            container.id, since_ns, started_ns + _ns(spec.startup_timeout), want_healthy=True
        )
        if kind == HEALTHY:
            healthy_ns = at_ns
        elif kind != TIMEOUT:
            return Attempt(since_ns, failure=Failure(kind, at_ns, oom))
        else:
            container.reload()
            health = ((container.attrs.get("State") or {}).get("Health") or {}).get("Status")
            if health != "healthy":
                return Attempt(since_ns, failure=Failure(diagnostics.NOT_HEALTHY_IN_TIME, time.time_ns(), oom))
            healthy_ns = time.time_ns()
    if on_ready is not None:
        on_ready()
    stable_ns = healthy_ns + _ns(spec.stable_seconds)
    window_end_ns = stable_ns + _ns(spec.watch_seconds) if window_end_ns is None else window_end_ns
    failure = watch_until(stream, container, min(since_ns, healthy_ns), max(stable_ns, window_end_ns))
    if failure is not None and failure.at_ns < stable_ns:
        return Attempt(since_ns, failure=failure)
    return Attempt(since_ns, stable_ns, failure)


def watch_until(stream: EventStream, container: Any, since_ns: int, until_ns: int) -> Failure | None:
    """No death (nor ``unhealthy``) until ``until_ns``; events read from ``since_ns``."""
    kind, at_ns, oom = stream.watch(container.id, since_ns, until_ns, want_healthy=False)
    if kind != TIMEOUT:
        return Failure(kind, at_ns, oom)
    container.reload()
    if container.status != "running":  # e.g. a die the stream could not deliver
        return Failure(diagnostics.DIED, time.time_ns(), oom)
    return None

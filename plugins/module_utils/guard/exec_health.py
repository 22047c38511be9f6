# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Healthchecks the runtime does not run, run by the guard itself through exec: the guard's watcher.

Podman runs a container's healthcheck from systemd timers. On a host without systemd (most CI
containers) it logs that it cannot add them and never runs the check: ``State.Health`` stays
``starting`` with an empty log, and no ``health_status`` event ever comes. Docker always runs it.

:class:`HealthWatcher` has EventStream's call, ``watch(container_id, since_ns, until_ns,
want_healthy) -> Sighting``, and is what the supervisor watches with. The runtime is read once
from ``GET /version`` (machine/runtime.py). On Docker, and for a container without a healthcheck,
it is the event stream. On Podman, for a running container with a healthcheck whose runtime shows
no health progress yet (no entry in ``State.Health.Log``, status still ``starting``), it watches
the event stream (deaths) and meanwhile runs the container's own check (``Config.Healthcheck``)
through exec with Docker's rules:

- the first probe ``interval`` after the start, each next one ``interval`` after the previous ended;
- each probe bounded by ``timeout``: one still running then fails ("Health check exceeded
  timeout"; the API cannot kill an exec, so it is left to end by itself);
- exit code 0 is healthy and resets the failing streak; any other result adds to it, except while
  the container is still ``starting`` within ``start_period``; ``retries`` failures in a row are
  ``unhealthy``; the last 5 probes are kept, each output cut at 4096 bytes.

The moment the runtime shows progress of its own (Podman under systemd), its word counts again:
no more probes, its events end the watch. Which one decided is the run's ``health_source``
(``exec`` or ``runtime``): :meth:`HealthWatcher.observed` gives it to the diagnostics,
:meth:`HealthWatcher.annotate` to the ``container`` result.

Podman's events of a window that has already passed are not served (its event reader stops at
``until`` before it has read the log): such a window is answered from the container's state.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.docker_client import NotFound
from ansible_collections.argusai.resilience.plugins.module_utils.guard.diagnostics import DIED, UNHEALTHY
from ansible_collections.argusai.resilience.plugins.module_utils.guard.event_stream import (
    HEALTHY,
    TIMEOUT,
    WATCHDOG_SLACK_SECONDS,
    EventStream,
    PendingWatch,
    Sighting,
    parse_docker_time,
    rfc3339,
)
from ansible_collections.argusai.resilience.plugins.module_utils.machine.runtime import DOCKER, PODMAN, runtime_of

EXEC, RUNTIME = "exec", "runtime"  # health_source: who ran the healthcheck
EXEC_REFUSED = "the runtime refused to run the check"  # the output of a probe that could not run
STARTING, HEALTHY_STATUS = "starting", "healthy"
LOG_ENTRIES = 5  # Docker keeps the last 5 probes
OUTPUT_BYTES = 4096  # and the first 4096 bytes of each output
# Podman's event reader stops at ``until`` and needs ~30 ms to read its log (measured on 4.3.1): a
# shorter window is waited out and answered from the container's state.
PODMAN_MIN_WINDOW_SECONDS = 0.1
# Docker's defaults for a healthcheck field left at 0
DEFAULT_INTERVAL_S, DEFAULT_TIMEOUT_S, DEFAULT_RETRIES = 30.0, 30.0, 3


@dataclass
class Probe:
    """One run of the check: as Docker logs it, plus whether the container was gone."""

    seq: int
    start_ns: int
    end_ns: int
    exit_code: int
    output: str
    gone: bool = False  # the exec was refused because the container no longer runs
    refused: bool = False  # the runtime refused the exec (the check itself did not run)

    def entry(self) -> dict[str, Any]:
        return {
            "Start": rfc3339(self.start_ns),
            "End": rfc3339(self.end_ns),
            "ExitCode": self.exit_code,
            "Output": self.output,
        }


@dataclass
class RunHealth:
    """The health of one run of a container (Docker's rules, see the module docstring)."""

    test: tuple[str, ...]
    shell: tuple[str, ...]
    started_ns: int
    interval_s: float
    timeout_s: float
    retries: int
    start_period_s: float
    status: str = STARTING
    failing_streak: int = 0
    refused: bool = False  # the last probe could not run: the runtime refused the exec
    source: str = EXEC
    last_end_ns: int | None = None
    log: deque = field(default_factory=lambda: deque(maxlen=LOG_ENTRIES))

    @classmethod
    def of(cls, config: Mapping[str, Any], shell: Any, started_ns: int) -> RunHealth | None:
        """From ``Config.Healthcheck`` (durations in ns); None when there is no check to run."""
        test = tuple(config.get("Test") or ())
        if not test or test[0] not in ("CMD", "CMD-SHELL") or len(test) < 2:
            return None  # none, NONE (disabled), or inherited from an image we cannot read here
        return cls(
            test=test,
            shell=tuple(shell or ("/bin/sh", "-c")),
            started_ns=started_ns,
            interval_s=(config.get("Interval") or 0) / 1e9 or DEFAULT_INTERVAL_S,
            timeout_s=(config.get("Timeout") or 0) / 1e9 or DEFAULT_TIMEOUT_S,
            retries=config.get("Retries") or DEFAULT_RETRIES,
            start_period_s=(config.get("StartPeriod") or 0) / 1e9,
        )

    def argv(self) -> list[str]:
        return list(self.test[1:]) if self.test[0] == "CMD" else [*self.shell, self.test[1]]

    def next_due_ns(self) -> int:
        return (self.last_end_ns or self.started_ns) + int(self.interval_s * 1e9)

    def record(self, probe: Probe) -> None:
        self.last_end_ns = probe.end_ns
        self.refused = probe.refused
        self.log.append(probe.entry())
        if probe.exit_code == 0:
            self.status, self.failing_streak = HEALTHY_STATUS, 0
            return
        in_start_period = probe.start_ns - self.started_ns < self.start_period_s * 1e9
        if self.status == STARTING and in_start_period:
            return  # failures while starting within the start period do not count
        self.failing_streak += 1
        if self.failing_streak >= self.retries:
            self.status = UNHEALTHY

    def view(self) -> dict[str, Any]:
        """As Docker's ``State.Health``."""
        return {"Status": self.status, "FailingStreak": self.failing_streak, "Log": list(self.log)}


def runtime_progress(health: Mapping[str, Any] | None) -> bool:
    """The runtime runs the check itself: its health has a probe logged, or a verdict."""
    health = health or {}
    return bool(health.get("Log")) or health.get("Status") in (HEALTHY_STATUS, UNHEALTHY)


class HealthWatcher:
    """The guard's watcher: EventStream's ``watch``, plus the probes the runtime does not run."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.events = EventStream(client)
        self._runtime: str | None = None
        self._runs: dict[str, tuple[int, RunHealth]] = {}  # container id -> (StartedAt, its health)
        self._lock = threading.Lock()

    @property
    def runtime(self) -> str:
        """DOCKER or PODMAN, from ``GET /version`` once; a daemon that does not say is taken as Docker."""
        if self._runtime is None:
            try:
                self._runtime = runtime_of(self.client.version())["runtime"]
            except Exception:  # noqa: BLE001 - Docker's semantics are the default; the next call reports the daemon
                self._runtime = DOCKER
            self.events.runtime = self._runtime
        return self._runtime

    # ------------------------------------------------------------------ the watch
    def watch(self, container_id: str, since_ns: int, until_ns: int, want_healthy: bool = False) -> Sighting:
        """EventStream.watch, with the container's healthcheck run through exec where the runtime does not."""
        if self.runtime != PODMAN:
            return self.events.watch(container_id, since_ns, until_ns, want_healthy)
        left_s = (until_ns - time.time_ns()) / 1e9
        if left_s < PODMAN_MIN_WINDOW_SECONDS:  # too short for Podman's event reader: the state says it
            time.sleep(max(0.0, left_s))
            return _past_window(self.client.api.inspect_container(container_id).get("State") or {}, since_ns, until_ns)
        attrs = self.client.api.inspect_container(container_id)
        run = self._run_of(container_id, attrs)
        if run is None or not (attrs.get("State") or {}).get("Running"):
            return self.events.watch(container_id, since_ns, until_ns, want_healthy)
        if run.last_end_ns is not None:  # an earlier watch of this run already saw the verdict
            verdict = self._verdict(run, want_healthy, max(run.last_end_ns, since_ns), until_ns)
            if verdict is not None:
                return verdict
        outcomes: queue.Queue = queue.Queue()
        pending = self.events.open(container_id, since_ns, until_ns, want_healthy, outcomes)
        try:
            return self._probe_until(container_id, run, pending, until_ns, want_healthy)
        finally:
            pending.close()

    def _run_of(self, container_id: str, attrs: Mapping[str, Any]) -> RunHealth | None:
        """The health of the container's current run, kept across the watches of that run."""
        state, config = attrs.get("State") or {}, attrs.get("Config") or {}
        started_ns = parse_docker_time(state.get("StartedAt")) or 0
        with self._lock:
            kept = self._runs.get(container_id)
            if kept is not None and kept[0] == started_ns:
                run = kept[1]
            else:
                run = RunHealth.of(config.get("Healthcheck") or {}, config.get("Shell"), started_ns)
                if run is None:
                    self._runs.pop(container_id, None)
                    return None
                self._runs[container_id] = (started_ns, run)
        if runtime_progress(state.get("Health")):
            run.source = RUNTIME
        return run if run.source == EXEC else None

    def _probe_until(
        self, container_id: str, run: RunHealth, pending: PendingWatch, until_ns: int, want_healthy: bool
    ) -> Sighting:
        """Probe on schedule until the event stream ends the watch, or the probes do."""
        seq = 0
        in_flight: tuple[int, int, int] | None = None  # the probe running: (seq, started, times out), ns
        while True:
            now = time.time_ns()
            if in_flight is not None and now >= in_flight[2]:  # it outlived its timeout: a failure
                text = f"Health check exceeded timeout ({run.timeout_s:g}s)"
                run.record(Probe(in_flight[0], in_flight[1], now, -1, text))
                in_flight = None
                verdict = self._verdict(run, want_healthy, now, until_ns)
                if verdict is not None:
                    return verdict
            probing = run.source == EXEC and run.next_due_ns() < until_ns
            if in_flight is None and probing and now >= run.next_due_ns():
                seq += 1
                in_flight = (seq, now, now + int(run.timeout_s * 1e9))
                self._start_probe(container_id, run, seq, pending.outcomes)
            wake_ns = in_flight[2] if in_flight is not None else run.next_due_ns() if probing else None
            wait = pending.deadline.remaining() if wake_ns is None else pending.deadline.cap((wake_ns - now) / 1e9)
            try:
                item = pending.outcomes.get(timeout=wait)
            except queue.Empty:
                if pending.deadline.expired():
                    return pending.result_of(
                        TimeoutError(f"the daemon had not ended the stream {WATCHDOG_SLACK_SECONDS:g} s after its end")
                    )
                continue
            if not isinstance(item, Probe):
                return pending.result_of(item)  # the event stream's end: a death, the runtime's word, or until
            if in_flight is None or item.seq != in_flight[0]:
                continue  # a probe already counted as timed out
            in_flight = None
            if item.gone:
                return _death(_inspect_quietly(self.client.api, container_id), item.end_ns)
            run.record(item)
            verdict = self._verdict(run, want_healthy, item.end_ns, until_ns)
            if verdict is not None:
                return verdict

    @staticmethod
    def _verdict(run: RunHealth, want_healthy: bool, at_ns: int, until_ns: int) -> Sighting | None:
        if at_ns > until_ns:
            return None  # too late for this window: the stream ends it
        if run.status == UNHEALTHY:
            return Sighting(UNHEALTHY, at_ns, False)
        if run.status == HEALTHY_STATUS and want_healthy:
            return Sighting(HEALTHY, at_ns, False)
        return None

    def _start_probe(self, container_id: str, run: RunHealth, seq: int, outcomes: queue.Queue) -> None:
        def probe() -> None:
            outcomes.put(self._probe(container_id, run, seq))

        threading.Thread(target=probe, name="argus-health-probe", daemon=True).start()

    def _probe(self, container_id: str, run: RunHealth, seq: int) -> Probe:
        """One exec of the check (its wait is bounded by the watch loop, not here)."""
        api = self.client.api
        start_ns = time.time_ns()
        try:
            exec_id = api.exec_create(container_id, run.argv(), stdout=True, stderr=True)["Id"]
            output = api.exec_start(exec_id)
            exit_code = api.exec_inspect(exec_id).get("ExitCode")
        except Exception as exc:  # noqa: BLE001 - a refused exec is a failed probe, or a death
            attrs = _inspect_quietly(api, container_id)
            gone = attrs is None or (attrs.get("State") or {}).get("Running") is False
            text = f"{EXEC_REFUSED}: {exc}"[:OUTPUT_BYTES]
            return Probe(seq, start_ns, time.time_ns(), -1, text, gone, refused=True)
        if runtime_progress(((_inspect_quietly(api, container_id) or {}).get("State") or {}).get("Health")):
            run.source = RUNTIME  # the runtime runs it after all (e.g. Podman under systemd)
        text = output.decode("utf-8", "replace") if isinstance(output, bytes) else str(output or "")
        return Probe(seq, start_ns, time.time_ns(), -1 if exit_code is None else int(exit_code), text[:OUTPUT_BYTES])

    # ------------------------------------------------------------------ what the result says
    def observed(self, container_id: str) -> dict[str, Any]:
        """What the diagnostics add: the runtime, and the guard's own health of the run it probed."""
        found: dict[str, Any] = {"runtime": self.runtime}
        kept = self._runs.get(container_id)
        if kept is not None and kept[1].source == EXEC:
            found.update(health_source=EXEC, health=kept[1].view(), health_exec_refused=kept[1].refused)
        return found

    def annotate(self, container: dict[str, Any] | None) -> None:
        """The ``container`` result: its health as the guard's probes found it, and that they did."""
        kept = self._runs.get(container["id"]) if container else None
        if container is not None and kept is not None and kept[1].source == EXEC:
            container.update(health=kept[1].status, health_source=EXEC)


def _inspect_quietly(api: Any, container_id: str) -> dict[str, Any] | None:
    """The container's inspect; None when it is gone, {} when the daemon did not say."""
    try:
        return api.inspect_container(container_id)
    except NotFound:
        return None
    except Exception:  # noqa: BLE001 - the caller decides without it
        return {}


def _death(attrs: Mapping[str, Any] | None, seen_ns: int) -> Sighting:
    """A container found not running: DIED when it finished (as the runtime dated it), else now."""
    state = (attrs or {}).get("State") or {}
    return Sighting(DIED, parse_docker_time(state.get("FinishedAt")) or seen_ns, bool(state.get("OOMKilled")))


def _past_window(state: Mapping[str, Any], since_ns: int, until_ns: int) -> Sighting:
    """A window already over, answered from the state: a death dated inside it, else TIMEOUT."""
    finished_ns = parse_docker_time(state.get("FinishedAt"))
    if not state.get("Running") and finished_ns is not None and since_ns <= finished_ns <= until_ns:
        return Sighting(DIED, finished_ns, bool(state.get("OOMKilled")))
    return Sighting(TIMEOUT, until_ns, False)

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The container guard: start a labeled container, watch it, restart it with backoff, explain it.

Each attempt is watched to its end (attempt.watch_attempt). On a failure the diagnostics are
captured first (diagnostics.capture), the attempt is classified (CONTAINER_OOM,
HEALTH_CHECK_TIMEOUT, CONTAINER_CRASH), the backoff delay (backoff.delay_ms) is waited, and the
same container is started again (the delay runs from the death, as Docker dated it, to the
container running again: the start is issued early by the last start's latency).

Why it always ends: at most ``max_restarts`` restarts per call, however many of the runs were
stable (a stable run only sends the backoff back to its first delay, as dockerd does), and the
watch window (``watch_seconds``) is fixed when the container is first stable; docs/guard.md gives
the resulting bound. Exhaustion raises CONTAINER_RESTART_EXHAUSTED with the whole history; the
container is left for inspection unless ``remove_on_failure``.

With ``start_first`` (ensure_all), those containers start at once and the others once all of them
are ready (running, healthy with a healthcheck): the later ones' start overlaps the earlier ones'
stability windows instead of queueing behind them. A container already running, healthy and up for
``stable_seconds`` is left as it is without any wait (a rerun on an environment that is up).

Only containers labeled ``argusai.managed=true`` for the same project are ever modified (containers).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.backoff import delay_ms
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError, from_exception
from ansible_collections.argusai.resilience.plugins.module_utils.events import EventLog
from ansible_collections.argusai.resilience.plugins.module_utils.guard import diagnostics
from ansible_collections.argusai.resilience.plugins.module_utils.guard.attempt import watch_attempt
from ansible_collections.argusai.resilience.plugins.module_utils.guard.containers import Containers, describe
from ansible_collections.argusai.resilience.plugins.module_utils.guard.event_stream import parse_docker_time
from ansible_collections.argusai.resilience.plugins.module_utils.guard.exec_health import HealthWatcher
from ansible_collections.argusai.resilience.plugins.module_utils.guard.outcome import (
    CREATE,
    NONE,
    RECREATE,
    REMOVE,
    START,
    GuardOutcome,
)
from ansible_collections.argusai.resilience.plugins.module_utils.guard.spec import CONFIG_HASH, ContainerSpec
from ansible_collections.argusai.resilience.plugins.module_utils.guard.tiers import TierRun
from ansible_collections.argusai.resilience.plugins.module_utils.labels import RUN_ID, new_run_id
from ansible_collections.argusai.resilience.plugins.module_utils.ports.leases import release_for_container


class ContainerGuardian:
    """Start and supervise containers of one project on one Docker client.

    ``port_resolver``: see containers.Containers. ``sleep`` and ``rng`` are injectable for tests.
    """

    def __init__(
        self,
        client: Any,
        project: str,
        run_id: str | None,
        events: EventLog,
        check_mode: bool = False,
        port_resolver: Callable[..., dict[str, Any]] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.project = project
        self.run_id = run_id
        self.events = events
        self.check_mode = check_mode
        self.containers = Containers(client, project, events, port_resolver)
        self.stream = HealthWatcher(client)  # the event stream; runs healthchecks the runtime cannot
        self.sleep = sleep
        self.rng = rng
        self._fresh_run_id: str | None = None
        self._restarts_lock = threading.Lock()
        self.restarts = 0  # restarts made by this guardian so far, all containers together

    # ------------------------------------------------------------------ public entry points
    def ensure(
        self,
        spec: ContainerSpec,
        on_ready: Callable[[], None] | None = None,
        before_start: Callable[[GuardOutcome], bool] | None = None,
    ) -> GuardOutcome:
        """Bring one container to ``spec.state``; failures land in ``outcome.error``, never raise.

        ``on_ready``: called when the container is ready (see attempt.watch_attempt).
        ``before_start``: called once the container exists (created if need be), right before it is
        started; False leaves it unstarted (it has then filled in the outcome). Not called for a
        container that is up already.
        """
        outcome = GuardOutcome(name=spec.name)
        started = time.monotonic()
        try:
            if spec.state == "absent":
                self._absent(spec, outcome)
            else:
                self._started(spec, outcome, on_ready, before_start)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a structured error
            error = from_exception(exc)
            error.details.setdefault("container_name", spec.name)
            error.with_context(project=self.project, run_id=outcome.run_id or self.run_id)
            outcome.error = error
        outcome.duration_ms = int((time.monotonic() - started) * 1000)
        return outcome

    def ensure_all(
        self,
        specs: list[ContainerSpec],
        start_first: Iterable[str] = (),
        when_ready: Callable[[], None] | None = None,
    ) -> list[GuardOutcome]:
        """Supervise several containers at once (one thread each); results in input order.

        ``start_first`` and ``when_ready``: see guard/tiers.py (tiers of one call, and what runs
        once every container is ready, e.g. the connectivity check).
        """
        return TierRun(self, specs, start_first, when_ready).run()

    # ------------------------------------------------------------------ state: absent
    def _absent(self, spec: ContainerSpec, outcome: GuardOutcome) -> None:
        existing = self.containers.existing(spec.name)
        if not self.check_mode:  # the project's leases of its ports end with it (ports/leases.py)
            release_for_container(self.client, self.project, spec.ports, existing)
        if existing is None:
            outcome.final_status = "absent"
            return
        outcome.action, outcome.changed = REMOVE, True
        outcome.run_id = (existing.labels or {}).get(RUN_ID)
        if not self.check_mode:
            existing.remove(force=True)
        outcome.final_status = "absent" if not self.check_mode else existing.status

    # ------------------------------------------------------------------ state: started
    def _plan(self, spec: ContainerSpec, existing: Any | None, image_id: str) -> str:
        if existing is None:
            return CREATE
        labels = existing.labels or {}
        same = (
            labels.get(CONFIG_HASH) == spec.config_hash()
            and existing.attrs.get("Image") == image_id
            and (self.run_id is None or labels.get(RUN_ID) == self.run_id)
        )
        if not same:
            return RECREATE
        state = existing.attrs.get("State") or {}
        health = (state.get("Health") or {}).get("Status") or None  # Podman: "" when there is no healthcheck
        if state.get("Running") and not state.get("Paused") and health in (None, "healthy", "starting"):
            return NONE
        return START

    def _started(
        self,
        spec: ContainerSpec,
        outcome: GuardOutcome,
        on_ready: Callable[[], None] | None,
        before_start: Callable[[GuardOutcome], bool] | None = None,
    ) -> None:
        existing = self.containers.existing(spec.name)
        image_id = self.containers.image_id(spec.image or "")
        action = self._plan(spec, existing, image_id)
        outcome.action, outcome.changed = action, action != NONE
        if existing is not None and action in (NONE, START):
            outcome.run_id = (existing.labels or {}).get(RUN_ID)
        else:
            outcome.run_id = self.run_id or self._new_run_id(existing)
        if self.check_mode:
            outcome.container = describe(existing) if existing is not None and action != RECREATE else None
            outcome.final_status = existing.status if existing is not None else None
            outcome.port_mappings = self.containers.mappings(spec, existing) if action in (NONE, START) else []
            return
        if action == NONE:
            if not _stable_now(spec, existing.attrs.get("State") or {}):
                self._supervise(spec, existing, outcome, on_ready)  # let the start under way finish, guarded
                outcome.changed = bool(outcome.attempts)
            else:
                outcome.container = describe(existing)
                outcome.final_status = existing.status
                outcome.port_mappings = self.containers.mappings(spec, existing)
            return
        if action == START:
            if before_start is None or before_start(outcome):
                self._supervise(spec, self.containers.restart(spec, existing, outcome), outcome, on_ready)
            return
        if action == RECREATE:
            existing.remove(force=True)
        if spec.network:
            self.containers.ensure_network(spec.network, outcome.run_id, spec.network_driver)
        bindings = {port.key: port.host_port for port in spec.ports}
        created = self.containers.create(spec, outcome.run_id, bindings)
        if before_start is not None and not before_start(outcome):  # created, held back
            created.reload()
            outcome.container = describe(created)
            return
        self._supervise(spec, self.containers.start(spec, created, outcome, bindings), outcome, on_ready)

    def _new_run_id(self, existing: Any | None) -> str:
        if existing is not None and (existing.labels or {}).get(RUN_ID):
            return existing.labels[RUN_ID]
        if self._fresh_run_id is None:
            self._fresh_run_id = new_run_id()
            if self.events.run_id is None:
                self.events.run_id = self._fresh_run_id
        return self._fresh_run_id

    # ------------------------------------------------------------------ supervision
    def _supervise(
        self, spec: ContainerSpec, container: Any, outcome: GuardOutcome, on_ready: Callable[[], None] | None = None
    ) -> None:
        window_end_ns: int | None = None  # fixed when the container is first stable
        unstable = 0  # failed runs since the last stable one: the position in the backoff schedule
        secrets = tuple(spec.env.values())
        while True:  # each round ends in success, a give-up, or one more of the max_restarts restarts
            attempt = watch_attempt(self.stream, spec, container, outcome.run_since_ns, window_end_ns, on_ready)
            failure = attempt.failure
            if attempt.stable_ns is not None:
                unstable = 0
                if window_end_ns is None:
                    window_end_ns = attempt.stable_ns + int(spec.watch_seconds * 1e9)
            if failure is None:
                container.reload()
                outcome.container = describe(container)
                self.stream.annotate(outcome.container)
                outcome.final_status = container.status
                outcome.port_mappings = self.containers.mappings(spec, container, outcome.port_mappings)
                if outcome.attempts:
                    self._emit("restart_success", spec, container, outcome, final_status=outcome.final_status)
                return
            diag = diagnostics.capture(
                container,
                since=attempt.since_ns / 1e9,
                oom_event=failure.oom_event,
                secrets=secrets,
                observed=self.stream.observed(container.id),
            )
            code, cause = diagnostics.classify(diag, failure.kind)
            unstable += 1
            entry: dict[str, Any] = {
                "attempt": len(outcome.attempts) + 1,
                "reason": code,
                "cause": cause,
                "message": diagnostics.summary(code, diag),
                "delay_ms": None,
                "restarted": False,
                "diagnostics": diag,
            }
            outcome.attempts.append(entry)
            if len(outcome.attempts) > spec.max_restarts:
                self._give_up(spec, container, outcome, code, diag)
            entry["delay_ms"] = delay_ms(
                unstable, spec.backoff, spec.backoff_initial_ms, spec.backoff_max_ms, spec.jitter, self.rng
            )
            self.events.emit(
                "restart_attempt",
                container=spec.name,
                container_id=container.id,
                attempt=entry["attempt"],
                reason=code,
                cause=cause,
                delay_ms=entry["delay_ms"],
                exit_code=diag["exit_code"],
                oom_killed=diag["oom_killed"],
            )
            # The delay runs from the death to the container running again: start early by what the
            # last start took, so that Docker's own start latency does not stretch the schedule.
            delay_s = entry["delay_ms"] / 1000.0
            remaining = delay_s - (time.time_ns() - failure.at_ns) / 1e9 - min(outcome.start_seconds, delay_s)
            if remaining > 0:
                self.sleep(remaining)
            with self._restarts_lock:
                self.restarts += 1
            container = self.containers.restart(spec, container, outcome)
            entry["restarted"] = True

    def _emit(self, event_type: str, spec: ContainerSpec, container: Any, outcome: GuardOutcome, **data: Any) -> None:
        """An event of the container's supervision, with how many attempts failed so far."""
        self.events.emit(
            event_type, container=spec.name, container_id=container.id, attempts=len(outcome.attempts), **data
        )

    def _give_up(self, spec: ContainerSpec, container: Any, outcome: GuardOutcome, code: str, diag: dict) -> None:
        outcome.final_status = diag.get("status")
        if spec.remove_on_failure:
            self.containers.remove_quietly(container, outcome)
        outcome.container = describe(container) if outcome.final_status != "removed" else None
        self.stream.annotate(outcome.container)
        last = diagnostics.summary(code, diag)
        details = {
            "container_name": spec.name,
            "service": spec.service,  # what the setup's argus_container_overrides are keyed by
            "container_id": container.id,
            "last_reason": code,
            "cause": outcome.attempts[-1]["cause"],  # e.g. a runtime's limit, not the application
            # what a raise_memory_limit action needs, without reading the history
            "memory_limit_bytes": (container.attrs.get("HostConfig") or {}).get("Memory") or None,
            "oom_attempts": sum(1 for attempt in outcome.attempts if attempt["reason"] == "CONTAINER_OOM"),
            "restart_history": outcome.restart_history,
        }
        if spec.max_restarts == 0:  # no restart was asked for: the attempt's own code is the answer
            raise ArgusError(code, last, dict(details, diagnostics=diag))
        self._emit("restart_exhausted", spec, container, outcome, max_restarts=spec.max_restarts, last_reason=code)
        raise ArgusError(
            "CONTAINER_RESTART_EXHAUSTED",
            f"container {spec.name} failed {len(outcome.attempts)} times, {spec.max_restarts} restarts used; "
            f"last: {last}",
            dict(details, max_restarts=spec.max_restarts),
        )


def _stable_now(spec: ContainerSpec, state: dict[str, Any]) -> bool:
    """Running, healthy (or without a healthcheck) and up for ``stable_seconds`` already: nothing to wait for."""
    if ((state.get("Health") or {}).get("Status") or None) == "starting":
        return False
    started_ns = parse_docker_time(state.get("StartedAt"))
    return started_ns is not None and time.time_ns() - started_ns >= spec.stable_seconds * 1e9

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Several containers of one guard call: tiers that gate each other, and what runs once all are ready.

Every container is supervised in its own thread (supervisor.ContainerGuardian.ensure). Those named
in ``start_first`` start at once; every other one is created meanwhile and started when all of them
are ready (running, and healthy with a healthcheck), while their stability windows run on: the
windows overlap instead of queueing. When one of ``start_first`` fails, the others are not started
(``not_started``; a container created for the call stays created, labeled like any other).

``when_ready`` (the setup's connectivity check) runs once every container is ready, again in
parallel with the stability windows; when a container had to be restarted after it began, it runs
once more after every supervision ended, so that what it saw is what stays up. It does not run
when a container failed.

Every wait here ends at a deadline fixed when the call starts: the longest supervision bound of
the containers waited for (:func:`supervision_bound`), after which their supervisions must have
ended, whatever the daemon does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.deadline import Deadline
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError
from ansible_collections.argusai.resilience.plugins.module_utils.guard.event_stream import WATCHDOG_SLACK_SECONDS
from ansible_collections.argusai.resilience.plugins.module_utils.guard.outcome import GuardOutcome
from ansible_collections.argusai.resilience.plugins.module_utils.guard.spec import ContainerSpec

NOT_STARTED = "not_started"  # final_status of a container whose start_first containers failed
# Docker API requests one supervision round makes at most (inspect, start, stop, logs, ...), each
# bounded by the client's timeout: part of the bound a gated container waits for.
REQUESTS_PER_ROUND = 8


def supervision_bound(spec: ContainerSpec, request_timeout: float) -> float:
    """Seconds one container's supervision can take at most (docs/guard.md's time bound)."""
    rounds = spec.max_restarts + 1
    startup = spec.startup_timeout if spec.healthcheck is not None else 0.0
    waits = rounds * (startup + spec.stable_seconds) + spec.watch_seconds
    restarts = spec.max_restarts * (spec.backoff_max_ms / 1000.0 + spec.stop_timeout)
    return waits + restarts + rounds * (REQUESTS_PER_ROUND * request_timeout + WATCHDOG_SLACK_SECONDS)


class TierRun:
    """One ``ensure_all`` call: see the module docstring."""

    def __init__(
        self,
        guardian: Any,
        specs: list[ContainerSpec],
        start_first: Iterable[str] = (),
        when_ready: Callable[[], None] | None = None,
    ) -> None:
        self.guardian = guardian
        self.specs = specs
        names = {spec.name for spec in specs}
        self.first = {name for name in start_first if name in names}
        self.when_ready = when_ready
        self.ready = {spec.name: threading.Event() for spec in specs}
        self.ended: dict[str, GuardOutcome] = {}
        timeout = float(getattr(getattr(guardian.client, "api", None), "timeout", None) or 60)
        bounds = {spec.name: supervision_bound(spec, timeout) for spec in specs}
        self.first_deadline = Deadline(max((bounds[name] for name in self.first), default=0.0))
        # the gated ones start at the latest when the first deadline ends
        self.all_deadline = Deadline(self.first_deadline.seconds + max(bounds.values(), default=0.0))
        self.checked_at_restarts: int | None = None  # the guardian's restart count when when_ready began

    def run(self) -> list[GuardOutcome]:
        if len(self.specs) <= 1 and self.when_ready is None:
            return [self._ensure(spec) for spec in self.specs]
        workers = len(self.specs) + (1 if self.when_ready is not None else 0)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argus-guard") as pool:
            waiter = pool.submit(self._after_all_ready) if self.when_ready is not None else None
            outcomes = list(pool.map(self._ensure, self.specs))
        if waiter is not None:
            waiter.result()  # done by now; raises what when_ready raised
        if self.when_ready is not None and self._all_succeeded():
            stale = self.checked_at_restarts is None or self.checked_at_restarts != self.guardian.restarts
            if stale:  # it did not run, or a container was restarted after it began
                self._check()
        return outcomes

    # ------------------------------------------------------------------ one container
    def _ensure(self, spec: ContainerSpec) -> GuardOutcome:
        ready = self.ready[spec.name]
        gated = bool(self.first) and spec.name not in self.first
        try:
            outcome = self.guardian.ensure(spec, on_ready=ready.set, before_start=self._gate if gated else None)
            self.ended[spec.name] = outcome
            return outcome
        finally:
            ready.set()

    def _gate(self, outcome: GuardOutcome) -> bool:
        """True once every ``start_first`` container is ready; else False, the outcome saying why."""
        late = sorted(name for name in self.first if not self.ready[name].wait(self.first_deadline.remaining()))
        failed = sorted(name for name in self.first if name in self.ended and self.ended[name].error is not None)
        if not late and not failed:
            return True
        outcome.final_status, outcome.not_started_because = NOT_STARTED, failed or late
        spec = next(spec for spec in self.specs if spec.name == outcome.name)
        if late:  # the supervisions of start_first outlived their own bound: the daemon hangs
            outcome.error = ArgusError(
                "DOCKER_UNAVAILABLE",
                f"container {spec.name} was not started: {', '.join(late)} neither got ready nor ended within "
                f"{self.first_deadline.seconds:.0f} s",
                {"container_name": spec.name, "service": spec.service, "cause": "timeout", "waited_for": late},
            ).with_context(project=self.guardian.project, run_id=self.guardian.run_id)
        return False

    # ------------------------------------------------------------------ once all are ready
    def _none_failed(self) -> bool:
        """No container that ended so far failed or was held back."""
        return all(outcome.error is None and outcome.final_status != NOT_STARTED for outcome in self.ended.values())

    def _all_succeeded(self) -> bool:
        return len(self.ended) == len(self.specs) and self._none_failed()

    def _after_all_ready(self) -> None:
        for ready in self.ready.values():
            if not ready.wait(self.all_deadline.remaining()):
                return  # checked after the supervisions instead
        if self._none_failed():
            self._check()

    def _check(self) -> None:
        self.checked_at_restarts = self.guardian.restarts
        if self.when_ready is not None:
            self.when_ready()

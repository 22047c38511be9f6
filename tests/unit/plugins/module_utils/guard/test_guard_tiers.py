"""Tiers of one guard call (guard/tiers.py): start_first gating, when_ready, bounds; the rerun fast path."""

from __future__ import annotations

import threading
import time

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError
from ansible_collections.argusai.resilience.plugins.module_utils.events import EventLog
from ansible_collections.argusai.resilience.plugins.module_utils.guard import supervisor as supervisor_mod
from ansible_collections.argusai.resilience.plugins.module_utils.guard import tiers as tiers_mod
from ansible_collections.argusai.resilience.plugins.module_utils.guard.outcome import GuardOutcome
from ansible_collections.argusai.resilience.plugins.module_utils.guard.spec import spec_from_params
from ansible_collections.argusai.resilience.plugins.module_utils.guard.supervisor import ContainerGuardian
from ansible_collections.argusai.resilience.plugins.module_utils.guard.tiers import (
    NOT_STARTED,
    TierRun,
    supervision_bound,
)

# fake_notfound: an autouse fixture
from test_guard_supervisor import (  # pylint: disable=unused-import
    FakeClient,
    FakeContainer,
    docker_now,
    fake_notfound,  # noqa: F401
    make,
)


def spec(name, **options):
    base = {"name": name, "image": "testbox:1", "stable_seconds": 0.01}
    base.update(options)
    return spec_from_params(base)


class ScriptedGuardian:
    """Stands in for ContainerGuardian.ensure: each container gets ready after ``ready_after`` seconds,
    is stable ``stable`` seconds later, or fails (``fails``) before it is ready. Records the order."""

    def __init__(self, ready_after=0.05, stable=0.2, fails=(), fails_after_ready=()):
        self.client = type("Client", (), {"api": type("API", (), {"timeout": 5})()})()
        self.project, self.run_id = "shop", "run1"
        self.ready_after, self.stable = ready_after, stable
        self.fails, self.fails_after_ready = set(fails), set(fails_after_ready)
        self.log: list[tuple[str, str, float]] = []
        self.restarts = 0
        self.lock = threading.Lock()
        self.t0 = time.monotonic()

    def note(self, what, name):
        with self.lock:
            self.log.append((what, name, time.monotonic() - self.t0))

    def ensure(self, spec, on_ready=None, before_start=None):
        outcome = GuardOutcome(name=spec.name, action="create", changed=True)
        self.note("created", spec.name)
        if before_start is not None and not before_start(outcome):
            self.note("held", spec.name)
            return outcome
        self.note("started", spec.name)
        time.sleep(self.ready_after)
        if spec.name in self.fails:
            outcome.error = ArgusError(
                "CONTAINER_RESTART_EXHAUSTED", f"{spec.name} crashed", {"container_name": spec.name}
            )
            self.note("failed", spec.name)
            return outcome
        self.note("ready", spec.name)
        if on_ready is not None:
            on_ready()
        time.sleep(self.stable)
        if spec.name in self.fails_after_ready:
            with self.lock:
                self.restarts += 1  # restarted once during its stability window, then fine
        outcome.final_status = "running"
        self.note("stable", spec.name)
        return outcome

    def at(self, what, name):
        return next(t for kind, who, t in self.log if kind == what and who == name)


def test_gated_containers_start_when_the_first_are_ready_and_windows_overlap():
    guardian = ScriptedGuardian(ready_after=0.1, stable=0.4)
    outcomes = TierRun(guardian, [spec("mock"), spec("web"), spec("tests")], start_first=["mock"]).run()
    assert [o.name for o in outcomes] == ["mock", "web", "tests"] and all(o.error is None for o in outcomes)
    # created meanwhile, started only once the mock was ready, before the mock was stable
    assert guardian.at("created", "web") < guardian.at("ready", "mock")
    assert guardian.at("ready", "mock") <= guardian.at("started", "web") < guardian.at("stable", "mock")
    assert guardian.at("ready", "mock") <= guardian.at("started", "tests")


def test_a_failed_first_container_holds_the_others_back_with_its_name():
    guardian = ScriptedGuardian(fails={"mock"})
    outcomes = TierRun(guardian, [spec("mock"), spec("other"), spec("web")], start_first=["mock", "other"]).run()
    mock, other, web = outcomes
    assert mock.error.code == "CONTAINER_RESTART_EXHAUSTED" and other.error is None
    assert web.final_status == NOT_STARTED and web.not_started_because == ["mock"] and web.error is None
    assert ("started", "web") not in {(kind, who) for kind, who, _t in guardian.log}


def test_without_start_first_everything_starts_at_once():
    guardian = ScriptedGuardian(ready_after=0.2)
    TierRun(guardian, [spec("a"), spec("b")]).run()
    assert abs(guardian.at("started", "a") - guardian.at("started", "b")) < 0.15


def test_when_ready_runs_once_all_are_ready_during_the_windows():
    guardian = ScriptedGuardian(ready_after=0.05, stable=0.4)
    calls = []
    TierRun(guardian, [spec("mock"), spec("web")], ["mock"], lambda: calls.append(time.monotonic() - guardian.t0)).run()
    assert len(calls) == 1
    assert guardian.at("ready", "web") <= calls[0] < guardian.at("stable", "web")


def test_when_ready_runs_again_after_a_restart_that_followed_it():
    guardian = ScriptedGuardian(stable=0.2, fails_after_ready={"web"})
    calls = []
    TierRun(guardian, [spec("mock"), spec("web")], ["mock"], lambda: calls.append(guardian.restarts)).run()
    assert calls == [0, 1]  # the second check saw the restarted container


def test_when_ready_does_not_run_when_a_container_failed():
    guardian = ScriptedGuardian(fails={"web"})
    calls = []
    TierRun(guardian, [spec("mock"), spec("web")], ["mock"], lambda: calls.append(1)).run()
    assert calls == []


def test_first_containers_that_outlive_their_bound_fail_the_gated_ones(monkeypatch):
    monkeypatch.setattr(tiers_mod, "supervision_bound", lambda spec, timeout: 0.1)
    guardian = ScriptedGuardian(ready_after=0.6)
    outcomes = TierRun(guardian, [spec("slow"), spec("web")], ["slow"]).run()
    web = outcomes[1]
    assert web.final_status == NOT_STARTED and web.error.code == "DOCKER_UNAVAILABLE"
    assert web.error.details["cause"] == "timeout" and web.error.details["waited_for"] == ["slow"]


def test_supervision_bound_follows_the_options():
    plain = spec("a", max_restarts=0, stable_seconds=2, watch_seconds=0)
    checked = spec(
        "b",
        max_restarts=2,
        stable_seconds=1,
        startup_timeout=10,
        backoff_max_ms=3000,
        stop_timeout=4,
        healthcheck={"test": "true"},
    )
    slack = tiers_mod.REQUESTS_PER_ROUND * 5 + tiers_mod.WATCHDOG_SLACK_SECONDS
    assert supervision_bound(plain, 5) == pytest.approx(2 + slack)
    assert supervision_bound(checked, 5) == pytest.approx(3 * (10 + 1) + 2 * (3 + 4) + 3 * slack)


# --- the real ContainerGuardian: a held-back container is created, never started --------------------


def test_a_held_back_container_is_created_but_not_started():
    client = FakeClient()
    guard, _events = make(client)

    def hold(outcome):
        outcome.final_status = NOT_STARTED
        return False

    outcome = guard.ensure(spec("web"), before_start=hold)
    assert outcome.error is None and outcome.final_status == NOT_STARTED and outcome.changed
    assert client.containers.get("web").starts == 0 and outcome.container["status"] == "created"


# --- the rerun fast path -------------------------------------------------------------------------------


def _running(client, name, started_at, the_spec, health=None):
    labels = {
        "argusai.managed": "true",
        "argusai.project": "shop",
        "argusai.run-id": "run1",
        "argusai.config-hash": the_spec.config_hash(),
    }
    container = FakeContainer(client, f"id-{name}", name, labels)
    container.state.update(Status="running", Running=True, StartedAt=started_at)
    if health:
        container.state["Health"] = {"Status": health}
    client.containers.add(container)
    return container


def test_an_unchanged_container_up_for_stable_seconds_is_left_without_any_wait(monkeypatch):
    client = FakeClient()
    the_spec = spec("web", stable_seconds=5)
    container = _running(client, "web", "2020-01-01T00:00:00.000000000Z", the_spec, health="healthy")
    guard, _events = make(client)
    watched = []
    monkeypatch.setattr(supervisor_mod, "watch_attempt", lambda *args, **kwargs: watched.append(args))
    outcome = guard.ensure(the_spec)
    assert outcome.action == "none" and not outcome.changed and outcome.final_status == "running"
    assert watched == [] and container.starts == 0 and client.api.calls == 0


def test_an_unchanged_container_started_moments_ago_is_watched_until_stable():
    client = FakeClient()
    the_spec = spec("web", stable_seconds=0.2)
    container = _running(client, "web", docker_now(), the_spec)
    guard, _events = make(client)
    outcome = guard.ensure(the_spec)
    assert outcome.action == "none" and not outcome.changed and outcome.error is None
    assert container.starts == 0 and client.api.calls >= 1  # watched, not restarted


def test_guardian_counts_its_restarts():
    client = FakeClient()
    client.api.script = [["die"]]
    guard = ContainerGuardian(client, "shop", "run1", EventLog("shop", "run1"), sleep=lambda s: None)
    outcome = guard.ensure(spec("web", backoff_initial_ms=10, stable_seconds=0.5))
    assert outcome.error is None and len(outcome.attempts) == 1, outcome.error
    assert guard.restarts == 1


def test_what_when_ready_raises_is_not_swallowed():
    guardian = ScriptedGuardian()

    def broken():
        raise RuntimeError("the check broke")

    with pytest.raises(RuntimeError, match="the check broke"):
        TierRun(guardian, [spec("mock"), spec("web")], ["mock"], broken).run()

"""ContainerGuardian on a scripted fake of the docker SDK: plans, restarts, backoff, exhaustion."""

from __future__ import annotations

import json
import time

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils.events import EventLog
from ansible_collections.argusai.resilience.plugins.module_utils.guard import containers as containers_mod
from ansible_collections.argusai.resilience.plugins.module_utils.guard.event_stream import WATCHDOG_SLACK_SECONDS
from ansible_collections.argusai.resilience.plugins.module_utils.guard.spec import CONFIG_HASH, spec_from_params
from ansible_collections.argusai.resilience.plugins.module_utils.guard.supervisor import ContainerGuardian

PROJECT = "shop"


class NotFound(Exception):
    pass


def docker_now() -> str:
    ns = time.time_ns()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + f".{ns % 10**9:09d}Z"


class FakeContainer:
    def __init__(self, client, cid, name, labels, image_id="sha256:img", exit_code=3):
        self.client, self.id, self.name, self.labels = client, cid, name, labels
        self.exit_code = exit_code
        self.running = False
        self.removed = False
        self.starts = 0
        self.state = {"Status": "created", "Running": False, "ExitCode": 0, "OOMKilled": False}
        self.attrs = {"Image": image_id, "State": self.state, "Config": {"Labels": labels}, "HostConfig": {}}

    @property
    def status(self):
        return self.state["Status"]

    def reload(self):
        pass

    def start(self):
        self.starts += 1
        self.state.update(Status="running", Running=True, StartedAt=docker_now())

    def die(self, oom=False):
        self.state.update(Status="exited", Running=False, ExitCode=self.exit_code, OOMKilled=oom)

    def stop(self, timeout=None):
        self.die()

    def remove(self, force=False):
        self.removed = True
        self.client.containers.by_name.pop(self.name, None)

    def logs(self, **kwargs):
        return b"boom\n"

    def stats(self, **kwargs):
        return {"memory_stats": {}}


class FakeResponse:
    """What ``requests`` gives for GET /events: newline-delimited JSON."""

    status_code = 200

    def __init__(self, events):
        self.events = events
        self.closed = False

    def iter_lines(self):
        for event in self.events:
            yield json.dumps(event).encode()

    def close(self):
        self.closed = True


class FakeAPI:
    """``events`` plays a script: one entry per events() call, each a list of actions.

    An action happens when the call is made; ``<action>@end`` happens at the end of the watched
    window (``until``), e.g. a death after the run had been stable.
    """

    def __init__(self, client):
        self.client = client
        self.script: list[list[str]] = []
        self.calls = 0

    base_url = "http+docker://localhost"
    api_version = "1.41"
    timeout = 60

    def get(self, url, params, stream, timeout):
        assert url == "http+docker://localhost/v1.41/events" and stream is True
        assert timeout[1] >= WATCHDOG_SLACK_SECONDS  # a frozen daemon cannot hang the guard
        self.calls += 1
        actions = self.script.pop(0) if self.script else []
        filters = json.loads(params["filters"])
        until = params["until"]
        container = self.client.containers.by_id[filters["container"][0]]
        out = []
        if not actions:  # like the daemon: nothing happens until ``until``
            time.sleep(min(2.0, max(0.0, float(until) - time.time())))
        for action in actions:
            action, at_end, _unused = action.partition("@end")
            if at_end:
                time.sleep(max(0.0, float(until) - time.time()))
            seconds, _dot, nanos = until.partition(".")
            at_ns = int(seconds) * 10**9 + int(nanos) if at_end else time.time_ns()
            if action in ("die", "oom-die"):
                container.die(oom=action == "oom-die")
                if action == "oom-die":
                    out.append({"Action": "oom", "timeNano": at_ns})
                out.append({"Action": "die", "timeNano": at_ns})
            else:
                out.append({"Action": action, "timeNano": at_ns})
        return FakeResponse(out)

    def create_host_config(self, **kwargs):
        return kwargs

    def create_endpoint_config(self, **kwargs):
        return kwargs

    def create_networking_config(self, config):
        return config

    def create_container(self, **kwargs):
        self.client.created.append(kwargs)
        cid = f"id{len(self.client.created)}"
        container = FakeContainer(self.client, cid, kwargs["name"], kwargs["labels"])
        container.attrs["HostConfig"] = {"Memory": kwargs["host_config"].get("mem_limit") or 0}
        self.client.containers.add(container)
        return {"Id": cid}


class FakeContainers:
    def __init__(self):
        self.by_name, self.by_id = {}, {}

    def add(self, container):
        self.by_name[container.name] = container
        self.by_id[container.id] = container

    def get(self, key):
        container = self.by_name.get(key) or self.by_id.get(key)
        if container is None:
            raise NotFound(key)
        return container


class FakeImages:
    def get(self, name):
        if name == "missing:1":
            raise type("ImageNotFound", (Exception,), {})("No such image: missing:1")
        return type("Image", (), {"id": "sha256:img"})()


class FakeNetworks:
    def __init__(self):
        self.created = []

    def list(self, names):
        return [type("Net", (), {"name": n})() for n in self.created if n in names]

    def create(self, name, **kwargs):
        self.created.append(name)


class FakeClient:
    def __init__(self):
        self.created = []
        self.api = FakeAPI(self)
        self.containers = FakeContainers()
        self.images = FakeImages()
        self.networks = FakeNetworks()


@pytest.fixture(autouse=True)
def fake_notfound(monkeypatch):
    monkeypatch.setattr(containers_mod, "NotFound", NotFound)


def make(client, sleeps=None, run_id="run1", check_mode=False):
    events = EventLog(PROJECT, run_id)
    recorded = sleeps if sleeps is not None else []
    return ContainerGuardian(client, PROJECT, run_id, events, check_mode=check_mode, sleep=recorded.append), events


def spec(**options):
    base = {"name": "web", "image": "testbox:1", "stable_seconds": 0.01, "backoff_initial_ms": 100}
    base.update(options)
    return spec_from_params(base)


def test_clean_start_is_labeled_and_stable():
    client = FakeClient()
    guard, events = make(client)
    outcome = guard.ensure(spec(network="net", aliases=["api"], memory="8m"))
    assert outcome.error is None and outcome.action == "create" and outcome.changed
    created = client.created[0]
    assert created["labels"]["argusai.managed"] == "true" and created["labels"]["argusai.service"] == "web"
    assert created["labels"][CONFIG_HASH] == spec(network="net", aliases=["api"], memory="8m").config_hash()
    assert created["host_config"]["mem_limit"] == created["host_config"]["memswap_limit"] == 8 << 20
    assert created["networking_config"] == {"net": {"aliases": ["api"]}}
    assert client.networks.created == ["net"]
    assert outcome.final_status == "running" and outcome.attempts == [] and events.events == []


def test_crash_loop_follows_the_exponential_schedule_then_exhausts():
    client = FakeClient()
    client.api.script = [["die"]] * 10
    sleeps: list[float] = []
    guard, events = make(client, sleeps)
    outcome = guard.ensure(spec(max_restarts=3))
    assert outcome.error.code == "CONTAINER_RESTART_EXHAUSTED"
    assert [a["delay_ms"] for a in outcome.attempts] == [100, 200, 400, None]
    assert all(a["reason"] == "CONTAINER_CRASH" and a["diagnostics"]["exit_code"] == 3 for a in outcome.attempts)
    # each wait is the delay minus the time already gone since the death (a few ms here)
    for waited, scheduled in zip(sleeps, (0.1, 0.2, 0.4), strict=True):
        assert scheduled - 0.05 < waited <= scheduled
    history = outcome.error.details["restart_history"]
    assert history["final_status"] == "exited" and len(history["attempts"]) == 4
    assert [e["type"] for e in events.events] == ["restart_attempt"] * 3 + ["restart_exhausted"]
    assert not client.containers.get("web").removed  # left for inspection


def test_linear_backoff_and_cap():
    client = FakeClient()
    client.api.script = [["die"]] * 10
    guard, _unused = make(client)
    outcome = guard.ensure(spec(max_restarts=4, backoff="linear", backoff_max_ms=250))
    assert [a["delay_ms"] for a in outcome.attempts] == [100, 200, 250, 250, None]


def test_remove_on_failure():
    client = FakeClient()
    client.api.script = [["die"]] * 3
    guard, _unused = make(client)
    outcome = guard.ensure(spec(max_restarts=1, remove_on_failure=True))
    assert outcome.error.code == "CONTAINER_RESTART_EXHAUSTED" and outcome.final_status == "removed"


def test_crash_once_then_recovers():
    client = FakeClient()
    client.api.script = [["die"]]
    guard, events = make(client)
    outcome = guard.ensure(spec())
    assert outcome.error is None and outcome.final_status == "running"
    assert len(outcome.attempts) == 1 and outcome.attempts[0]["restarted"] is True
    assert [e["type"] for e in events.events] == ["restart_attempt", "restart_success"]


def test_oom_event_classifies_oom_and_zero_restarts_keep_the_code():
    client = FakeClient()
    client.api.script = [["oom-die"]]
    guard, _unused = make(client)
    outcome = guard.ensure(spec(max_restarts=0, memory="8m"))
    assert outcome.error.code == "CONTAINER_OOM"
    assert outcome.error.details["diagnostics"]["oom_killed"] is True
    details = outcome.error.details
    assert (details["container_name"], details["memory_limit_bytes"], details["oom_attempts"]) == ("web", 8 << 20, 1)


def test_exhaustion_carries_what_a_raise_memory_limit_action_needs():
    client = FakeClient()
    client.api.script = [["oom-die"], ["die"], ["oom-die"]]
    guard, _unused = make(client)
    outcome = guard.ensure(spec(max_restarts=2, memory="8m"))
    details = outcome.error.details
    assert outcome.error.code == "CONTAINER_RESTART_EXHAUSTED" and details["last_reason"] == "CONTAINER_OOM"
    assert (details["container_name"], details["memory_limit_bytes"], details["oom_attempts"]) == ("web", 8 << 20, 2)
    client = FakeClient()
    client.api.script = [["die"]]
    guard, _unused = make(client)
    details = guard.ensure(spec(max_restarts=0)).error.details
    assert (details["memory_limit_bytes"], details["oom_attempts"]) == (None, 0)  # no limit: null


def test_unhealthy_is_health_check_timeout():
    client = FakeClient()
    client.api.script = [["health_status: starting", "health_status: unhealthy"]]
    guard, _unused = make(client)
    outcome = guard.ensure(spec(max_restarts=0, healthcheck={"test": "false"}))
    assert outcome.error.code == "HEALTH_CHECK_TIMEOUT" and outcome.error.details["diagnostics"]["status"] == "running"


def test_backoff_resets_after_a_stable_run_but_the_restart_count_does_not():
    client = FakeClient()
    # run 1 dies at once; run 2 is stable, then dies in the watch window; run 3 outlives the window
    client.api.script = [["die"], ["die@end"], []]
    guard, _unused = make(client)
    outcome = guard.ensure(spec(max_restarts=2, watch_seconds=0.2))
    assert outcome.error is None, outcome.error and outcome.error.message
    assert [a["delay_ms"] for a in outcome.attempts] == [100, 100]  # not 200: the backoff started over
    # the same runs with one restart fewer allowed: the crash after the stable run counts
    client = FakeClient()
    client.api.script = [["die"], ["die@end"], []]
    guard, _unused = make(client)
    outcome = guard.ensure(spec(max_restarts=1, watch_seconds=0.2))
    assert outcome.error.code == "CONTAINER_RESTART_EXHAUSTED" and len(outcome.attempts) == 2


def guard_bound(options) -> float:
    """The documented bound of one container's supervision (docs/guard.md), for the options of ``spec``."""
    s = spec(**options)
    run = (s.startup_timeout if s.healthcheck else 0) + s.stable_seconds
    delays = sum(min(s.backoff_initial_ms * 2**k, s.backoff_max_ms) for k in range(s.max_restarts)) / 1000
    return (s.max_restarts + 1) * run + s.watch_seconds + delays + s.max_restarts * s.stop_timeout


FLAPPING = {
    # issue 14: up long enough to be stable, then dead, forever
    "crashes_after_each_stable_run": ([["die@end"]] * 50, {}),
    # healthy, then unhealthy once stable, forever
    "health_flips_after_each_stable_run": (
        [["health_status: healthy"], ["health_status: unhealthy@end"]] * 50,
        {"healthcheck": {"test": "true"}, "startup_timeout": 0.3},
    ),
    # healthy, then unhealthy before it is stable, forever
    "health_flips_before_it_is_stable": (
        [["health_status: healthy"], ["health_status: unhealthy"]] * 50,
        {"healthcheck": {"test": "true"}, "startup_timeout": 0.3},
    ),
    # never healthy in time, forever
    "never_healthy": ([["health_status: starting"]] * 50, {"healthcheck": {"test": "true"}, "startup_timeout": 0.1}),
}


@pytest.mark.parametrize("case", FLAPPING)
def test_a_service_that_flaps_forever_ends_within_its_bound(case):
    script, extra = FLAPPING[case]
    options = dict({"max_restarts": 2, "stable_seconds": 0.1, "watch_seconds": 0.5, "stop_timeout": 0}, **extra)
    client = FakeClient()
    client.api.script = list(script)
    guard, _unused = make(client)
    started = time.monotonic()
    outcome = guard.ensure(spec(**options))
    elapsed = time.monotonic() - started
    assert outcome.error.code == "CONTAINER_RESTART_EXHAUSTED", outcome.error
    assert len(outcome.attempts) == 3 and client.containers.get("web").starts == 3
    assert elapsed <= guard_bound(options), (elapsed, guard_bound(options))
    # every run after the first stable one starts the backoff over; runs that never were stable climb it
    climbs = case in ("health_flips_before_it_is_stable", "never_healthy")
    assert [a["delay_ms"] for a in outcome.attempts] == ([100, 200, None] if climbs else [100, 100, None])


def test_idempotence_plan():
    client = FakeClient()
    guard, _unused = make(client)
    assert guard.ensure(spec()).action == "create"
    again = guard.ensure(spec())
    assert again.action == "none" and again.changed is False
    assert guard.ensure(spec(env={"A": "1"})).action == "recreate"
    container = client.containers.get("web")
    container.die()
    assert guard.ensure(spec(env={"A": "1"})).action == "start"
    other_run, _unused = make(client, run_id="run2")
    assert other_run.ensure(spec(env={"A": "1"})).action == "recreate"


def test_check_mode_changes_nothing():
    client = FakeClient()
    guard, _unused = make(client, check_mode=True)
    outcome = guard.ensure(spec())
    assert outcome.action == "create" and outcome.changed and client.created == []


def test_foreign_container_is_never_touched():
    client = FakeClient()
    foreign = FakeContainer(client, "f1", "web", {"argusai.project": PROJECT})
    client.containers.add(foreign)
    guard, _unused = make(client)
    for state in ("started", "absent"):
        outcome = guard.ensure(spec(state=state))
        assert outcome.error.code == "INVALID_INPUT" and outcome.error.details["cause"] == "name_taken"
        assert "no argusai.managed=true label" in outcome.error.message
    assert not foreign.removed and foreign.starts == 0


def test_a_name_taken_by_another_project_names_it():
    client = FakeClient()
    other = FakeContainer(client, "o1", "web", {"argusai.managed": "true", "argusai.project": "billing"})
    client.containers.add(other)
    guard, _unused = make(client)
    error = guard.ensure(spec()).error
    assert "belongs to project 'billing', not project 'shop'" in error.message
    assert error.details["owner_project"] == "billing" and not other.removed and other.starts == 0


def test_missing_image_is_image_not_found():
    guard, _unused = make(FakeClient())
    outcome = guard.ensure(spec(image="missing:1"))
    assert outcome.error.code == "IMAGE_NOT_FOUND"


def test_list_runs_concurrently():
    client = FakeClient()
    guard, _unused = make(client)
    specs = [spec(name=f"svc{i}", stable_seconds=0.3) for i in range(5)]
    started = time.monotonic()
    outcomes = guard.ensure_all(specs)
    elapsed = time.monotonic() - started
    assert [o.name for o in outcomes] == [f"svc{i}" for i in range(5)]
    assert all(o.error is None for o in outcomes)
    assert elapsed < 0.3 * 5 * 0.6


class PortAllocated(Exception):
    """What the SDK raises when Docker refuses a start: the port is taken."""

    def __init__(self):
        super().__init__("500 Server Error")
        self.response = type("Response", (), {"status_code": 500})()
        self.explanation = (
            "driver failed programming external connectivity: Bind for 0.0.0.0:8080 failed: port is already allocated"
        )


def test_a_port_taken_again_at_every_start_ends_after_the_port_retries(monkeypatch):
    """Port re-resolution is a bounded loop: each new port is taken too, by the time Docker binds it."""
    monkeypatch.setattr(
        FakeContainer, "start", lambda self: setattr(self, "starts", self.starts + 1) or _raise(PortAllocated())
    )
    client = FakeClient()
    picked = []

    def resolver(spec, port, host_port, exclude):
        picked.append(host_port + 1)
        return {"service": spec.name, "original_port": port.host_port, "actual_port": host_port + 1, "reassigned": True}

    guard = ContainerGuardian(
        client, PROJECT, "run1", EventLog(PROJECT, "run1"), port_resolver=resolver, sleep=lambda s: None
    )
    outcome = guard.ensure(spec(ports=[{"container_port": 8080, "host_port": 18080}]))
    assert outcome.error.code == "PORT_CONFLICT"
    assert picked == [18081, 18082, 18083] == [18080 + n for n in range(1, containers_mod.MAX_PORT_RETRIES + 1)]
    assert len(client.created) == containers_mod.MAX_PORT_RETRIES + 1


def _raise(exc):
    raise exc

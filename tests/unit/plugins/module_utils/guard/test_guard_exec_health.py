"""HealthWatcher: the event stream on Docker; on Podman (whose healthchecks need systemd), the
container's own check run through exec with Docker's rules, next to the event stream (no Docker:
a scripted fake of the API; the real Podman: tests/integration/test_container_guard.py with
ARGUS_RUNTIME=podman)."""

from __future__ import annotations

import calendar
import json
import threading
import time

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils.guard.diagnostics import DIED, UNHEALTHY
from ansible_collections.argusai.resilience.plugins.module_utils.guard.event_stream import (
    HEALTHY,
    TIMEOUT,
    WATCHED_EVENTS,
    Sighting,
    first_event,
)
from ansible_collections.argusai.resilience.plugins.module_utils.guard.exec_health import (
    EXEC_REFUSED,
    HealthWatcher,
    RunHealth,
)

PODMAN_VERSION = {"Components": [{"Name": "Podman Engine", "Version": "4.3.1"}]}
DOCKER_VERSION = {"Components": [{"Name": "Engine", "Version": "20.10.24"}]}
S = 1_000_000_000


def docker_time(ns: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // S)) + f".{ns % S:09d}Z"


class EventsResponse:
    """GET /events: the scripted events at once, then silence until ``until`` (or until closed)."""

    status_code = 200

    def __init__(self, events, until_ns):
        self.events, self.until_ns = events, until_ns
        self.closed = threading.Event()

    def iter_lines(self):
        for event in self.events:
            yield json.dumps(event).encode()
        self.closed.wait(max(0.0, (self.until_ns - time.time_ns()) / 1e9))

    def close(self):
        self.closed.set()


class FakeAPI:
    base_url = "http+docker://localhost"
    api_version = "1.41"
    timeout = 60

    def __init__(self, healthcheck, probe=lambda n: (0, b"ok\n"), started_ns=None):
        self.started_ns = started_ns or time.time_ns()
        self.state = {"Status": "running", "Running": True, "StartedAt": docker_time(self.started_ns)}
        self.state["Health"] = {"Status": "starting", "FailingStreak": 0, "Log": None}
        self.config = {"Healthcheck": healthcheck}
        self.probe = probe  # n (1, 2, ...) -> (exit code, output), or an exception to raise
        self.execs: list[list[str]] = []
        self.requests: list[dict] = []
        self.events: list[dict] = []  # what the next events request sends

    def inspect_container(self, container_id):
        return {"Id": container_id, "State": dict(self.state), "Config": self.config}

    def exec_create(self, container_id, cmd, stdout, stderr):
        self.execs.append(cmd)
        answer = self.probe(len(self.execs))
        if isinstance(answer, Exception):
            raise answer
        self._answer = answer
        return {"Id": f"e{len(self.execs)}"}

    def exec_start(self, exec_id):
        code, output = self._answer
        if isinstance(code, float):  # a probe that hangs that long
            time.sleep(code)
            return b""
        return output

    def exec_inspect(self, exec_id):
        code = self._answer[0]
        return {"ExitCode": None if isinstance(code, float) else code}

    def get(self, url, params, stream, timeout):
        self.requests.append(params)
        until = params["until"]
        if until.endswith("Z"):  # Podman's format
            until_ns = calendar.timegm(time.strptime(until[:19], "%Y-%m-%dT%H:%M:%S")) * S + int(until[20:29])
        else:
            seconds, _dot, nanos = until.partition(".")
            until_ns = int(seconds) * S + int(nanos)
        return EventsResponse(self.events, until_ns)


class Client:
    def __init__(self, api, version=None):
        self.api, self._version = api, version or PODMAN_VERSION

    def version(self):
        return self._version


def check(test="curl -f localhost", interval=0.05, timeout=1.0, retries=2, start_period=0.0):
    return {
        "Test": ["CMD-SHELL", test],
        "Interval": int(interval * S),
        "Timeout": int(timeout * S),
        "Retries": retries,
        "StartPeriod": int(start_period * S),
    }


def watch(api, seconds=2.0, want_healthy=True, version=None):
    watcher = HealthWatcher(Client(api, version))
    now = time.time_ns()
    return watcher, watcher.watch("c1", now - S, now + int(seconds * S), want_healthy)


def test_on_docker_it_is_the_event_stream_and_runs_nothing():
    api = FakeAPI(check())
    api.events = [{"Action": "health_status: healthy", "timeNano": time.time_ns()}]
    watcher, sighting = watch(api, version=DOCKER_VERSION)
    assert sighting.kind == HEALTHY and api.execs == []
    assert api.requests[0]["since"].count(".") == 1 and "T" not in api.requests[0]["since"]  # seconds.nanos
    assert watcher.observed("c1") == {"runtime": "docker"}


def test_on_podman_the_check_runs_through_exec_and_healthy_ends_the_wait():
    api = FakeAPI(check())
    watcher, sighting = watch(api)
    assert sighting.kind == HEALTHY and sighting.at_ns >= api.started_ns + 50_000_000  # one interval after start
    assert api.execs == [["/bin/sh", "-c", "curl -f localhost"]]
    # Podman parses RFC 3339 with nanoseconds (a seconds.nanos value matches nothing there)
    assert api.requests[0]["since"].endswith("Z") and json.loads(api.requests[0]["filters"])["event"] == WATCHED_EVENTS
    observed = watcher.observed("c1")
    assert observed["runtime"] == "podman" and observed["health_source"] == "exec"
    assert observed["health"]["Status"] == "healthy" and observed["health"]["Log"][0]["Output"] == "ok\n"
    container = {"id": "c1", "health": "starting"}
    watcher.annotate(container)
    assert container == {"id": "c1", "health": "healthy", "health_source": "exec"}


def test_retries_failures_in_a_row_are_unhealthy_but_not_within_the_start_period():
    api = FakeAPI(check(retries=2, start_period=0.12), probe=lambda n: (1, b"probe says no\n"))
    watcher, sighting = watch(api)
    assert sighting.kind == UNHEALTHY
    # probes at ~0.05 and ~0.10 s fell in the start period: only the 2 after it counted
    assert len(api.execs) == 4
    health = watcher.observed("c1")["health"]
    assert health["FailingStreak"] == 2 and [e["ExitCode"] for e in health["Log"]] == [1, 1, 1, 1]


def test_a_probe_past_its_timeout_is_a_failure_and_the_watch_goes_on():
    api = FakeAPI(check(timeout=0.1, retries=5), probe=lambda n: (0.5, b"") if n == 1 else (0, b"up\n"))
    started = time.monotonic()
    watcher, sighting = watch(api)
    assert sighting.kind == HEALTHY and time.monotonic() - started < 0.5  # not waiting for the hung exec
    log = watcher.observed("c1")["health"]["Log"]
    assert log[0]["ExitCode"] == -1 and log[0]["Output"] == "Health check exceeded timeout (0.1s)"
    assert log[-1]["ExitCode"] == 0


def test_without_want_healthy_the_stream_ends_the_watch_at_until_and_probes_keep_running():
    api = FakeAPI(check())
    started = time.monotonic()
    _watcher, sighting = watch(api, seconds=0.4, want_healthy=False)
    assert sighting.kind == TIMEOUT and 0.35 < time.monotonic() - started < 1.0
    assert len(api.execs) >= 3


def test_a_death_on_the_event_stream_ends_the_watch_at_once():
    api = FakeAPI(check(interval=5))
    api.events = [{"Action": "die", "timeNano": time.time_ns(), "Actor": {"Attributes": {"exitCode": "3"}}}]
    started = time.monotonic()
    _watcher, sighting = watch(api, seconds=10)
    assert sighting.kind == DIED and time.monotonic() - started < 1 and api.execs == []


def test_an_exec_refused_because_the_container_died_is_its_death():
    api = FakeAPI(check())
    finished = time.time_ns()

    def refused(_n):
        api.state.update(Status="stopped", Running=False, FinishedAt=docker_time(finished))
        return RuntimeError("can only create exec sessions on running containers: container state improper")

    api.probe = refused
    _watcher, sighting = watch(api)
    assert sighting == Sighting(DIED, finished, False)


def test_an_exec_the_runtime_refuses_while_running_is_a_failed_probe_that_says_so():
    api = FakeAPI(check(retries=1), probe=lambda n: RuntimeError("OCI runtime error"))
    watcher, sighting = watch(api)
    assert sighting.kind == UNHEALTHY
    observed = watcher.observed("c1")
    assert observed["health_exec_refused"] is True
    assert observed["health"]["Log"][0]["Output"].startswith(EXEC_REFUSED)


def test_a_runtime_that_runs_the_check_itself_is_left_to_it():
    api = FakeAPI(check())
    api.state["Health"] = {"Status": "starting", "FailingStreak": 1, "Log": [{"ExitCode": 1, "Output": "x"}]}
    api.events = [
        {"Action": "health_status", "timeNano": time.time_ns(), "Actor": {"Attributes": {"health_status": "healthy"}}}
    ]
    watcher, sighting = watch(api)
    assert sighting.kind == HEALTHY and api.execs == []
    assert "health_source" not in watcher.observed("c1")


def test_a_window_podman_cannot_serve_is_answered_from_the_state():
    api = FakeAPI(None)
    finished = time.time_ns() - S // 2
    api.state.update(Status="exited", Running=False, FinishedAt=docker_time(finished), OOMKilled=False)
    watcher = HealthWatcher(Client(api))
    now = time.time_ns()
    assert watcher.watch("c1", now - 2 * S, now) == Sighting(DIED, finished, False)
    assert watcher.watch("c1", now - S // 10, now) == Sighting(TIMEOUT, now, False)  # it died before the window
    assert api.requests == []


def test_a_daemon_that_does_not_say_what_it_is_is_taken_as_docker():
    class Silent:
        api = FakeAPI(check())

        def version(self):
            raise ConnectionError("no")

    assert HealthWatcher(Silent()).runtime == "docker"


@pytest.mark.parametrize(
    ("config", "argv"),
    [
        ({"Test": ["CMD", "wget", "-q", "x"]}, ["wget", "-q", "x"]),
        ({"Test": ["CMD-SHELL", "exit 0"]}, ["/bin/sh", "-c", "exit 0"]),
    ],
)
def test_the_containers_own_test_command_with_dockers_defaults(config, argv):
    run = RunHealth.of(config, None, 0)
    assert run.argv() == argv and (run.interval_s, run.timeout_s, run.retries, run.start_period_s) == (30, 30, 3, 0)


@pytest.mark.parametrize("config", [{}, {"Test": ["NONE"]}, {"Test": []}])
def test_no_check_to_run(config):
    assert RunHealth.of(config, None, 0) is None


def test_podmans_health_status_event_carries_the_status_as_an_attribute():
    event = {"Action": "health_status", "timeNano": 5, "Actor": {"Attributes": {"health_status": "unhealthy"}}}
    assert first_event([json.dumps(event)], 0, 10, want_healthy=True) == Sighting(UNHEALTHY, 5, False)
    died = {"Action": "died", "timeNano": 6}
    assert first_event([json.dumps(died)], 0, 10, want_healthy=False) == Sighting(DIED, 6, False)

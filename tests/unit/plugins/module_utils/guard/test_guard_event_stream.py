"""The guard's event-stream watcher: the bounded GET /events request and the reading of its JSON lines."""

from __future__ import annotations

import itertools
import json
import threading
import time

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError
from ansible_collections.argusai.resilience.plugins.module_utils.guard.diagnostics import DIED, UNHEALTHY
from ansible_collections.argusai.resilience.plugins.module_utils.guard.event_stream import (
    HEALTHY,
    TIMEOUT,
    WATCHDOG_SLACK_SECONDS,
    WATCHED_EVENTS,
    EventStream,
    Sighting,
    first_event,
    parse_docker_time,
)

SINCE, UNTIL = 1_700_000_000_000_000_000, 1_700_000_010_000_000_000


def lines(*events):
    return [json.dumps(event).encode() for event in events]


class FakeResponse:
    def __init__(self, body=(), status_code=200, text="", broken=None):
        self.body, self.status_code, self.text, self.broken = list(body), status_code, text, broken
        self.closed = False

    def iter_lines(self):
        yield from self.body
        if self.broken is not None:
            raise self.broken

    def close(self):
        self.closed = True


class FakeAPI:
    base_url = "http+docker://localhost"
    api_version = "1.41"
    timeout = 60

    def __init__(self, response):
        self.response = response
        self.requests = []

    def get(self, url, params, stream, timeout):
        self.requests.append({"url": url, "params": params, "stream": stream, "timeout": timeout})
        return self.response


def stream_of(response):
    api = FakeAPI(response)
    return EventStream(type("Client", (), {"api": api})()), api


def test_parse_docker_time():
    assert parse_docker_time("0001-01-01T00:00:00Z") is None
    assert parse_docker_time("2026-11-25T10:00:00.123456789Z") % 10**9 == 123456789
    assert parse_docker_time("2026-11-25T10:00:00Z") % 10**9 == 0


def test_first_death_ends_the_watch_with_its_time_and_the_oom_seen_before():
    events = lines(
        {"Action": "health_status: starting", "timeNano": SINCE + 1},
        {"Action": "oom", "timeNano": SINCE + 2},
        {"Action": "die", "timeNano": SINCE + 3},
        {"Action": "health_status: unhealthy", "timeNano": SINCE + 4},
    )
    assert first_event(events, SINCE, UNTIL, want_healthy=False) == Sighting(DIED, SINCE + 3, True)


def test_events_before_since_are_skipped_and_the_end_is_a_timeout_at_until():
    events = [b""] + lines({"Action": "die", "timeNano": SINCE - 1}, {"status": "oom", "timeNano": SINCE})
    assert first_event(events, SINCE, UNTIL, want_healthy=False) == Sighting(TIMEOUT, UNTIL, True)


def test_healthy_ends_the_watch_only_when_wanted():
    events = lines({"Action": "health_status: healthy", "timeNano": SINCE + 5})
    assert first_event(events, SINCE, UNTIL, want_healthy=True) == Sighting(HEALTHY, SINCE + 5, False)
    assert first_event(events, SINCE, UNTIL, want_healthy=False) == Sighting(TIMEOUT, UNTIL, False)


def test_unhealthy_ends_the_watch_and_old_style_status_counts():
    events = lines({"status": "health_status: unhealthy", "timeNano": SINCE + 7})
    assert first_event(events, SINCE, UNTIL, want_healthy=True) == Sighting(UNHEALTHY, SINCE + 7, False)


def test_watch_sends_one_bounded_request_for_that_container_and_closes_it():
    response = FakeResponse(lines({"Action": "die", "timeNano": SINCE + 9}))
    stream, api = stream_of(response)
    until = time.time_ns() + 5 * 10**9
    assert stream.watch("c1", SINCE, until) == Sighting(DIED, SINCE + 9, False)
    (request,) = api.requests
    assert request["url"] == "http+docker://localhost/v1.41/events" and request["stream"] is True
    params = request["params"]
    assert params["since"] == "1700000000.000000000"
    assert params["until"] == f"{until // 10**9}.{until % 10**9:09d}"
    assert json.loads(params["filters"]) == {"type": ["container"], "container": ["c1"], "event": WATCHED_EVENTS}
    connect, read = request["timeout"]
    assert connect == FakeAPI.timeout
    # the daemon ends the stream at ``until``: the read timeout is the time left plus the watchdog slack
    assert WATCHDOG_SLACK_SECONDS + 4 < read <= WATCHDOG_SLACK_SECONDS + 5
    assert response.closed


def test_watch_of_a_past_window_still_waits_the_slack():
    stream, api = stream_of(FakeResponse())
    assert stream.watch("c1", SINCE, UNTIL) == Sighting(TIMEOUT, UNTIL, False)
    assert api.requests[0]["timeout"][1] == pytest.approx(WATCHDOG_SLACK_SECONDS, abs=0.5)


def test_refused_request_is_a_docker_api_error():
    response = FakeResponse(status_code=500, text="server error")
    stream, _api = stream_of(response)
    with pytest.raises(ArgusError) as raised:
        stream.watch("c1", SINCE, UNTIL)
    assert raised.value.code == "DOCKER_API_ERROR" and raised.value.details["status"] == 500
    assert "server error" in raised.value.message and response.closed


@pytest.mark.parametrize("broken", [None, TimeoutError("read timed out")])
def test_bad_json_or_a_stalled_read_is_reported_and_the_stream_closed(broken):
    body = [b"{not json"] if broken is None else lines({"Action": "oom", "timeNano": SINCE})
    response = FakeResponse(body, broken=broken)
    stream, _api = stream_of(response)
    with pytest.raises(ArgusError) as raised:
        stream.watch("c1", SINCE, UNTIL)
    assert "events stream of the container broke off or stalled" in raised.value.message
    assert response.closed


class EndlessResponse(FakeResponse):
    """A daemon that never ends the stream: it trickles ``events()`` forever, or stays silent."""

    def __init__(self, events=None):
        super().__init__()
        self.events = events

    def iter_lines(self):
        if self.events is None:
            threading.Event().wait(3600)  # frozen: not a byte, ever
        for event in self.events():
            if self.closed:
                return
            time.sleep(0.01)
            yield json.dumps(event).encode()


@pytest.fixture
def short_slack(monkeypatch):
    from ansible_collections.argusai.resilience.plugins.module_utils.guard import event_stream

    monkeypatch.setattr(event_stream, "WATCHDOG_SLACK_SECONDS", 0.5)
    return 0.5


@pytest.mark.parametrize(
    "events",
    [
        None,  # a frozen daemon
        # events that never end the watch (healthy while not waited for, oom without a death), replayed
        # forever with a date inside the window
        lambda since: (
            {"Action": action, "timeNano": since + 1} for action in itertools.cycle(["oom", "health_status: healthy"])
        ),
    ],
    ids=["silent", "trickling"],
)
def test_a_stream_the_daemon_never_ends_fails_the_watch_at_its_deadline(short_slack, events):
    since = time.time_ns()
    response = EndlessResponse(events and (lambda: events(since)))
    stream, _api = stream_of(response)
    started = time.monotonic()
    until = since + 500_000_000
    with pytest.raises(ArgusError) as raised:
        stream.watch("c1", since, until)
    elapsed = time.monotonic() - started
    assert raised.value.code == "DOCKER_UNAVAILABLE" and raised.value.details["cause"] == "timeout"
    assert 0.9 <= elapsed < 0.5 + short_slack + 0.5, elapsed  # until + slack, not later
    assert response.closed


def test_events_dated_after_until_end_the_watch():
    """A daemon that ignores ``until`` and keeps streaming: the first later event is the end."""
    later = ({"Action": "health_status: healthy", "timeNano": UNTIL + n} for n in itertools.count(1))
    assert first_event((json.dumps(e).encode() for e in later), SINCE, UNTIL, want_healthy=False) == Sighting(
        TIMEOUT, UNTIL, False
    )


def test_events_that_go_on_past_until_end_the_watch_at_until(short_slack):
    """Events dated now, forever (a daemon that ignores ``until``): the watch ends when they pass it."""
    response = EndlessResponse(lambda: ({"Action": "oom", "timeNano": time.time_ns()} for _n in itertools.count()))
    stream, _api = stream_of(response)
    started = time.monotonic()
    until = time.time_ns() + 300_000_000
    assert stream.watch("c1", time.time_ns(), until) == Sighting(TIMEOUT, until, True)
    assert time.monotonic() - started < 0.3 + short_slack

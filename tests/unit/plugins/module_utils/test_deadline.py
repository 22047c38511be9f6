"""Deadlines fixed when a wait starts (module_utils/deadline.py) and the daemon waits built on them."""

from __future__ import annotations

import socket
import time
from unittest import mock

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils import docker_client, preflight
from ansible_collections.argusai.resilience.plugins.module_utils.deadline import Deadline
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError
from ansible_collections.argusai.resilience.plugins.module_utils.events import EventLog


def test_a_deadline_counts_down_from_when_it_is_made_and_caps_waits():
    now = [100.0]
    deadline = Deadline(3, lambda: now[0])  # ends at 103, whatever happens later
    now[0] = 101.0
    assert deadline.remaining() == 2.0 and not deadline.expired()
    assert deadline.cap(5) == 2.0 and deadline.cap(0.5) == 0.5
    now[0] = 104.0
    assert deadline.expired() and deadline.remaining() == 0.0 and deadline.cap(5) == 0.0


def test_a_deadline_at_a_moment_of_another_clock():
    deadline = Deadline.at(time.time() + 60)
    assert 59 < deadline.remaining() <= 60
    assert Deadline.at(time.time() - 5).expired()


@pytest.fixture
def silent_listeners():
    """Two TCP listeners that accept the handshake and never answer HTTP: a frozen daemon each."""
    with socket.socket() as one, socket.socket() as two:
        for sock in (one, two):
            sock.bind(("127.0.0.1", 0))
            sock.listen(4)
        yield [f"tcp://127.0.0.1:{sock.getsockname()[1]}" for sock in (one, two)]


def test_every_candidate_host_shares_the_connect_deadline(silent_listeners, monkeypatch):
    monkeypatch.setattr(docker_client, "candidate_hosts", lambda docker_host=None: silent_listeners)
    started = time.monotonic()
    with pytest.raises(ArgusError) as info:
        docker_client.connect(connect_timeout=0.5)
    elapsed = time.monotonic() - started
    assert info.value.code == "DOCKER_UNAVAILABLE"
    first, second = info.value.details["attempts"]
    assert first["cause"] == "timeout" and second == {
        "docker_host": silent_listeners[1],
        "cause": "timeout",
        "error": "not tried: no time left",
    }
    assert 0.5 <= elapsed < 0.9, elapsed  # not 0.5 s per host


def test_the_daemon_check_ends_at_daemon_timeout_however_slow_each_request(monkeypatch):
    """A daemon that answers each request just before its timeout: connect, info and version share one deadline."""
    client = mock.Mock()
    client.api.timeout = 60

    def slow(answer):
        def request():
            time.sleep(min(0.3, client.api.timeout))
            if client.api.timeout < 0.3:
                raise TimeoutError("read timed out")
            return answer

        return request

    client.info.side_effect = slow({"DockerRootDir": "/nonexistent"})
    client.version.side_effect = slow({})

    def connect(timeout):
        time.sleep(0.3)  # the version negotiation
        return client

    options = preflight.PreflightOptions(
        project="shop", daemon_timeout=0.8, skip_disk_check=True, skip_orphan_check=True
    )
    started = time.monotonic()
    check = preflight.PreflightChecker(options, connect, EventLog("shop", None)).check_daemon()
    elapsed = time.monotonic() - started
    assert check.status == "fail" and check.error.code == "DOCKER_UNAVAILABLE"
    assert check.error.details["cause"] == "timeout"
    assert elapsed < 0.8 + 0.1, elapsed  # 0.3 + 0.3 + what was left, not 3 x 0.3 + ...
    assert client.api.timeout == 60

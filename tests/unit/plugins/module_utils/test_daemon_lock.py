"""daemon_lock: atomic claims on Docker's and Podman's answers, token-checked release, stale locks
broken once and safely, and a wait that ends at its deadline (the real engine:
tests/integration/test_daemon_state.py)."""

from __future__ import annotations

import threading
import time

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils import daemon_lock
from ansible_collections.argusai.resilience.plugins.module_utils.daemon_lock import (
    DaemonClock,
    break_stale,
    claim,
    held,
    release,
)


class Clock:
    """A monotonic clock and sleep that only move when slept (the daemon's clock moves along)."""

    def __init__(self, daemon=None):
        self.now = 0.0
        self.daemon = daemon
        self.slept = 0.0

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
        self.slept += seconds
        if self.daemon is not None:
            self.daemon.advance(seconds)


@pytest.mark.parametrize("podman", [False, True, "crossed"])
def test_one_claim_wins_and_the_loser_sees_the_holder(fake_daemon, podman):
    daemon = fake_daemon(podman=podman)
    ours, lock = claim(daemon, "argusai-x", "cleanup", 60, {"argusai.run-id": "r1"})
    again, holder = claim(daemon, "argusai-x", "cleanup", 60, {"argusai.run-id": "r2"})
    assert ours is True and again is False
    assert holder.token == lock.token and holder.run_id == "r1"
    assert holder.labels["argusai.managed"] == "true" and holder.kind == "cleanup"


def test_release_needs_the_token_and_never_touches_a_foreign_volume(fake_daemon):
    daemon = fake_daemon()
    _ours, lock = claim(daemon, "argusai-x", "cleanup", 60, {})
    assert release(daemon, "argusai-x", "not-the-token") is False
    assert release(daemon, "argusai-x", lock.token) is True
    assert release(daemon, "argusai-x") is False  # gone
    daemon.put_volume("argusai-y", {"owner": "someone else"})
    assert release(daemon, "argusai-y") is False
    assert "argusai-y" in daemon.volume_store
    ours, holder = claim(daemon, "argusai-y", "cleanup", 60, {})
    assert ours is False and holder.remaining(daemon.now) == float("inf")  # never stale, never broken


def test_expiry_is_judged_on_the_daemon_clock(fake_daemon):
    daemon = fake_daemon()
    _ours, lock = claim(daemon, "argusai-x", "cleanup", 60, {})
    clock = DaemonClock(daemon)
    assert 59 <= lock.remaining(clock.now()) <= 61  # CreatedAt has seconds only
    daemon.advance(62)
    assert lock.remaining(DaemonClock(daemon).now()) <= 0


def test_a_stale_lock_is_broken_once_and_a_fresh_one_never(fake_daemon):
    daemon = fake_daemon()
    _ours, stale = claim(daemon, "argusai-x", "cleanup", 10, {})
    daemon.advance(30)
    clock = DaemonClock(daemon)
    assert break_stale(daemon, stale, clock) is True
    _ours, fresh = claim(daemon, "argusai-x", "cleanup", 10, {})
    # a second breaker that saw the old lock comes too late: the new holder keeps its lock
    assert break_stale(daemon, stale, clock) is False
    assert daemon.inspect_volume("argusai-x")["Labels"]["argusai.lock-token"] == fresh.token
    assert not [name for name in daemon.volume_store if "-break-" in name]


def test_a_breaker_that_died_is_itself_broken_after_its_expiry(fake_daemon):
    daemon = fake_daemon()
    _ours, stale = claim(daemon, "argusai-x", "cleanup", 10, {})
    breaker = f"argusai-x-break-{stale.token[:16]}"
    claim(daemon, breaker, daemon_lock.BREAK, daemon_lock.BREAK_TTL_SECONDS, {})  # and then died
    daemon.advance(20)
    assert break_stale(daemon, stale, DaemonClock(daemon)) is False  # the breaker is still young
    daemon.advance(daemon_lock.BREAK_TTL_SECONDS)
    assert break_stale(daemon, stale, DaemonClock(daemon)) is False  # removes the dead breaker
    assert breaker not in daemon.volume_store
    assert break_stale(daemon, stale, DaemonClock(daemon)) is True


def test_a_lock_never_released_ends_the_wait_at_its_deadline(fake_daemon):
    daemon = fake_daemon()
    claim(daemon, "argusai-x", "cleanup", 3600, {"argusai.run-id": "holder"})  # its holder was killed
    clock = Clock(daemon)
    with (
        pytest.raises(TimeoutError, match="held by run holder"),
        held(daemon, "argusai-x", "cleanup", {}, 60, 5.0, clock.sleep, clock.monotonic),
    ):
        pass
    assert 5.0 <= clock.now < 5.0 + daemon_lock.POLL_SECONDS + 1e-9


def test_a_stale_lock_is_broken_within_the_wait(fake_daemon):
    daemon = fake_daemon()
    claim(daemon, "argusai-x", "cleanup", 2, {})  # its holder died; stale 2 s (+1 s precision) on
    clock = Clock(daemon)
    with held(daemon, "argusai-x", "cleanup", {"argusai.run-id": "me"}, 60, 10.0, clock.sleep, clock.monotonic) as lock:
        assert lock.run_id == "me"
        assert daemon.inspect_volume("argusai-x")["Labels"]["argusai.run-id"] == "me"
    assert 2.0 <= clock.now <= 3.5
    assert "argusai-x" not in daemon.volume_store  # released at the end


def test_threads_take_turns(fake_daemon):
    daemon = fake_daemon()
    inside = []
    overlaps = []
    lock = threading.Lock()

    def worker(index):
        with held(daemon, "argusai-x", "cleanup", {}, 60, 10.0):
            with lock:
                inside.append(index)
                if len(inside) > 1:
                    overlaps.append(tuple(inside))
            time.sleep(0.01)
            with lock:
                inside.remove(index)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    assert overlaps == [] and inside == []
    assert "argusai-x" not in daemon.volume_store


def test_daemon_errors_other_than_conflict_propagate(fake_daemon):
    daemon = fake_daemon()

    def refuse(name):
        raise daemon_lock.APIError("500 Server Error")

    daemon.on_create = refuse
    with pytest.raises(daemon_lock.APIError):
        claim(daemon, "argusai-x", "cleanup", 60, {})

"""Cleanup turns and leases in the daemon (cleaner.removal_lock, OrphanCleaner/RunTeardown releasing
leases) on the fake daemon of tests/unit/plugins/module_utils/conftest.py; the real engine:
tests/integration/test_daemon_state.py."""

from __future__ import annotations

import threading
import time

from ansible_collections.argusai.resilience.plugins.module_utils import daemon_lock
from ansible_collections.argusai.resilience.plugins.module_utils.cleanup.cleaner import (
    CleanupOptions,
    OrphanCleaner,
    removal_lock,
)
from ansible_collections.argusai.resilience.plugins.module_utils.cleanup.teardown import RunTeardown
from ansible_collections.argusai.resilience.plugins.module_utils.events import EventLog
from ansible_collections.argusai.resilience.plugins.module_utils.module_support import cleanup_result
from ansible_collections.argusai.resilience.plugins.module_utils.ports.leases import Owner, lease_name
from ansible_collections.argusai.resilience.plugins.module_utils.ports.resolver import PortResolver

TURN = "argusai-cleanup-shop"


class Clock:
    def __init__(self, daemon):
        self.now = 0.0
        self.daemon = daemon

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
        self.daemon.advance(seconds)


def lease(client, project, run_id, port):
    PortResolver(client=client, owner=Owner(project, run_id), probe=lambda *_a: None).resolve(
        [{"name": f"svc{port}", "port": port}]
    )


def test_orphan_cleanup_releases_other_runs_leases_and_does_not_list_them(daemon, client):
    lease(client, "shop", "old", 8000)
    lease(client, "shop", "cur", 8001)
    lease(client, "other", "old", 8002)
    daemon.put_volume(
        "shop-data", {"argusai.managed": "true", "argusai.project": "shop", "argusai.run-id": "old"}, daemon.now
    )
    daemon.advance(10)
    events = EventLog("shop", "cur")
    result = OrphanCleaner(client, CleanupOptions("shop", "cur"), events).clean()
    assert [r["name"] for r in result["found"]] == ["shop-data"]  # a lease is no resource
    assert [r["name"] for r in result["removed"]] == ["shop-data"]
    assert sorted(daemon.volume_store) == [lease_name("tcp", 8001), lease_name("tcp", 8002)]
    end = events.events[-1]
    assert end["type"] == "cleanup_end"
    assert end["data"]["leases_released"] == 1 and end["data"]["serialised"] is True
    assert ("create", TURN) in daemon.calls and TURN not in daemon.volume_store


def test_check_mode_takes_no_turn_and_releases_nothing(daemon, client):
    lease(client, "shop", "old", 8000)
    daemon.advance(10)
    OrphanCleaner(client, CleanupOptions("shop", "cur"), EventLog("shop", "cur")).clean(check_mode=True)
    assert sorted(daemon.volume_store) == [lease_name("tcp", 8000)]
    assert ("create", TURN) not in daemon.calls


def test_teardown_releases_its_runs_leases_only(daemon, client):
    lease(client, "shop", "r1", 8000)
    lease(client, "shop", "r2", 8001)
    teardown = RunTeardown(client, CleanupOptions("shop", "r1"), EventLog("shop", "r1"))
    result = cleanup_result(teardown, check_mode=False)
    assert sorted(daemon.volume_store) == [lease_name("tcp", 8001)]
    # a run whose only trace was a lease (its container never created): giving it back is a change
    assert result["removed"] == [] and result["leases_released"] == 1 and result["changed"] is True
    again = cleanup_result(teardown, check_mode=False)
    assert again["leases_released"] == 0 and again["changed"] is False


def test_cleanups_of_one_project_take_turns(daemon):
    order = []
    first_inside = threading.Event()

    def second():
        first_inside.wait(5)
        with removal_lock(daemon, "shop", "r2") as had:
            order.append(("second", had))

    thread = threading.Thread(target=second)
    thread.start()
    with removal_lock(daemon, "shop", "r1") as had:
        first_inside.set()
        thread.join(0.5)  # the second cleanup is kept out while the first removes
        order.append(("first", had))
    thread.join(10)
    assert order == [("first", True), ("second", True)]
    with removal_lock(daemon, "other") as had:  # another project does not wait
        assert had is True


def test_a_turn_never_given_back_does_not_block_past_the_deadline(daemon):
    daemon_lock.claim(daemon, TURN, "cleanup", 3600, {"argusai.run-id": "killed"})
    clock = Clock(daemon)
    with removal_lock(daemon, "shop", timeout=7.0, sleep=clock.sleep, monotonic=clock.monotonic) as had:
        assert had is False  # the cleanup goes on unserialised
    assert 7.0 <= clock.now <= 7.0 + daemon_lock.POLL_SECONDS + 1e-9
    assert daemon.volume_store[TURN]["Labels"]["argusai.run-id"] == "killed"  # not ours to remove


def test_a_stale_turn_is_broken_after_its_expiry(daemon):
    daemon_lock.claim(daemon, TURN, "cleanup", 5, {"argusai.run-id": "killed"})
    clock = Clock(daemon)
    with removal_lock(daemon, "shop", "r2", timeout=60.0, sleep=clock.sleep, monotonic=clock.monotonic) as had:
        assert had is True
        assert daemon.volume_store[TURN]["Labels"]["argusai.run-id"] == "r2"
    assert 5.0 <= clock.now <= 6.5
    assert TURN not in daemon.volume_store


def test_a_daemon_that_refuses_the_turn_does_not_stop_the_cleanup(daemon):
    def refuse(name):
        raise daemon_lock.APIError("500 Server Error")

    daemon.on_create = refuse
    began = time.monotonic()
    with removal_lock(daemon, "shop") as had:
        assert had is False
    assert time.monotonic() - began < 1.0

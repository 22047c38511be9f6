"""OrphanCleaner (plugins/module_utils/cleanup/cleaner.py) against a scripted fake of the SDK's APIClient.

The real daemon (ordering under load, races, refusals) is exercised in
tests/integration/test_orphan_clean.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils.cleanup import cleaner as oc
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError
from ansible_collections.argusai.resilience.plugins.module_utils.events import EventLog
from cleanup_fakes import (
    OLD,
    PROJECT,
    START,
    FakeAPI,
    FakeClient,
    api_error,
    container,
    managed,
    network,
    volume,
)
from docker.errors import NotFound


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def cleaner_for(api, run_id="cur", workers=4, resource_types=oc.RESOURCE_TYPES, clock=None, **options):
    events = EventLog(PROJECT, run_id)
    clock = clock or FakeClock()
    cleaner = oc.OrphanCleaner(
        FakeClient(api),
        oc.CleanupOptions(PROJECT, run_id, tuple(resource_types), workers=workers, **options),
        events,
        sleep=clock.sleep,
        monotonic=clock.monotonic,
    )
    return cleaner, events


def names(entries):
    return sorted(entry["name"] for entry in entries)


def standard_api(**kwargs):
    return FakeAPI(
        containers=[container(f"c{i}", managed()) for i in range(6)] + [container("current", managed(run_id="cur"))],
        networks=[network("n1", managed()), network("n2", managed())],
        volumes=[volume("v1", managed())],
        **kwargs,
    )


# -- ordering and parameters ------------------------------------------------------------------


def test_removes_containers_then_networks_then_volumes_and_never_the_current_run():
    api = standard_api()
    cleaner, _unused = cleaner_for(api)
    result = cleaner.clean()
    kinds = [call[0] for call in api.calls if call[0] in ("container", "network", "volume")]
    assert kinds == ["container"] * 6 + ["network"] * 2 + ["volume"]
    assert "current" not in [call[1] for call in api.calls]
    assert names(result["removed"]) == ["c0", "c1", "c2", "c3", "c4", "c5", "n1", "n2", "v1"]
    assert result["failed"] == []
    assert cleaner.error_for(result) is None
    assert isinstance(result["duration_ms"], int)


def test_containers_are_forced_with_anonymous_volumes_volumes_are_not_forced():
    api = standard_api()
    cleaner_for(api)[0].clean()
    assert all(call[2] == {"v": True, "force": True} for call in api.calls if call[0] == "container")
    assert all(call[2] == {"force": False} for call in api.calls if call[0] == "volume")


def test_found_entries_describe_each_resource():
    api = FakeAPI(containers=[container("c1", managed(run_id="r1"))])
    result = cleaner_for(api)[0].clean()
    assert result["found"] == [
        {
            "type": "container",
            "id": "c1",
            "name": "c1",
            "project": PROJECT,
            "run_id": "r1",
            "created_at": OLD,
            "service": None,
        }
    ]


def test_resource_types_limit_what_is_listed_and_removed():
    api = standard_api()
    result = cleaner_for(api, resource_types=("networks",))[0].clean()
    assert names(result["removed"]) == ["n1", "n2"]
    assert {call[0] for call in api.calls} == {"network"}


def test_without_run_id_every_managed_resource_of_the_project_is_an_orphan():
    api = standard_api()
    result = cleaner_for(api, run_id=None)[0].clean()
    assert "current" in names(result["removed"])


def test_unmanaged_or_foreign_resources_are_never_touched_even_if_the_daemon_filter_lets_them_through():
    api = FakeAPI(
        containers=[
            container("unmanaged", {"argusai.project": PROJECT, "argusai.run-id": "old"}),
            container("other", managed(project="other")),
            container("mine", managed()),
        ]
    )
    result = cleaner_for(api)[0].clean()
    assert names(result["found"]) == ["mine"]
    assert [call[1] for call in api.calls if call[0] == "container"] == ["mine"]


def test_single_worker_removes_sequentially():
    api = standard_api()
    result = cleaner_for(api, workers=1)[0].clean()
    assert len(result["removed"]) == 9


# -- error isolation ----------------------------------------------------------------------------


def test_one_failure_never_stops_the_others_and_the_error_is_structured():
    api = standard_api(failures={"c2": api_error(500, "driver failed to remove root filesystem")})
    cleaner, events = cleaner_for(api)
    result = cleaner.clean()
    assert names(result["removed"]) == ["c0", "c1", "c3", "c4", "c5", "n1", "n2", "v1"]
    assert [entry["name"] for entry in result["failed"]] == ["c2"]
    error = result["failed"][0]["error"]
    assert error["code"] == "DOCKER_API_ERROR"
    assert "driver failed to remove root filesystem" in error["message"]
    assert error["details"]["resource_id"] == "c2"
    failure = cleaner.error_for(result)
    assert isinstance(failure, ArgusError)
    assert failure.code == "CLEANUP_FAILED"
    assert failure.details["errors"][0]["name"] == "c2"
    assert failure.details["result"] is result
    assert "container c2" in failure.message
    outcomes = [e["data"]["outcome"] for e in events.events if e["type"] == "cleanup_resource"]
    assert sorted(outcomes) == ["failed"] + ["removed"] * 8


def test_volume_in_use_is_failed_with_its_error_while_the_others_go():
    refusal = api_error(409, "remove v1: volume is in use - [abc]")
    api = standard_api(failures={"v1": refusal})
    result = cleaner_for(api)[0].clean()
    assert [entry["name"] for entry in result["failed"]] == ["v1"]
    error = result["failed"][0]["error"]
    assert (error["code"], error["details"]["cause"]) == ("CLEANUP_FAILED", "volume_in_use")
    assert "volume is in use" in error["message"]
    assert len(result["removed"]) == 8


def test_network_with_a_live_container_is_reported_not_forced():
    # Podman's API would remove it (Docker refuses): the attachments are checked first, and the
    # network is never asked to go
    api = standard_api()
    api.network_attachments["n1"] = {"abc": {"Name": "current"}}
    result = cleaner_for(api)[0].clean()
    failed = result["failed"]
    assert [entry["name"] for entry in failed] == ["n1"]
    error = failed[0]["error"]
    assert (error["code"], error["details"]["cause"]) == ("CLEANUP_FAILED", "network_in_use")
    assert error["details"]["attached_containers"] == ["current"]
    assert "has active endpoints" in error["message"]
    assert error["suggested_actions"][0]["id"] == "retry_cleanup"
    assert api.disconnects == []
    assert ("network", "n1") not in api.calls and ("network", "n2") in api.calls


def test_a_network_the_daemon_refuses_with_nothing_listed_is_in_use_too():
    # Docker 20.10 can keep a stale endpoint that no inspect lists: its refusal classifies the same
    refusal = api_error(403, "error while removing network: network n1 id n1 has active endpoints")
    api = standard_api(failures={"n1": refusal})
    result = cleaner_for(api)[0].clean()
    (failed,) = result["failed"]
    assert (
        failed["error"]["details"]["cause"] == "network_in_use"
        and "checked_before_removal" not in failed["error"]["details"]
    )
    assert [call for call in api.calls if call[0] == "network"].count(("network", "n1")) == 1


def test_already_gone_counts_as_removed():
    api = standard_api(failures={"c1": api_error(404, "No such container: c1", NotFound), "n2": NotFound("gone")})
    cleaner, events = cleaner_for(api)
    result = cleaner.clean()
    assert result["failed"] == []
    assert {"c1", "n2"} <= set(names(result["removed"]))
    gone = sorted(e["data"]["name"] for e in events.events if e["data"].get("outcome") == "already_gone")
    assert gone == ["c1", "n2"]


def test_removal_in_progress_elsewhere_waits_until_gone():
    api = standard_api(failures={"c3": api_error(409, "removal of container c3 is already in progress")})
    api.inspect_container_answers["c3"] = [{"Id": "c3"}, {"Id": "c3"}, api_error(404, "No such container", NotFound)]
    clock = FakeClock()
    result = cleaner_for(api, clock=clock)[0].clean()
    assert result["failed"] == []
    assert "c3" in names(result["removed"])
    assert clock.now == pytest.approx(2 * oc.IN_PROGRESS_POLL_SECONDS)


def test_removal_in_progress_that_never_finishes_fails_after_the_wait():
    api = standard_api(failures={"c3": api_error(409, "removal of container c3 is already in progress")})
    api.inspect_container_answers["c3"] = [{"Id": "c3"}]
    clock = FakeClock()
    result = cleaner_for(api, clock=clock, in_progress_wait=1.0)[0].clean()
    assert [entry["name"] for entry in result["failed"]] == ["c3"]
    assert result["failed"][0]["error"]["details"]["cause"] == "removal_in_progress"
    assert 1.0 <= clock.now <= 1.0 + 2 * oc.IN_PROGRESS_POLL_SECONDS


# -- check mode and events ------------------------------------------------------------------


def test_check_mode_detects_only():
    api = standard_api()
    cleaner, events = cleaner_for(api)
    result = cleaner.clean(check_mode=True)
    assert [call for call in api.calls if call[0] in ("container", "network", "volume")] == []
    assert len(result["found"]) == 9
    assert result["removed"] == [] and result["failed"] == []
    outcomes = {e["data"]["outcome"] for e in events.events if e["type"] == "cleanup_resource"}
    assert outcomes == {"would_remove"}


def test_events_start_one_per_resource_end():
    api = standard_api()
    cleaner, events = cleaner_for(api)
    cleaner.clean()
    types = [e["type"] for e in events.events]
    assert types[0] == "cleanup_start" and types[-1] == "cleanup_end"
    assert types.count("cleanup_resource") == 9
    assert events.events[0]["data"]["found"] == 9
    assert events.events[-1]["data"]["removed"] == 9
    assert all(e["project"] == PROJECT and e["run_id"] == "cur" for e in events.events)


# -- created after the cleanup started ----------------------------------------------------------


def test_resources_created_after_the_start_are_excluded():
    after = START + timedelta(seconds=2)
    api = FakeAPI(
        containers=[container("old", managed()), container("new", managed(created_at=None), created=after)],
        networks=[network("n-new", managed(), created="2026-11-25T12:00:00.600000001Z")],
        volumes=[volume("v-new", managed(), created="2026-11-25T12:00:03Z")],
    )
    cleaner, events = cleaner_for(api)
    result = cleaner.clean()
    assert names(result["found"]) == ["old"]
    assert events.events[0]["data"]["excluded_newer"] == 3
    assert [call[1] for call in api.calls if call[0] == "container"] == ["old"]


def test_container_of_the_same_second_is_inspected_for_the_exact_time():
    same_second = int(START.timestamp())  # 12:00:00, the cutoff is 12:00:00.5
    api = FakeAPI(containers=[container("before", managed(), same_second), container("after", managed(), same_second)])
    api.inspect_container_answers["before"] = [{"Created": "2026-11-25T12:00:00.100Z"}]
    api.inspect_container_answers["after"] = [{"Created": "2026-11-25T12:00:00.700000000Z"}]
    result = cleaner_for(api)[0].clean()
    assert names(result["found"]) == ["before"]


# -- options --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"project": "Bad Name"}, "project"),
        ({"project": "shop", "run_id": "no spaces"}, "run_id"),
        ({"project": "shop", "resource_types": ("images",)}, "resource_types"),
        ({"project": "shop", "workers": 0}, "workers"),
    ],
)
def test_options_are_validated_before_docker_is_called(kwargs, field):
    with pytest.raises(ArgusError) as caught:
        oc.CleanupOptions(**kwargs)
    assert caught.value.code == "INVALID_INPUT"
    assert caught.value.details["field"] == field

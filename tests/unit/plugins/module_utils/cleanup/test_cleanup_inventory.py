"""Orphan and run inventory (plugins/module_utils/cleanup/inventory.py): timestamps, the cutoff, the
created-after-start exclusion and the two scopes, against fakes of the SDK.

The cleaner's view of the same exclusion is in test_cleanup_cleaner.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils.cleanup.inventory import (
    Cutoff,
    _Listed,
    created_after,
    find_orphans,
    find_run_resources,
    parse_timestamp,
)
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError
from cleanup_fakes import (
    PROJECT,
    START,
    FakeAPI,
    FakeClient,
    api_error,
    client_with,
    container,
    managed,
    run_container,
    run_labels,
    volume,
)

# -- created after the cleanup started ----------------------------------------------------------


def test_volume_of_the_same_second_is_decided_by_its_label_and_kept_without_one():
    cutoff = Cutoff(local=START, daemon=START)
    api = FakeAPI()

    def listed(created_at):
        return find_orphans(
            FakeClient(
                FakeAPI(volumes=[volume("v", managed(created_at=created_at), created="2026-11-25T12:00:00+00:00")])
            ),
            PROJECT,
            "cur",
            cutoff=cutoff,
        )

    assert [v["name"] for v in listed("2026-11-25T12:00:00.200Z")] == ["v"]
    assert listed("2026-11-25T12:00:00.800Z") == []
    assert listed(None) == []  # undecidable: kept for the next cleanup
    assert api.calls == []


def test_label_decides_when_the_daemon_clock_is_unknown():
    api = FakeAPI(
        containers=[
            container("old", managed()),
            container("new", managed(created_at="2026-11-25T12:00:01.000Z"), created=START - timedelta(hours=1)),
        ]
    )
    cutoff = Cutoff(local=START, daemon=None)
    excluded = []
    found = find_orphans(FakeClient(api), PROJECT, "cur", cutoff=cutoff, excluded=excluded)
    assert [r["name"] for r in found] == ["old"]
    assert [r["name"] for r in excluded] == ["new"]


def test_cutoff_reads_the_daemon_clock_and_survives_without_it():
    api = FakeAPI(system_time=START)
    cutoff = Cutoff.now(FakeClient(api))
    assert cutoff.daemon == START
    assert cutoff.local.tzinfo is not None

    class Broken(FakeAPI):
        def info(self):
            raise api_error(500, "boom")

    assert Cutoff.now(FakeClient(Broken())).daemon is None


def test_created_after_treats_unknown_times_as_old():
    entry = find_orphans(FakeClient(FakeAPI(volumes=[volume("v", managed(created_at=None), created="")])), PROJECT)
    assert [v["name"] for v in entry] == ["v"]
    # the same through created_after directly, with a cutoff
    unknown = _Listed({"type": "volume", "id": "v", "created_at": None}, None, timedelta(0))
    assert created_after(unknown, Cutoff(local=START, daemon=START)) is False


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-11-25T12:00:00.123456789Z", datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=timezone.utc)),
        ("2026-11-25T12:00:00Z", datetime(2026, 11, 25, 12, 0, 0, tzinfo=timezone.utc)),
        ("2026-11-25T13:00:00+01:00", datetime(2026, 11, 25, 12, 0, 0, tzinfo=timezone.utc)),
        ("2026-11-25T07:00:00.5-0500", datetime(2026, 11, 25, 12, 0, 0, 500000, tzinfo=timezone.utc)),
        ("2026-11-25T12:00:00", datetime(2026, 11, 25, 12, 0, 0, tzinfo=timezone.utc)),
        (1795608000, datetime(2026, 11, 25, 12, 0, 0, tzinfo=timezone.utc)),
        ("0001-01-01T00:00:00Z", None),
        ("2026-13-45T00:00:00Z", None),
        ("yesterday", None),
        ("", None),
        (None, None),
        (0, None),
        (True, None),
    ],
)
def test_parse_timestamp(text, expected):
    assert parse_timestamp(text) == expected


# -- one run's resources ----------------------------------------------------------------------


def test_find_run_resources_is_exactly_the_run_containers_first():
    client = client_with(
        containers=[
            run_container("a"),
            run_container("b", run_id="r2"),
            run_container("c", labels=run_labels(managed="false")),
        ],
        networks=[{"Id": "n1", "Name": "net", "Labels": run_labels(), "Created": None}],
        volumes=[
            {"Name": "v1", "Labels": run_labels(), "CreatedAt": None},
            {"Name": "v2", "Labels": run_labels(run_id="r2")},
        ],
    )
    found = find_run_resources(client, "p", "r1")
    assert [(r["type"], r["name"]) for r in found] == [("container", "a"), ("network", "net"), ("volume", "v1")]
    assert all(r["run_id"] == "r1" and r["project"] == "p" for r in found)


def test_find_run_resources_validates_before_docker():
    client = client_with()
    with pytest.raises(ArgusError):
        find_run_resources(client, "p", "Bad Run")
    client.api.containers.assert_not_called()

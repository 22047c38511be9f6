"""Preflight checks with a mocked Docker client; the real daemon is exercised in tests/integration."""

from __future__ import annotations

from collections import namedtuple
from unittest import mock

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils import preflight
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError
from ansible_collections.argusai.resilience.plugins.module_utils.events import EventLog

Usage = namedtuple("Usage", "total used free")
GIB = preflight.GIB
MANAGED = {"argusai.managed": "true", "argusai.project": "shop"}


def fake_client(containers=(), networks=(), volumes=()):
    client = mock.Mock()
    client.info.return_value = {"DockerRootDir": "/nonexistent-docker-root", "ServerVersion": "20.10"}
    client.version.return_value = {"Version": "20.10.24", "Components": [{"Name": "Engine", "Version": "20.10.24"}]}
    client.api.api_version = "1.41"
    client.api.containers.return_value = list(containers)
    client.api.networks.return_value = list(networks)
    client.api.volumes.return_value = {"Volumes": list(volumes)}
    return client


def run(options, client=None, connect_error=None):
    def connect(timeout):
        assert timeout == options.daemon_timeout
        if connect_error:
            raise connect_error
        return client or fake_client()

    log = EventLog(options.project, options.run_id)
    checker = preflight.PreflightChecker(options, connect, log)
    return checker, checker.run(), log


def report_of(options, client=None):
    return run(options, client)[1]


def statuses(report):
    return {check["name"]: check["status"] for check in report["checks"]}


@pytest.fixture
def plenty_of_disk():
    with mock.patch.object(preflight.shutil, "disk_usage", return_value=Usage(100 * GIB, 50 * GIB, 50 * GIB)) as du:
        yield du


def test_healthy_host(plenty_of_disk):
    checker, report, log = run(preflight.PreflightOptions(project="shop"))
    assert report["overall"] == "healthy"
    assert statuses(report) == {"docker_daemon": "pass", "disk_space": "pass", "orphans": "pass"}
    assert checker.failure is None
    assert [e["type"] for e in log.events] == ["preflight_start"] + ["preflight_check"] * 3 + ["preflight_end"]
    # Docker's root dir does not exist on this host, so only / is checked.
    plenty_of_disk.assert_called_once_with("/")


def test_daemon_down_fails_and_skips_orphans(plenty_of_disk):
    down = ArgusError("DOCKER_UNAVAILABLE", "refused", {"cause": "connection_refused"})
    checker, report, _events = run(preflight.PreflightOptions(project="shop"), connect_error=down)
    assert report["overall"] == "unhealthy"
    assert statuses(report) == {"docker_daemon": "fail", "disk_space": "pass", "orphans": "skipped"}
    assert checker.failure is down
    error = report["checks"][0]["error"]
    assert error["code"] == "DOCKER_UNAVAILABLE"
    assert error["suggested_actions"][0]["id"] == "start_docker_daemon"


@pytest.mark.parametrize(
    ("free_gb", "status", "overall"), [(1.0, "fail", "unhealthy"), (3.0, "warn", "degraded"), (4.0, "pass", "healthy")]
)
def test_disk_threshold_and_warn_band(free_gb, status, overall):
    usage = Usage(100 * GIB, 0, int(free_gb * GIB))
    with mock.patch.object(preflight.shutil, "disk_usage", return_value=usage):
        checker, report, _events = run(preflight.PreflightOptions(project="shop", disk_threshold_gb=2))
    assert statuses(report)["disk_space"] == status
    assert report["overall"] == overall
    if status == "fail":
        assert checker.failure.code == "DISK_SPACE_LOW"
        assert report["checks"][1]["error"]["details"]["paths"][0]["free_gb"] == 1.0


def test_orphans_of_other_runs_degrade(plenty_of_disk):
    containers = [
        {"Id": "c1", "Names": ["/old"], "Labels": {**MANAGED, "argusai.run-id": "old"}},
        {"Id": "c2", "Names": ["/current"], "Labels": {**MANAGED, "argusai.run-id": "now"}},
        # The daemon filter should never return these; the second check drops them anyway.
        {"Id": "c3", "Names": ["/foreign"], "Labels": {"argusai.project": "shop", "argusai.run-id": "old"}},
        {"Id": "c4", "Names": ["/other"], "Labels": {"argusai.managed": "true", "argusai.project": "b"}},
    ]
    volumes = [{"Name": "vol", "Labels": {**MANAGED, "argusai.run-id": "old"}}]
    client = fake_client(containers, volumes=volumes)
    report = report_of(preflight.PreflightOptions(project="shop", run_id="now"), client)
    orphans = report["checks"][2]
    assert orphans["status"] == "warn"
    assert report["overall"] == "degraded"
    assert [(r["type"], r["name"]) for r in orphans["details"]["resources"]] == [
        ("container", "old"),
        ("volume", "vol"),
    ]
    assert orphans["error"]["code"] == "ORPHAN_DETECTED"
    # the cleanup keeps the run that reported them; the controller fills the host (and the daemon)
    assert orphans["error"]["suggested_actions"][0]["extra_vars"] == {
        "argus_hosts": "{host}",
        "argus_project": "shop",
        "argus_run_id": "now",
        "argus_docker_host": "{docker_host}",
        "auto_fix": True,
    }
    client.api.containers.assert_called_once_with(
        all=True, filters={"label": ["argusai.managed=true", "argusai.project=shop"]}
    )


def test_skip_flags(plenty_of_disk):
    client = fake_client()
    options = preflight.PreflightOptions(project="shop", skip_disk_check=True, skip_orphan_check=True)
    report = report_of(options, client)
    assert statuses(report) == {"docker_daemon": "pass", "disk_space": "skipped", "orphans": "skipped"}
    plenty_of_disk.assert_not_called()
    client.api.containers.assert_not_called()


def test_listing_failure_fails_the_orphan_check(plenty_of_disk):
    client = fake_client()
    client.api.containers.side_effect = ConnectionRefusedError(111, "refused")
    report = report_of(preflight.PreflightOptions(project="shop"), client)
    assert statuses(report)["orphans"] == "fail"
    assert report["checks"][2]["error"]["code"] == "DOCKER_UNAVAILABLE"


def test_explicit_paths_and_docker_root(tmp_path, plenty_of_disk):
    client = fake_client()
    client.info.return_value = {"DockerRootDir": str(tmp_path)}
    run(preflight.PreflightOptions(project="shop"), client)
    assert [c.args[0] for c in plenty_of_disk.call_args_list] == ["/", str(tmp_path)]
    plenty_of_disk.reset_mock()
    run(preflight.PreflightOptions(project="shop", disk_paths=["/tmp"]), client)
    assert [c.args[0] for c in plenty_of_disk.call_args_list] == ["/tmp"]


def test_many_orphans_are_summarised(plenty_of_disk):
    containers = [
        {"Id": f"c{i}", "Names": [f"/c{i}"], "Labels": {**MANAGED, "argusai.run-id": "old"}} for i in range(12)
    ]
    report = report_of(preflight.PreflightOptions(project="shop"), fake_client(containers))
    assert "and 2 more" in report["checks"][2]["message"]
    assert report["checks"][2]["details"]["count"] == 12


def test_info_is_bounded_by_daemon_timeout(plenty_of_disk):
    client = fake_client()
    client.api.timeout = 60
    seen = []
    client.info.side_effect = lambda: seen.append(client.api.timeout) or {"DockerRootDir": "/nonexistent"}
    client.version.side_effect = lambda: seen.append(client.api.timeout) or {}
    run(preflight.PreflightOptions(project="shop", daemon_timeout=2.5), client)
    # each request gets what is left of daemon_timeout
    assert len(seen) == 2 and 2.4 < seen[1] <= seen[0] <= 2.5
    assert client.api.timeout == 60  # later requests get the normal request timeout back

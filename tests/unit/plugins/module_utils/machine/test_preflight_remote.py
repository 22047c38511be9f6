"""Preflight with a daemon on another machine: the disk check through the helper, or skipped; the runtime."""

from __future__ import annotations

from unittest import mock

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils import preflight
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError
from ansible_collections.argusai.resilience.plugins.module_utils.events import EventLog

REMOTE = "tcp://203.0.113.7:2375"
GIB_KIB = 1024**2  # df -Pk counts KiB
DISKS = {"/": (100 * GIB_KIB, 50 * GIB_KIB), "/srv/docker": (200 * GIB_KIB, 1 * GIB_KIB)}


def client_with(api, name="vm", version=None):
    client = mock.Mock()
    client.api = api
    client.api.api_version = "1.41"
    client.info.return_value = {"DockerRootDir": "/srv/docker", "ServerVersion": "4.3.1", "Name": name}
    client.version.return_value = version or {"Components": [{"Name": "Engine", "Version": "20.10.24"}]}
    client.api.containers = mock.Mock(return_value=[])
    client.api.networks = mock.Mock(return_value=[])
    client.api.volumes = mock.Mock(return_value={"Volumes": []})
    return client


def run(client, connect_error=None, **options):
    opts = preflight.PreflightOptions(project="shop", run_id="r1", docker_host=REMOTE, **options)

    def connect(timeout):
        if connect_error:
            raise connect_error
        return client

    checker = preflight.PreflightChecker(opts, connect, EventLog("shop", "r1"))
    report = checker.run()
    return checker, {check["name"]: check for check in report["checks"]}, report


@pytest.fixture
def local_disk():
    with mock.patch.object(preflight.shutil, "disk_usage") as usage:
        yield usage


def test_remote_disks_are_measured_by_the_helper(helper_api, local_disk):
    api = helper_api(disks=DISKS)
    checker, checks, report = run(client_with(api), disk_threshold_gb=2)
    disk = checks["disk_space"]
    assert disk["status"] == "fail" and checker.failure.code == "DISK_SPACE_LOW"  # /srv/docker: 1 GB free
    assert disk["details"]["machine"] == "203.0.113.7" and disk["details"]["method"] == "helper_container"
    assert [p["path"] for p in disk["details"]["paths"]] == ["/", "/srv/docker"]  # Docker's root dir, there
    assert disk["details"]["paths"][0]["free_gb"] == 50.0
    assert "on 203.0.113.7 (through a helper container)" in disk["error"]["message"]
    local_disk.assert_not_called()
    daemon = checks["docker_daemon"]
    assert daemon["message"] == f"Docker Engine 20.10.24 answers at {REMOTE} (another machine, 203.0.113.7)"
    assert daemon["details"]["daemon_machine"] == {
        "location": "remote",
        "docker_host": REMOTE,
        "machine": "203.0.113.7",
        "decided_by": "203.0.113.7 is not an address of this machine",
        "checks": "helper_container",
        "probe_image": "busybox:latest",
    }
    assert report["overall"] == "unhealthy"
    assert len(api.removed) == 1


def test_no_helper_image_skips_the_disk_check_with_the_reason(helper_api, local_disk):
    _checker, checks, report = run(client_with(helper_api(images=())), probe_image="alpine:3")
    disk = checks["disk_space"]
    assert disk["status"] == "skipped"
    assert disk["message"].startswith("skipped: the daemon runs on another machine (203.0.113.7) and the probe image")
    assert "alpine:3 is not present" in disk["details"]["reason"]
    assert checks["docker_daemon"]["details"]["daemon_machine"]["checks"] == "skipped"
    assert report["overall"] == "healthy"
    local_disk.assert_not_called()


def test_remote_daemon_down_skips_the_disk_check(helper_api, local_disk):
    down = ArgusError("DOCKER_UNAVAILABLE", "refused", {"cause": "connection_refused"})
    _checker, checks, _report = run(None, connect_error=down)
    assert checks["docker_daemon"]["details"]["daemon_machine"]["location"] == "remote"
    assert checks["disk_space"]["status"] == "skipped"
    assert checks["disk_space"]["details"]["reason"] == "its daemon is unavailable"
    local_disk.assert_not_called()


def test_a_daemon_failing_under_the_helper_fails_the_check(helper_api):
    _checker, checks, _report = run(client_with(helper_api(down=True)))
    assert checks["disk_space"]["status"] == "fail"
    assert checks["disk_space"]["error"]["code"] == "DOCKER_UNAVAILABLE"


def test_a_local_socket_with_another_host_name_is_checked_there(helper_api, local_disk):
    api = helper_api(disks=DISKS)
    opts = preflight.PreflightOptions(project="shop", docker_host="unix:///var/run/docker.sock")
    checker = preflight.PreflightChecker(
        opts, lambda timeout: client_with(api, name="docker-desktop"), EventLog("shop", None)
    )
    checks = {check["name"]: check for check in checker.run()["checks"]}
    assert checks["disk_space"]["details"]["machine"] == "docker-desktop"
    assert "reports host name 'docker-desktop'" in checks["docker_daemon"]["details"]["daemon_machine"]["decided_by"]
    local_disk.assert_not_called()


def test_podman_is_named(helper_api, podman_version):
    client = client_with(helper_api(disks=DISKS), version=podman_version)
    _checker, checks, _report = run(client, skip_disk_check=True)
    daemon = checks["docker_daemon"]
    assert daemon["message"].startswith("Podman 4.3.1 answers at")
    assert daemon["details"]["runtime"] == "podman" and daemon["details"]["platform"] == "linux/amd64/debian-12"


def test_disk_paths_exist_where_the_daemon_runs():
    params = {
        "project": "shop",
        "run_id": None,
        "disk_threshold_gb": 2,
        "disk_paths": ["/only/on/the/daemon/machine"],
        "skip_disk_check": False,
        "skip_orphan_check": False,
        "daemon_timeout": 5,
        "daemon_location": "auto",
        "probe_image": "busybox:latest",
        "docker_host": REMOTE,
    }
    assert preflight.PreflightOptions.from_params(params).disk_paths == ["/only/on/the/daemon/machine"]
    with pytest.raises(ArgusError, match="disk_paths: must be an existing absolute path"):
        preflight.PreflightOptions.from_params(dict(params, docker_host="unix:///var/run/docker.sock"))
    with pytest.raises(ArgusError, match="disk_paths"):
        preflight.PreflightOptions.from_params(dict(params, disk_paths=["relative"]))

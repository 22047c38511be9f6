"""The machine-check helper container: what it asks Docker for, what it reads, how it fails."""

from __future__ import annotations

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError
from ansible_collections.argusai.resilience.plugins.module_utils.machine.helper import HelperUnavailable, MachineHelper


def test_socket_tables_through_a_labeled_host_network_helper(helper_api):
    api = helper_api()
    tables = MachineHelper(api, "busybox:latest", "shop", "run1").socket_tables()
    assert sorted(tables) == ["tcp", "tcp6", "udp"]
    assert "0A" in tables["tcp"] and "14E9" in tables["udp"]
    (created,) = api.created
    assert created["image"] == "busybox:latest"
    assert created["entrypoint"] == ["sh", "-c"] and "/proc/net/$t" in created["command"][0]
    assert created["host_config"] == {"network_mode": "host", "mounts": []}
    labels = created["labels"]
    assert labels["argusai.managed"] == "true" and labels["argusai.project"] == "shop"
    assert labels["argusai.run-id"] == "run1" and labels["argusai.service"] == "machine-check"
    assert api.removed == [created["name"]]  # removed by name, before returning


def test_without_project_the_labels_still_name_the_collection(helper_api):
    api = helper_api()
    MachineHelper(api, "busybox:latest").socket_tables()
    assert api.created[0]["labels"]["argusai.project"] == "argusai"


def test_disk_usage_mounts_each_path_read_only(helper_api):
    api = helper_api(disks={"/": (1000, 400), "/var/lib/docker": (2000, 100)})
    usage = MachineHelper(api, "busybox:latest", "shop").disk_usage(["/", "/var/lib/docker"])
    assert usage == {"/": (1000 * 1024, 400 * 1024), "/var/lib/docker": (2000 * 1024, 100 * 1024)}
    mounts = api.created[0]["host_config"]["mounts"]
    assert mounts == [
        {"Type": "bind", "Source": "/", "Target": "/argus-host/0", "ReadOnly": True},
        {"Type": "bind", "Source": "/var/lib/docker", "Target": "/argus-host/1", "ReadOnly": True},
    ]
    assert 'for p in /argus-host/0 /argus-host/1; do echo "@@ $p"; df -Pk "$p"' in api.created[0]["command"][0]


def test_missing_image_is_never_pulled(helper_api):
    api = helper_api(images=())
    with pytest.raises(HelperUnavailable, match="not present on that daemon .*never pulled"):
        MachineHelper(api, "busybox:latest").socket_tables()
    assert api.created == [] and api.removed == []


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"exit_code": 127, "stderr": b"sh: cat: not found\n"}, "exited with 127: sh: cat: not found"),
        ({"exit_code": 3}, "exited with 3: no output"),
        ({"hang": True}, "did not finish within 60 s"),
        ({"refuse": True}, "refused the helper .*bind source path does not exist"),
        ({"fail_start": True}, "refused the helper .*runc create failed"),
        ({"tables": "@@ tcp\n"}, "printed no socket table"),
    ],
)
def test_helper_failures_are_reasons_and_the_helper_is_removed(helper_api, kwargs, reason):
    api = helper_api(**kwargs)
    with pytest.raises(HelperUnavailable, match=reason):
        MachineHelper(api, "busybox:latest").socket_tables()
    assert len(api.removed) == 1


def test_df_without_the_path_is_a_reason(helper_api):
    api = helper_api(disks={"/": (10, 5)})
    api.logs = lambda *args, **kwargs: b"@@ /argus-host/0\nFilesystem 1024-blocks Used Available Capacity Mounted on\n"
    with pytest.raises(HelperUnavailable, match="reported nothing for /"):
        MachineHelper(api, "busybox:latest").disk_usage(["/"])


def test_a_failing_daemon_is_an_error_not_a_skip(helper_api):
    api = helper_api(down=True)
    with pytest.raises(ArgusError) as caught:
        MachineHelper(api, "busybox:latest").socket_tables()
    assert caught.value.code == "DOCKER_UNAVAILABLE"
    assert len(api.removed) == 1  # tried anyway (a create that timed out may have happened)

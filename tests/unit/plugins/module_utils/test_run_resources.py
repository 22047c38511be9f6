"""Unit tests for plugins/module_utils/run_resources.py and orphans.find_run_resources (SDK mocked)."""

from __future__ import annotations

from unittest import mock

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils import labels as L
from ansible_collections.argusai.resilience.plugins.module_utils import run_resources as R
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError
from ansible_collections.argusai.resilience.plugins.module_utils.events import EventLog
from ansible_collections.argusai.resilience.plugins.module_utils.orphan_cleaner import CleanupOptions
from ansible_collections.argusai.resilience.plugins.module_utils.orphans import find_run_resources


def labels(project="p", run_id="r1", managed="true"):
    return {L.MANAGED: managed, L.PROJECT: project, L.RUN_ID: run_id, L.CREATED_AT: "2026-11-25T10:00:00.000Z"}


def container(name, run_id="r1", state="running", ports=(), **kw):
    return {
        "Id": f"id-{name}",
        "Names": [f"/{name}"],
        "Image": "img",
        "State": state,
        "Status": "Up",
        "Labels": kw.get("labels") or labels(run_id=run_id),
        "Ports": list(ports),
        "Created": 1,
    }


def client_with(containers=(), networks=(), volumes=()):
    client = mock.Mock()
    client.api.containers.return_value = list(containers)
    client.api.networks.return_value = list(networks)
    client.api.volumes.return_value = {"Volumes": list(volumes)}
    return client


def test_find_run_resources_is_exactly_the_run_containers_first():
    client = client_with(
        containers=[container("a"), container("b", run_id="r2"), container("c", labels=labels(managed="false"))],
        networks=[{"Id": "n1", "Name": "net", "Labels": labels(), "Created": None}],
        volumes=[{"Name": "v1", "Labels": labels(), "CreatedAt": None}, {"Name": "v2", "Labels": labels(run_id="r2")}],
    )
    found = find_run_resources(client, "p", "r1")
    assert [(r["type"], r["name"]) for r in found] == [("container", "a"), ("network", "net"), ("volume", "v1")]
    assert all(r["run_id"] == "r1" and r["project"] == "p" for r in found)


def test_find_run_resources_validates_before_docker():
    client = client_with()
    with pytest.raises(ArgusError):
        find_run_resources(client, "p", "Bad Run")
    client.api.containers.assert_not_called()


def test_published_ports_of_running_containers_named_like_port_requests():
    rows = [
        container(
            "web",
            ports=[
                {"PrivatePort": 8080, "PublicPort": 38080, "Type": "tcp", "IP": "0.0.0.0"},
                {"PrivatePort": 8080, "PublicPort": 38080, "Type": "tcp", "IP": "::"},
                {"PrivatePort": 53, "PublicPort": 5353, "Type": "udp", "IP": "0.0.0.0"},
                {"PrivatePort": 9000, "Type": "tcp"},
            ],
        ),
        container("dead", state="exited", ports=[{"PrivatePort": 1, "PublicPort": 2, "Type": "tcp"}]),
    ]
    assert R.published_ports(rows) == {"web-8080": 38080, "web-53-udp": 5353}
    summary = R.container_summary(rows[0])
    assert summary["name"] == "web" and summary["ports"][0] == {
        "container_port": 8080,
        "host_port": 38080,
        "host_ip": "0.0.0.0",
        "protocol": "tcp",
    }


def test_list_containers_filters_by_run_and_rechecks_labels():
    client = client_with(containers=[container("a"), container("foreign", labels=labels(project="other"))])
    assert [row["Names"][0] for row in R.list_containers(client, "p", "r1")] == ["/a"]
    assert client.api.containers.call_args.kwargs["filters"] == L.run_filter("p", "r1")


def test_list_containers_failure_is_classified():
    client = client_with()
    client.api.containers.side_effect = ConnectionRefusedError(111, "refused")
    with pytest.raises(ArgusError) as info:
        R.list_containers(client, "p", "r1")
    assert info.value.code == "DOCKER_UNAVAILABLE"


def test_run_teardown_removes_the_run_with_the_cleaners_logic():
    client = client_with(
        containers=[container("a"), container("b", run_id="r2")],
        networks=[{"Id": "n1", "Name": "net", "Labels": labels()}],
    )
    teardown = R.RunTeardown(client, CleanupOptions(project="p", run_id="r1"), EventLog("p", "r1"))
    result = teardown.clean()
    assert [r["name"] for r in result["removed"]] == ["a", "net"]
    client.api.remove_container.assert_called_once_with("id-a", v=True, force=True)
    client.api.remove_network.assert_called_once_with("n1")
    assert teardown.error_for(result) is None


def test_run_teardown_error_names_the_run():
    client = client_with(containers=[container("a")])
    client.api.remove_container.side_effect = RuntimeError("boom")
    teardown = R.RunTeardown(client, CleanupOptions(project="p", run_id="r1"), EventLog("p", "r1"))
    error = teardown.error_for(teardown.clean())
    assert error.code == "CLEANUP_FAILED" and "resources of run r1 of project p" in error.message


def test_run_teardown_needs_a_run_id():
    teardown = R.RunTeardown(client_with(), CleanupOptions(project="p"), EventLog("p", None))
    with pytest.raises(ArgusError):
        teardown.detect()

"""The containers of one run and their published ports (plugins/module_utils/cleanup/run_containers.py), SDK mocked."""

from __future__ import annotations

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils import labels as L
from ansible_collections.argusai.resilience.plugins.module_utils.cleanup.run_containers import (
    container_summary,
    list_containers,
    published_ports,
)
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError
from cleanup_fakes import client_with, run_container, run_labels


def test_published_ports_of_running_containers_named_like_port_requests():
    rows = [
        run_container(
            "web",
            ports=[
                {"PrivatePort": 8080, "PublicPort": 38080, "Type": "tcp", "IP": "0.0.0.0"},
                {"PrivatePort": 8080, "PublicPort": 38080, "Type": "tcp", "IP": "::"},
                {"PrivatePort": 53, "PublicPort": 5353, "Type": "udp", "IP": "0.0.0.0"},
                {"PrivatePort": 9000, "Type": "tcp"},
            ],
        ),
        run_container("dead", state="exited", ports=[{"PrivatePort": 1, "PublicPort": 2, "Type": "tcp"}]),
    ]
    assert published_ports(rows) == {"web-8080": 38080, "web-53-udp": 5353}
    summary = container_summary(rows[0])
    assert summary["name"] == "web" and summary["ports"][0] == {
        "container_port": 8080,
        "host_port": 38080,
        "host_ip": "0.0.0.0",
        "protocol": "tcp",
    }


def test_list_containers_filters_by_run_and_rechecks_labels():
    client = client_with(containers=[run_container("a"), run_container("foreign", labels=run_labels(project="other"))])
    assert [row["Names"][0] for row in list_containers(client, "p", "r1")] == ["/a"]
    assert client.api.containers.call_args.kwargs["filters"] == L.run_filter("p", "r1")


def test_list_containers_failure_is_classified():
    client = client_with()
    client.api.containers.side_effect = ConnectionRefusedError(111, "refused")
    with pytest.raises(ArgusError) as info:
        list_containers(client, "p", "r1")
    assert info.value.code == "DOCKER_UNAVAILABLE"

"""Unit tests for the argus_apply_ports and argus_port_map filters."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.argusai.resilience.plugins.filter.argus_apply_ports import FilterModule as Apply
from ansible_collections.argusai.resilience.plugins.filter.argus_port_map import FilterModule as PortMap

apply_ports = Apply().filters()["argus_apply_ports"]
port_map = PortMap().filters()["argus_port_map"]


def test_apply_ports_replaces_resolved_host_ports_only():
    specs = [
        {"name": "web", "ports": [{"container_port": 80, "host_port": 8080}, {"container_port": 9000}]},
        {"name": "dns", "ports": [{"container_port": 53, "host_port": 5353, "protocol": "udp"}]},
    ]
    result = apply_ports(specs, {"web-80": 8081, "dns-53-udp": 5354, "other-1": 1})
    assert result[0]["ports"] == [
        {"container_port": 80, "host_port": 8081, "protocol": "tcp"},
        {"container_port": 9000},
    ]
    assert result[1]["ports"][0]["host_port"] == 5354
    assert specs[0]["ports"][0]["host_port"] == 8080  # input untouched


@pytest.mark.parametrize("containers, ports", [("x", {}), ([{"image": "i"}], {}), ([], [])])
def test_apply_ports_rejects_bad_input(containers, ports):
    with pytest.raises(AnsibleFilterError):
        apply_ports(containers, ports)


def test_port_map_reads_what_the_guard_published():
    results = [
        {
            "name": "web",
            "container": {
                "ports": [
                    {"container_port": 80, "protocol": "tcp", "host_ip": "0.0.0.0", "host_port": 8081},
                    {"container_port": 80, "protocol": "tcp", "host_ip": "::", "host_port": 8081},
                    {"container_port": 53, "protocol": "udp", "host_ip": "0.0.0.0", "host_port": "5354"},
                    {"container_port": 9000, "protocol": "tcp", "host_ip": None, "host_port": None},
                ]
            },
        },
        {"name": "crashed", "container": None, "error": {"code": "CONTAINER_CRASH"}},
    ]
    assert port_map(results) == {"web-80": 8081, "web-53-udp": 5354}
    with pytest.raises(AnsibleFilterError):
        port_map({"name": "web"})

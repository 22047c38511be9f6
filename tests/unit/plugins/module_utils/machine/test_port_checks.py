"""Host-port checks on the daemon's machine (ports/remote.py): the socket table and the choice of checks."""

from __future__ import annotations

import errno
import socket
from unittest import mock

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils.machine.location import locate
from ansible_collections.argusai.resilience.plugins.module_utils.ports.holders import Holder, find_process_holders
from ansible_collections.argusai.resilience.plugins.module_utils.ports.probe import bind_probe
from ansible_collections.argusai.resilience.plugins.module_utils.ports.remote import SocketTable, port_checks
from ansible_collections.argusai.resilience.plugins.module_utils.ports.resolver import PortResolver

WILDCARD = ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::"))
LOOPBACK = ((socket.AF_INET, "127.0.0.1"),)
OTHER = ((socket.AF_INET, "10.0.0.9"),)
REMOTE = "tcp://203.0.113.7:2375"


@pytest.fixture
def table(proc_net):
    return SocketTable({name: proc_net[name] for name in ("tcp", "tcp6", "udp")}, "203.0.113.7")


def test_listeners_take_their_ports_on_overlapping_addresses(table):
    sockets = table
    assert sockets.probe(8080, "tcp", WILDCARD) == errno.EADDRINUSE  # 0.0.0.0:8080
    assert sockets.probe(8080, "tcp", OTHER) == errno.EADDRINUSE  # the wildcard covers every address
    assert sockets.probe(8081, "tcp", LOOPBACK) == errno.EADDRINUSE  # 127.0.0.1:8081
    assert sockets.probe(8081, "tcp", OTHER) is None  # another address is free
    assert sockets.probe(8082, "tcp", OTHER) == errno.EADDRINUSE  # :::8082 takes IPv4 too
    assert sockets.probe(8085, "tcp", ((socket.AF_INET, "10.0.0.5"),)) == errno.EADDRINUSE  # ::ffff:10.0.0.5
    assert sockets.probe(8085, "tcp", OTHER) is None


def test_time_wait_and_connections_do_not_hold_a_port(table):
    sockets = table
    assert sockets.probe(8083, "tcp", WILDCARD) is None  # TIME_WAIT only
    assert sockets.probe(40000, "tcp", WILDCARD) is None  # the local end of a connection
    assert sockets.probe(8080, "udp", WILDCARD) is None  # another protocol


def test_any_udp_socket_holds_its_port(table):
    assert table.probe(5353, "udp", WILDCARD) == errno.EADDRINUSE


def test_holders_name_the_uid_and_the_machine(table):
    found = table.holders([8080, 8081, 8082, 8083, 9999], "tcp")
    assert found == {
        8080: Holder("process", uid=0, host="203.0.113.7"),
        8081: Holder("process", uid=1000, host="203.0.113.7"),
        8082: Holder("process", uid=33, host="203.0.113.7"),
    }
    assert found[8081].to_dict() == {"type": "process", "uid": 1000, "host": "203.0.113.7"}
    assert found[8081].describe() == "a process of uid 1000 on 203.0.113.7"
    assert table.holders([5353], "udp") == {5353: Holder("process", uid=104, host="203.0.113.7")}


def test_a_local_daemon_is_probed_here():
    client = mock.Mock()
    checks = port_checks(client, locate("unix:///var/run/docker.sock"), "busybox:latest")
    assert checks.probe is bind_probe and checks.holder_lookup is find_process_holders
    assert checks.report["checks"] == "local" and checks.warning is None
    client.api.create_container.assert_not_called()


def test_a_remote_daemon_is_probed_through_the_helper(helper_api):
    client = mock.Mock(api=helper_api())
    checks = port_checks(client, locate(REMOTE), "busybox:latest", "shop", "r1")
    assert checks.report == {
        "location": "remote",
        "docker_host": REMOTE,
        "machine": "203.0.113.7",
        "decided_by": "203.0.113.7 is not an address of this machine",
        "checks": "helper_container",
        "probe_image": "busybox:latest",
    }
    assert checks.warning is None
    assert checks.probe(8080, "tcp", WILDCARD) == errno.EADDRINUSE
    assert len(client.api.created) == 1 and client.api.removed  # one helper per resolution


def test_no_helper_means_skipped_with_the_reason(helper_api):
    client = mock.Mock(api=helper_api(images=()))
    checks = port_checks(client, locate(REMOTE), "busybox:latest")
    assert checks.report["checks"] == "skipped"
    assert "busybox:latest is not present" in checks.report["reason"]
    assert checks.warning.startswith("host ports on 203.0.113.7 (the daemon's machine) were not probed")
    assert checks.probe(8080, "tcp", WILDCARD) is None and checks.holder_lookup([8080], "tcp") == {}


def test_a_resolver_on_the_remote_table_reassigns_and_names_the_holder(helper_api):
    checks = port_checks(mock.Mock(api=helper_api()), locate(REMOTE), "busybox:latest")
    resolver = PortResolver(lease=None, probe=checks.probe, holder_lookup=checks.holder_lookup)
    mapping = resolver.resolve([{"name": "api", "port": 8080}]).mappings[0]
    # 8081 (127.0.0.1) and 8082 (::) overlap the wildcard; 8083 has only a TIME_WAIT connection
    assert mapping.actual_port == 8083 and mapping.reassigned
    assert mapping.occupied_by == Holder("process", uid=0, host="203.0.113.7")

"""Where the daemon runs: the address rules, the host-name confirmation, the override."""

from __future__ import annotations

import ipaddress
from unittest import mock

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils.machine import location
from ansible_collections.argusai.resilience.plugins.module_utils.machine.location import (
    is_own_address,
    locate,
    locate_daemon,
)


@pytest.fixture(autouse=True)
def no_docker_env(monkeypatch):
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)


@pytest.mark.parametrize(
    "url",
    [
        "unix:///var/run/docker.sock",
        "npipe:////./pipe/docker_engine",
        "tcp://127.0.0.1:2375",
        "tcp://127.0.0.53:2375",
        "tcp://localhost:2375",
        "tcp://[::1]:2375",
        "tcp://:2375",
        "https://127.0.0.1:2376",
        "ssh://root@localhost",
    ],
)
def test_local_addresses(url):
    found = locate(url)
    assert not found.remote and found.machine == "this machine", found
    assert found.to_dict()["location"] == "local"


@pytest.mark.parametrize(
    ("url", "machine"),
    [
        ("tcp://203.0.113.7:2375", "203.0.113.7"),
        ("tcp://docker:2375", "docker"),  # a CI docker-in-docker service: never looked up
        ("ssh://deploy@box.example.com:2222", "box.example.com"),
        ("tcp://[2001:db8::7]:2375", "2001:db8::7"),
        ("fd://", "fd://"),
    ],
)
def test_remote_addresses(url, machine):
    found = locate(url)
    assert found.remote and found.machine == machine, found
    assert found.to_dict() == {
        "location": "remote",
        "docker_host": url,
        "machine": machine,
        "decided_by": found.decided_by,
    }


def test_an_address_of_this_machine_is_local():
    with mock.patch.object(location, "is_own_address", return_value=True) as own:
        found = locate("tcp://198.51.100.9:2375")
    assert not found.remote and "an address of this machine" in found.decided_by
    own.assert_called_once_with(ipaddress.ip_address("198.51.100.9"))


def test_is_own_address_asks_the_routing_table():
    assert is_own_address(ipaddress.ip_address("127.0.0.1"))
    assert not is_own_address(ipaddress.ip_address("203.0.113.7"))  # TEST-NET-3: routed away, or no route


def test_docker_host_env_and_default_sockets(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "tcp://203.0.113.7:2375")
    assert locate(None).remote
    monkeypatch.delenv("DOCKER_HOST")
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    found = locate(None)
    assert not found.remote
    assert found.docker_host == "unix:///var/run/docker.sock or unix:///run/user/1000/docker.sock"


def test_override_wins_and_is_not_revised():
    forced_local = locate("tcp://203.0.113.7:2375", "local")
    assert not forced_local.remote and forced_local.forced
    assert forced_local.decided_by == "daemon_location is local"
    forced_remote = locate("unix:///var/run/docker.sock", "remote")
    assert forced_remote.remote and forced_remote.machine == "the daemon's machine"
    assert locate("tcp://box:2375", "remote").machine == "box"
    assert forced_local.confirm("elsewhere", "here") is forced_local


def test_confirm_moves_a_local_socket_with_another_host_name():
    local = locate("unix:///var/run/docker.sock")
    assert local.confirm("vm", "vm") is local
    assert local.confirm("VM.example.com", "vm") is local  # the domain does not count
    assert local.confirm(None, "vm") is local
    moved = local.confirm("docker-desktop", "ci-runner-7")
    assert moved.remote and moved.machine == "docker-desktop"
    assert "reports host name 'docker-desktop'" in moved.decided_by and "'ci-runner-7'" in moved.decided_by


def test_locate_daemon_asks_info_only_when_it_can_change_the_answer():
    client = mock.Mock()
    client.info.return_value = {"Name": "elsewhere"}
    assert locate_daemon(client, "tcp://203.0.113.7:2375").remote
    client.info.assert_not_called()
    assert locate_daemon(client, "unix:///var/run/docker.sock").machine == "elsewhere"
    client.info.assert_called_once_with()

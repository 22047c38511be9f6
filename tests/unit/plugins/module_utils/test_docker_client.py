"""Client factory: candidate hosts and per-attempt root causes (real sockets, no daemon needed)."""

from __future__ import annotations

import socket

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils import docker_client
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError


def test_candidate_hosts_order(monkeypatch):
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    assert docker_client.candidate_hosts("tcp://127.0.0.1:2375") == ["tcp://127.0.0.1:2375"]
    assert docker_client.candidate_hosts() == [docker_client.DEFAULT_SOCKET, "unix:///run/user/1000/docker.sock"]
    monkeypatch.setenv("DOCKER_HOST", "unix:///x.sock")
    assert docker_client.candidate_hosts() == ["unix:///x.sock"]


def test_missing_socket_is_reported_as_such(tmp_path):
    with pytest.raises(ArgusError) as info:
        docker_client.connect(f"unix://{tmp_path}/missing.sock", connect_timeout=1)
    assert info.value.code == "DOCKER_UNAVAILABLE"
    assert info.value.details["attempts"][0]["cause"] == "socket_missing"


def test_closed_port_is_connection_refused():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: connections are refused
        with pytest.raises(ArgusError) as info:
            docker_client.connect(f"tcp://127.0.0.1:{port}", connect_timeout=1)
    assert info.value.details["cause"] == "connection_refused"


def test_silent_listener_times_out():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)  # accepts the TCP handshake, never answers HTTP
        with pytest.raises(ArgusError) as info:
            docker_client.connect(f"tcp://127.0.0.1:{sock.getsockname()[1]}", connect_timeout=0.3)
    assert info.value.code == "DOCKER_UNAVAILABLE"
    assert info.value.details["cause"] == "timeout"


def test_malformed_host_is_invalid_input():
    with pytest.raises(ArgusError) as info:
        docker_client.connect("tcp://127.0.0.1", connect_timeout=1)
    assert info.value.code == "INVALID_INPUT"

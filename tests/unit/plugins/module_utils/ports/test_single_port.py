"""The one-port helpers the container guard calls, on loopback sockets and a fake Docker client."""

from __future__ import annotations

import socket
from unittest import mock

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError
from ansible_collections.argusai.resilience.plugins.module_utils.events import EventLog
from ansible_collections.argusai.resilience.plugins.module_utils.ports.single_port import (
    is_port_allocation_error,
    next_free_port,
    port_holder,
    reresolve_after_allocation_error,
)


def test_next_free_port(fake_client):
    client = fake_client()
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        port = holder.getsockname()[1]
        got = next_free_port(port, exclude={port + 1}, client=client)
        assert got >= port + 2
        assert next_free_port(port, client=client) not in (port, got)  # the first one is leased
        assert f"argusai-lease-tcp-{got}" in client.daemon.volume_store
    with pytest.raises(ArgusError) as info:
        next_free_port(0)
    assert info.value.code == "INVALID_INPUT"


def test_reresolve_after_allocation_error_never_returns_the_port(fake_client, container):
    events = EventLog("shop", "r1")
    client = fake_client([container("other", "feedfacecafe0000", (30000, "tcp"))])
    mapping = reresolve_after_allocation_error("api", 30000, client=client, events=events, project="shop")
    assert mapping["original_port"] == 30000 and mapping["actual_port"] > 30000
    assert mapping["reassigned"] is True and mapping["service"] == "api"
    assert mapping["occupied_by"] == {"type": "container", "container": "other", "container_id": "feedfacecafe"}
    assert [e["type"] for e in events.events] == ["port_conflict", "port_reassigned"]
    assert set(mapping) >= {"service", "original_port", "actual_port", "reassigned", "occupied_by"}
    lease = client.daemon.volume_store[f"argusai-lease-tcp-{mapping['actual_port']}"]["Labels"]
    assert lease["argusai.project"] == "shop" and lease["argusai.service"] == "api"
    # exclusive: a service of the same project re-resolved at the same moment gets another port
    again = reresolve_after_allocation_error("web", 30000, client=client, project="shop")
    assert again["actual_port"] not in (30000, mapping["actual_port"])


def test_reresolve_at_65535_is_exhaustion():
    with pytest.raises(ArgusError) as info:
        reresolve_after_allocation_error("api", 65535)
    assert info.value.code == "PORT_EXHAUSTION"


def test_is_port_allocation_error():
    class FakeAPIError(Exception):
        def __init__(self, explanation):
            super().__init__(explanation)
            self.explanation = explanation
            self.response = mock.Mock(status_code=500)

    assert is_port_allocation_error(
        FakeAPIError(
            "driver failed programming external connectivity: Bind for 0.0.0.0:8080 failed: port is already allocated"
        )
    )
    assert not is_port_allocation_error(FakeAPIError("something else"))


def test_port_holder_is_read_only(fake_client, container):
    import os

    with socket.socket() as holder:
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert port_holder(port)["pid"] == os.getpid()
    assert port_holder(port) is None
    client = fake_client([container("web", "0123456789abcdef", (port, "tcp"))])
    assert port_holder(port, client=client)["container"] == "web"
    assert port_holder(port, "udp", client=client) is None
    leasing = fake_client()
    next_free_port(port, client=leasing)  # leases it: port_holder does not care
    assert port_holder(port, client=leasing) is None
    assert f"argusai-lease-tcp-{port}" in leasing.daemon.volume_store

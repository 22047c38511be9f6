"""The bind probe on loopback sockets, bind address validation and the candidate ports."""

from __future__ import annotations

import errno
import socket

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils.ports import probe

V4 = ((socket.AF_INET, "127.0.0.1"),)


def test_bind_address_normalised():
    assert probe.validate_bind_address("localhost") == "127.0.0.1"
    assert probe.validate_bind_address("[::1]") == "::1"
    assert probe.validate_bind_address(None) == "0.0.0.0"


def test_candidates_skip_privileged_and_stop_at_65535():
    assert list(probe.candidates(80, 4)) == [80, 1024, 1025, 1026]
    assert list(probe.candidates(8080, 3)) == [8080, 8081, 8082]
    assert list(probe.candidates(65534, 100)) == [65534, 65535]
    assert list(probe.candidates(65535, 100)) == [65535]
    assert list(probe.candidates(1023, 2)) == [1023, 1024]
    assert list(probe.candidates(8080, 1)) == [8080]


def test_bind_probe_sees_listening_tcp():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert probe.bind_probe(port, "tcp", V4) == errno.EADDRINUSE
    assert probe.bind_probe(port, "tcp", V4) is None


def test_bind_probe_sees_reuseaddr_udp_holder():
    """With SO_REUSEADDR on the probe, this UDP port would look free."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
        assert probe.bind_probe(port, "udp", V4) == errno.EADDRINUSE
        assert probe.bind_probe(port, "tcp", V4) is None  # protocols are separate spaces


def test_bind_probe_wildcard_sees_loopback_holder():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert probe.bind_probe(port, "tcp", probe.probe_targets("0.0.0.0")) == errno.EADDRINUSE


@pytest.mark.skipif(not probe.host_has_ipv6(), reason="host without IPv6")
def test_bind_probe_wildcard_sees_ipv6_only_holder():
    with socket.socket(socket.AF_INET6) as holder:
        holder.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        holder.bind(("::1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert probe.bind_probe(port, "tcp", probe.probe_targets("0.0.0.0")) == errno.EADDRINUSE
        assert probe.bind_probe(port, "tcp", probe.probe_targets("127.0.0.1")) is None


def test_probe_targets():
    assert probe.probe_targets("127.0.0.1") == ((socket.AF_INET, "127.0.0.1"),)
    assert probe.probe_targets("::1") == ((socket.AF_INET6, "::1"),)
    assert probe.probe_targets("0.0.0.0")[0] == (socket.AF_INET, "0.0.0.0")


def _time_wait_port() -> int:
    """A loopback port left with only a server-side TIME_WAIT connection (the server closed first).

    The server sets SO_REUSEADDR, as Docker's port proxy (Go) does; Linux lets a later
    SO_REUSEADDR bind through only such TIME_WAIT leftovers.
    """
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _peer = server.accept()
            accepted.close()  # the server side closes first: TIME_WAIT stays on the server's port
            client.recv(1)
    return port


def test_bind_probe_treats_time_wait_leftovers_as_free():
    port = _time_wait_port()
    with socket.socket() as plain, pytest.raises(OSError):  # the plain bind really is refused ...
        plain.bind(("127.0.0.1", port))
    assert probe.bind_probe(port, "tcp", [(socket.AF_INET, "127.0.0.1")]) is None  # ... the probe sees it free


def test_bind_probe_still_sees_a_listener_with_reuseaddr():
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        assert probe.bind_probe(port, "tcp", [(socket.AF_INET, "127.0.0.1")]) == errno.EADDRINUSE

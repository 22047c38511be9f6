"""Who holds a port: psutil and the /proc fallback against this process's own loopback sockets."""

from __future__ import annotations

import socket

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils.ports import holders


@pytest.mark.parametrize("use_psutil", [True, False])
def test_find_process_holder_names_this_process(use_psutil, monkeypatch):
    import os

    if not use_psutil:
        monkeypatch.setattr(holders, "HAS_PSUTIL", False)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        found = holders.find_process_holder(port, "tcp")
    assert found.type == "process" and found.pid == os.getpid() and found.process


def test_find_process_holder_udp_via_proc(monkeypatch):
    import os

    monkeypatch.setattr(holders, "HAS_PSUTIL", False)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
        assert holders.find_process_holder(port, "udp").pid == os.getpid()


def test_find_process_holders_batches_many_ports(monkeypatch):
    import os

    calls = []
    real = holders.psutil.net_connections
    monkeypatch.setattr(holders.psutil, "net_connections", lambda kind: calls.append(kind) or real(kind=kind))
    held = []
    try:
        for _round in range(5):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sock.listen()
            held.append(sock)
        wanted = [sock.getsockname()[1] for sock in held]
        found = holders.find_process_holders(wanted, "tcp")
    finally:
        for sock in held:
            sock.close()
    assert sorted(found) == sorted(wanted) and all(h.pid == os.getpid() for h in found.values())
    assert calls == ["tcp"]


def test_time_wait_reported(monkeypatch):
    monkeypatch.setattr(holders, "HAS_PSUTIL", False)
    monkeypatch.setattr(holders, "_holders_from_proc", lambda wanted, protocol: {})
    rows = [holders.ProcSocket(8080, 40000, "06", "0"), holders.ProcSocket(8081, 0, "0A", "123")]
    monkeypatch.setattr(holders, "_proc_sockets", lambda protocol, proc_net="/proc/net": iter(rows))
    assert holders.find_process_holders([8080, 9999], "tcp") == {8080: holders.Holder("time_wait")}


def test_find_process_holder_none_for_free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert holders.find_process_holder(port, "tcp") is None

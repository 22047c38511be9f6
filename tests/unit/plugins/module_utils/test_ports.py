"""PortResolver with a fake probe and a mocked Docker client, plus the bind probe on loopback sockets.

The integration tests (tests/integration/test_port_resolve.py) run the same paths against the real
engine and through ansible-playbook.
"""

from __future__ import annotations

import dataclasses
import errno
import socket
from unittest import mock

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils import ports
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError
from ansible_collections.argusai.resilience.plugins.module_utils.events import EventLog

V4 = ((socket.AF_INET, "127.0.0.1"),)


class FakeProbe:
    """Ports in ``held`` refuse the bind; records every probed port."""

    def __init__(self, held=(), err=errno.EADDRINUSE):
        self.held = set(held)
        self.err = err
        self.probed: list[int] = []

    def __call__(self, port, protocol, targets):
        self.probed.append(port)
        return self.err if port in self.held else None


def fake_client(containers=()):
    client = mock.Mock()
    client.api.containers.return_value = list(containers)
    return client


def container(name, cid, *bindings):
    return {
        "Id": cid,
        "Names": [f"/{name}"],
        "Ports": [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": p, "Type": t} for p, t in bindings]
        + [{"PrivatePort": 9000, "Type": "tcp"}],  # exposed, not published
    }


@pytest.fixture
def store(tmp_path):
    clock = {"now": 1000.0}
    s = ports.ReservationStore(str(tmp_path / "state"), lease_seconds=60, clock=lambda: clock["now"])
    s.clock_state = clock
    return s


def resolver(probe=None, holder=None, **kwargs):
    kwargs.setdefault("reservations", None)
    return ports.PortResolver(
        probe=probe or FakeProbe(),
        holder_lookup=holder
        or (lambda held, proto: {p: ports.Holder("process", pid=42, process="nginx") for p in held}),
        **kwargs,
    )


# -- validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [0, 65536, -1, "abc", "", None, True, 80.5, "80.5", [80]])
def test_invalid_ports_are_refused(bad):
    with pytest.raises(ArgusError) as info:
        ports.validate_requests([{"name": "api", "port": bad}])
    assert info.value.code == "INVALID_INPUT"
    assert info.value.details["field"] == "ports[0].port"


@pytest.mark.parametrize("good,expected", [(1, 1), (65535, 65535), ("8080", 8080), (" 8080 ", 8080), (8080.0, 8080)])
def test_valid_ports(good, expected):
    assert ports.validate_requests([{"name": "api", "port": good}])[0].port == expected


@pytest.mark.parametrize("bad", ["sctp", "", 6, "tcp6"])
def test_unknown_protocol_refused(bad):
    with pytest.raises(ArgusError) as info:
        ports.validate_requests([{"name": "api", "port": 8080, "protocol": bad}])
    assert info.value.code == "INVALID_INPUT"
    assert info.value.details["field"] == "ports[0].protocol"


def test_protocol_case_and_default():
    entries = ports.validate_requests([{"name": "a", "port": 1, "protocol": "UDP"}, {"name": "b", "port": 2}])
    assert [e.protocol for e in entries] == ["udp", "tcp"]


@pytest.mark.parametrize(
    "entries,field",
    [
        ([{"name": "a", "port": 1}, {"name": "a", "port": 2}], "ports[1].name"),
        ([{"port": 1}], "ports[0].name"),
        ([{"name": "a"}], "ports[0].port"),
        ([{"name": "a", "port": 1, "host": "x"}], "ports[0]"),
        (["a"], "ports[0]"),
        ("a", "ports"),
    ],
)
def test_malformed_entries(entries, field):
    with pytest.raises(ArgusError) as info:
        ports.validate_requests(entries)
    assert info.value.code == "INVALID_INPUT" and info.value.details["field"] == field


@pytest.mark.parametrize("bad", [0, -1, 65536, True, "5"])
def test_max_attempts_validated(bad):
    with pytest.raises(ArgusError) as info:
        ports.PortResolver(max_attempts=bad, reservations=None)
    assert info.value.code == "INVALID_INPUT"


@pytest.mark.parametrize("bad", ["example.com", "300.1.1.1", 12])
def test_bind_address_validated(bad):
    with pytest.raises(ArgusError) as info:
        ports.PortResolver(bind_address=bad, reservations=None)
    assert info.value.details["field"] == "bind_address"


def test_bind_address_normalised():
    assert ports.validate_bind_address("localhost") == "127.0.0.1"
    assert ports.validate_bind_address("[::1]") == "::1"
    assert ports.validate_bind_address(None) == "0.0.0.0"


def test_invalid_input_refused_before_docker_or_probe():
    probe, client = FakeProbe(), fake_client()
    with pytest.raises(ArgusError):
        resolver(probe, client=client).resolve([{"name": "a", "port": 8080}, {"name": "b", "port": 0}])
    with pytest.raises(ArgusError):
        resolver(probe, client=client).resolve([{"name": "a", "port": 8080}], strategy="maybe")
    assert probe.probed == [] and not client.api.containers.called


# -- candidates ------------------------------------------------------------------------------------


def test_candidates_skip_privileged_and_stop_at_65535():
    assert list(ports.candidates(80, 4)) == [80, 1024, 1025, 1026]
    assert list(ports.candidates(8080, 3)) == [8080, 8081, 8082]
    assert list(ports.candidates(65534, 100)) == [65534, 65535]
    assert list(ports.candidates(65535, 100)) == [65535]
    assert list(ports.candidates(1023, 2)) == [1023, 1024]
    assert list(ports.candidates(8080, 1)) == [8080]


# -- resolution ------------------------------------------------------------------------------------


def test_free_port_kept():
    result = resolver().resolve([{"name": "api", "port": 8080}])
    assert result.ports == {"api": 8080}
    assert result.mappings[0].to_dict() == {
        "service": "api",
        "original_port": 8080,
        "actual_port": 8080,
        "reassigned": False,
        "occupied_by": None,
        "protocol": "tcp",
    }


def test_held_port_reassigned_with_holder_and_events():
    events = EventLog("shop", "r1")
    probe = FakeProbe(held={8080, 8081})
    result = resolver(probe, events=events).resolve([{"name": "api", "port": 8080}])
    mapping = result.mappings[0]
    assert (mapping.actual_port, mapping.reassigned) == (8082, True)
    assert mapping.occupied_by.to_dict() == {"type": "process", "pid": 42, "process": "nginx"}
    assert probe.probed == [8080, 8081, 8082]
    assert result.probes == 3
    assert [e["type"] for e in events.events] == ["port_conflict", "port_reassigned"]
    assert events.events[1]["data"]["actual_port"] == 8082
    assert events.events[0]["data"]["occupied_by"]["pid"] == 42


def test_holder_unknown_when_lookup_finds_nothing():
    result = resolver(FakeProbe(held={8080}), holder=lambda held, proto: {}).resolve([{"name": "a", "port": 8080}])
    assert result.mappings[0].occupied_by == ports.Holder("unknown")


def test_results_are_immutable():
    result = resolver().resolve([{"name": "api", "port": 8080}])
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.mappings[0].actual_port = 1
    assert isinstance(result.mappings, tuple)
    result.ports["api"] = 1
    assert result.ports["api"] == 8080


def test_same_port_twice_gets_distinct_ports():
    result = resolver().resolve([{"name": "a", "port": 8080}, {"name": "b", "port": 8080}, {"name": "c", "port": 8081}])
    assert result.ports == {"a": 8080, "b": 8081, "c": 8082}
    assert result.mappings[1].occupied_by.to_dict() == {"type": "request", "service": "a"}


def test_same_port_different_protocols_do_not_clash():
    result = resolver().resolve([{"name": "a", "port": 8080}, {"name": "b", "port": 8080, "protocol": "udp"}])
    assert result.ports == {"a": 8080, "b": 8080}


def test_container_published_port_is_taken_without_probe():
    client = fake_client([container("web-1", "abcdef1234567890", (8080, "tcp"), (9090, "udp"))])
    probe = FakeProbe()
    result = resolver(probe, client=client).resolve(
        [{"name": "a", "port": 8080}, {"name": "b", "port": 9090}, {"name": "c", "port": 9090, "protocol": "udp"}]
    )
    assert result.ports == {"a": 8081, "b": 9090, "c": 9091}
    assert result.mappings[0].occupied_by.to_dict() == {
        "type": "container",
        "container": "web-1",
        "container_id": "abcdef123456",
    }
    assert 8080 not in probe.probed  # the daemon's word is enough
    assert client.api.containers.call_count == 1  # read once per resolution


def test_docker_failure_is_classified():
    client = mock.Mock()
    client.api.containers.side_effect = ConnectionRefusedError(errno.ECONNREFUSED, "refused")
    with pytest.raises(ArgusError) as info:
        resolver(client=client).resolve([{"name": "a", "port": 8080}])
    assert info.value.code == "DOCKER_UNAVAILABLE"


def test_strategy_fail_names_pid_and_process():
    events = EventLog("shop", None)
    with pytest.raises(ArgusError) as info:
        resolver(FakeProbe(held={8080}), events=events).resolve(
            [{"name": "ok", "port": 7000}, {"name": "api", "port": 8080}], strategy="fail"
        )
    error = info.value
    assert error.code == "PORT_CONFLICT"
    assert "8080" in error.message and "nginx" in error.message and "42" in error.message
    assert error.details["pid"] == 42 and error.details["process"] == "nginx"
    assert error.details["port"] == 8080 and error.details["service"] == "api"
    assert [e["type"] for e in events.events] == ["port_conflict"]


def test_strategy_fail_reports_every_conflict():
    client = fake_client([container("db", "1234567890abcdef", (5432, "tcp"))])
    with pytest.raises(ArgusError) as info:
        resolver(FakeProbe(held={8080}), client=client).resolve(
            [{"name": "api", "port": 8080}, {"name": "db", "port": 5432}], strategy="fail"
        )
    conflicts = info.value.details["conflicts"]
    assert [c["port"] for c in conflicts] == [8080, 5432]
    assert conflicts[1]["occupied_by"]["container"] == "db"


def test_strategy_fail_same_port_twice_conflicts():
    with pytest.raises(ArgusError) as info:
        resolver().resolve([{"name": "a", "port": 8080}, {"name": "b", "port": 8080}], strategy="fail")
    assert info.value.details["occupied_by"] == {"type": "request", "service": "a"}


def test_exhaustion():
    with pytest.raises(ArgusError) as info:
        resolver(FakeProbe(held=range(8080, 8085)), max_attempts=5).resolve([{"name": "api", "port": 8080}])
    error = info.value
    assert error.code == "PORT_EXHAUSTION"
    assert error.details["range"] == [8080, 8084]
    assert [t["port"] for t in error.details["taken"]] == [8080, 8081, 8082, 8083, 8084]
    assert error.details["max_attempts"] == 5


def test_exhaustion_at_top_of_range():
    with pytest.raises(ArgusError) as info:
        resolver(FakeProbe(held={65534, 65535})).resolve([{"name": "api", "port": 65534}])
    assert info.value.code == "PORT_EXHAUSTION" and info.value.details["range"] == [65534, 65535]


def test_eacces_counts_as_taken():
    result = resolver(FakeProbe(held={80}, err=errno.EACCES)).resolve([{"name": "web", "port": 80}])
    assert result.ports == {"web": 1024}


def test_exclude():
    assert resolver().resolve([{"name": "a", "port": 8080}], exclude={8080}).ports == {"a": 8081}


# -- leases ----------------------------------------------------------------------------------------


def test_lease_blocks_other_resolutions_until_it_expires(store):
    first = resolver(reservations=store).resolve([{"name": "a", "port": 8080}])
    second = resolver(reservations=store).resolve([{"name": "b", "port": 8080}])
    assert (first.ports["a"], second.ports["b"]) == (8080, 8081)
    assert second.mappings[0].occupied_by.type == "reservation"
    assert second.mappings[0].occupied_by.service == "a"
    store.clock_state["now"] += 61
    third = resolver(reservations=store).resolve([{"name": "c", "port": 8080}])
    assert third.ports["c"] == 8080


def test_lease_of_same_owner_does_not_block(store):
    resolver(reservations=store, owner_prefix="shop").resolve([{"name": "api", "port": 8080}])
    again = resolver(reservations=store, owner_prefix="shop").resolve([{"name": "api", "port": 8080}])
    other = resolver(reservations=store, owner_prefix="shop").resolve([{"name": "web", "port": 8080}])
    assert again.ports == {"api": 8080} and other.ports == {"web": 8081}


def test_no_lease_written_in_check_mode_or_on_failure(store):
    resolver(reservations=store, lease=False).resolve([{"name": "a", "port": 8080}])
    with pytest.raises(ArgusError):
        resolver(FakeProbe(held={9000}), reservations=store).resolve(
            [{"name": "a", "port": 8080}, {"name": "b", "port": 9000}], strategy="fail"
        )
    assert resolver(reservations=store).resolve([{"name": "c", "port": 8080}]).ports == {"c": 8080}


def test_corrupt_lease_file_counts_as_empty(store):
    import os

    os.makedirs(store.directory, exist_ok=True)
    with open(store.data_path, "w") as handle:
        handle.write("{not json")
    assert resolver(reservations=store).resolve([{"name": "a", "port": 8080}]).ports == {"a": 8080}
    with open(store.data_path) as handle:
        assert "tcp/8080" in handle.read()


# -- the real bind probe on loopback -------------------------------------------------------------


def test_bind_probe_sees_listening_tcp():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert ports.bind_probe(port, "tcp", V4) == errno.EADDRINUSE
    assert ports.bind_probe(port, "tcp", V4) is None


def test_bind_probe_sees_reuseaddr_udp_holder():
    """With SO_REUSEADDR on the probe, this UDP port would look free."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
        assert ports.bind_probe(port, "udp", V4) == errno.EADDRINUSE
        assert ports.bind_probe(port, "tcp", V4) is None  # protocols are separate spaces


def test_bind_probe_wildcard_sees_loopback_holder():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert ports.bind_probe(port, "tcp", ports.probe_targets("0.0.0.0")) == errno.EADDRINUSE


@pytest.mark.skipif(not ports.host_has_ipv6(), reason="host without IPv6")
def test_bind_probe_wildcard_sees_ipv6_only_holder():
    with socket.socket(socket.AF_INET6) as holder:
        holder.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        holder.bind(("::1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert ports.bind_probe(port, "tcp", ports.probe_targets("0.0.0.0")) == errno.EADDRINUSE
        assert ports.bind_probe(port, "tcp", ports.probe_targets("127.0.0.1")) is None


def test_probe_targets():
    assert ports.probe_targets("127.0.0.1") == ((socket.AF_INET, "127.0.0.1"),)
    assert ports.probe_targets("::1") == ((socket.AF_INET6, "::1"),)
    assert ports.probe_targets("0.0.0.0")[0] == (socket.AF_INET, "0.0.0.0")


# -- who holds a port ------------------------------------------------------------------------------


@pytest.mark.parametrize("use_psutil", [True, False])
def test_find_process_holder_names_this_process(use_psutil, monkeypatch):
    import os

    if not use_psutil:
        monkeypatch.setattr(ports, "HAS_PSUTIL", False)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        found = ports.find_process_holder(port, "tcp")
    assert found.type == "process" and found.pid == os.getpid() and found.process


def test_find_process_holder_udp_via_proc(monkeypatch):
    import os

    monkeypatch.setattr(ports, "HAS_PSUTIL", False)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
        assert ports.find_process_holder(port, "udp").pid == os.getpid()


def test_find_process_holders_batches_many_ports(monkeypatch):
    import os

    calls = []
    real = ports.psutil.net_connections
    monkeypatch.setattr(ports.psutil, "net_connections", lambda kind: calls.append(kind) or real(kind=kind))
    held = []
    try:
        for _round in range(5):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sock.listen()
            held.append(sock)
        wanted = [sock.getsockname()[1] for sock in held]
        found = ports.find_process_holders(wanted, "tcp")
    finally:
        for sock in held:
            sock.close()
    assert sorted(found) == sorted(wanted) and all(h.pid == os.getpid() for h in found.values())
    assert calls == ["tcp"]


def test_time_wait_reported(monkeypatch):
    monkeypatch.setattr(ports, "HAS_PSUTIL", False)
    monkeypatch.setattr(ports, "_holders_from_proc", lambda wanted, protocol: {})
    rows = [(8080, 40000, "06", "0"), (8081, 0, "0A", "123")]
    monkeypatch.setattr(ports, "_proc_sockets", lambda protocol, proc_net="/proc/net": iter(rows))
    assert ports.find_process_holders([8080, 9999], "tcp") == {8080: ports.Holder("time_wait")}


def test_find_process_holder_none_for_free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert ports.find_process_holder(port, "tcp") is None


# -- helpers for the container guard ---------------------------------------------------------------


def test_next_free_port(tmp_path, monkeypatch):
    monkeypatch.setenv(ports.STATE_DIR_ENV, str(tmp_path))
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        port = holder.getsockname()[1]
        got = ports.next_free_port(port, exclude={port + 1})
        assert got >= port + 2
        assert ports.next_free_port(port) not in (port, got)  # the first one is leased
    with pytest.raises(ArgusError) as info:
        ports.next_free_port(0)
    assert info.value.code == "INVALID_INPUT"


def test_reresolve_after_allocation_error_never_returns_the_port(tmp_path, monkeypatch):
    monkeypatch.setenv(ports.STATE_DIR_ENV, str(tmp_path))
    events = EventLog("shop", "r1")
    client = fake_client([container("other", "feedfacecafe0000", (30000, "tcp"))])
    mapping = ports.reresolve_after_allocation_error("api", 30000, client=client, events=events, project="shop")
    assert mapping["original_port"] == 30000 and mapping["actual_port"] > 30000
    assert mapping["reassigned"] is True and mapping["service"] == "api"
    assert mapping["occupied_by"] == {"type": "container", "container": "other", "container_id": "feedfacecafe"}
    assert [e["type"] for e in events.events] == ["port_conflict", "port_reassigned"]
    assert set(mapping) >= {"service", "original_port", "actual_port", "reassigned", "occupied_by"}


def test_reresolve_at_65535_is_exhaustion():
    with pytest.raises(ArgusError) as info:
        ports.reresolve_after_allocation_error("api", 65535)
    assert info.value.code == "PORT_EXHAUSTION"


def test_is_port_allocation_error():
    class FakeAPIError(Exception):
        def __init__(self, explanation):
            super().__init__(explanation)
            self.explanation = explanation
            self.response = mock.Mock(status_code=500)

    assert ports.is_port_allocation_error(
        FakeAPIError(
            "driver failed programming external connectivity: Bind for 0.0.0.0:8080 failed: port is already allocated"
        )
    )
    assert not ports.is_port_allocation_error(FakeAPIError("something else"))


def test_unusable_lease_dir_degrades_with_a_warning(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)  # a symlinked state dir is refused (it could point anywhere)
    result = resolver(reservations=ports.ReservationStore(str(link))).resolve([{"name": "a", "port": 8080}])
    assert result.ports == {"a": 8080}
    assert len(result.warnings) == 1 and "leases disabled" in result.warnings[0]
    assert not (real / "reservations.json").exists()


def test_lease_save_failure_is_a_warning(store, monkeypatch):
    def broken(entries):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "_save", broken)
    result = resolver(reservations=store).resolve([{"name": "a", "port": 8080}])
    assert result.ports == {"a": 8080}
    assert "No space left" in result.warnings[0]


def test_failure_inside_the_session_still_releases_the_lock(store):
    with pytest.raises(ArgusError):
        resolver(FakeProbe(held={8080}), reservations=store, max_attempts=1).resolve([{"name": "a", "port": 8080}])
    assert resolver(reservations=store).resolve([{"name": "b", "port": 9000}]).ports == {"b": 9000}


def test_port_holder_is_read_only(tmp_path, monkeypatch):
    import os

    monkeypatch.setenv(ports.STATE_DIR_ENV, str(tmp_path))
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert ports.port_holder(port)["pid"] == os.getpid()
    assert ports.port_holder(port) is None
    client = fake_client([container("web", "0123456789abcdef", (port, "tcp"))])
    assert ports.port_holder(port, client=client)["container"] == "web"
    assert ports.port_holder(port, "udp", client=client) is None
    ports.next_free_port(port)  # leases it: port_holder does not care
    assert ports.port_holder(port) is None
    assert f"tcp/{port}" in (tmp_path / "reservations.json").read_text()


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
    assert ports.bind_probe(port, "tcp", [(socket.AF_INET, "127.0.0.1")]) is None  # ... the probe sees it free


def test_bind_probe_still_sees_a_listener_with_reuseaddr():
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        assert ports.bind_probe(port, "tcp", [(socket.AF_INET, "127.0.0.1")]) == errno.EADDRINUSE

"""PortResolver with a fake probe and a mocked Docker client: validation, resolution, strategies.

The integration tests (tests/integration/test_port_resolve.py) run the same paths against the real
engine and through ansible-playbook.
"""

from __future__ import annotations

import dataclasses
import errno
from unittest import mock

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError
from ansible_collections.argusai.resilience.plugins.module_utils.events import EventLog
from ansible_collections.argusai.resilience.plugins.module_utils.ports.holders import Holder
from ansible_collections.argusai.resilience.plugins.module_utils.ports.resolver import PortResolver, validate_requests


@pytest.mark.parametrize("bad", [0, 65536, -1, "abc", "", None, True, 80.5, "80.5", [80]])
def test_invalid_ports_are_refused(bad):
    with pytest.raises(ArgusError) as info:
        validate_requests([{"name": "api", "port": bad}])
    assert info.value.code == "INVALID_INPUT"
    assert info.value.details["field"] == "ports[0].port"


@pytest.mark.parametrize("good,expected", [(1, 1), (65535, 65535), ("8080", 8080), (" 8080 ", 8080), (8080.0, 8080)])
def test_valid_ports(good, expected):
    assert validate_requests([{"name": "api", "port": good}])[0].port == expected


@pytest.mark.parametrize("bad", ["sctp", "", 6, "tcp6"])
def test_unknown_protocol_refused(bad):
    with pytest.raises(ArgusError) as info:
        validate_requests([{"name": "api", "port": 8080, "protocol": bad}])
    assert info.value.code == "INVALID_INPUT"
    assert info.value.details["field"] == "ports[0].protocol"


def test_protocol_case_and_default():
    entries = validate_requests([{"name": "a", "port": 1, "protocol": "UDP"}, {"name": "b", "port": 2}])
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
        validate_requests(entries)
    assert info.value.code == "INVALID_INPUT" and info.value.details["field"] == field


@pytest.mark.parametrize("bad", [0, -1, 65536, True, "5"])
def test_max_attempts_validated(bad):
    with pytest.raises(ArgusError) as info:
        PortResolver(max_attempts=bad)
    assert info.value.code == "INVALID_INPUT"


@pytest.mark.parametrize("bad", ["example.com", "300.1.1.1", 12])
def test_bind_address_validated(bad):
    with pytest.raises(ArgusError) as info:
        PortResolver(bind_address=bad)
    assert info.value.details["field"] == "bind_address"


def test_invalid_input_refused_before_docker_or_probe(fake_probe, fake_client, resolver):
    probe, client = fake_probe(), fake_client()
    with pytest.raises(ArgusError):
        resolver(probe, client=client).resolve([{"name": "a", "port": 8080}, {"name": "b", "port": 0}])
    with pytest.raises(ArgusError):
        resolver(probe, client=client).resolve([{"name": "a", "port": 8080}], strategy="maybe")
    assert probe.probed == [] and not client.api.containers.called


def test_free_port_kept(resolver):
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


def test_held_port_reassigned_with_holder_and_events(fake_probe, resolver):
    events = EventLog("shop", "r1")
    probe = fake_probe(held={8080, 8081})
    result = resolver(probe, events=events).resolve([{"name": "api", "port": 8080}])
    mapping = result.mappings[0]
    assert (mapping.actual_port, mapping.reassigned) == (8082, True)
    assert mapping.occupied_by.to_dict() == {"type": "process", "pid": 42, "process": "nginx"}
    assert probe.probed == [8080, 8081, 8082]
    assert result.probes == 3
    assert [e["type"] for e in events.events] == ["port_conflict", "port_reassigned"]
    assert events.events[1]["data"]["actual_port"] == 8082
    assert events.events[0]["data"]["occupied_by"]["pid"] == 42


def test_holder_unknown_when_lookup_finds_nothing(fake_probe, resolver):
    result = resolver(fake_probe(held={8080}), holder=lambda held, proto: {}).resolve([{"name": "a", "port": 8080}])
    assert result.mappings[0].occupied_by == Holder("unknown")


def test_results_are_immutable(resolver):
    result = resolver().resolve([{"name": "api", "port": 8080}])
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.mappings[0].actual_port = 1
    assert isinstance(result.mappings, tuple)
    result.ports["api"] = 1
    assert result.ports["api"] == 8080


def test_same_port_twice_gets_distinct_ports(resolver):
    result = resolver().resolve([{"name": "a", "port": 8080}, {"name": "b", "port": 8080}, {"name": "c", "port": 8081}])
    assert result.ports == {"a": 8080, "b": 8081, "c": 8082}
    assert result.mappings[1].occupied_by.to_dict() == {"type": "request", "service": "a"}


def test_same_port_different_protocols_do_not_clash(resolver):
    result = resolver().resolve([{"name": "a", "port": 8080}, {"name": "b", "port": 8080, "protocol": "udp"}])
    assert result.ports == {"a": 8080, "b": 8080}


def test_container_published_port_is_taken_without_probe(fake_probe, fake_client, container, resolver):
    client = fake_client([container("web-1", "abcdef1234567890", (8080, "tcp"), (9090, "udp"))])
    probe = fake_probe()
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


def test_docker_failure_is_classified(resolver):
    client = mock.Mock()
    client.api.containers.side_effect = ConnectionRefusedError(errno.ECONNREFUSED, "refused")
    with pytest.raises(ArgusError) as info:
        resolver(client=client).resolve([{"name": "a", "port": 8080}])
    assert info.value.code == "DOCKER_UNAVAILABLE"


def test_strategy_fail_names_pid_and_process(fake_probe, resolver):
    events = EventLog("shop", None)
    with pytest.raises(ArgusError) as info:
        resolver(fake_probe(held={8080}), events=events).resolve(
            [{"name": "ok", "port": 7000}, {"name": "api", "port": 8080}], strategy="fail"
        )
    error = info.value
    assert error.code == "PORT_CONFLICT"
    assert "8080" in error.message and "nginx" in error.message and "42" in error.message
    assert error.details["pid"] == 42 and error.details["process"] == "nginx"
    assert error.details["port"] == 8080 and error.details["service"] == "api"
    assert [e["type"] for e in events.events] == ["port_conflict"]


def test_strategy_fail_reports_every_conflict(fake_probe, fake_client, container, resolver):
    client = fake_client([container("db", "1234567890abcdef", (5432, "tcp"))])
    with pytest.raises(ArgusError) as info:
        resolver(fake_probe(held={8080}), client=client).resolve(
            [{"name": "api", "port": 8080}, {"name": "db", "port": 5432}], strategy="fail"
        )
    conflicts = info.value.details["conflicts"]
    assert [c["port"] for c in conflicts] == [8080, 5432]
    assert conflicts[1]["occupied_by"]["container"] == "db"


def test_strategy_fail_same_port_twice_conflicts(resolver):
    with pytest.raises(ArgusError) as info:
        resolver().resolve([{"name": "a", "port": 8080}, {"name": "b", "port": 8080}], strategy="fail")
    assert info.value.details["occupied_by"] == {"type": "request", "service": "a"}


def test_exhaustion(fake_probe, resolver):
    with pytest.raises(ArgusError) as info:
        resolver(fake_probe(held=range(8080, 8085)), max_attempts=5).resolve([{"name": "api", "port": 8080}])
    error = info.value
    assert error.code == "PORT_EXHAUSTION"
    assert error.details["range"] == [8080, 8084]
    assert [t["port"] for t in error.details["taken"]] == [8080, 8081, 8082, 8083, 8084]
    assert error.details["max_attempts"] == 5


def test_exhaustion_at_top_of_range(fake_probe, resolver):
    with pytest.raises(ArgusError) as info:
        resolver(fake_probe(held={65534, 65535})).resolve([{"name": "api", "port": 65534}])
    assert info.value.code == "PORT_EXHAUSTION" and info.value.details["range"] == [65534, 65535]


def test_eacces_counts_as_taken(fake_probe, resolver):
    result = resolver(fake_probe(held={80}, err=errno.EACCES)).resolve([{"name": "web", "port": 80}])
    assert result.ports == {"web": 1024}


def test_exclude(resolver):
    assert resolver().resolve([{"name": "a", "port": 8080}], exclude={8080}).ports == {"a": 8081}

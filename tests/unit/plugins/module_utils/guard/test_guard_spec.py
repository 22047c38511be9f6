"""Validation of argus_container_guard inputs (guard_spec): nothing here calls Docker."""

from __future__ import annotations

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError
from ansible_collections.argusai.resilience.plugins.module_utils.guard.spec import parse_memory, spec_from_params

BASE = {"name": "web", "image": "testbox:latest"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("8m", 8 * 1024**2),
        ("512M", 512 * 1024**2),
        ("1g", 1024**3),
        ("1.5G", int(1.5 * 1024**3)),
        ("10240k", 10 * 1024**2),
        ("64mb", 64 * 1024**2),
        (str(7 * 1024**2), 7 * 1024**2),
        (None, None),
    ],
)
def test_memory_strings(value, expected):
    assert parse_memory(value) == expected


@pytest.mark.parametrize("value", ["lots", "8 megs", "-1m", "5m", "1t", "m", True])
def test_invalid_memory_is_invalid_input(value):
    with pytest.raises(ArgusError) as info:
        parse_memory(value)
    assert info.value.code == "INVALID_INPUT" and info.value.details["field"] == "memory"


def test_defaults_and_conversions():
    spec = spec_from_params(
        dict(
            BASE,
            command="httpd -f",
            env={"DEBUG": True, "PORT": 8080, "EMPTY": None},
            ports=[{"container_port": 8080, "host_port": "18080"}],
            healthcheck={"test": "wget -q localhost", "interval": 1},
        )
    )
    assert spec.max_restarts == 3 and spec.backoff == "exponential" and spec.port_strategy == "auto"
    assert spec.env == {"DEBUG": "true", "PORT": "8080", "EMPTY": ""}
    assert spec.ports[0].host_port == 18080 and spec.ports[0].protocol == "tcp" and spec.ports[0].key == "8080/tcp"
    assert spec.healthcheck.test == ("CMD-SHELL", "wget -q localhost")
    docker_hc = spec.healthcheck.to_docker()
    assert docker_hc["interval"] == 1_000_000_000 and docker_hc["retries"] == 3
    assert spec_from_params(dict(BASE, healthcheck={"test": ["wget", "x"]})).healthcheck.test == ("CMD", "wget", "x")
    assert spec_from_params(dict(BASE, command=["sh", "-c", "exit 3"])).command == ("sh", "-c", "exit 3")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"name": "bad name", "image": "x"}, "name"),
        ({"name": "web"}, "image"),
        (dict(BASE, aliases=["api"]), "aliases"),
        (dict(BASE, ports=[{"container_port": 70000}]), "ports[0].container_port"),
        (dict(BASE, ports=[{"container_port": 80, "protocol": "icmp"}]), "ports[0].protocol"),
        (dict(BASE, ports=[{"container_port": 80}, {"container_port": 80}]), "ports[1]"),
        (dict(BASE, backoff="fibonacci"), "backoff"),
        (dict(BASE, backoff_initial_ms=5000, backoff_max_ms=100), "backoff_max_ms"),
        (dict(BASE, max_restarts=-1), "max_restarts"),
        (dict(BASE, healthcheck={"interval": 1}), "healthcheck.test"),
        (dict(BASE, healthcheck={"test": "true", "retries": 0}), "healthcheck.retries"),
        (dict(BASE, env={"A=B": "x"}), "env"),
        (dict(BASE, command=[]), "command"),
        (dict(BASE, state="stopped"), "state"),
    ],
)
def test_invalid_inputs_name_the_field(params, field):
    with pytest.raises(ArgusError) as info:
        spec_from_params(params)
    assert info.value.code == "INVALID_INPUT"
    assert info.value.details["field"] == field


def test_absent_needs_no_image():
    assert spec_from_params({"name": "web", "state": "absent"}).state == "absent"


def test_config_hash_tracks_what_defines_the_container():
    base = spec_from_params(dict(BASE, env={"A": "1", "B": "2"}, ports=[{"container_port": 80, "host_port": 8080}]))
    same = spec_from_params(dict(BASE, env={"B": "2", "A": "1"}, ports=[{"container_port": 80, "host_port": 8080}]))
    assert base.config_hash() == same.config_hash()
    # supervision settings do not define the container: changing them must not recreate it
    tuned = spec_from_params(
        dict(BASE, env={"A": "1", "B": "2"}, ports=[{"container_port": 80, "host_port": 8080}], max_restarts=9)
    )
    assert tuned.config_hash() == base.config_hash()
    for change in (
        {"image": "other:1"},
        {"command": "sleep 1"},
        {"env": {"A": "1", "B": "3"}},
        {"ports": [{"container_port": 80, "host_port": 8081}]},
        {"memory": "64m"},
        {"healthcheck": {"test": "true"}},
    ):
        params = dict(BASE, env={"A": "1", "B": "2"}, ports=[{"container_port": 80, "host_port": 8080}])
        params.update(change)
        assert spec_from_params(params).config_hash() != base.config_hash(), change


@pytest.mark.parametrize(
    ("key", "value"),
    [("max_restarts", 10**30), ("backoff_max_ms", 10**30), ("startup_timeout", 1e30), ("stable_seconds", float("inf"))],
)
def test_huge_numbers_are_refused(key, value):
    params = {"name": "web", "image": "img", key: value}
    with pytest.raises(ArgusError) as info:
        spec_from_params(params)
    assert info.value.code == "INVALID_INPUT"
    assert info.value.details["field"] == key


def test_every_problem_of_a_container_is_reported_at_once():
    params = dict(BASE, memory="5m", backoff="fibonacci", aliases=["api"], env={"A=B": "x"}, max_restarts=-1)
    with pytest.raises(ArgusError) as info:
        spec_from_params(params, prefix="services[0].")
    fields = {problem["field"] for problem in info.value.details["errors"]}
    assert fields == {
        "services[0].memory",
        "services[0].backoff",
        "services[0].aliases",
        "services[0].env",
        "services[0].max_restarts",
    }


def test_options_declared_with_a_docker_argument_reach_it_as_given():
    spec = spec_from_params(dict(BASE, command="true"))
    assert spec.docker_arguments() == {"create": {"name": "web", "image": "testbox:latest"}, "host_config": {}}

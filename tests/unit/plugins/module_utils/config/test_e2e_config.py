"""Unit tests for the e2e.yaml schema (plugins/module_utils/e2e_config.py)."""

from __future__ import annotations

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils.config import loader, schema
from ansible_collections.argusai.resilience.plugins.module_utils.config import plan as planner
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError

GOOD = """
project: shop
network: shop-net
mocks:
  - name: shop-mock
    image: argusai/testbox:latest
    command: httpd -f -p 8080 -h /www
    ports: [{container_port: 8080, host_port: 28080}]
services:
  - name: shop-web
    image: argusai/testbox:latest
    command: [httpd, -f, -p, "80"]
    env: {MOCK_URL: "http://shop-mock:8080", DEBUG: true, WORKERS: 2}
    ports:
      - {container_port: 80, host_port: 28000}
      - 9000
    healthcheck: "wget -q -O- http://127.0.0.1/"
    memory: 64m
    max_restarts: 5
test:
  name: shop-test
  image: argusai/testbox:latest
  command: sleep 3600
"""


def load(text: str, **overrides):
    return loader.load_config(text, overrides, new_run_id=lambda: "r1")


def error_of(text: str, **overrides) -> ArgusError:
    with pytest.raises(ArgusError) as info:
        load(text, **overrides)
    assert info.value.code == "INVALID_INPUT"
    return info.value


def test_defaults_without_resilience_section():
    config = load(GOOD)
    res = config["resilience"]
    assert res["preflight"] == {
        "enabled": True,
        "disk_threshold_gb": 2,
        "disk_paths": None,
        "skip_disk_check": False,
        "daemon_timeout": 5,
        "clean_orphans": True,
    }
    assert res["ports"]["enabled"] is True and res["ports"]["strategy"] == "auto"
    assert res["container"]["restart_on_failure"] is True and res["container"]["max_restarts"] == 3
    assert res["network"]["verify_connectivity"] is True
    assert res["circuit_breaker"]["failure_threshold"] == 5
    assert config["run_id"] == "r1"
    assert config["network"] == {"name": "shop-net", "driver": "bridge"}


def test_shorthands_and_normalisation():
    config = load(GOOD)
    web = config["services"][0]
    assert web["ports"][1] == {"container_port": 9000, "host_port": None, "protocol": "tcp", "bind_address": None}
    assert web["healthcheck"]["test"] == "wget -q -O- http://127.0.0.1/"
    # env values become strings, booleans lower-case like compose
    assert web["env"] == {"MOCK_URL": "http://shop-mock:8080", "DEBUG": "true", "WORKERS": "2"}


def test_default_network_name_and_empty_file():
    config = loader.load_config("project: p1\n", {})
    assert config["network"]["name"] == "argus-p1"
    assert config["run_id"] is None
    assert config["services"] == [] and config["test"] is None


def test_overrides_replace_file_sections():
    config = load(GOOD, project="other", services=[], resilience={"container": {"restart_on_failure": False}})
    assert config["project"] == "other"
    assert config["services"] == []
    assert config["resilience"]["container"]["max_restarts"] == 0
    assert config["mocks"][0]["name"] == "shop-mock"  # not overridden


def test_variables_only_no_file():
    config = loader.load_config(None, {"project": "p", "mocks": [{"name": "m", "image": "i"}]})
    assert config["mocks"][0]["ports"] == []


@pytest.mark.parametrize(
    "text, field, value",
    [
        # wrong types
        ("project: 12\n", "project", 12),
        ("project: p\nservices: {name: a}\n", "services", "{'name': 'a'}"),
        (
            "project: p\nservices: [{name: a, image: i, ports: [{container_port: '80'}]}]\n",
            "services[0].ports[0].container_port",
            "80",
        ),
        ("project: p\nresilience: {preflight: {enabled: 'yes'}}\n", "resilience.preflight.enabled", "yes"),
        ("project: p\nresilience: {container: {max_restarts: true}}\n", "resilience.container.max_restarts", True),
        ("project: p\nmocks: [{name: m, image: i, env: {A: [1]}}]\n", "mocks[0].env.A", "<hidden>"),
        ("project: p\nmocks: [{name: m, image: i, command: [sh, 1]}]\n", "mocks[0].command[1]", 1),
        ("project: p\nmocks: [{name: m, image: i, memory: lots}]\n", "mocks[0].memory", "lots"),
        # unknown keys
        ("project: p\nservice: []\n", "service", "[]"),
        ("project: p\nmocks: [{name: m, image: i, imagee: x}]\n", "mocks[0].imagee", "x"),
        ("project: p\nresilience: {ports: {stratgy: auto}}\n", "resilience.ports.stratgy", "auto"),
        # renamed to probe_timeout (timeout is the Docker API timeout of the modules)
        ("project: p\nresilience: {network: {timeout: 5}}\n", "resilience.network.timeout", 5),
        # negative numbers and ranges
        ("project: p\nresilience: {container: {max_restarts: -1}}\n", "resilience.container.max_restarts", -1),
        (
            "project: p\nresilience: {preflight: {disk_threshold_gb: -0.5}}\n",
            "resilience.preflight.disk_threshold_gb",
            -0.5,
        ),
        (
            "project: p\nmocks: [{name: m, image: i, ports: [{container_port: 80, host_port: -8080}]}]\n",
            "mocks[0].ports[0].host_port",
            -8080,
        ),
        ("project: p\nmocks: [{name: m, image: i, ports: [70000]}]\n", "mocks[0].ports[0].container_port", 70000),
        ("project: p\nresilience: {network: {probe_timeout: 0}}\n", "resilience.network.probe_timeout", 0),
        # huge numbers would make a wait or a restart loop endless
        (
            "project: p\nresilience: {container: {max_restarts: 1000000000000000000000000000000}}\n",
            "resilience.container.max_restarts",
            10**30,
        ),
        ("project: p\nresilience: {network: {wait_seconds: 99999999}}\n", "resilience.network.wait_seconds", 99999999),
        ("project: p\nmocks: [{name: m, image: i, startup_timeout: .inf}]\n", "mocks[0].startup_timeout", float("inf")),
        # choices, patterns, required
        ("project: p\nresilience: {ports: {strategy: random}}\n", "resilience.ports.strategy", "random"),
        ("project: Bad_Name\n", "project", "Bad_Name"),
        ("project: p\nmocks: [{name: 'bad name', image: i}]\n", "mocks[0].name", "bad name"),
        ("project: p\nmocks: [{image: i}]\n", "mocks[0].name", None),
        ("services: []\n", "project", None),
        # the guard's own rules, named with the file's paths
        ("project: p\nmocks: [{name: m, image: i, memory: 1m}]\n", "mocks[0].memory", "1m"),
        ("project: p\nmocks: [{name: m, image: i, env: {'A=B': x}}]\n", "mocks[0].env", "A=B"),
        # cross-field rules
        ("project: p\nmocks: [{name: a, image: i}]\nservices: [{name: a, image: i}]\n", "services[0].name", "a"),
        (
            "project: p\nmocks: [{name: a, image: i, ports: [{container_port: 1, host_port: 20000}]}]\n"
            "services: [{name: b, image: i, ports: [{container_port: 2, host_port: 20000}]}]\n",
            "services[0].ports[0].host_port",
            20000,
        ),
        (
            "project: p\nresilience: {container: {backoff_initial_ms: 500, backoff_max_ms: 100}}\n",
            "resilience.container.backoff_max_ms",
            100,
        ),
    ],
)
def test_bad_config_names_field_and_value(text, field, value):
    error = error_of(text)
    assert error.details["field"] == field
    assert error.details["value"] == value
    assert field in error.message
    assert error.to_dict()["suggested_actions"][0]["id"] == "fix_input"


def test_yaml_syntax_error_names_line():
    error = error_of("project: p\nservices: [\n")
    assert error.details["field"].startswith("e2e.yaml:")
    assert "not valid YAML" in error.message


def test_top_level_must_be_mapping():
    assert error_of("- a\n- b\n").details["field"] == "e2e.yaml"
    with pytest.raises(ArgusError):
        loader.normalize(["x"])


def test_port_requests_targets_and_apply_ports():
    config = load(GOOD)
    assert planner.port_requests(config) == [
        {"name": "shop-mock-8080", "port": 28080, "protocol": "tcp"},
        {"name": "shop-web-80", "port": 28000, "protocol": "tcp"},
    ]
    assert planner.connectivity_targets(config) == [
        {"name": "shop-mock:8080", "host": "shop-mock", "port": 8080},
        {"name": "shop-web:80", "host": "shop-web", "port": 80},
        {"name": "shop-web:9000", "host": "shop-web", "port": 9000},
    ]
    plan = planner.setup_plan(config)
    web = plan["services"][0]
    assert web["network"] == "shop-net"
    assert web["max_restarts"] == 5  # container override wins
    assert plan["mocks"][0]["max_restarts"] == 3  # resilience default
    assert "backoff" not in web  # unset: the guard's default applies
    assert web["ports"][1] == {"container_port": 9000, "protocol": "tcp"}
    moved = planner.apply_ports(plan["services"], {"shop-web-80": 28001})
    assert moved[0]["ports"][0]["host_port"] == 28001
    assert moved[0]["ports"][1] == {"container_port": 9000, "protocol": "tcp"}
    assert plan["services"][0]["ports"][0]["host_port"] == 28000  # input untouched


def test_port_strategy_and_bind_address_reach_the_guard():
    config = load(
        "project: p\nresilience: {ports: {strategy: fail, bind_address: 127.0.0.1}}\n"
        "mocks: [{name: m, image: i, ports: [{container_port: 80, host_port: 20080}, "
        "{container_port: 81, host_port: 20081, bind_address: 0.0.0.0}]}]\n"
    )
    mock = planner.setup_plan(config)["mocks"][0]
    assert mock["port_strategy"] == "fail"
    assert [p["bind_address"] for p in mock["ports"]] == ["127.0.0.1", "0.0.0.0"]


def test_udp_port_name_and_no_restart():
    config = load(
        "project: p\nresilience: {container: {restart_on_failure: false}}\n"
        "mocks: [{name: m, image: i, max_restarts: 4, ports: [{container_port: 53, host_port: 20053, protocol: udp}]}]\n"
    )
    assert planner.port_requests(config)[0]["name"] == "m-53-udp"
    assert planner.connectivity_targets(config) == []
    assert planner.setup_plan(config)["mocks"][0]["max_restarts"] == 0


def test_describe_schema_covers_nested_fields():
    paths = [path for path, _unused in schema.describe()]
    assert "services[].ports[].host_port" in paths
    assert "resilience.container.max_restarts" in paths
    assert all(spec.description for _unused, spec in schema.describe())


def test_every_mistake_of_a_file_is_reported_at_once():
    error = error_of(
        "project: p\n"
        "mocks: [{name: m, image: i, memory: 1m, ports: [70000]}]\n"
        "services: [{name: m, image: i, command: [sh, 1]}]\n"
        "resilience: {ports: {stratgy: auto}, network: {wait_seconds: -1}}\n"
    )
    fields = [problem["field"] for problem in error.details["errors"]]
    assert sorted(fields) == [
        "mocks[0].memory",
        "mocks[0].ports[0].container_port",
        "resilience.network.wait_seconds",
        "resilience.ports.stratgy",
        "services[0].command[1]",
        "services[0].name",
    ]
    assert error.message.startswith("e2e.yaml: 6 problems: ")


def test_service_names_and_docker_names():
    config = load(
        "project: shop-7\n"
        "services: [{name: api, image: i, ports: [{container_port: 80, host_port: 28000}]},"
        " {name: db, image: i, container_name: fixed-db, aliases: [database]}]\n"
    )
    api, db = planner.setup_plan(config)["services"]
    assert (api["name"], api["service"], api["aliases"]) == ("shop-7-api", "api", ["api"])
    assert (db["name"], db["service"], db["aliases"]) == ("fixed-db", "db", ["db", "database"])
    assert planner.port_requests(config) == [{"name": "api-80", "port": 28000, "protocol": "tcp"}]
    assert planner.connectivity_targets(config) == [{"name": "api:80", "host": "api", "port": 80}]


def test_a_fixed_container_name_may_not_clash():
    error = error_of("project: p\nservices: [{name: api, image: i}, {name: db, image: i, container_name: p-api}]\n")
    assert error.details["field"] == "services[1].container_name"


def test_overrides_change_a_container_and_the_resilience_section():
    config = loader.load_config(
        GOOD,
        {},
        container_overrides={"shop-web": {"memory": "256m"}},
        resilience_overrides={"ports": {"strategy": "fail"}},
    )
    assert config["services"][0]["memory"] == "256m" and config["services"][0]["max_restarts"] == 5
    assert config["resilience"]["ports"] == {
        "enabled": True,
        "strategy": "fail",
        "max_attempts": 100,
        "bind_address": None,
    }
    with pytest.raises(ArgusError) as info:
        loader.load_config(GOOD, {}, container_overrides={"nope": {"memory": "1g"}})
    assert info.value.details["field"] == "container_overrides.nope"


def test_docker_section_and_disk_paths():
    config = load(
        "project: p\ndocker: {host: 'tcp://127.0.0.1:2375', timeout: 30}\n"
        "resilience: {preflight: {disk_paths: [/var]}}\n"
    )
    assert config["docker"] == {"host": "tcp://127.0.0.1:2375", "timeout": 30}
    assert config["resilience"]["preflight"]["disk_paths"] == ["/var"]
    assert load("project: p\n")["docker"] == {"host": None, "timeout": 60}


def test_a_container_without_a_name_has_its_other_problems_reported_and_no_made_up_one():
    error = error_of("project: shop\nservices: [{image: x, memory: 5, colour: 1}]\n")
    fields = [problem["field"] for problem in error.details["errors"]]
    assert fields == ["services[0].colour", "services[0].name", "services[0].memory"]

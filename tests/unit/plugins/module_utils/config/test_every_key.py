"""Every key docs/configuration.md lists changes what the argus_setup role does.

The walk goes over ``schema.describe()`` (the rows of the generated page). For each key, CHANGES
holds another value; the test loads a base configuration and the same with that one value changed,
and compares what the role acts on: the project, the run id and the arguments of its module calls
(``plan.calls``, config/plan.py: the role passes them to the modules as they are). A key must
change them, or be a section whose keys all do. A key added to the schema without a row here, or
whose value reaches no call, fails the walk.

What the modules then do with each argument is proven by their own tests (the role passing
``calls`` on is tested against the real engine in tests/integration/test_role_setup.py).
"""

from __future__ import annotations

import copy

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils.config import loader, schema


def container(name: str, port: int) -> dict:
    """A container of the base: every key a container has is set, so that each can change."""
    return {
        "name": name,
        "image": "img:1",
        "command": f"httpd -f -p {port}",
        "env": {"MODE": name},
        "ports": [{"container_port": port, "host_port": 30000 + port}],
        "healthcheck": {"test": "true"},
    }


BASE = {
    "project": "shop",
    "run_id": "r1",
    "mocks": [container("mock", 8080)],
    "services": [container("web", 8081)],
    "test": container("tests", 9000),
}

# Keys of a container, the same for every entry of mocks and services and for the test container.
CONTAINER_CHANGES = {
    "name": "other",
    "image": "img:2",
    "command": "sleep 1",
    "env": {"MODE": "changed"},
    "ports": [],
    "ports[].container_port": 7000,
    "ports[].host_port": 28001,
    "ports[].protocol": "udp",
    "ports[].bind_address": "127.0.0.1",
    "aliases": ["extra"],
    "healthcheck": None,
    "healthcheck.test": "false",
    "healthcheck.interval": 9,
    "healthcheck.timeout": 9,
    "healthcheck.retries": 9,
    "healthcheck.start_period": 9,
    "memory": "64m",
    "max_restarts": 7,
    "backoff": "linear",
    "backoff_initial_ms": 100,
    "backoff_max_ms": 9000,
    "jitter": True,
    "stable_seconds": 3,
    "startup_timeout": 9,
    "watch_seconds": 5,
    "stop_timeout": 4,
    "container_name": "fixed-name",
}

CHANGES = {
    "project": "other",
    "run_id": "r2",
    "docker.host": "tcp://127.0.0.1:2375",
    "docker.timeout": 30,
    "network.name": "other-net",
    "network.driver": "macvlan",
    "services": [],
    "mocks": [],
    "test": None,
    **{
        f"{section}.{key}": value
        for section in ("services[]", "mocks[]", "test")
        for key, value in CONTAINER_CHANGES.items()
    },
    "resilience.preflight.enabled": False,
    "resilience.preflight.disk_threshold_gb": 5,
    "resilience.preflight.disk_paths": ["/"],
    "resilience.preflight.skip_disk_check": True,
    "resilience.preflight.daemon_timeout": 9,
    "resilience.preflight.clean_orphans": False,
    "resilience.ports.enabled": False,
    "resilience.ports.strategy": "fail",
    "resilience.ports.max_attempts": 7,
    "resilience.ports.bind_address": "127.0.0.1",
    "resilience.container.restart_on_failure": False,
    "resilience.container.max_restarts": 7,
    "resilience.container.backoff": "linear",
    "resilience.container.backoff_initial_ms": 100,
    "resilience.container.backoff_max_ms": 9000,
    "resilience.container.jitter": True,
    "resilience.container.stable_seconds": 3,
    "resilience.container.startup_timeout": 9,
    "resilience.container.watch_seconds": 5,
    "resilience.container.stop_timeout": 4,
    "resilience.network.verify_connectivity": False,
    "resilience.network.probe_timeout": 3,
    "resilience.network.wait_seconds": 4,
    "resilience.circuit_breaker.failure_threshold": 2,
    "resilience.circuit_breaker.cooldown_seconds": 10,
}

DOCUMENTED = dict(schema.describe())


def changed(config: dict, path: str, value) -> dict:
    """``config`` with the value at ``path`` (``a.b``, ``list[].key``: its first entry) replaced."""
    config = copy.deepcopy(config)
    *parents, last = path.split(".")
    node = config
    for part in parents:
        key = part.removesuffix("[]")
        node = node.setdefault(key, {}) if key == part else node[key][0]
    key = last.removesuffix("[]")
    if key == last:
        node[key] = value
    else:  # the key of the list's first entry
        node[key][0] = value
    return config


def role_inputs(config: dict) -> dict:
    """What the role acts on: argus_config's project, run id and the arguments of each module call."""
    params = {"path": None, "content": None, "content_source": "e2e.yaml", "require_containers": False}
    params.update({section: config.get(section) for section in schema.SECTIONS})
    params.update(container_overrides={}, resilience_overrides={})
    result = loader.read_config(params)
    return {"project": result["project"], "run_id": result["run_id"], "calls": result["plan"]["calls"]}


def test_every_documented_key_has_a_change_and_every_change_a_documented_key():
    sections = {path for path, option in DOCUMENTED.items() if option.type == "dict" and option.suboptions}
    missing = set(DOCUMENTED) - set(CHANGES) - sections
    assert not missing, f"documented keys the walk does not change: {sorted(missing)}"
    assert not set(CHANGES) - set(DOCUMENTED), "rows for keys the schema does not have"
    for section in sections - set(CHANGES):  # a section counts through its keys
        assert any(path.startswith(section + ".") for path in CHANGES), section


@pytest.mark.parametrize("path", sorted(CHANGES))
def test_the_key_changes_what_the_role_does(path):
    base = role_inputs(BASE)
    variant = role_inputs(changed(BASE, path, CHANGES[path]))
    assert variant != base, f"{path}: {CHANGES[path]!r} changes no module call of the role"


def test_the_base_runs_every_call():
    """Each change above is measured against a configuration where every call runs."""
    calls = role_inputs(BASE)["calls"]
    assert calls["preflight"] and calls["guard"]["resolve_ports"] and calls["guard"]["verify"]
    assert [item["service"] for item in calls["guard"]["containers"]] == ["mock", "web", "tests"]


@pytest.mark.parametrize(
    ("path", "where"),
    [
        ("network.driver", lambda calls: [item["network_driver"] for item in calls["guard"]["containers"]]),
        ("docker.host", lambda calls: [calls["docker"]["host"]]),
        ("resilience.preflight.disk_paths", lambda calls: [calls["preflight"]["disk_paths"]]),
        ("resilience.circuit_breaker.cooldown_seconds", lambda calls: [calls["circuit_breaker"]["cooldown_seconds"]]),
    ],
)
def test_keys_once_ignored_reach_their_call(path, where):
    found = where(role_inputs(changed(BASE, path, CHANGES[path]))["calls"])
    assert found and all(value == CHANGES[path] for value in found), (path, found)

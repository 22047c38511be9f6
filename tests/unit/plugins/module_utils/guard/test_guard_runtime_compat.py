"""What the guard sends and reads where Docker and Podman's Docker API differ (issue 16, part 1).

The wire itself is checked against both engines by tests/integration/test_runtime_setup.py.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils.events import EventLog
from ansible_collections.argusai.resilience.plugins.module_utils.guard.containers import Containers, describe
from ansible_collections.argusai.resilience.plugins.module_utils.guard.spec import CONFIG_HASH, spec_from_params
from ansible_collections.argusai.resilience.plugins.module_utils.guard.supervisor import ContainerGuardian
from ansible_collections.argusai.resilience.plugins.module_utils.labels import resource_labels

PROJECT = "p"


class RecordingAPI:
    """Records the create call; the created container is whatever ``containers.get`` returns."""

    def __init__(self):
        self.host_config = None

    def create_host_config(self, **kwargs):
        self.host_config = kwargs
        return kwargs

    def create_container(self, **kwargs):
        return {"Id": "c1"}


def created_bindings(ports):
    api = RecordingAPI()
    client = SimpleNamespace(api=api, containers=SimpleNamespace(get=lambda key: key))
    spec = spec_from_params({"name": "web", "image": "img", "ports": ports})
    Containers(client, PROJECT, EventLog(PROJECT, "r")).create(spec, "r", {p.key: p.host_port for p in spec.ports})
    return api.host_config["port_bindings"]


def test_a_port_without_bind_address_is_published_without_a_host_ip():
    # Podman 4's Docker API accepts HostIp 0.0.0.0 but serves nothing on it: send none at all
    assert created_bindings([{"container_port": 80, "host_port": 18080}, {"container_port": 81}]) == {
        "80/tcp": ("", 18080),
        "81/tcp": ("", None),
    }


@pytest.mark.parametrize("address", ["127.0.0.1", "0.0.0.0", "::1"])
def test_an_explicit_bind_address_is_sent_as_given(address):
    bindings = created_bindings([{"container_port": 80, "host_port": 18080, "bind_address": address}])
    assert bindings == {"80/tcp": (address, 18080)}


def test_setting_a_bind_address_recreates_the_container():
    plain = spec_from_params({"name": "web", "image": "img", "ports": [80]})
    bound = spec_from_params({"name": "web", "image": "img", "ports": [{"container_port": 80, "bind_address": "::1"}]})
    assert plain.ports[0].bind_address == "" and plain.config_hash() != bound.config_hash()


def running(health):
    spec = spec_from_params({"name": "web", "image": "img"})
    labels = dict(resource_labels(PROJECT, "run1", service="web"), **{CONFIG_HASH: spec.config_hash()})
    state = {"Status": "running", "Running": True, "Paused": False, "Health": health}
    attrs = {"Image": "sha256:img", "State": state, "Config": {"Labels": labels}}
    container = SimpleNamespace(id="c1", name="web", labels=labels, attrs=attrs, status="running")
    return spec, container


@pytest.mark.parametrize(
    ("health", "action", "described"),
    [
        (None, "none", None),  # Docker, no healthcheck
        ({"Status": "", "FailingStreak": 0, "Log": None}, "none", None),  # Podman, no healthcheck
        ({"Status": "healthy"}, "none", "healthy"),
        ({"Status": "unhealthy"}, "start", "unhealthy"),
    ],
)
def test_an_empty_health_status_is_no_health(health, action, described):
    spec, container = running(health)
    guard = ContainerGuardian(object(), PROJECT, "run1", EventLog(PROJECT, "run1"))
    assert guard._plan(spec, container, "sha256:img") == action
    assert describe(container)["health"] == described

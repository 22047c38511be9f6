"""The guard's resolve_ports (guard/port_plan.py): ports kept from the run, the rest resolved, specs rewritten."""

from __future__ import annotations

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError
from ansible_collections.argusai.resilience.plugins.module_utils.guard import port_plan
from ansible_collections.argusai.resilience.plugins.module_utils.guard.spec import spec_from_params
from ansible_collections.argusai.resilience.plugins.module_utils.ports import run_ports
from ansible_collections.argusai.resilience.plugins.module_utils.ports.resolver import PortMapping, Resolution

SETTINGS = {"strategy": "auto", "max_attempts": 10, "bind_address": "0.0.0.0", "docker_host": None}


def spec(name, service, ports):
    return spec_from_params({"name": name, "service": service, "image": "testbox:1", "ports": ports})


SPECS = [
    spec("shop-mock", "mock", [{"container_port": 8080, "host_port": 18080}]),
    spec("shop-web", "web", [{"container_port": 80, "host_port": 18000}, {"container_port": 53, "protocol": "udp"}]),
]


class FakeAPI:
    def __init__(self, rows):
        self.rows = rows
        self.filters = None

    def containers(self, all, filters):  # noqa: A002 - the SDK's name
        self.filters = filters
        return self.rows


class FakeClient:
    def __init__(self, rows=()):
        self.api = FakeAPI(list(rows))


def running(service, private, public, run_id="run1"):
    labels = {
        "argusai.managed": "true",
        "argusai.project": "shop",
        "argusai.run-id": run_id,
        "argusai.service": service,
    }
    return {"Labels": labels, "State": "running", "Ports": [{"PrivatePort": private, "PublicPort": public}]}


@pytest.fixture
def resolved(monkeypatch):
    """resolve_on_daemon stand-in: every request moves +1; records what it was asked."""
    asked = []

    def resolve(client, requests, settings, project, run_id, events, lease):
        asked.append({"requests": list(requests), "lease": lease, "settings": settings})
        mappings = tuple(
            PortMapping(r["name"], r["port"], r["port"] + 1, True, protocol=r["protocol"]) for r in requests
        )
        return run_ports.DaemonResolution(Resolution(mappings), {"machine": "this machine"}, ["a warning"])

    monkeypatch.setattr(run_ports, "resolve_on_daemon", resolve)
    return asked


def test_requests_name_each_published_port_by_service():
    assert port_plan.port_requests(SPECS) == [
        {"name": "mock-8080", "port": 18080, "protocol": "tcp"},
        {"name": "web-80", "port": 18000, "protocol": "tcp"},
    ]


def test_a_fresh_run_resolves_every_port_and_rewrites_the_specs(resolved):
    specs, report, warnings = port_plan.plan_ports(FakeClient(), SPECS, SETTINGS, "shop", "run1", None, False)
    assert [request["name"] for request in resolved[0]["requests"]] == ["mock-8080", "web-80"]
    assert resolved[0]["lease"] is True and warnings == ["a warning"]
    assert report["ports"] == {"mock-8080": 18081, "web-80": 18001} and report["kept"] == {}
    assert [p.host_port for p in specs[0].ports] == [18081]
    assert [(p.container_port, p.host_port) for p in specs[1].ports] == [(80, 18001), (53, None)]
    assert specs[1].name == "shop-web" and specs[1].service == "web" and specs[1].image == "testbox:1"


def test_a_rerun_keeps_what_its_running_containers_publish(resolved):
    client = FakeClient([running("mock", 8080, 28080), running("web", 80, 28000)])
    specs, report, _warnings = port_plan.plan_ports(client, SPECS, SETTINGS, "shop", "run1", None, False)
    assert resolved == []  # nothing left to resolve: no probe, no lease
    assert report["kept"] == {"mock-8080": 28080, "web-80": 28000}
    assert all(mapping["kept_from_run"] for mapping in report["mappings"])
    assert [p.host_port for p in specs[0].ports] == [28080]


def test_only_the_ports_not_kept_are_resolved_and_check_mode_takes_no_lease(resolved):
    client = FakeClient([running("mock", 8080, 28080)])
    _specs, report, _warnings = port_plan.plan_ports(client, SPECS, SETTINGS, "shop", "run1", None, True)
    assert [request["name"] for request in resolved[0]["requests"]] == ["web-80"]
    assert resolved[0]["lease"] is False
    assert report["ports"] == {"mock-8080": 28080, "web-80": 18001}


def test_without_a_run_id_nothing_is_listed(resolved):
    client = FakeClient([running("mock", 8080, 28080)])
    port_plan.plan_ports(client, SPECS, SETTINGS, "shop", None, None, False)
    assert client.api.filters is None and len(resolved[0]["requests"]) == 2


def test_a_conflict_is_raised_before_any_spec_changes(monkeypatch):
    def conflict(*args, **kwargs):
        raise ArgusError("PORT_CONFLICT", "18080 is taken", {})

    monkeypatch.setattr(run_ports, "resolve_on_daemon", conflict)
    with pytest.raises(ArgusError) as raised:
        port_plan.plan_ports(FakeClient(), SPECS, SETTINGS, "shop", "run1", None, False)
    assert raised.value.code == "PORT_CONFLICT"

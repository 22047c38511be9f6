"""argus_network_verify: ``probe_timeout`` reaches the core, ``timeout`` is the Docker API timeout."""

from __future__ import annotations

import yaml
from ansible_collections.argusai.resilience.plugins.doc_fragments.module_options import ModuleDocFragment
from ansible_collections.argusai.resilience.plugins.module_utils import module_support
from ansible_collections.argusai.resilience.plugins.module_utils.docker_client import DEFAULT_TIMEOUT
from ansible_collections.argusai.resilience.plugins.module_utils.network.options import DEFAULT_PROBE_TIMEOUT
from ansible_collections.argusai.resilience.plugins.modules import argus_network_verify as module

ARGS = {
    "project": "shop",
    "container": "shop-tests",
    "network": "e2e-net",
    "targets": [{"name": "payments", "host": "payments", "port": 8080}],
}


def run_main(monkeypatch, module_main, **args):
    """Run the module with the Docker client and the verifier replaced; (calls, module result)."""
    calls = {}

    class Client:
        api = None

        def close(self):
            calls["closed"] = True

    def connect(docker_host, timeout, connect_timeout=None):
        calls["connect"] = {"docker_host": docker_host, "timeout": timeout}
        return Client()

    class Verifier:
        def __init__(self, client, options, events):
            calls["options"] = options
            self.failure = None

        def run(self):
            return {"all_reachable": True}

    monkeypatch.setattr(module_support, "connect", connect)
    monkeypatch.setattr(module, "NetworkVerifier", Verifier)
    return calls, module_main(module, dict(ARGS, **args))


def test_defaults_timeout_is_the_api_timeout_and_probe_timeout_the_probe_bound(monkeypatch, module_main):
    calls, result = run_main(monkeypatch, module_main)
    assert not result.get("failed"), result
    assert calls["connect"] == {"docker_host": None, "timeout": DEFAULT_TIMEOUT} and DEFAULT_TIMEOUT == 60
    assert calls["options"].probe_timeout == DEFAULT_PROBE_TIMEOUT == 5
    assert calls["closed"] is True


def test_both_options_reach_their_place(monkeypatch, module_main):
    calls, result = run_main(monkeypatch, module_main, timeout=25, probe_timeout=3, docker_host="tcp://127.0.0.1:1")
    assert not result.get("failed"), result
    assert calls["connect"] == {"docker_host": "tcp://127.0.0.1:1", "timeout": 25}
    options = calls["options"]
    assert (options.probe_timeout, options.project, options.container, options.network) == (
        3,
        "shop",
        "shop-tests",
        "e2e-net",
    )
    assert [(t.name, t.host, t.port) for t in options.targets] == [("payments", "payments", 8080)]


def test_an_api_timeout_shorter_than_a_probe_fails_before_docker(monkeypatch, module_main):
    calls, result = run_main(monkeypatch, module_main, timeout=12)  # probe_timeout 5: up to 2 * 6 s per probe
    assert result["failed"] is True and result["error"]["code"] == "INVALID_INPUT"
    assert result["error"]["details"]["field"] == "timeout" and "probe_timeout" in result["msg"]
    assert "connect" not in calls


def test_probe_timeout_is_checked_like_before(monkeypatch, module_main):
    calls, result = run_main(monkeypatch, module_main, probe_timeout=0)
    assert result["failed"] is True and result["error"]["details"]["field"] == "probe_timeout"
    assert "connect" not in calls


def test_documentation_matches_the_argument_spec():
    options = yaml.safe_load(ModuleDocFragment.ARGUS_NETWORK_VERIFY)["options"]
    assert options["timeout"]["default"] == DEFAULT_TIMEOUT  # the common option: the API timeout
    assert "Docker API" in options["timeout"]["description"][0]
    assert options["probe_timeout"]["default"] == DEFAULT_PROBE_TIMEOUT and options["probe_timeout"]["type"] == "int"

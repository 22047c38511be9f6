"""NetworkVerifier on a fake Docker API: retries, results, messages, the helper container, failures.

The real engine (busybox nc/nslookup, helper container, DNS) is exercised in
tests/integration/test_network_verify.py.
"""

from __future__ import annotations

import itertools

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError
from net_fakes import CONTAINERS, FakeAPI, busybox_handler, container_inspect, sh_probe_mode, verifier


def test_reachable_target_through_busybox_tools():
    api = FakeAPI(busybox_handler())
    check, _unused = verifier(api, [{"name": "payments", "host": "payments", "port": 8080}])
    report = check.run()
    (res,) = report["results"]
    assert res["reachable"] is True and res["dns_resolved"] is True and res["address"] == "172.18.0.3"
    assert res["latency_ms"] == pytest.approx(0.9, abs=0.01) and res["probe"] == "nslookup+nc-e"
    assert report["all_reachable"] is True and check.failure is None
    assert [e["type"] for e in check.events.events] == ["network_check", "network_verified"]
    # host and port reach the shell as positional arguments, never inside the script text
    assert all("payments" not in cmd[2] for _c, cmd in api.exec_log if cmd[0] == "sh")
    assert len(api.exec_log) == 2  # tool detection, then one exec per attempt (resolve + connect)


def test_retries_until_the_service_listens():
    ports = {}
    calls = itertools.count()
    base = busybox_handler(ports=ports)

    def handler(container, cmd):
        if len(cmd) > 2 and cmd[2].startswith("set -f") and next(calls) == 2:
            ports[("172.18.0.3", 8080)] = True  # listens from the third connect on
        return base(container, cmd)

    check, sleeps = verifier(
        FakeAPI(handler), [{"name": "payments", "host": "payments", "port": 8080}], wait_seconds=30
    )
    report = check.run()
    assert report["results"][0]["reachable"] is True and report["results"][0]["attempts"] == 3
    assert sleeps == [0.25, 0.5]  # backoff between attempts
    checks = [e["data"] for e in check.events.events if e["type"] == "network_check"]
    assert [c["final"] for c in checks] == [False, False, True]


def test_dns_failure_and_closed_port_with_hint():
    containers = dict(CONTAINERS)
    containers["e" * 64] = container_inspect("e" * 64, "stray", [], networks=("other-net",))
    api = FakeAPI(busybox_handler(), containers=containers)
    check, _unused = verifier(
        api,
        [
            {"name": "stray", "host": "stray", "port": 80},
            {"name": "closed", "host": "payments", "port": 9999},
        ],
    )
    report = check.run()
    stray, closed = report["results"]
    assert (stray["dns_resolved"], stray["reachable"], stray["status"]) == (False, False, "dns_failed")
    assert stray["hint"] == "a container stray exists but is attached to other-net, not e2e-net"
    assert (closed["dns_resolved"], closed["reachable"], closed["error"]) == (True, False, "Connection refused")
    assert check.failure.code == "DNS_RESOLUTION_FAILED"
    assert "payments resolves to 172.18.0.3 but nothing listens on 9999" in check.failure.message


def test_address_outside_the_network_is_never_connected():
    api = FakeAPI(busybox_handler(dns={"example.org": "93.184.216.34"}))
    check, _unused = verifier(api, [{"name": "ext", "host": "example.org", "port": 80}], wait_seconds=10)
    report = check.run()
    assert report["results"][0]["status"] == "outside_network" and report["results"][0]["attempts"] == 1
    assert len(api.exec_log) == 2  # tool detection + one probe: no retry, no connect exec
    assert check.failure.code == "NETWORK_UNREACHABLE"
    # an IPv4 literal not on the network is refused the same way, without any DNS exec
    check2, _unused = verifier(FakeAPI(busybox_handler()), [{"name": "ip", "host": "10.0.0.1", "port": 80}])
    assert check2.run()["results"][0]["status"] == "outside_network"


def test_no_tools_uses_the_helper_container_and_removes_it():
    def handler(container, cmd):
        if container == "c" * 64:  # the test container: no shell, no python
            return 126, 'OCI runtime exec failed: exec: "sh": executable file not found in $PATH', ""
        return busybox_handler()(container, cmd)

    api = FakeAPI(handler, images={"argusai/testbox:latest"})
    check, _unused = verifier(
        api, [{"name": "payments", "host": "payments", "port": 8080}], probe_image="argusai/testbox:latest"
    )
    report = check.run()
    assert report["results"][0]["reachable"] is True and report["results"][0]["probe"] == "helper:nslookup+nc-e"
    image, kwargs = api.created[0]
    assert image == "argusai/testbox:latest"
    assert kwargs["host_config"]["network_mode"] == "container:" + "c" * 64
    assert kwargs["labels"]["argusai.project"] == "shop" and kwargs["labels"]["argusai.managed"] == "true"
    assert api.removed == ["d" * 64]


def test_no_tools_and_no_probe_image_is_probe_unavailable():
    api = FakeAPI(lambda container, cmd: (126, "exec failed", ""))
    check, _unused = verifier(api, [{"name": "payments", "host": "payments", "port": 8080}])
    report = check.run()
    res = report["results"][0]
    assert res["status"] == "probe_unavailable" and res["reachable"] is None and res["dns_resolved"] is None
    assert "busybox:latest is not present" in res["error"]
    assert report["probe"]["available"] is False and check.failure.code == "INVALID_INPUT"
    assert api.created == []


@pytest.mark.parametrize(
    "changes, field, cause",
    [
        ({"container": "ghost"}, "container", "not_found"),
        ({"network": "ghost-net"}, "network", "not_found"),
        ({"network": None, "container": "stray"}, "network", None),
        ({"container": "stray"}, "network", "not_attached"),
        ({"container": "stopped"}, "container", "not_running"),
    ],
)
def test_missing_or_unusable_container_and_network(changes, field, cause):
    containers = dict(CONTAINERS)
    containers["e" * 64] = container_inspect("e" * 64, "stray", [], networks=("other-net", "third-net"))
    containers["9" * 64] = container_inspect("9" * 64, "stopped", [], running=False)
    api = FakeAPI(busybox_handler(), containers=containers)
    check, _unused = verifier(
        api, [{"name": "p", "host": "payments", "port": 8080}], network=changes.pop("network", "e2e-net")
    )
    check.options.container = changes.get("container", check.options.container)
    with pytest.raises(ArgusError) as info:
        check.run()
    assert info.value.code == "INVALID_INPUT" and info.value.details["field"] == field
    if cause:
        assert info.value.details["cause"] == cause
    assert not api.exec_log  # nothing probed


def test_network_defaults_to_the_only_user_network():
    check, _unused = verifier(
        FakeAPI(busybox_handler()), [{"name": "p", "host": "payments", "port": 8080}], network=None
    )
    assert check.run()["network_topology"]["network"] == "e2e-net"


def test_infrastructure_failure_during_exec_is_raised():
    class Down(ConnectionError):
        pass

    def handler(container, cmd):
        raise Down("connection refused")

    check, _unused = verifier(FakeAPI(handler), [{"name": "p", "host": "payments", "port": 8080}])
    with pytest.raises(ArgusError) as info:
        check.run()
    assert info.value.code == "DOCKER_UNAVAILABLE"


def test_sh_probe_script_passes_names_as_arguments_and_connects_only_to_allowed():
    api = FakeAPI(busybox_handler())
    check, _unused = verifier(api, [{"name": "payments", "host": "payments", "port": 8080}])
    check.run()
    _container, cmd = api.exec_log[-1]
    assert cmd[:2] == ["sh", "-c"] and cmd[3:] == [
        "argus",
        "payments",
        "8080",
        "172.18.0.2",
        "172.18.0.3",
        "172.18.0.4",
    ]
    assert 'nslookup "$h"' in cmd[2] and 'nc -w 2 "$a" "$p" -e /bin/true' in cmd[2]


class Response:
    def __init__(self, status_code):
        self.status_code = status_code
        self.reason = "x"


def test_container_gone_during_probes_is_not_an_infrastructure_failure():
    from docker.errors import APIError, NotFound

    base = busybox_handler()
    for exc in (
        NotFound("No such container", response=Response(404), explanation="No such container: c"),
        APIError("Conflict", response=Response(409), explanation="Container c is not running"),
    ):

        def handler(container, cmd, exc=exc):
            if cmd[2].startswith("set -f"):
                raise exc
            return base(container, cmd)

        check, _unused = verifier(FakeAPI(handler), [{"name": "p", "host": "payments", "port": 8080}])
        report = check.run()
        res = report["results"][0]
        assert res["status"] == "probe_unavailable" and res["reachable"] is None
        assert res["error"].startswith("the probe exec failed: ")
        assert check.failure.code == "INVALID_INPUT"
        assert check.failure.details["field"] == "container" and check.failure.details["cause"] == "probe_failed"


def test_daemon_error_during_probes_is_raised():
    from docker.errors import APIError

    base = busybox_handler()

    def handler(container, cmd):
        if cmd[2].startswith("set -f"):
            raise APIError("boom", response=Response(500), explanation="containerd: internal error")
        return base(container, cmd)

    check, _unused = verifier(FakeAPI(handler), [{"name": "p", "host": "payments", "port": 8080}])
    with pytest.raises(ArgusError) as info:
        check.run()
    assert info.value.code == "DOCKER_API_ERROR"


def test_probe_that_hangs_past_the_api_timeout_is_inconclusive():
    import requests

    base = busybox_handler()

    class HangingAPI(FakeAPI):
        timeout = 32

        def exec_start(self, exec_id, demux=False):
            if self.exec_log[-1][1][2].startswith("set -f"):
                raise requests.exceptions.ReadTimeout("Read timed out. (read timeout=32)")
            return super().exec_start(exec_id, demux)

    check, _unused = verifier(HangingAPI(base), [{"name": "p", "host": "payments", "port": 8080}])
    report = check.run()
    res = report["results"][0]
    assert res["status"] == "probe_unavailable" and res["reachable"] is None
    assert res["error"] == "the probe exec failed: the probe did not finish within 32 s"


def test_ipv4_target_on_the_network_is_probed_in_connect_mode():
    api = FakeAPI(busybox_handler())
    check, _unused = verifier(api, [{"name": "ip", "host": "172.18.0.3", "port": 8080}])
    res = check.run()["results"][0]
    assert (res["status"], res["dns_resolved"], res["address"]) == ("reachable", True, "172.18.0.3")
    _container, cmd = api.exec_log[-1]
    assert len(api.exec_log) == 2 and cmd[3:] == ["argus", "172.18.0.3", "8080"]  # no lookup of a literal
    assert sh_probe_mode(cmd) == "connect" and 'nc -w 2 "$a" "$p" -e /bin/true' in cmd[2]


def test_prober_resolve_mode():
    api = FakeAPI(busybox_handler())
    check, _unused = verifier(api, [{"name": "p", "host": "payments", "port": 8080}])
    kit, _reason = check.prober.probe_kit(CONTAINERS["c" * 64])
    assert check.prober.resolve(kit, "payments").addresses == ["172.18.0.3"]
    assert sh_probe_mode(api.exec_log[-1][1]) == "resolve" and api.exec_log[-1][1][3:] == ["argus", "payments"]
    missing = check.prober.resolve(kit, "ghost")
    assert (missing.state, missing.error) == ("not_found", "server can't find ghost: NXDOMAIN")
    execs = len(api.exec_log)
    assert check.prober.resolve(kit, "172.18.0.9").addresses == ["172.18.0.9"] and len(api.exec_log) == execs


def test_a_client_whose_api_timeout_cannot_hold_one_probe_is_rejected_before_docker():
    class ShortAPI(FakeAPI):
        timeout = 6  # probe_timeout 2: a lookup and a connect may take 2 * 3 s

    api = ShortAPI(busybox_handler())
    with pytest.raises(ArgusError) as info:
        verifier(api, [{"name": "p", "host": "payments", "port": 8080}])
    assert info.value.code == "INVALID_INPUT" and info.value.details["field"] == "timeout"
    assert not api.exec_log

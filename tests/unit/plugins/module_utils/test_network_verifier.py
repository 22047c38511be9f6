"""NetworkVerifier with a fake Docker API: tool detection, parsing, retries, results and messages.

The real engine (busybox nc/nslookup, helper container, DNS) is exercised in
tests/integration/test_network_verify.py.
"""

from __future__ import annotations

import itertools

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils import network_verifier as nv
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError
from ansible_collections.argusai.resilience.plugins.module_utils.events import EventLog

NSLOOKUP_OK = """Server:\t\t127.0.0.11
Address:\t127.0.0.11:53

Non-authoritative answer:
Name:\tpayments
Address: 172.18.0.3

Non-authoritative answer:
"""
NSLOOKUP_OLD = """Server:    127.0.0.11
Address 1: 127.0.0.11

Name:      api
Address 1: 172.18.0.2 e2e_api_1.e2e
"""
NSLOOKUP_NX = """Server:\t\t127.0.0.11
Address:\t127.0.0.11:53

** server can't find nosuch: NXDOMAIN

** server can't find nosuch: NXDOMAIN

"""


# --------------------------------------------------------------------------- tool detection


def test_parse_tools_busybox():
    tools = nv.parse_tools(
        "tool nslookup /bin/nslookup\ntool nc /bin/nc\ntool timeout /bin/timeout\ntimeout_ok\nclock\nend\n"
    )
    assert tools.has("nc") and tools.has("nslookup") and not tools.has("getent")
    assert tools.timeout_ok and tools.clock and not tools.nc_z and not tools.nc_e
    assert nv.choose_methods(tools) == ("nslookup", "nc")
    with_e = nv.parse_tools("tool nslookup /bin/nslookup\ntool nc /bin/nc\nnc_e\ntool true /bin/true\nend\n")
    assert nv.choose_methods(with_e) == ("nslookup", "nc-e")
    without_true = nv.parse_tools("tool nslookup /bin/nslookup\ntool nc /bin/nc\nnc_e\nend\n")
    assert nv.choose_methods(without_true) == ("nslookup", "nc")


def test_parse_tools_prefers_python_then_getent_and_nc_z():
    tools = nv.parse_tools("tool python3 /usr/bin/python3\ntool getent /usr/bin/getent\ntool nc /bin/nc\nnc_z\nend")
    assert nv.choose_methods(tools) == ("python", "python")
    debian = nv.parse_tools("tool getent /usr/bin/getent\ntool nc /bin/nc\nnc_z\ntool nslookup /x\nend")
    assert nv.choose_methods(debian) == ("getent", "nc-z")
    bash_only = nv.parse_tools("tool getent /usr/bin/getent\ntool bash /bin/bash\nend")
    assert nv.choose_methods(bash_only) == ("getent", "bash")


@pytest.mark.parametrize(
    "output",
    [
        "end",  # nothing at all
        "tool nc /bin/nc\nend",  # a connector but no resolver
        "tool getent /usr/bin/getent\nend",  # a resolver but no connector
    ],
)
def test_incomplete_tools_choose_nothing(output):
    tools = nv.parse_tools(output)
    assert nv.choose_methods(tools) is None
    assert "found:" in nv.missing_tools_reason(tools)


def test_python_without_shell_is_enough():
    tools = nv.ToolSet({"python3": "python3"}, shell=None)
    assert nv.choose_methods(tools) == ("python", "python")
    assert nv.missing_tools_reason(nv.ToolSet({}, shell=None)) == "no shell (sh) and no python"


# --------------------------------------------------------------------------- parsing


def test_parse_resolution_nslookup_formats():
    assert nv.parse_resolution("nslookup", 0, NSLOOKUP_OK, "").addresses == ["172.18.0.3"]
    assert nv.parse_resolution("nslookup", 0, NSLOOKUP_OLD, "").addresses == ["172.18.0.2"]
    missing = nv.parse_resolution("nslookup", 1, NSLOOKUP_NX, "")
    assert missing.state == "not_found"
    assert missing.error == "server can't find nosuch: NXDOMAIN"  # said once, not per query


def test_parse_resolution_getent_python_and_failures():
    ok = nv.parse_resolution("getent", 0, "172.18.0.4      db\nfe80::1 db\n", "")
    assert (ok.state, ok.addresses) == ("resolved", ["172.18.0.4"])
    assert nv.parse_resolution("getent", 2, "", "").state == "not_found"
    assert nv.parse_resolution("python", 0, "ARGUS-ADDR 172.18.0.5 172.18.0.6\n", "").addresses == [
        "172.18.0.5",
        "172.18.0.6",
    ]
    notfound = nv.parse_resolution("python", 0, "ARGUS-NOTFOUND [Errno -2] Name or service not known\n", "")
    assert notfound.state == "not_found" and "not known" in notfound.error
    assert nv.parse_resolution("nslookup", 124, "", "").error == "DNS lookup timed out"
    broken = nv.parse_resolution("getent", 126, "OCI runtime exec failed: ...", "")
    assert broken.state == "error"


def test_parse_connection_shell_and_python():
    opened = nv.parse_connection("nc", 0, "ARGUS-RC 0 100.000100 100.001350\n", "", 5, 80.0)
    assert opened.state == "open" and opened.latency_ms == pytest.approx(1.25, abs=0.01)
    no_clock = nv.parse_connection("nc", 0, "ARGUS-RC 0  \n", "", 5, 42.5)
    assert no_clock.latency_ms == 42.5  # the exec round trip, an upper bound
    refused = nv.parse_connection(
        "nc", 0, "ARGUS-RC 1 1.0 1.1\n", "nc: can't connect to remote host (172.18.0.3): Connection refused\n", 5, 9
    )
    assert (refused.state, refused.error) == ("closed", "Connection refused")
    timed_out = nv.parse_connection("nc-z", 0, "ARGUS-RC 124 1 6\n", "", 5, 6000)
    assert (timed_out.state, timed_out.error) == ("closed", "timed out after 5 s")
    assert nv.parse_connection("python", 0, "ARGUS-OPEN 0.812\n", "", 5, 50).latency_ms == 0.812
    assert nv.parse_connection("python", 0, "ARGUS-CLOSED Connection refused\n", "", 5, 50).state == "closed"
    assert nv.parse_connection("nc", 126, "exec failed", "", 5, 1).state == "error"
    assert nv.parse_connection("nc", 0, "garbage", "", 5, 1).state == "error"


# --------------------------------------------------------------------------- topology and messages

NETWORK = {
    "Name": "e2e-net",
    "Id": "f" * 64,
    "Driver": "bridge",
    "IPAM": {"Config": [{"Subnet": "172.18.0.0/16"}]},
    "Containers": {
        "a" * 64: {"Name": "shop-api", "IPv4Address": "172.18.0.2/16"},
        "b" * 64: {"Name": "shop-payments", "IPv4Address": "172.18.0.3/16"},
        "c" * 64: {"Name": "shop-tests", "IPv4Address": "172.18.0.4/16"},
    },
}


def container_inspect(cid, name, aliases, networks=("e2e-net",), running=True):
    return {
        "Id": cid,
        "Name": "/" + name,
        "State": {"Running": running, "Status": "running" if running else "exited"},
        "NetworkSettings": {"Networks": {net: {"Aliases": list(aliases) + [cid[:12]]} for net in networks}},
    }


CONTAINERS = {
    "a" * 64: container_inspect("a" * 64, "shop-api", ["api"]),
    "b" * 64: container_inspect("b" * 64, "shop-payments", ["payments"]),
    "c" * 64: container_inspect("c" * 64, "shop-tests", []),
}


def test_build_topology_uses_container_aliases_and_drops_short_id():
    topology = nv.build_topology(NETWORK, CONTAINERS)
    assert topology["network"] == "e2e-net" and topology["subnets"] == ["172.18.0.0/16"]
    assert topology["containers"][0] == {"name": "shop-api", "id": "a" * 12, "ipv4": "172.18.0.2", "aliases": ["api"]}
    text = nv.describe_topology(topology)
    assert text.startswith("Containers on the network e2e-net: shop-api (172.18.0.2, aliases api)")
    assert "shop-tests (172.18.0.4, aliases none)" in text


def result(status, **values):
    base = nv.new_result(nv.Target(values.pop("service", "svc"), values.pop("host", "svc"), values.pop("port", 80)))
    base.update(status=status, **values)
    return base


def test_failure_prefers_dns_and_explains_each_target():
    topology = nv.build_topology(NETWORK, CONTAINERS)
    results = [
        result(nv.REACHABLE, service="api", host="api", reachable=True),
        result(
            nv.UNREACHABLE, service="pay", host="payments", port=9999, address="172.18.0.3", error="Connection refused"
        ),
        result(
            nv.DNS_FAILED,
            service="db",
            host="db",
            error="NXDOMAIN",
            hint="a container db exists but is attached to other",
        ),
    ]
    error = nv.failure_for(results, topology, "shop-tests", "busybox:latest")
    assert error.code == "DNS_RESOLUTION_FAILED"
    assert error.message.startswith("db does not resolve on the network e2e-net (NXDOMAIN); a container db exists")
    assert "payments resolves to 172.18.0.3 but nothing listens on 9999 (Connection refused)" in error.message
    assert "Containers on the network e2e-net: shop-api (172.18.0.2, aliases api)" in error.message
    assert error.details["failed_targets"] == ["db", "pay"]
    assert error.details["network_topology"] == topology and error.details["results"] == results


def test_failure_unreachable_only_and_all_good():
    topology = nv.build_topology(NETWORK, CONTAINERS)
    unreachable = [result(nv.UNREACHABLE, host="payments", port=9999, address="172.18.0.3", error="refused")]
    assert nv.failure_for(unreachable, topology, "t", "img").code == "NETWORK_UNREACHABLE"
    outside = [result(nv.OUTSIDE_NETWORK, host="example.org", address="93.184.216.34")]
    assert nv.failure_for(outside, topology, "t", "img").code == "NETWORK_UNREACHABLE"
    assert nv.failure_for([result(nv.REACHABLE)], topology, "t", "img") is None


def test_probe_unavailable_is_never_unreachable():
    topology = nv.build_topology(NETWORK, CONTAINERS)
    error = nv.failure_for([result(nv.PROBE_UNAVAILABLE, error="no tools")], topology, "t", "busybox:latest")
    assert error.code == "INVALID_INPUT"
    assert error.details["field"] == "probe_image" and error.details["cause"] == "probe_unavailable"
    assert "could not be probed (no tools)" in error.message


# --------------------------------------------------------------------------- input validation


@pytest.mark.parametrize(
    "targets, field",
    [
        ([], "targets"),
        ([{"name": "a", "host": "a b", "port": 80}], "targets[0].host"),
        ([{"name": "a", "host": "a", "port": 0}], "targets[0].port"),
        ([{"name": "a", "host": "a", "port": True}], "targets[0].port"),
        ([{"name": "a", "host": "a", "port": 80}, {"name": "a", "host": "b", "port": 81}], "targets[1].name"),
        ([{"name": "", "host": "a", "port": 80}], "targets[0].name"),
    ],
)
def test_parse_targets_rejects(targets, field):
    with pytest.raises(ArgusError) as info:
        nv.parse_targets(targets)
    assert info.value.code == "INVALID_INPUT" and info.value.details["field"] == field


def test_validate_options_rejects_before_docker():
    targets = nv.parse_targets([{"name": "a", "host": "a", "port": 80}])
    for changes, field in (
        ({"project": "Bad Name"}, "project"),
        ({"timeout": 0}, "timeout"),
        ({"wait_seconds": -1}, "wait_seconds"),
        ({"wait_seconds": 1e30}, "wait_seconds"),
        ({"timeout": 10**30}, "timeout"),
        ({"container": "no/slash"}, "container"),
        ({"probe_image": "two words"}, "probe_image"),
    ):
        options = nv.VerifyOptions(project="shop", container="tests", targets=targets)
        for key, value in changes.items():
            setattr(options, key, value)
        with pytest.raises(ArgusError) as info:
            nv.validate_options(options)
        assert info.value.details["field"] == field


# --------------------------------------------------------------------------- the verifier on a fake API


class NotFoundError(nv.NotFound):
    pass


class FakeAPI:
    """Enough of docker.APIClient: inspect, exec_* driven by ``handler(container, cmd) -> (rc, out, err)``."""

    def __init__(self, handler, containers=None, network=None, images=()):
        self.handler = handler
        self.containers = dict(containers or CONTAINERS)
        self.network = network or NETWORK
        self.images = set(images)
        self.execs = {}
        self.exec_log = []
        self.created = []
        self.removed = []
        self.ids = itertools.count()

    def inspect_network(self, name):
        if name not in (self.network["Name"], self.network["Id"]):
            raise NotFoundError("network not found")
        return self.network

    def inspect_container(self, name):
        for cid, data in self.containers.items():
            if name in (cid, cid[:12], data["Name"].lstrip("/")):
                return data
        raise NotFoundError("no such container")

    def exec_create(self, container, cmd, stdout=True, stderr=True):
        exec_id = f"exec{next(self.ids)}"
        self.execs[exec_id] = self.handler(container, cmd)
        self.exec_log.append((container, cmd))
        return {"Id": exec_id}

    def exec_start(self, exec_id, demux=False):
        _rc, out, err = self.execs[exec_id]
        return out.encode(), err.encode()

    def exec_inspect(self, exec_id):
        return {"ExitCode": self.execs[exec_id][0]}

    def inspect_image(self, image):
        if image not in self.images:
            raise nv.ImageNotFound("no such image")
        return {"Id": image}

    def create_host_config(self, **kwargs):
        return kwargs

    def create_container(self, image, **kwargs):
        self.created.append((image, kwargs))
        cid = "d" * 64
        return {"Id": cid}

    def start(self, cid):
        pass

    def remove_container(self, cid, force=False):
        self.removed.append(cid)


class FakeClient:
    def __init__(self, api):
        self.api = api


BUSYBOX_DETECT = "tool nslookup /bin/nslookup\ntool nc /bin/nc\nnc_e\ntool true /bin/true\nclock\nend\n"


def busybox_handler(dns=None, ports=None, detect=BUSYBOX_DETECT):
    """A busybox-like container: nslookup + nc. ``dns`` name -> ip; ``ports`` (ip, port) -> open?

    Simulates the combined probe script: it connects only to an answer listed as allowed.
    """
    dns = dns or {"payments": "172.18.0.3", "api": "172.18.0.2"}
    ports = ports if ports is not None else {("172.18.0.3", 8080): True}

    def lookup(name):
        if name in dns:
            return 0, NSLOOKUP_OK.replace("payments", name).replace("172.18.0.3", dns[name])
        return 1, NSLOOKUP_NX.replace("nosuch", name)

    def connect(address, port):
        if ports.get((address, port)):
            return "ARGUS-RC 0 10.000000 10.000900\n", ""
        return "ARGUS-RC 1 10.0 10.1\n", f"nc: can't connect to remote host ({address}): Connection refused\n"

    def handler(container, cmd):
        script = cmd[2] if len(cmd) > 2 else ""
        if script == nv.DETECT_SCRIPT:
            return 0, detect, ""
        if script.startswith("set -f"):  # SH_PROBE: argus host port allowed...
            host, port, allowed = cmd[4], int(cmd[5]), cmd[6:]
            assert "nslookup" in script and "-e /bin/true" in script
            rc, text = lookup(host)
            out = f"{text}\nARGUS-DNS {rc}\n"
            picked = dns.get(host) if rc == 0 and dns.get(host) in allowed else None
            if picked is None:
                return 0, out, ""
            conn_out, conn_err = connect(picked, port)
            return 0, out + f"ARGUS-PICK {picked}\n" + conn_out, conn_err
        if "nc -w" in script:  # connect to an IPv4 literal
            return (0, *connect(cmd[-2], int(cmd[-1])))
        raise AssertionError(f"unexpected exec {cmd}")

    return handler


def verifier(api, targets, wait_seconds=0, **options):
    clock = itertools.count(0, 0.5)  # every clock reading advances half a second
    opts = nv.VerifyOptions(
        project="shop",
        container="shop-tests",
        network=options.pop("network", "e2e-net"),
        targets=nv.parse_targets(targets),
        timeout=2,
        wait_seconds=wait_seconds,
        **options,
    )
    sleeps = []
    return nv.NetworkVerifier(FakeClient(api), opts, EventLog("shop", "r1"), lambda: next(clock), sleeps.append), sleeps


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


def test_split_probe_output():
    out = NSLOOKUP_OK + "\nARGUS-DNS 0\nARGUS-PICK 172.18.0.3\nARGUS-RC 0 1.0 1.001\n"
    dns_out, dns_rc, picked, rest = nv.split_probe_output(out)
    assert nv.parse_resolution("nslookup", dns_rc, dns_out, "").addresses == ["172.18.0.3"]
    assert (dns_rc, picked, rest) == (0, "172.18.0.3", "ARGUS-RC 0 1.0 1.001\n")
    assert nv.split_probe_output(NSLOOKUP_NX + "\nARGUS-DNS 1\n")[1:3] == (1, None)
    assert nv.split_probe_output("ARGUS-NOTFOUND [Errno -2] Name or service not known\n")[2] is None


def test_plain_nc_killed_by_timeout_is_inconclusive_not_unreachable():
    plain = nv.parse_connection("nc", 0, "ARGUS-RC 143 1 4\n", "Terminated\n", 3, 3000)
    assert plain.state == "error" and "inconclusive" in plain.error
    with_e = nv.parse_connection("nc-e", 0, "ARGUS-RC 1 1 3\n", "nc: timed out\n", 2, 2000)
    assert (with_e.state, with_e.error) == ("closed", "timed out")


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

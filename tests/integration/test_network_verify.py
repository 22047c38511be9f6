"""argus_network_verify against the real Docker Engine (issue 7, "What must be shown").

Every resource is created with this test's unique project label on its own user network; the
only addresses probed are the project's own containers on that network.
"""

from __future__ import annotations

import io
import json
import secrets
import sys
import tarfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "build" / "collections"))

from ansible_collections.argusai.resilience.plugins.module_utils.events import EventLog  # noqa: E402
from ansible_collections.argusai.resilience.plugins.module_utils.labels import resource_labels  # noqa: E402
from ansible_collections.argusai.resilience.plugins.module_utils.network.options import (  # noqa: E402
    VerifyOptions,
    parse_targets,
)
from ansible_collections.argusai.resilience.plugins.module_utils.network.parsers import EXEC_NOT_RUNNABLE  # noqa: E402
from ansible_collections.argusai.resilience.plugins.module_utils.network.prober import Prober  # noqa: E402
from ansible_collections.argusai.resilience.plugins.module_utils.network.verifier import NetworkVerifier  # noqa: E402

MODULE = "argusai.resilience.argus_network_verify"


class Env:
    """A labeled user network with a running test container (testbox: busybox nc + nslookup)."""

    def __init__(self, client, project, image):
        self.client = client
        self.project = project
        self.image = image
        self.labels = resource_labels(project, "it")
        self.network = f"{project}-net"
        client.networks.create(self.network, driver="bridge", labels=self.labels)
        self.tests = self.container("tests", ["sleep", "300"])

    def container(self, name, command, aliases=(), network=None, image=None):
        network = network or self.network
        container = self.client.containers.create(
            image or self.image,
            command,
            name=f"{self.project}-{name}",
            labels=self.labels,
            network=network,
            networking_config={network: self.client.api.create_endpoint_config(aliases=list(aliases))},
        )
        container.start()
        return container

    def mock(self, alias, port, delay=0):
        command = ["httpd", "-f", "-p", str(port)]
        if delay:
            command = ["sh", "-c", f"sleep {delay}; exec httpd -f -p {port}"]
        return self.container(alias, command, aliases=[alias])

    def ip(self, container, network=None):
        container.reload()
        return container.attrs["NetworkSettings"]["Networks"][network or self.network]["IPAddress"]

    def args(self, targets, **extra):
        args = {
            "project": self.project,
            "run_id": "it",
            "container": self.tests.name,
            "network": self.network,
            "targets": targets,
            "probe_timeout": 2,
            "wait_seconds": 1,
            "probe_image": self.image,
        }
        args.update(extra)
        return args


@pytest.fixture
def env(docker_client, unique_project, test_image):
    return Env(docker_client, unique_project, test_image)


def port():
    return 20000 + secrets.randbelow(40000)


def listening(container, port_number, seconds=10):
    """Wait until the mock's own httpd accepts (checked inside the mock, on its loopback)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if container.exec_run(["nc", "-w", "1", "127.0.0.1", str(port_number)], stdin=False).exit_code == 0:
            return
        time.sleep(0.1)
    raise AssertionError(f"{container.name} does not listen on {port_number}")


def event_types(result):
    return [event["type"] for event in result["argus_events"]]


def test_mock_reached_by_its_alias(env, run_module):
    web_port = port()
    mock = env.mock("payments", web_port)
    listening(mock, web_port)
    for check in (False, True):
        result = run_module(MODULE, env.args([{"name": "payments", "host": "payments", "port": web_port}]), check=check)
        assert not result.get("failed"), result.get("msg")
        assert result["changed"] is False
        report = result["report"]
        (res,) = report["results"]
        assert res["service"] == "payments" and res["hostname"] == "payments"
        assert res["dns_resolved"] is True and res["reachable"] is True and res["error"] is None
        assert res["address"] == env.ip(mock)
        assert isinstance(res["latency_ms"], float) and 0 < res["latency_ms"] < 2000
        assert res["probe"] == "nslookup+nc-e"  # busybox: nslookup, nc without -z but with -e
        assert report["all_reachable"] is True and report["timestamp"].endswith("Z")
        names = {c["name"]: c for c in report["network_topology"]["containers"]}
        assert names[mock.name]["aliases"] == ["payments"] and names[mock.name]["ipv4"] == env.ip(mock)
        assert env.tests.name in names
        assert event_types(result) == ["network_check", "network_verified"]


def test_unknown_name_and_closed_port(env, run_module):
    web_port = port()
    mock = env.mock("payments", web_port)
    listening(mock, web_port)
    closed = web_port + 1
    unknown = f"nosuch-{secrets.token_hex(3)}"
    result = run_module(
        MODULE,
        env.args(
            [
                {"name": "payments", "host": "payments", "port": web_port},
                {"name": "ghost", "host": unknown, "port": 80},
                {"name": "closed", "host": "payments", "port": closed},
            ],
            wait_seconds=3,  # room for a retry even on a loaded machine
        ),
    )
    assert result["failed"] is True and "Traceback" not in result["_stderr"]
    error = result["error"]
    assert error["code"] == "DNS_RESOLUTION_FAILED" and error["category"] == "network"
    by_name = {r["service"]: r for r in result["report"]["results"]}
    assert by_name["payments"]["reachable"] is True
    assert by_name["ghost"]["dns_resolved"] is False and by_name["ghost"]["reachable"] is False
    assert by_name["closed"]["dns_resolved"] is True and by_name["closed"]["reachable"] is False
    assert by_name["closed"]["attempts"] >= 2  # retried during wait_seconds
    assert f"{unknown} does not resolve on the network {env.network}" in error["message"]
    assert f"payments resolves to {env.ip(mock)} but nothing listens on {closed}" in error["message"]
    assert f"{mock.name} ({env.ip(mock)}, aliases payments)" in error["message"]
    assert error["details"]["network_topology"]["network"] == env.network
    assert {r["service"] for r in error["details"]["results"]} == {"payments", "ghost", "closed"}

    # the closed port alone: NETWORK_UNREACHABLE
    result = run_module(MODULE, env.args([{"name": "closed", "host": "payments", "port": closed}]))
    assert result["failed"] is True and result["error"]["code"] == "NETWORK_UNREACHABLE"
    assert result["msg"].startswith(f"NETWORK_UNREACHABLE: payments resolves to {env.ip(mock)} but nothing listens")
    assert result["error"]["details"]["results"][0]["error"] == "Connection refused"
    assert event_types(result)[-1] == "network_verified"


def test_container_on_another_network_is_not_resolved(env, docker_client, run_module):
    other = f"{env.project}-other"
    docker_client.networks.create(other, driver="bridge", labels=env.labels)
    stray_port = port()
    stray = env.container("stray", ["httpd", "-f", "-p", str(stray_port)], aliases=["stray"], network=other)
    result = run_module(MODULE, env.args([{"name": "stray", "host": stray.name, "port": stray_port}]))
    assert result["failed"] is True and result["error"]["code"] == "DNS_RESOLUTION_FAILED"
    (res,) = result["report"]["results"]
    assert res["dns_resolved"] is False and res["reachable"] is False
    assert res["hint"] == f"a container {stray.name} exists but is attached to {other}, not {env.network}"
    topology = result["report"]["network_topology"]
    listed = {c["name"] for c in topology["containers"]}
    assert stray.name not in listed and env.tests.name in listed  # the topology shows why
    assert res["hint"] in result["msg"]


def test_late_listener_is_found_within_wait_seconds(env, docker_client):
    web_port = port()
    options = VerifyOptions(
        project=env.project,
        container=env.tests.name,
        network=env.network,
        targets=parse_targets([{"name": "late", "host": "late", "port": web_port}]),
        probe_timeout=2,
        wait_seconds=20,
        probe_image=env.image,
    )
    env.mock("late", web_port, delay=3)  # listens 3 s after it starts
    started = time.monotonic()
    verifier = NetworkVerifier(docker_client, options, EventLog(env.project, "it"))
    report = verifier.run()
    elapsed = time.monotonic() - started
    (res,) = report["results"]
    assert res["reachable"] is True and verifier.failure is None
    assert res["attempts"] > 1  # not listening at first
    assert 2.5 < elapsed < 20
    checks = [e["data"] for e in verifier.events.events if e["type"] == "network_check"]
    assert checks[0]["reachable"] is False and checks[-1]["reachable"] is True and checks[-1]["final"] is True


def test_targets_that_never_settle_end_within_the_bound(env, docker_client):
    """Issue 14: a target that accepts then drops at once, one that flaps, one that never listens.

    The documented bound: the tool detection (one probe exec), ``wait_seconds``, and the one
    attempt (at most two probe execs of 2 * (probe_timeout + 1) s each) that may start just before
    the deadline.
    """
    web_port = port()
    env.container("drops", ["nc", "-ll", "-p", str(web_port), "-e", "true"], aliases=["drops"])
    flapping = f"while :; do timeout 1 nc -ll -p {web_port} -e true; sleep 1; done"
    env.container("flaps", ["sh", "-c", flapping], aliases=["flaps"])
    env.container("silent", ["sleep", "300"], aliases=["silent"])
    options = VerifyOptions(
        project=env.project,
        container=env.tests.name,
        network=env.network,
        targets=parse_targets(
            [{"name": name, "host": name, "port": web_port} for name in ("drops", "flaps", "silent")]
        ),
        probe_timeout=1,
        wait_seconds=3,
        probe_image=env.image,
    )
    probe_exec = 2 * (1 + 1)
    bound = probe_exec + 3 + 2 * probe_exec
    verifier = NetworkVerifier(docker_client, options, EventLog(env.project, "it"))
    started = time.monotonic()
    report = verifier.run()
    elapsed = time.monotonic() - started
    drops, flaps, silent = report["results"]
    assert drops["reachable"] is True and flaps["reachable"] is True  # a TCP connect is what is verified
    assert silent["reachable"] is False and silent["attempts"] >= 3 and verifier.failure.code == "NETWORK_UNREACHABLE"
    assert elapsed <= bound, f"{elapsed:.1f}s, bound {bound}s"


def test_each_probe_mode_in_busybox(env, docker_client):
    """The one sh probe in its three modes, in the busybox test container."""
    web_port = port()
    mock = env.mock("payments", web_port)
    listening(mock, web_port)
    address = env.ip(mock)
    options = VerifyOptions(
        project=env.project,
        container=env.tests.name,
        targets=parse_targets([{"name": "payments", "host": "payments", "port": web_port}]),
        probe_timeout=2,
        probe_image=env.image,
    )
    prober = Prober(docker_client.api, options)
    kit, reason = prober.probe_kit(docker_client.api.inspect_container(env.tests.id))
    assert reason is None and kit.method == "nslookup+nc-e"
    assert prober.resolve(kit, "payments").addresses == [address]
    assert prober.resolve(kit, f"nosuch-{secrets.token_hex(3)}").state == "not_found"
    assert prober.connect(kit, address, web_port).state == "open"
    refused = prober.connect(kit, address, web_port + 1)
    assert (refused.state, refused.error) == ("closed", "Connection refused")
    resolution, picked, connection = prober.resolve_and_connect(kit, "payments", web_port, [address])
    assert resolution.addresses == [address] and picked == address and connection.state == "open"
    resolution, picked, connection = prober.resolve_and_connect(kit, "payments", web_port, ["10.0.0.1"])
    assert resolution.addresses == [address] and picked is None and connection is None  # not allowed: not probed


def test_timeout_is_the_docker_api_timeout(env, run_module):
    web_port = port()
    mock = env.mock("payments", web_port)
    listening(mock, web_port)
    targets = [{"name": "payments", "host": "payments", "port": web_port}]
    # probe_timeout 2: one probe may take 2 * 3 s, so an API request must be allowed more
    result = run_module(MODULE, env.args(targets, timeout=6))
    assert result["failed"] is True and result["error"]["code"] == "INVALID_INPUT"
    assert result["error"]["details"] == {"field": "timeout", "value": 6}
    assert "report" not in result  # rejected before Docker was called
    result = run_module(MODULE, env.args(targets, timeout=7))
    assert not result.get("failed"), result.get("msg")
    assert result["report"]["all_reachable"] is True


@pytest.fixture
def no_tools_image(docker_client, test_image, unique_project):
    """An image holding one static binary, /sleep (busybox under that name): no shell, no tools."""
    helper = docker_client.containers.create(test_image, ["true"], labels=resource_labels(unique_project, "it"))
    try:
        chunks, _stat = helper.get_archive("/bin/busybox")
        with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as source:
            data = source.extractfile("busybox").read()
    finally:
        helper.remove(force=True)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("sleep")
        info.size, info.mode = len(data), 0o755
        archive.addfile(info, io.BytesIO(data))
    repository = "argus-it-notools"
    answer = docker_client.api.import_image_from_data(buffer.getvalue(), repository=repository, tag=unique_project)
    image_id = json.loads(answer.strip().splitlines()[-1])["status"]
    docker_client.images.get(image_id).tag(repository, unique_project)  # Podman 4.3's import drops the tag
    yield f"{repository}:{unique_project}"
    try:
        docker_client.images.remove(image_id, force=True)
    except Exception:
        pass


def test_container_without_probe_tools(env, docker_client, no_tools_image, run_module):
    web_port = port()
    mock = env.mock("payments", web_port)
    listening(mock, web_port)
    bare = env.container("bare", ["/sleep", "300"], image=no_tools_image)
    assert bare.exec_run(["sh", "-c", "true"]).exit_code in EXEC_NOT_RUNNABLE  # really no shell
    targets = [
        {"name": "payments", "host": "payments", "port": web_port},
        {"name": "closed", "host": "payments", "port": web_port + 1},
    ]

    # 1. a helper container sharing its network namespace gives the correct answer
    result = run_module(MODULE, env.args(targets, container=bare.name))
    by_name = {r["service"]: r for r in result["report"]["results"]}
    assert by_name["payments"]["reachable"] is True and by_name["payments"]["probe"] == "helper:nslookup+nc-e"
    assert by_name["closed"]["reachable"] is False and result["error"]["code"] == "NETWORK_UNREACHABLE"
    assert result["report"]["probe"]["where"] == "helper_container"
    leftovers = docker_client.containers.list(all=True, filters={"label": f"argusai.project={env.project}"})
    assert not [c.name for c in leftovers if c.name.startswith("argus-netprobe-")]  # removed after

    # 2. no usable probe image: a clear probe_unavailable, never "unreachable"
    missing = f"argus-it-absent:{env.project}"
    result = run_module(MODULE, env.args(targets, container=bare.name, probe_image=missing))
    assert result["failed"] is True
    assert result["error"]["code"] == "INVALID_INPUT" and result["error"]["details"]["cause"] == "probe_unavailable"
    for res in result["report"]["results"]:
        assert res["status"] == "probe_unavailable" and res["reachable"] is None and res["dns_resolved"] is None
        assert f"{missing} is not present" in res["error"]
    assert result["report"]["probe"]["available"] is False


def test_missing_container_and_network_are_clean_errors(env, run_module):
    targets = [{"name": "payments", "host": "payments", "port": 80}]
    result = run_module(MODULE, env.args(targets, container=f"{env.project}-nope"))
    assert result["failed"] is True and "Traceback" not in result["_stderr"]
    assert result["error"]["code"] == "INVALID_INPUT"
    assert result["error"]["details"] == {"field": "container", "value": f"{env.project}-nope", "cause": "not_found"}
    assert result["msg"] == f"INVALID_INPUT: test container '{env.project}-nope' does not exist on the Docker host"

    result = run_module(MODULE, env.args(targets, network=f"{env.project}-nonet"))
    assert result["failed"] is True and result["error"]["code"] == "INVALID_INPUT"
    assert result["error"]["details"]["field"] == "network" and result["error"]["details"]["cause"] == "not_found"
    assert "report" not in result  # nothing was probed

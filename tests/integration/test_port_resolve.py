"""argus_port_resolve against real sockets, real processes and the real Docker Engine.

Module behaviour goes through real ansible-playbook runs; the race test runs the core in 20
separate processes (an ansible-playbook each would take minutes on two cores) that then bind what
they got and hold it, so a duplicate shows up as a failed bind. Leases are volumes of the real
daemon; every test that takes one names its ``unique_project``, whose teardown removes them.
Leases across controllers, their lifetime and the issue's reproductions: test_daemon_state.py.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import yaml

MODULE = "argusai.resilience.argus_port_resolve"
# not imported from conftest: a unit + integration session has two modules named "conftest"
COLLECTIONS_PATH = Path(__file__).resolve().parents[2] / "build" / "collections"
sys.path.insert(0, str(COLLECTIONS_PATH))

from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError  # noqa: E402
from ansible_collections.argusai.resilience.plugins.module_utils.labels import resource_labels  # noqa: E402
from ansible_collections.argusai.resilience.plugins.module_utils.ports.leases import Owner, lease_name  # noqa: E402
from ansible_collections.argusai.resilience.plugins.module_utils.ports.probe import (  # noqa: E402
    bind_probe,
    host_has_ipv6,
    probe_targets,
)
from ansible_collections.argusai.resilience.plugins.module_utils.ports.resolver import PortResolver  # noqa: E402
from ansible_collections.argusai.resilience.plugins.module_utils.ports.single_port import (  # noqa: E402
    is_port_allocation_error,
    reresolve_after_allocation_error,
)

TARGETS = probe_targets("0.0.0.0")


def free_block(size: int, protocol: str = "tcp") -> int:
    """A random base port in 20000-60000 such that base..base+size-1 are all free now (v4 and v6)."""
    for _round in range(200):
        base = random.randint(20000, 60000 - size)
        if all(bind_probe(port, protocol, TARGETS) is None for port in range(base, base + size)):
            return base
    raise AssertionError("no free block of ports found")


HOLDER = textwrap.dedent(
    """
    import socket, sys
    held = []
    for spec in sys.argv[1:]:
        family, proto, port = spec.split(":")
        fam = socket.AF_INET6 if family == "6" else socket.AF_INET
        sock = socket.socket(fam, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
        if fam == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", int(port)))
        if proto == "tcp":
            sock.listen()
        held.append(sock)
    print("ready", flush=True)
    sys.stdin.read()
    """
)


class Holder:
    """A separate process holding ports (``"4:tcp:8080"``, ``"6:tcp:8080"``, ``"4:udp:53"``)."""

    def __init__(self, *specs: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, *specs], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        line = self.proc.stdout.readline()
        assert line.strip() == "ready", f"holder failed to bind {specs}"
        self.pid = self.proc.pid

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()


@pytest.fixture
def holders():
    started: list[Holder] = []

    def _hold(*specs: str) -> Holder:
        holder = Holder(*specs)
        started.append(holder)
        return holder

    yield _hold
    for holder in started:
        holder.close()


@pytest.fixture
def resolve(run_module):
    """Run the module through ansible-playbook."""

    def _resolve(args, check=False):
        return run_module(MODULE, args, check=check)

    return _resolve


def lease_labels(client, port: int, protocol: str = "tcp") -> dict | None:
    """The labels of the lease volume of a port, None when there is none."""
    import docker

    try:
        return client.api.inspect_volume(lease_name(protocol, port))["Labels"]
    except docker.errors.NotFound:
        return None


# -- held by a plain process -------------------------------------------------------------------------


def test_process_holder_auto_reassigns(resolve, holders, unique_project, docker_client):
    port = free_block(3)
    holder = holders(f"4:tcp:{port}")
    result = resolve({"project": unique_project, "run_id": "r1", "ports": [{"name": "api", "port": port}]})
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is False
    mapping = result["mappings"][0]
    assert mapping["reassigned"] is True and mapping["original_port"] == port
    assert mapping["actual_port"] == port + 1
    assert mapping["occupied_by"] == {
        "type": "process",
        "pid": holder.pid,
        "process": mapping["occupied_by"]["process"],
    }
    assert mapping["occupied_by"]["process"].startswith("python")
    assert result["ports"] == {"api": port + 1}
    assert result["ansible_facts"]["argus_port_mappings"] == result["mappings"]
    types = [event["type"] for event in result["argus_events"]]
    assert types == ["port_conflict", "port_reassigned"]
    assert all(e["project"] == unique_project and e["run_id"] == "r1" for e in result["argus_events"])
    # the port handed out is leased in the daemon, owned by the project's run
    labels = lease_labels(docker_client, port + 1)
    assert labels["argusai.project"] == unique_project and labels["argusai.run-id"] == "r1"
    assert labels["argusai.service"] == "api" and labels["argusai.managed"] == "true"
    assert lease_labels(docker_client, port) is None
    # and it is really bindable
    assert bind_probe(mapping["actual_port"], "tcp", TARGETS) is None


def test_process_holder_fail_names_pid(resolve, holders, docker_client):
    port = free_block(2)
    holder = holders(f"4:tcp:{port}")
    result = resolve({"strategy": "fail", "ports": [{"name": "api", "port": port}]})
    assert result["failed"] is True
    error = result["error"]
    assert error["code"] == "PORT_CONFLICT"
    assert error["details"]["port"] == port and error["details"]["pid"] == holder.pid
    assert str(holder.pid) in result["msg"] and str(port) in result["msg"]
    assert error["details"]["occupied_by"]["type"] == "process"
    assert [e["type"] for e in result["argus_events"]] == ["port_conflict"]
    assert lease_labels(docker_client, port) is None  # a failed resolution leases nothing


def test_ipv6_only_and_udp_holders_are_seen(holders):
    """The wildcard probe covers [::] (when the host has IPv6) and UDP is its own space."""
    port = free_block(3)
    specs = [f"4:udp:{port}"]
    if host_has_ipv6():
        specs.append(f"6:tcp:{port}")
    holder = holders(*specs)
    resolver = PortResolver()  # no client: no lease
    result = resolver.resolve([{"name": "dns", "port": port, "protocol": "udp"}, {"name": "web", "port": port}])
    assert result.ports["dns"] == port + 1
    assert result.mappings[0].occupied_by.pid == holder.pid
    if host_has_ipv6():
        assert result.ports["web"] != port and result.mappings[1].occupied_by.pid == holder.pid


# -- held by a container ------------------------------------------------------------------------------


def test_container_published_port_reassigned(resolve, docker_client, test_image, unique_project):
    port = free_block(3)
    container = docker_client.containers.run(
        test_image,
        ["sleep", "300"],
        detach=True,
        name=f"{unique_project}-holder",
        labels=resource_labels(unique_project, "r0", service="holder"),
        ports={"80/tcp": port},
    )
    result = resolve({"project": unique_project, "ports": [{"name": "web", "port": port}]})
    assert not result.get("failed"), result.get("msg")
    mapping = result["mappings"][0]
    assert mapping["reassigned"] is True and mapping["actual_port"] == port + 1
    assert mapping["occupied_by"] == {
        "type": "container",
        "container": f"{unique_project}-holder",
        "container_id": container.id[:12],
    }
    # A daemon without the userland proxy binds nothing: the daemon's list alone must catch it.
    # Simulate that with a probe that sees every port free.
    blind = PortResolver(client=docker_client, lease=None, probe=lambda *_args: None)
    assert blind.resolve([{"name": "web", "port": port}]).ports == {"web": port + 1}


def test_reresolve_after_allocation_error_with_real_daemon(docker_client, test_image, unique_project):
    """What the container guard does when Docker answers 'port is already allocated'."""
    import docker

    port = free_block(3)
    labels = resource_labels(unique_project, "r0")
    docker_client.containers.run(
        test_image, ["sleep", "300"], detach=True, name=f"{unique_project}-a", labels=labels, ports={"80/tcp": port}
    )
    second = docker_client.containers.create(
        test_image, ["sleep", "300"], name=f"{unique_project}-b", labels=labels, ports={"80/tcp": port}
    )
    with pytest.raises(docker.errors.APIError) as info:
        second.start()
    assert is_port_allocation_error(info.value)
    events: list[tuple[str, dict]] = []

    class Sink:
        def emit(self, event_type, **data):
            events.append((event_type, data))

    mapping = reresolve_after_allocation_error("b", port, client=docker_client, events=Sink(), project=unique_project)
    assert mapping["actual_port"] > port and mapping["reassigned"] is True
    assert mapping["occupied_by"]["container"] == f"{unique_project}-a"
    assert [name for name, _data in events] == ["port_conflict", "port_reassigned"]
    assert lease_labels(docker_client, mapping["actual_port"])["argusai.project"] == unique_project


# -- same request ---------------------------------------------------------------------------------------


def test_two_entries_same_port_get_distinct_ports(resolve, unique_project):
    port = free_block(3)
    result = resolve(
        {
            "project": unique_project,
            "ports": [
                {"name": "a", "port": port},
                {"name": "b", "port": port},
                {"name": "c", "port": port, "protocol": "udp"},
            ],
        }
    )
    assert not result.get("failed"), result.get("msg")
    assert result["ports"] == {"a": port, "b": port + 1, "c": port}
    assert result["mappings"][1]["occupied_by"] == {"type": "request", "service": "a"}


# -- exhaustion -------------------------------------------------------------------------------------------


def test_exhaustion_over_five_held_ports(resolve, holders, unique_project):
    port = free_block(6)
    holders(*[f"4:tcp:{p}" for p in range(port, port + 5)])
    # with a project, the fix (a setup rerun of that project) can be offered
    result = resolve(
        {"project": unique_project, "run_id": "r1", "max_attempts": 5, "ports": [{"name": "api", "port": port}]}
    )
    assert result["failed"] is True
    error = result["error"]
    assert error["code"] == "PORT_EXHAUSTION"
    assert error["details"]["range"] == [port, port + 4]
    assert [t["port"] for t in error["details"]["taken"]] == list(range(port, port + 5))
    fix = error["suggested_actions"][0]
    assert (fix["id"], fix["kind"]) == ("widen_port_range", "fix")
    assert fix["extra_vars"]["argus_resilience_overrides"] == {"ports": {"max_attempts": 20}}
    # one more attempt finds the free port right above
    assert PortResolver(max_attempts=6).resolve([{"name": "api", "port": port}]).ports == {"api": port + 5}


# -- races --------------------------------------------------------------------------------------------------

RACER = textwrap.dedent(
    """
    import json, socket, sys
    sys.path.insert(0, sys.argv[1])
    import docker
    from ansible_collections.argusai.resilience.plugins.module_utils.ports.leases import Owner
    from ansible_collections.argusai.resilience.plugins.module_utils.ports.resolver import PortResolver
    preferred, project, run_id = int(sys.argv[2]), sys.argv[3], sys.argv[4]
    resolver = PortResolver(client=docker.from_env(), owner=Owner(project, run_id))
    print("ready", flush=True)
    sys.stdin.readline()  # "go": every racer resolves at the same moment
    port = resolver.resolve([{"name": "svc", "port": preferred}]).ports["svc"]
    sock = socket.socket()
    try:
        sock.bind(("0.0.0.0", port))
        sock.listen()
        bound = True
    except OSError as exc:
        bound = str(exc)
    print(json.dumps({"port": port, "bound": bound}), flush=True)
    sys.stdin.read()  # hold the port until every racer has reported
    """
)


def test_twenty_concurrent_processes_never_share_a_port(unique_project):
    preferred = free_block(40)
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(COLLECTIONS_PATH), str(preferred), unique_project, f"r{index}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index in range(20)
    ]
    try:
        for racer in racers:  # all imported and connected to Docker
            assert racer.stdout.readline().strip() == "ready", racer.stderr.read()
        for racer in racers:
            racer.stdin.write("go\n")
            racer.stdin.flush()
        reports = []
        for racer in racers:
            line = racer.stdout.readline()
            assert line, racer.stderr.read()
            reports.append(json.loads(line))
    finally:
        for racer in racers:
            racer.stdin.close()
            racer.wait(timeout=30)
            racer.stdout.close()
            racer.stderr.close()
    got = [report["port"] for report in reports]
    assert all(report["bound"] is True for report in reports), reports
    assert len(set(got)) == 20, sorted(got)
    assert set(got) == set(range(preferred, preferred + 20))


def test_twenty_concurrent_threads_never_share_a_port(docker_client, unique_project):
    preferred = free_block(40)
    barrier = threading.Barrier(20)
    got: list[int] = []
    errors: list[BaseException] = []

    def race(index: int) -> None:
        try:
            resolver = PortResolver(client=docker_client, owner=Owner(unique_project, f"t{index}"))
            barrier.wait()
            got.append(resolver.resolve([{"name": "svc", "port": preferred}]).ports["svc"])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=race, args=(index,)) for index in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors and len(set(got)) == 20, (errors, sorted(got))


def test_without_leases_nothing_stops_a_second_resolution_from_the_same_port():
    """The control for the two race tests: the lease, not luck, keeps the ports apart."""
    preferred = free_block(2)
    first = PortResolver().resolve([{"name": "a", "port": preferred}])
    second = PortResolver().resolve([{"name": "b", "port": preferred}])
    assert first.ports["a"] == second.ports["b"] == preferred


# -- check mode and invalid input ------------------------------------------------------------------------


def test_check_mode_leases_nothing(resolve, holders, docker_client, unique_project):
    port = free_block(2)
    holders(f"4:tcp:{port}")
    result = resolve({"project": unique_project, "ports": [{"name": "api", "port": port}]}, check=True)
    assert not result.get("failed"), result.get("msg")
    assert result["ports"] == {"api": port + 1} and result["changed"] is False
    assert lease_labels(docker_client, port + 1) is None


INVALID = [
    ({"ports": [{"name": "a", "port": 0}]}, "ports[0].port"),
    ({"ports": [{"name": "a", "port": 65536}]}, "ports[0].port"),
    ({"ports": [{"name": "a", "port": "abc"}]}, "ports[0].port"),
    ({"ports": [{"name": "a", "port": -1}]}, "ports[0].port"),
    ({"ports": [{"name": "a", "port": 8080, "protocol": "sctp"}]}, "ports[0].protocol"),
    ({"ports": [{"name": "a", "port": 8080}, {"name": "a", "port": 8081}]}, "ports[1].name"),
    ({"ports": [{"name": "a", "port": 8080}], "max_attempts": 0}, "max_attempts"),
    ({"ports": [{"name": "a", "port": 8080}], "bind_address": "not-an-ip"}, "bind_address"),
    ({"ports": [{"name": "a", "port": 8080}], "project": "Bad Project"}, "project"),
]


def test_invalid_inputs_refused_cleanly(tmp_path, run_playbook):
    """One ansible-playbook run loops over every invalid input (a run per case would be slow).

    docker_host points at a socket that does not exist: INVALID_INPUT must come before Docker.
    """
    out = tmp_path / "results.json"
    play = [
        {
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "resolve",
                    MODULE: "{{ item }}",
                    "loop": [dict(args, docker_host="unix:///nonexistent/docker.sock") for args, _field in INVALID],
                    "register": "results",
                    "ignore_errors": True,
                },
                {
                    "name": "write",
                    "ansible.builtin.copy": {"content": "{{ results.results | to_json }}", "dest": str(out)},
                },
            ],
        }
    ]
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump(play, sort_keys=False))
    proc = run_playbook(playbook)
    assert out.exists(), proc.stdout + proc.stderr
    results = json.loads(out.read_text())
    assert len(results) == len(INVALID)
    for result, (args, field) in zip(results, INVALID, strict=True):
        assert result["failed"] is True, args
        assert result["error"]["code"] == "INVALID_INPUT", (args, result["msg"])
        assert result["error"]["details"]["field"] == field, (args, result["error"])
        # ansible-core 2.19 adds exception="(traceback unavailable)" to every failure without one
        assert "Traceback" not in result.get("module_stderr", "") + str(result.get("exception", ""))
        assert result["msg"].startswith("INVALID_INPUT: ")


def test_invalid_ports_refused_by_the_core_before_docker(docker_client):
    from unittest import mock

    client = mock.Mock(wraps=docker_client)
    for bad in (0, 65536, "abc", -1):
        with pytest.raises(ArgusError) as info:
            PortResolver(client=client).resolve([{"name": "a", "port": bad}])
        assert info.value.code == "INVALID_INPUT"
    assert not client.api.containers.called

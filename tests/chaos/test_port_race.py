"""Port races: 10 setups of different projects, started at once, all asking for the same host ports.

Runs on the private daemon, with the 10 ``ansible-playbook`` runs started INSIDE its network
namespace: that namespace is the Docker host's network there, so the port resolver, Docker's
allocator and docker-proxy all race for the same ports, and nothing of the machine's own ports
or of the main daemon's small network address pool (which other test suites use at the same time)
is involved. Every setup must succeed with distinct host ports, every service must answer on its
port from the loopback, no run may fail with Docker's "port is already allocated", and no port
lease (a volume in that daemon) may outlive the setups.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time

from conftest import PLAYBOOKS
from harness import TEST_IMAGE, assert_no_traceback, e2e_config, service

RACERS = 10
SPAN = 80  # host ports [base, base + SPAN) must be free when the race starts


HTTP_PROBE = """
import socket, sys
bad = []
for port in map(int, sys.argv[1:]):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
            sock.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")
            if not sock.recv(64).startswith(b"HTTP/1."):
                bad.append(port)
    except OSError:
        bad.append(port)
print(" ".join(map(str, bad)))
"""


def _not_answering(daemon, ports: list[int]) -> list[int]:
    """Ports on the daemon's loopback where no HTTP server answers (probed inside its namespace)."""
    out = subprocess.run(
        daemon.in_netns([sys.executable, "-c", HTTP_PROBE, *map(str, ports)]),
        capture_output=True,
        text=True,
        check=True,
    )
    return [int(p) for p in out.stdout.split()]


def test_ten_concurrent_setups_get_distinct_ports(private_dockerd, private_client, ansible, chaos_project, recorder):
    base = random.randrange(20000, 60000 - SPAN)  # the namespace has no other listener
    projects = [chaos_project(f"race{i}") for i in range(RACERS)]
    runs = []
    for project in projects:
        svc = service(
            f"{project}-web",
            ports=[{"container_port": 8080, "host_port": base}, {"container_port": 8081, "host_port": base + 1}],
        )
        config = e2e_config(project, services=[svc], test=False, resilience={"network": {"verify_connectivity": False}})
        config_file = ansible.write_config(config, f"{project}.yaml")
        result_file = ansible.workdir / f"{project}-result.json"
        runs.append((project, config_file, result_file))

    began = time.monotonic()
    procs = []
    for project, config_file, result_file in runs:
        log = ansible.workdir / f"{project}.log"
        proc = ansible.spawn(
            PLAYBOOKS / "setup.yml",
            {"argus_config_file": str(config_file), "argus_result_file": str(result_file)},
            env=private_dockerd.env(),
            log=log,
            prefix=private_dockerd.in_netns,
        )
        procs.append((project, proc, log, result_file))
    failures = []
    for project, proc, log, _result in procs:
        rc = proc.wait(timeout=400)
        output = log.read_text()
        assert_no_traceback(output)
        assert "port is already allocated" not in output, f"{project}:\n{output[-4000:]}"
        if rc != 0:
            failures.append(f"{project} rc={rc}:\n{output[-3000:]}")
    took = time.monotonic() - began
    assert not failures, "\n\n".join(failures)

    host_ports = []
    reassigned = 0
    web_ports = []
    for project, _proc, _log, result_file in procs:
        result = json.loads(result_file.read_text())["hosts"]["localhost"]["result"]
        container = private_client.containers.get(f"{project}-web")
        assert container.image.tags and TEST_IMAGE in container.image.tags
        published = container.attrs["NetworkSettings"]["Ports"]
        for container_port in ("8080/tcp", "8081/tcp"):
            bindings = published[container_port]
            assert bindings, (project, published)
            host_ports.append(int(bindings[0]["HostPort"]))
        reassigned += sum(1 for m in result["port_mappings"] if m.get("reassigned"))
        web_ports.append(int(published["8080/tcp"][0]["HostPort"]))
    assert len(host_ports) == 2 * RACERS
    assert len(set(host_ports)) == len(host_ports), sorted(host_ports)
    assert _not_answering(private_dockerd, web_ports) == []
    # the leases live in the daemon, and each one ended when its container started publishing
    leftover = private_client.api.volumes(filters={"label": "argusai.lock=port"})["Volumes"] or []
    assert leftover == [], [volume["Name"] for volume in leftover]
    recorder.record(
        "port_race.ten_concurrent_setups",
        f"{RACERS} setups of different projects started at once, all asking for host ports {base} and {base + 1}",
        f"all {RACERS} succeeded with {len(set(host_ports))} distinct host ports ({reassigned} reassigned); "
        "every service answered on its port; no 'port is already allocated'",
        took,
        f"wall time until the last of the {RACERS} ansible-playbook runs finished (2 vCPU)",
        host_ports=sorted(host_ports),
    )

"""Orphan cleanup: the module's core versus ``docker rm -f $(docker ps -aq ...)`` + ``docker network rm``.

Each round builds two identical sets of orphans (200 containers: half running ``sleep``, a
quarter exited, a quarter created and never started, spread over 20 networks they are attached
to, plus the 20 networks) under two fresh project names, then cleans one with the module core
(connect, list, created-after-start check, ordered parallel removal: everything the module does
except Ansible's own process start) and the other with the Docker CLI, the order alternating
between rounds. Both sides are checked to have removed everything. Prints the median of each
side and the ratio (target <= 1.0).

    .venv/bin/python benchmarks/bench_orphan_clean.py [--rounds 2] [--workers 8] [--ansible]

``--workers 4,8,16`` times the core with each worker count (same rounds) to choose the default;
``--ansible`` also times one cleanup through ``ansible-playbook`` (not part of the ratio).

Note: Docker 20.10's libnetwork can deadlock when very many containers exit at once (seen here
once, on the ``docker rm -f`` side, with other test suites loading the daemon); the daemon then
needs a restart. The timeouts make the benchmark fail instead of hanging.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "build", "collections"))

import docker  # noqa: E402
from ansible_collections.argusai.resilience.plugins.module_utils.cleanup.cleaner import (  # noqa: E402
    DEFAULT_WORKERS,
    CleanupOptions,
    OrphanCleaner,
)
from ansible_collections.argusai.resilience.plugins.module_utils.docker_client import connect  # noqa: E402
from ansible_collections.argusai.resilience.plugins.module_utils.events import EventLog  # noqa: E402
from ansible_collections.argusai.resilience.plugins.module_utils.labels import resource_labels  # noqa: E402

IMAGE = "argusai/testbox:latest"
CONTAINERS = 200
NETWORKS = 20
OLD_RUN = "benchold"
CURRENT_RUN = "benchnow"
CLI_TIMEOUT = 300  # a wedged daemon fails the benchmark instead of hanging it
# Attaching every container to one of the networks makes each create/remove cost a veth pair and
# iptables rules (about 4x slower on both sides, dominated by the daemon); off by default so that
# the benchmark stays under two minutes. --attach turns it on.
ATTACH = False


def build_set(client: docker.DockerClient, project: str) -> None:
    """200 orphaned containers (running / exited / created) and 20 orphaned networks, made in parallel."""
    api = client.api
    labels = resource_labels(project, OLD_RUN)
    networks = [api.create_network(f"{project}-n{i}", labels=labels)["Id"] for i in range(NETWORKS)]

    def make(i: int) -> None:
        state = ("running", "exited", "running", "created")[i % 4]
        command = ["sleep", "600"] if state == "running" else ["true"]
        created = api.create_container(
            IMAGE,
            command,
            name=f"{project}-c{i}",
            labels=labels,
            host_config=api.create_host_config(network_mode=networks[i % NETWORKS] if ATTACH else "none"),
        )
        if state != "created":
            api.start(created["Id"])

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(make, range(CONTAINERS)))


def leftovers(client: docker.DockerClient, project: str) -> int:
    filters = {"label": f"argusai.project={project}"}
    return len(client.api.containers(all=True, filters=filters)) + len(client.api.networks(filters=filters))


def clean_with_module_core(project: str, workers: int) -> float:
    started = time.perf_counter()
    client = connect(None, 60)
    cleaner = OrphanCleaner(
        client, CleanupOptions(project, CURRENT_RUN, workers=workers), EventLog(project, CURRENT_RUN)
    )
    result = cleaner.clean()
    elapsed = time.perf_counter() - started
    client.close()
    assert not result["failed"], [f["error"]["message"] for f in result["failed"]]
    assert len(result["removed"]) == CONTAINERS + NETWORKS, len(result["removed"])
    return elapsed


def clean_with_docker_cli(project: str) -> float:
    label = f"label=argusai.project={project}"
    script = (
        f"docker rm -f $(docker ps -aq --filter {label}) >/dev/null && "
        f"docker network rm $(docker network ls -q --filter {label}) >/dev/null"
    )
    started = time.perf_counter()
    subprocess.run(["sh", "-c", script], check=True, timeout=CLI_TIMEOUT)
    return time.perf_counter() - started


def clean_with_ansible(project: str) -> float:
    play = [
        {
            "name": "bench",
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "clean",
                    "argusai.resilience.argus_orphan_clean": {"project": project, "run_id": CURRENT_RUN},
                }
            ],
        }
    ]
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as handle:
        json.dump(play, handle)
    try:
        started = time.perf_counter()
        subprocess.run(
            [os.path.join(ROOT, ".venv", "bin", "ansible-playbook"), handle.name],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
            timeout=CLI_TIMEOUT,
        )
        return time.perf_counter() - started
    finally:
        os.unlink(handle.name)


def remove_everything(client: docker.DockerClient, projects: list[str]) -> None:
    """Safety net: whatever a failed round left of the benchmark's own projects."""
    for project in projects:
        filters = {"label": f"argusai.project={project}"}
        for row in client.api.containers(all=True, filters=filters):
            client.api.remove_container(row["Id"], force=True, v=True)
        for row in client.api.networks(filters=filters):
            client.api.remove_network(row["Id"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", default=str(DEFAULT_WORKERS), help="comma-separated worker counts to time")
    parser.add_argument("--ansible", action="store_true", help="also time one cleanup through ansible-playbook")
    parser.add_argument("--attach", action="store_true", help="attach the containers to the networks (slower)")
    args = parser.parse_args()
    global ATTACH
    ATTACH = args.attach
    worker_counts = [int(w) for w in args.workers.split(",")]

    client = docker.DockerClient(base_url="unix:///var/run/docker.sock", timeout=120, max_pool_size=32)
    tag = secrets.token_hex(3)
    projects: list[str] = []
    timings: dict[str, list[float]] = {f"module[{w}]": [] for w in worker_counts}
    timings["docker_cli"] = []
    try:
        for round_number in range(args.rounds):
            sides = [(f"module[{w}]", w) for w in worker_counts] + [("docker_cli", None)]
            if round_number % 2:
                sides.reverse()
            for name, workers in sides:
                project = f"bench-oc-{tag}-{len(projects)}"
                projects.append(project)
                build_set(client, project)
                time.sleep(1.5)  # let the daemon settle; the same pause for both sides
                if workers is None:
                    elapsed = clean_with_docker_cli(project)
                else:
                    elapsed = clean_with_module_core(project, workers)
                assert leftovers(client, project) == 0, f"{name} left resources of {project}"
                timings[name].append(elapsed)
                print(f"round {round_number + 1}: {name:<12} {elapsed * 1000:8.0f} ms", flush=True)
        if args.ansible:
            project = f"bench-oc-{tag}-{len(projects)}"
            projects.append(project)
            build_set(client, project)
            time.sleep(1.5)
            elapsed = clean_with_ansible(project)
            assert leftovers(client, project) == 0
            print(f"via ansible-playbook (incl. Ansible start-up): {elapsed * 1000:.0f} ms")
    finally:
        remove_everything(client, projects)
        client.close()

    cli_ms = statistics.median(timings["docker_cli"]) * 1000
    print(f"\n{CONTAINERS} containers + {NETWORKS} networks, median of {args.rounds} rounds:")
    print(f"  docker rm -f $(docker ps -aq ...) + docker network rm: {cli_ms:8.0f} ms")
    for workers in worker_counts:
        module_ms = statistics.median(timings[f"module[{workers}]"]) * 1000
        print(
            f"  module core ({workers:>2} workers):                      {module_ms:8.0f} ms"
            f"   ratio module/cli = {module_ms / cli_ms:.2f} (target <= 1.0)"
        )


if __name__ == "__main__":
    main()

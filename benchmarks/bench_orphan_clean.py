"""Orphan cleanup through Ansible versus ``docker rm -f $(docker ps -aq ...)`` + ``docker network rm``.

Each round builds identical sets of orphans (200 containers: a quarter running ``sleep``, half
exited, a quarter created and never started, plus 20 networks) under fresh project names, then
removes each set one way, the order rotating between rounds:

* ansible   ``ansible-playbook`` of one ``argusai.resilience.argus_orphan_clean`` task, the whole
            process timed (Ansible's start-up, the module's transfer and start, listing, the
            created-after-start check, the cleanup turn, ordered parallel removal, leases);
* cli       ``docker rm -f $(docker ps -aq --filter label=...)`` then ``docker network rm $(...)``
            (the CLI removes in parallel itself): the anchor;
* sdk floor the raw Docker SDK: list by label, then ``remove_container(force=True)`` on 16 threads
            and the networks: what the daemon itself needs, no checks at all.

Every side is checked to have removed everything. Prints the medians and the FIGURE line
(ansible / cli, goal <= 1.0).

    .venv/bin/python benchmarks/bench_orphan_clean.py [--rounds 2] [--attach]

Note: Docker 20.10's libnetwork can deadlock when very many containers exit at once (seen here
twice, on the ``docker rm -f`` side); the daemon then needs a restart (docs/performance.md). The
timeouts make the benchmark fail instead of hanging.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import docker
from benchlib import ROOT, VENV_BIN, ansible_env, figure, machine

sys.path.insert(0, str(ROOT / "build" / "collections"))

from ansible_collections.argusai.resilience.plugins.module_utils.labels import resource_labels  # noqa: E402

IMAGE = "argusai/testbox:latest"
CONTAINERS = 200
NETWORKS = 20
OLD_RUN = "benchold"
CURRENT_RUN = "benchnow"
CLI_TIMEOUT = 300  # a wedged daemon fails the benchmark instead of hanging it
STATES = ("running", "exited", "created", "exited")  # a quarter running
# Attaching every container to one of the networks makes each create/remove cost a veth pair and
# iptables rules (about 4x slower on both sides, dominated by the daemon); off by default so that
# the benchmark stays within a couple of minutes. --attach turns it on.
ATTACH = False


def build_set(client: docker.DockerClient, project: str) -> None:
    """200 orphaned containers (running / exited / created) and 20 orphaned networks, made in parallel."""
    api = client.api
    labels = resource_labels(project, OLD_RUN)
    networks = [api.create_network(f"{project}-n{i}", labels=labels)["Id"] for i in range(NETWORKS)]

    def make(i: int) -> None:
        state = STATES[i % len(STATES)]
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
            if state == "exited":
                api.wait(created["Id"], timeout=60)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(make, range(CONTAINERS)))


def leftovers(client: docker.DockerClient, project: str) -> int:
    filters = {"label": f"argusai.project={project}"}
    return len(client.api.containers(all=True, filters=filters)) + len(client.api.networks(filters=filters))


def clean_with_ansible(project: str) -> float:
    play = [
        {
            "name": "bench",
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {"name": "clean", "argusai.resilience.argus_orphan_clean": {"project": project, "run_id": CURRENT_RUN}}
            ],
        }
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as handle:
        json.dump(play, handle)
        handle.flush()
        started = time.perf_counter()
        subprocess.run(
            [str(VENV_BIN / "ansible-playbook"), handle.name],
            check=True,
            env=ansible_env(),
            stdout=subprocess.DEVNULL,
            timeout=CLI_TIMEOUT,
        )
        return time.perf_counter() - started


def clean_with_docker_cli(project: str) -> float:
    label = f"label=argusai.project={project}"
    script = (
        f"docker rm -f $(docker ps -aq --filter {label}) >/dev/null && "
        f"docker network rm $(docker network ls -q --filter {label}) >/dev/null"
    )
    started = time.perf_counter()
    # its own process group: a docker CLI stuck on a wedged daemon is ended with the shell
    proc = subprocess.Popen(["sh", "-c", script], start_new_session=True)
    try:
        if proc.wait(timeout=CLI_TIMEOUT) != 0:
            sys.exit(f"the docker CLI failed (rc={proc.returncode})")
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    return time.perf_counter() - started


def clean_with_raw_sdk(project: str) -> float:
    """The floor: the SDK's client made, list, parallel forced removals, networks; nothing else."""
    started = time.perf_counter()
    client = docker.DockerClient(base_url="unix:///var/run/docker.sock", timeout=CLI_TIMEOUT, max_pool_size=16)
    filters = {"label": f"argusai.project={project}"}
    ids = [row["Id"] for row in client.api.containers(all=True, filters=filters)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda cid: client.api.remove_container(cid, force=True), ids))
        networks = [row["Id"] for row in client.api.networks(filters=filters)]
        list(pool.map(client.api.remove_network, networks))
    client.close()
    return time.perf_counter() - started


SIDES = {"ansible": clean_with_ansible, "cli": clean_with_docker_cli, "sdk floor": clean_with_raw_sdk}


def remove_everything(projects: list[str], seconds: float = 120) -> None:
    """Safety net: whatever a failed round left of the benchmark's own projects, within ``seconds``
    (a wedged daemon, see the module docstring, would otherwise hold every request to its timeout)."""
    client = docker.DockerClient(base_url="unix:///var/run/docker.sock", timeout=10)
    end = time.monotonic() + seconds
    try:
        for project in projects:
            filters = {"label": f"argusai.project={project}"}
            rows = client.api.containers(all=True, filters=filters)
            rows += [dict(row, network=True) for row in client.api.networks(filters=filters)]
            for row in rows:
                if time.monotonic() > end:
                    sys.exit(f"what the benchmark left of {project} was not removed in {seconds:g} s: dockerd wedged?")
                try:
                    if row.get("network"):
                        client.api.remove_network(row["Id"])
                    else:
                        client.api.remove_container(row["Id"], force=True, v=True)
                except docker.errors.APIError as exc:
                    print(f"left behind: {exc}", file=sys.stderr)
    finally:
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--attach", action="store_true", help="attach the containers to the networks (slower)")
    args = parser.parse_args()
    global ATTACH
    ATTACH = args.attach

    print(machine())
    client = docker.DockerClient(base_url="unix:///var/run/docker.sock", timeout=120, max_pool_size=32)
    tag = secrets.token_hex(3)
    projects: list[str] = []
    timings: dict[str, list[float]] = {name: [] for name in SIDES}
    try:
        for round_number in range(args.rounds):
            order = list(SIDES)
            order = order[round_number % len(order) :] + order[: round_number % len(order)]
            for name in order:
                project = f"bench-oc-{tag}-{len(projects)}"
                projects.append(project)
                build_set(client, project)
                time.sleep(1.5)  # let the daemon settle; the same pause for every side
                elapsed = SIDES[name](project)
                assert leftovers(client, project) == 0, f"{name} left resources of {project}"
                timings[name].append(elapsed)
                print(f"round {round_number + 1}: {name:<10} {elapsed * 1000:8.0f} ms", flush=True)
    finally:
        client.close()
        remove_everything(projects)

    print(f"\n{CONTAINERS} containers (a quarter running) + {NETWORKS} networks, median of {args.rounds} rounds:")
    for name in SIDES:
        print(f"  {name:<10} {statistics.median(timings[name]) * 1000:8.0f} ms")
    anchor = "docker rm -f + network rm"
    figure("orphan cleanup (whole ansible-playbook)", timings["ansible"], anchor, timings["cli"], 1.0)
    figure("raw-SDK floor (for reference)", timings["sdk floor"], anchor, timings["cli"], 1.0)


if __name__ == "__main__":
    main()

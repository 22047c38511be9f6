"""Container guard: recovery latency vs Docker's restart policy, and concurrent vs sequential startup.

Run: ``.venv/bin/python benchmarks/bench_guard.py [--rounds N] [--services N]``

1. Recovery latency (death -> running again) on the same crashing container
   (``sh -c 'sleep 1; exit 1'``), alternating rounds so both see the same machine load:

   * docker  - ``--restart on-failure:3`` (Docker's own policy: 100 ms, doubling)
   * guard   - ContainerGuardian, ``max_restarts: 3``, exponential backoff from 100 ms (the same
               schedule), ``stable_seconds`` above the crash period so the schedule keeps doubling

   Both are measured by the same observer: the Docker events stream of the container, each
   ``die`` to the next ``start`` (Docker's timestamps). The guard's figure also holds its
   diagnostics capture (inspect + logs) made before every restart.

2. Startup of N services (httpd with a healthcheck, ``stable_seconds: 1``) through one
   ``containers:`` call (ContainerGuardian.ensure_all, one thread per container) vs N sequential
   calls (ContainerGuardian.ensure one after the other), at core level (no ansible-playbook).

Prints the figures and the ratios side by side; never asserts. Every resource carries the
benchmark's own project label and is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "build" / "collections"))

import docker  # noqa: E402
from ansible_collections.argusai.resilience.plugins.module_utils.events import EventLog  # noqa: E402
from ansible_collections.argusai.resilience.plugins.module_utils.guard.spec import spec_from_params  # noqa: E402
from ansible_collections.argusai.resilience.plugins.module_utils.guard.supervisor import ContainerGuardian  # noqa: E402
from ansible_collections.argusai.resilience.plugins.module_utils.labels import resource_labels  # noqa: E402
from benchlib import figure, machine  # noqa: E402

IMAGE = os.environ.get("ARGUS_TEST_IMAGE", "argusai/testbox:latest")
CRASH = ["sh", "-c", "echo up; sleep 1; echo down; exit 1"]
RESTARTS = 3


class Observer:
    """Collects (action, timeNano) of one container name from the live events stream."""

    def __init__(self, client, name: str) -> None:
        self.events: list[tuple[str, int]] = []
        now = time.time()
        self.stream = client.api.events(
            since=f"{now:.6f}",
            until=f"{now + 120:.6f}",
            filters={"container": name, "event": ["start", "die"]},
            decode=True,
        )
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        for event in self.stream:
            self.events.append((event["Action"], event["timeNano"]))

    def wait_for(self, action: str, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while sum(1 for a, _unused in self.events if a == action) < count and time.monotonic() < deadline:
            time.sleep(0.05)

    def gaps_ms(self) -> list[float]:
        """die -> next start, in milliseconds."""
        gaps, died = [], None
        for action, nanos in self.events:
            if action == "die":
                died = nanos
            elif action == "start" and died is not None:
                gaps.append((nanos - died) / 1e6)
                died = None
        return gaps

    def close(self) -> None:
        self.stream.close()
        self.thread.join(timeout=2)


def docker_round(client, project: str, index: int) -> list[float]:
    name = f"{project}-docker-{index}"
    observer = Observer(client, name)
    container = client.containers.run(
        IMAGE,
        CRASH,
        name=name,
        detach=True,
        labels=resource_labels(project, "bench", service=name),
        restart_policy={"Name": "on-failure", "MaximumRetryCount": RESTARTS},
    )
    try:
        observer.wait_for("die", RESTARTS + 1, timeout=30)
        return observer.gaps_ms()[:RESTARTS]
    finally:
        observer.close()
        container.remove(force=True)


def guard_round(client, project: str, index: int) -> list[float]:
    name = f"{project}-guard-{index}"
    observer = Observer(client, name)
    guardian = ContainerGuardian(client, project, "bench", EventLog(project, "bench"))
    spec = spec_from_params(
        {
            "name": name,
            "image": IMAGE,
            "command": CRASH,
            "max_restarts": RESTARTS,
            "backoff": "exponential",
            "backoff_initial_ms": 100,
            "stable_seconds": 5,
        }
    )
    try:
        outcome = guardian.ensure(spec)
        assert outcome.error is not None and outcome.error.code == "CONTAINER_RESTART_EXHAUSTED", outcome.error
        observer.wait_for("die", RESTARTS + 1, timeout=10)
        return observer.gaps_ms()[:RESTARTS]
    finally:
        observer.close()
        client.containers.get(name).remove(force=True)


def service_specs(project: str, label: str, count: int) -> list:
    return [
        spec_from_params(
            {
                "name": f"{project}-{label}-svc{i}",
                "image": IMAGE,
                "command": ["httpd", "-f", "-p", "8080", "-h", "/var/www"],
                "network": f"{project}-net",
                "healthcheck": {"test": "wget -q -O /dev/null http://127.0.0.1:8080/", "interval": 0.5, "retries": 5},
                "stable_seconds": 1,
            }
        )
        for i in range(count)
    ]


def startup(client, project: str, label: str, count: int, concurrent: bool) -> float:
    guardian = ContainerGuardian(client, project, "bench", EventLog(project, "bench"))
    specs = service_specs(project, label, count)
    began = time.monotonic()
    outcomes = guardian.ensure_all(specs) if concurrent else [guardian.ensure(spec) for spec in specs]
    elapsed = time.monotonic() - began
    failed = [o.error.message for o in outcomes if o.error is not None]
    assert not failed, failed
    for spec in specs:
        client.containers.get(spec.name).remove(force=True)
    return elapsed


def cleanup(client, project: str) -> None:
    filters = {"label": f"argusai.project={project}"}
    for container in client.containers.list(all=True, filters=filters):
        container.remove(force=True)
    for network in client.networks.list(filters=filters):
        network.remove()


def fmt(values: list[float]) -> str:
    return ", ".join(f"{v:7.0f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="recovery rounds per side (alternating)")
    parser.add_argument("--services", type=int, default=10, help="services started in the startup comparison")
    args = parser.parse_args()
    print(machine())
    client = docker.from_env(timeout=120)
    project = f"bench-guard-{secrets.token_hex(3)}"
    try:
        print(f"== recovery latency, death -> running again (ms), restarts 1..{RESTARTS}, same crashing container")
        docker_gaps: list[list[float]] = []
        guard_gaps: list[list[float]] = []
        for index in range(args.rounds):
            docker_gaps.append(docker_round(client, project, index))
            guard_gaps.append(guard_round(client, project, index))
            print(f"round {index}: docker on-failure [{fmt(docker_gaps[-1])}]   guard [{fmt(guard_gaps[-1])}]")
        schedule = [100 * 2**i for i in range(RESTARTS)]
        print(f"scheduled delays (both)      [{fmt(schedule)}]")
        for restart in range(RESTARTS):
            d = statistics.median(g[restart] for g in docker_gaps if len(g) > restart)
            g = statistics.median(g[restart] for g in guard_gaps if len(g) > restart)
            print(f"restart {restart + 1}: docker {d:7.0f} ms   guard {g:7.0f} ms   guard/docker {g / d:5.2f}x")
        d_all = statistics.mean(v for gaps in docker_gaps for v in gaps)
        g_all = statistics.mean(v for gaps in guard_gaps for v in gaps)
        print(f"mean   : docker {d_all:7.0f} ms   guard {g_all:7.0f} ms   guard/docker {g_all / d_all:5.2f}x")
        all_docker = [v / 1000 for gaps in docker_gaps for v in gaps]
        figure("guard recovery (mean of restarts)", [v / 1000 for gaps in guard_gaps for v in gaps],
               "dockerd on-failure", all_docker, 1.0, statistics.fmean)  # fmt: skip
        print(
            "(Docker waits its delay, then starts; the guard counts the delay from the death to running again and"
            " issues the start early by the last start's latency. The guard also captures diagnostics each time.)"
        )

        print(f"\n== startup of {args.services} services (httpd + healthcheck, stable_seconds 1)")
        sequential = startup(client, project, "seq", args.services, concurrent=False)
        concurrent = startup(client, project, "conc", args.services, concurrent=True)
        print(f"{args.services} sequential ensure() calls : {sequential:6.2f} s")
        print(f"one containers: call (threads)  : {concurrent:6.2f} s")
        print(f"sequential / concurrent         : {sequential / concurrent:6.2f}x")
    finally:
        cleanup(client, project)


if __name__ == "__main__":
    main()

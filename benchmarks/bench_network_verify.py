"""Benchmark: verifying 20 targets concurrently versus one by one.

Usage: .venv/bin/python benchmarks/bench_network_verify.py [--rounds N] [--targets N]

Sets up, on the real Docker Engine, a labeled user network ``bench-<hex>`` with a test container
(argusai/testbox: busybox nslookup + nc) and four httpd mocks carrying five network aliases each:
20 targets, each a distinct name (a real DNS lookup and a real TCP connect through ``docker
exec``). wait_seconds=0: exactly one attempt per target.

Two scenarios:
  * all-up - every target answers: the cost is spawning one exec per target (CPU on the Docker
    host), so threads gain at most what the host's cores allow;
  * 5-hung - one mock is paused and its accept queue filled, so its five targets never complete
    the TCP handshake and each probe waits its full probe_timeout (1 s): what threads are for.

Timed side by side, alternating, in the same run:
  * concurrent - NetworkVerifier as the module runs it (up to 10 threads);
  * sequential - the same verifier with max_workers=1 (the baseline: one target after another).
Prints each round, the medians and the ratio. Never asserts on time. Removes everything it
created (by its unique project label) at the end.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "build", "collections"))

import docker  # noqa: E402
from ansible_collections.argusai.resilience.plugins.module_utils.labels import resource_labels  # noqa: E402
from ansible_collections.argusai.resilience.plugins.module_utils.network.options import (  # noqa: E402
    MAX_WORKERS,
    VerifyOptions,
    parse_targets,
)
from ansible_collections.argusai.resilience.plugins.module_utils.network.verifier import NetworkVerifier  # noqa: E402

IMAGE = "argusai/testbox:latest"
MOCKS = 4
PORT = 8080


def setup(client, project: str, count: int) -> tuple[str, str, list[dict]]:
    labels = resource_labels(project, "bench")
    network = f"{project}-net"
    client.networks.create(network, driver="bridge", labels=labels)

    def start(name, command, aliases=()):
        container = client.containers.create(
            IMAGE,
            command,
            name=f"{project}-{name}",
            labels=labels,
            network=network,
            networking_config={network: client.api.create_endpoint_config(aliases=list(aliases))},
        )
        container.start()
        return container

    tests = start("tests", ["sleep", "600"])
    targets = []
    mocks = []
    per_mock = -(-count // MOCKS)
    for m in range(MOCKS):
        aliases = [f"svc{m * per_mock + i}" for i in range(per_mock) if m * per_mock + i < count]
        if aliases:
            mocks.append(start(f"mock{m}", ["httpd", "-f", "-p", str(PORT)], aliases))
            targets += [{"name": alias, "host": alias, "port": PORT} for alias in aliases]
    return tests, network, targets, mocks


def hang(tests, mock) -> None:
    """Pause the mock and fill its accept queue: later connects never complete the handshake."""
    mock.pause()
    tests.exec_run(["sh", "-c", f"for i in $(seq 1 16); do nc -w 1 svc0 {PORT} -e /bin/true; done"])


def teardown(client, project: str) -> None:
    filters = {"label": f"argusai.project={project}"}
    for container in client.containers.list(all=True, filters=filters):
        container.remove(force=True)
    for network in client.networks.list(filters=filters):
        network.remove()


def timed(client, project, container, network, targets, workers, probe_timeout=5) -> tuple[float, dict]:
    options = VerifyOptions(
        project=project,
        container=container,
        network=network,
        targets=parse_targets(targets),
        probe_timeout=probe_timeout,
        wait_seconds=0,
        probe_image=IMAGE,
        max_workers=workers,
    )
    started = time.perf_counter()
    verifier = NetworkVerifier(client, options)
    report = verifier.run()
    return time.perf_counter() - started, report


def compare(client, project, container, network, targets, rounds, probe_timeout, expect_up) -> None:
    modes = {"concurrent": MAX_WORKERS, "sequential": 1}
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    for round_number in range(1, rounds + 1):
        order = list(modes) if round_number % 2 else list(reversed(modes))
        line = []
        for mode in order:
            elapsed, report = timed(client, project, container, network, targets, modes[mode], probe_timeout)
            up = sum(1 for r in report["results"] if r["reachable"])
            assert up == expect_up, f"{up} reachable, expected {expect_up}"
            times[mode].append(elapsed)
            line.append(f"{mode} {elapsed * 1000:8.1f} ms")
        print(f"  round {round_number}: " + "   ".join(line))
    concurrent = statistics.median(times["concurrent"])
    sequential = statistics.median(times["sequential"])
    print(f"  median concurrent ({MAX_WORKERS} threads): {concurrent * 1000:8.1f} ms")
    print(f"  median sequential (1 thread)  : {sequential * 1000:8.1f} ms")
    print(f"  ratio sequential / concurrent : {sequential / concurrent:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--targets", type=int, default=20)
    args = parser.parse_args()
    client = docker.from_env(timeout=60)
    project = f"bench-{secrets.token_hex(4)}"
    try:
        tests, network, targets, mocks = setup(client, project, args.targets)
        # wait until every mock answers once (startup is not what is measured)
        _elapsed, report = timed(client, project, tests.name, network, targets, MAX_WORKERS)
        if not report["all_reachable"]:
            raise SystemExit(f"setup failed: {[r for r in report['results'] if not r['reachable']]}")
        print(f"{len(targets)} targets, probe {report['probe']['method']}, {args.rounds} rounds each (alternating)")
        print(f"all-up: {len(targets)} reachable targets, one exec each")
        compare(client, project, tests.name, network, targets, args.rounds, 5, len(targets))
        hung = sum(1 for t in targets if t["host"].startswith("svc") and int(t["host"][3:]) < len(targets) // MOCKS)
        hang(tests, mocks[0])
        print(f"{hung}-hung: {hung} of {len(targets)} targets on a hung service, probe_timeout 1 s")
        compare(client, project, tests.name, network, targets, args.rounds, 1, len(targets) - hung)
    finally:
        for mock in client.containers.list(filters={"label": f"argusai.project={project}", "status": "paused"}):
            mock.unpause()
        teardown(client, project)
        client.close()


if __name__ == "__main__":
    main()

"""Benchmark: resolving 100 ports in a range where every other port is held.

Usage: .venv/bin/python benchmarks/bench_ports.py [--rounds N]

100 real sockets hold base, base+2, ..., base+198 (listening TCP on 0.0.0.0). The request has 100
entries whose preferred ports are exactly those held ports, so each entry probes its held port,
then the free one right above: 200 probes per resolution.

Timed side by side, alternating, in the same run:
  * argus    - PortResolver.resolve(): the module-internal work (one Docker container list, one
               lease list, a lease volume created in the daemon per port handed out, IPv4 and IPv6
               bind probes, holder lookup by psutil for each of the 100 conflicts, 100 frozen
               mappings); the leases are released after each round, outside the timing;
  * argus-no-docker - the same without Docker (client=None: no container list, no lease);
  * probe-only - the collection's bind probe alone (IPv4 + IPv6), to separate the fixed costs;
  * naive    - a plain loop: bind() on 0.0.0.0 upward until it works, no Docker, no IPv6,
               no holder lookup, no lease (the baseline).
Prints the median time per resolution, the cost per probe and the ratio against the baseline.
Never asserts on time.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "build", "collections"))

from ansible_collections.argusai.resilience.plugins.module_utils.ports.holders import HAS_PSUTIL  # noqa: E402
from ansible_collections.argusai.resilience.plugins.module_utils.ports.leases import Owner, release_runs  # noqa: E402
from ansible_collections.argusai.resilience.plugins.module_utils.ports.probe import (  # noqa: E402
    bind_probe,
    host_has_ipv6,
    probe_targets,
)
from ansible_collections.argusai.resilience.plugins.module_utils.ports.resolver import PortResolver  # noqa: E402

N = 100
PROJECT = "bench-ports"


def free_range(size: int) -> int:
    targets = probe_targets("0.0.0.0")
    for _round in range(500):
        base = random.randint(20000, 60000 - size)
        if all(bind_probe(p, "tcp", targets) is None for p in range(base, base + size)):
            return base
    raise SystemExit("no free range of ports found")


def hold(base: int) -> list[socket.socket]:
    held = []
    for i in range(N):
        sock = socket.socket()
        sock.bind(("0.0.0.0", base + 2 * i))
        sock.listen()
        held.append(sock)
    return held


def naive(requests: list[dict]) -> tuple[dict[str, int], int]:
    """The baseline: bind-probe upward, remember what this request handed out."""
    handed: set[int] = set()
    result: dict[str, int] = {}
    probes = 0
    for entry in requests:
        port = entry["port"]
        while True:
            if port not in handed:
                probes += 1
                sock = socket.socket()
                try:
                    sock.bind(("0.0.0.0", port))
                    break
                except OSError:
                    pass
                finally:
                    sock.close()
            port += 1
        handed.add(port)
        result[entry["name"]] = port
    return result, probes


def probe_only(requests: list[dict]) -> tuple[dict[str, int], int]:
    """Just the collection's probe (IPv4 + IPv6, no Docker, no lease, no holder lookup)."""
    targets = probe_targets("0.0.0.0")
    result: dict[str, int] = {}
    probes = 0
    for entry in requests:
        port = entry["port"]
        while True:
            probes += 1
            if bind_probe(port, "tcp", targets) is None:
                break
            port += 1
        result[entry["name"]] = port
    return result, probes


def argus(requests: list[dict], client) -> tuple[dict[str, int], int]:
    resolver = PortResolver(client=client, owner=Owner(PROJECT, f"r{time.monotonic_ns()}"))
    resolution = resolver.resolve(requests)
    return resolution.ports, resolution.probes


def release(client) -> None:
    """Fresh leases every round: this round's are released (not timed)."""
    if client is not None:
        release_runs(client, PROJECT, lambda _run: True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()

    client = None
    try:
        import docker

        client = docker.from_env()
        client.ping()
    except Exception as exc:  # the socket-only variants still run
        print(f"(Docker not reachable, the 'argus' variant runs without it: {exc})")
        client = None

    base = free_range(2 * N)
    held = hold(base)
    requests = [{"name": f"svc{i}", "port": base + 2 * i} for i in range(N)]
    expected = {f"svc{i}": base + 2 * i + 1 for i in range(N)}
    variants = {
        "argus": lambda: argus(requests, client),
        "argus-no-docker": lambda: argus(requests, None),
        "probe-only": lambda: probe_only(requests),
        "naive": lambda: naive(requests),
    }
    timings: dict[str, list[float]] = {name: [] for name in variants}
    probes: dict[str, int] = {}
    try:
        for name, run in variants.items():  # warm-up (imports, psutil caches), checked
            got, probes[name] = run()
            release(client)
            assert got == expected, f"{name} resolved differently"
        for _round in range(args.rounds):
            for name, run in variants.items():  # alternate so that host noise hits all alike
                start = time.perf_counter()
                run()
                timings[name].append(time.perf_counter() - start)
                release(client)
    finally:
        release(client)
        for sock in held:
            sock.close()

    print(f"resolving {N} ports over {base}..{base + 2 * N - 1}, every other port held, {args.rounds} rounds")
    print(f"IPv6 probed too: {host_has_ipv6()}; holder lookup: {'psutil' if HAS_PSUTIL else '/proc'}")
    baseline = statistics.median(timings["naive"])
    print(f"{'variant':<17} {'median ms':>10} {'probes':>7} {'us/probe':>9} {'vs naive':>9}")
    for name, values in timings.items():
        median = statistics.median(values)
        print(
            f"{name:<17} {median * 1000:>10.2f} {probes[name]:>7} {median / probes[name] * 1e6:>9.1f}"
            f" {median / baseline:>8.1f}x"
        )


if __name__ == "__main__":
    main()

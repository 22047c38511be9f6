"""Preflight: the module's own work versus the same Docker calls made directly with the SDK.

Both sides do what a preflight needs: connect (API version negotiation), `info`, the labeled
container/network/volume listings, and disk usage of / and Docker's root dir. They run
alternately in one process so that both see the same daemon state. Prints medians and the ratio
(target <= 1.2).
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build", "collections"))

import docker  # noqa: E402
from ansible_collections.argusai.resilience.plugins.module_utils.docker_client import connect  # noqa: E402
from ansible_collections.argusai.resilience.plugins.module_utils.events import EventLog  # noqa: E402
from ansible_collections.argusai.resilience.plugins.module_utils.preflight import (  # noqa: E402
    PreflightChecker,
    PreflightOptions,
)

PROJECT = "bench-preflight"
ROUNDS = 40
FILTERS = {"label": ["argusai.managed=true", f"argusai.project={PROJECT}"]}


def module_preflight() -> None:
    options = PreflightOptions(project=PROJECT, run_id="now")
    checker = PreflightChecker(options, lambda seconds: connect(None, 60, seconds), EventLog(PROJECT, "now"))
    report = checker.run()
    checker.client.close()
    assert report["overall"] in ("healthy", "degraded"), report


def raw_sdk_preflight() -> None:
    client = docker.DockerClient(base_url="unix:///var/run/docker.sock", version="auto", timeout=5)
    info = client.info()
    shutil.disk_usage("/")
    shutil.disk_usage(info["DockerRootDir"])
    client.api.containers(all=True, filters=FILTERS)
    client.api.networks(filters=FILTERS)
    client.api.volumes(filters=FILTERS)
    client.close()


def main() -> None:
    timings: dict[str, list[float]] = {"module": [], "raw_sdk": []}
    for round_number in range(ROUNDS + 2):
        for name, run in (("module", module_preflight), ("raw_sdk", raw_sdk_preflight)):
            started = time.perf_counter()
            run()
            if round_number >= 2:  # the first rounds warm caches on both sides
                timings[name].append((time.perf_counter() - started) * 1000)
    module_ms = statistics.median(timings["module"])
    raw_ms = statistics.median(timings["raw_sdk"])
    print(f"preflight: module {module_ms:.1f} ms, raw SDK {raw_ms:.1f} ms (median of {ROUNDS})")
    print(f"preflight: ratio module/raw = {module_ms / raw_ms:.2f} (target <= 1.2)")


if __name__ == "__main__":
    main()

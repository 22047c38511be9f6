"""Benchmark: N environments of the demo at once on one Docker host (issue 15 item 1).

For N = 1, 2, 4, 8: N ``ansible-playbook argusai.resilience.setup`` of examples/demo/e2e.yaml
start together, each under its own project name (what a CI runner with N parallel jobs does).
Prints the total wall time (all ready), the time of each environment (its playbook's run), and
whether every environment was healthy and reachable on distinct host ports.

The anchor is docker-compose 1.29 with ``-p`` (the same containers, healthchecks and fixed host
ports, polled until running and healthy): with the file's fixed host ports, a second project
cannot start ("port is already allocated"); compose is measured where it can run them.

    .venv/bin/python benchmarks/bench_parallel.py [--counts 1 2 4 8]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker
import yaml
from bench_setup import CONFIG, ROOT, VENV_BIN, ansible_env, compose_service, containers_of, ensure_compose


def setup_many(count: int, work: Path) -> tuple[float, list[float], list[dict]]:
    """Start ``count`` setups together; (wall time, per-environment times, results)."""
    began = time.monotonic()
    runs = []
    for index in range(count):
        project = f"bench-par-{count}-{index}"
        result_file = work / f"{project}.json"
        cmd = [str(VENV_BIN / "ansible-playbook"), "argusai.resilience.setup", "-e", json.dumps(
            {"argus_project": project, "argus_config_file": str(CONFIG), "argus_result_file": str(result_file)}
        )]  # fmt: skip
        proc = subprocess.Popen(cmd, cwd=ROOT, env=ansible_env(), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        runs.append((project, result_file, proc, time.monotonic()))

    def own_time(run: tuple) -> float:
        """One setup's own time: from its start to its own end (not to the end of those before it)."""
        _project, _result_file, proc, started = run
        proc.wait(timeout=600)
        return time.monotonic() - started

    with ThreadPoolExecutor(max_workers=count) as pool:
        times = list(pool.map(own_time, runs))
    results = [json.loads(result_file.read_text())["hosts"]["localhost"] for _p, result_file, _proc, _s in runs]
    return time.monotonic() - began, times, results


def teardown(projects: list[str]) -> None:
    for project in projects:
        subprocess.run(
            [str(VENV_BIN / "ansible-playbook"), "argusai.resilience.teardown", "-e",
             json.dumps({"argus_project": project, "argus_teardown_all_runs": True})],
            cwd=ROOT, env=ansible_env(), capture_output=True, check=False, timeout=300,
        )  # fmt: skip


def compose_file(config: dict) -> dict:
    """The demo as compose sees it, project-scoped (no fixed container or network names)."""
    services = {container["name"]: compose_service(container) for container in containers_of(config)}
    return {"version": "2.4", "services": services}


def compose_many(compose: str, count: int, work: Path, client) -> tuple[float, int]:
    """``docker-compose -p`` up of ``count`` projects at once; (wall time, how many became ready)."""
    path = work / "docker-compose.yml"
    path.write_text(yaml.safe_dump(compose_file(yaml.safe_load(CONFIG.read_text())), sort_keys=False))
    began = time.monotonic()
    procs = [
        subprocess.Popen([compose, "-f", str(path), "-p", f"bench-cpar-{i}", "up", "-d"], cwd=work,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for i in range(count)
    ]  # fmt: skip
    for proc in procs:
        proc.wait(timeout=300)
    ready = 0
    deadline = time.monotonic() + 60
    for i in range(count):
        label = {"label": f"com.docker.compose.project=bench-cpar-{i}"}
        while time.monotonic() < deadline:
            states = [c.attrs["State"] for c in client.containers.list(all=True, filters=label)]
            if len(states) == 3 and all(
                s["Running"] and s.get("Health", {}).get("Status", "healthy") == "healthy" for s in states
            ):
                ready += 1
                break
            if any(s["Status"] in ("created", "exited") for s in states) or procs[i].returncode:
                break
            time.sleep(0.1)
    took = time.monotonic() - began
    for i in range(count):
        subprocess.run([compose, "-f", str(path), "-p", f"bench-cpar-{i}", "down", "-t", "1"], cwd=work,
                       capture_output=True, check=False, timeout=120)  # fmt: skip
    return took, ready


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", type=int, nargs="+", default=[1, 2, 4, 8])
    args = parser.parse_args()
    compose = ensure_compose()
    client = docker.from_env()
    print(
        f"{'N':>3}  {'wall s':>7}  {'per env s (median, max)':>24}  {'healthy':>8}  {'distinct ports':>14}  compose -p"
    )
    with tempfile.TemporaryDirectory(prefix="bench-par-") as tmp:
        work = Path(tmp)
        for count in args.counts:
            projects = [f"bench-par-{count}-{i}" for i in range(count)]
            try:
                wall, times, results = setup_many(count, work)
            finally:
                teardown(projects)
            healthy = sum(1 for r in results if r["ok"] and r["result"]["network_verification"]["all_reachable"])
            ports = [port for r in results if r["ok"] for port in r["result"]["ports"].values()]
            distinct = len(set(ports)) == len(ports)
            compose_wall, compose_ready = compose_many(compose, count, work, client)
            anchor = f"{compose_wall:5.2f} s, {compose_ready}/{count} up"
            print(
                f"{count:>3}  {wall:7.2f}  {statistics.median(times):11.2f}, {max(times):10.2f}  "
                f"{healthy:>5}/{count:<2}  {str(distinct):>14}  {anchor}"
            )
    client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

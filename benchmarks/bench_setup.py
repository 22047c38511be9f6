"""Benchmark: the demo environment through ``argusai.resilience.setup`` / ``teardown`` vs docker-compose 1.29.

Both bring up examples/demo/e2e.yaml (a mock, a web service that calls it, a test runner), side by
side on one machine, rounds alternating which side goes first:

* role     ``ansible-playbook playbooks/setup.yml`` (the argus_setup role: preflight and orphan
           cleanup, ports, mocks then services + test container under the guard until healthy and
           stable, connectivity from the test container), its outcome written with
           ``argus_result_file``. Timed from the start of ansible-playbook to its end. Then the same
           playbook again with the same run id on the environment that is up (the rerun), then
           ``playbooks/teardown.yml`` of that run.
* compose  the equivalent docker-compose.yml (same images, commands, env, ports, healthchecks,
           memory limits, one network, the service names as DNS names), ``docker-compose up -d``
           (1.29 has no ``--wait``) plus polling the readiness the role checks: every container
           running, mock and web healthy, mock:8080 and web:8080 reachable by name from the test
           container. Then ``up -d`` again on the up project plus the same readiness, then
           ``docker-compose down``.

Also timed each round, for reading the figures: compose cold with the role's order (the services
``depends_on`` the mocks being healthy), and the Ansible floors (an ``ansible-playbook`` of one
debug task; one of the setup's two modules doing next to nothing).

Prints every timing, then one FIGURE line per goal (cold <= 2.5x, rerun <= 1.5x, teardown <= 1.5x,
the teardown against ``docker-compose down -t 0``: it kills at once, as the teardown does), the
per-stage durations the role reported (argus_setup_result.durations_ms) and the floors.

    .venv/bin/python benchmarks/bench_setup.py [--rounds 4]

Installs Debian's docker-compose (apt-get) when it is missing and this is a root Debian box.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker
import yaml
from benchlib import ROOT, VENV_BIN, ansible_env, figure, machine

CONFIG = ROOT / "examples" / "demo" / "e2e.yaml"
PROJECT = "bench-setup"
COMPOSE_PROJECT = "bench-setup-compose"
RUN_ID = "benchsetup"
TIMEOUT = 180


def ensure_compose() -> str:
    found = shutil.which("docker-compose")
    if found:
        return found
    if os.geteuid() == 0 and Path("/etc/debian_version").exists():
        print("installing Debian's docker-compose (apt-get) ...", flush=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "docker-compose"]
        if subprocess.run(install, stdout=subprocess.DEVNULL, env=env, check=False).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
            subprocess.run(install, check=True, stdout=subprocess.DEVNULL, env=env)
        found = shutil.which("docker-compose")
    if not found:
        sys.exit("docker-compose (1.29) is needed: apt-get install docker-compose")
    return found


# ---------------------------------------------------------------------------------------------
# the role (through the collection's playbooks, as a user runs them)
# ---------------------------------------------------------------------------------------------


def _playbook(name: str, extra_vars: dict) -> float:
    started = time.perf_counter()
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), str(ROOT / "playbooks" / name), "-e", json.dumps(extra_vars)],
        env=ansible_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=TIMEOUT,
    )
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"{name} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
    return elapsed


def role_setup(work: Path) -> tuple[float, dict]:
    out = work / "setup-result.json"
    out.unlink(missing_ok=True)
    variables = {
        "argus_config_file": str(CONFIG),
        "argus_project": PROJECT,
        "argus_run_id": RUN_ID,
        "argus_result_file": str(out),
    }
    elapsed = _playbook("setup.yml", variables)
    entry = json.loads(out.read_text())["hosts"]["localhost"]
    return elapsed, entry["result"]


def role_teardown() -> float:
    return _playbook("teardown.yml", {"argus_project": PROJECT, "argus_run_id": RUN_ID})


def role_clear() -> None:
    """Untimed: every run of the bench project, also a half set-up one."""
    subprocess.run(
        [
            str(VENV_BIN / "ansible-playbook"),
            str(ROOT / "playbooks" / "teardown.yml"),
            "-e",
            json.dumps({"argus_project": PROJECT, "argus_teardown_all_runs": True}),
        ],
        env=ansible_env(),
        capture_output=True,
        check=False,
        timeout=TIMEOUT,
    )


def ansible_floor(work: Path, tasks: list[dict]) -> float:
    """One ansible-playbook run of ``tasks`` on localhost: what Ansible costs before any work."""
    playbook = work / "floor.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    started = time.perf_counter()
    subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), str(playbook)],
        env=ansible_env(),
        check=True,
        capture_output=True,
        timeout=TIMEOUT,
    )
    return time.perf_counter() - started


# The floor of any setup in two module calls: the same two modules doing (almost) nothing.
FLOORS = {
    "ansible-playbook, one debug task": [{"ansible.builtin.debug": {"msg": "floor"}}],
    "two module tasks doing next to nothing": [
        {
            "argusai.resilience.argus_preflight": {
                "project": PROJECT,
                "skip_disk_check": True,
                "skip_orphan_check": True,
            }
        },
        {
            "argusai.resilience.argus_container_guard": {
                "project": PROJECT,
                "name": f"{PROJECT}-floor",
                "state": "absent",
            }
        },
    ],
}


# ---------------------------------------------------------------------------------------------
# docker-compose
# ---------------------------------------------------------------------------------------------


def _healthcheck(check: dict | str | None) -> dict | None:
    if check is None:
        return None
    if isinstance(check, str):
        check = {"test": check}
    test = check["test"]
    compose = {"test": ["CMD-SHELL", test] if isinstance(test, str) else test}
    for key in ("interval", "timeout", "start_period"):
        if key in check:
            compose[key] = f"{check[key]}s"
    if "retries" in check:
        compose["retries"] = check["retries"]
    return compose


def _literal(value):
    """Compose interpolates ``$VAR``; ``$$`` is a literal dollar (the role passes values as they are)."""
    if isinstance(value, list):
        return [_literal(item) for item in value]
    return value.replace("$", "$$") if isinstance(value, str) else value


def containers_of(config: dict) -> list[dict]:
    return [*config.get("mocks", []), *config.get("services", []), config["test"]]


def compose_service(container: dict) -> dict:
    """One e2e.yaml container as a compose service: image, command, env, fixed host ports, healthcheck."""
    service = {"image": container["image"]}
    if container.get("command") is not None:
        service["command"] = _literal(container["command"])
    if container.get("env"):
        service["environment"] = {k: _literal(str(v)) for k, v in container["env"].items()}
    ports = [p for p in container.get("ports", []) if isinstance(p, dict) and p.get("host_port")]
    if ports:
        service["ports"] = [f"{p['host_port']}:{p['container_port']}" for p in ports]
    if container.get("healthcheck"):
        service["healthcheck"] = _healthcheck(container["healthcheck"])
    return service


def compose_file(config: dict, ordered: bool = False) -> dict:
    """The equivalent docker-compose.yml (version 2.4: healthchecks, mem_limit, container_name).

    Services are named as in e2e.yaml, so that they reach each other by the same DNS names.
    ``ordered``: the services and the test container depend on the mocks being healthy, the order
    the role keeps (not part of the goal's anchor, which starts everything at once).
    """
    mocks = [mock["name"] for mock in config.get("mocks", [])]
    services = {}
    for container in containers_of(config):
        service = compose_service(container)
        service.update(container_name=f"{COMPOSE_PROJECT}-{container['name']}", networks=["e2e"])
        if container.get("memory"):
            service["mem_limit"] = container["memory"]
        if ordered and container["name"] not in mocks:
            service["depends_on"] = {name: {"condition": "service_healthy"} for name in mocks}
        services[container["name"]] = service
    return {"version": "2.4", "services": services, "networks": {"e2e": {"name": f"argus-{COMPOSE_PROJECT}"}}}


def compose_ready(client, config: dict, deadline: float) -> None:
    """Poll what the role checks: running, healthy, reachable by name from the test container."""
    mocks_and_services = [*config.get("mocks", []), *config.get("services", [])]
    names = [f"{COMPOSE_PROJECT}-{c['name']}" for c in containers_of(config)]
    targets = [(c["name"], p["container_port"]) for c in mocks_and_services for p in c.get("ports", [])]
    while True:
        if time.perf_counter() > deadline:
            sys.exit("compose environment not ready in time")
        try:
            states = [client.api.inspect_container(name)["State"] for name in names]
        except docker.errors.NotFound:
            time.sleep(0.25)
            continue
        healthy = all(s["Running"] and (s.get("Health") is None or s["Health"]["Status"] == "healthy") for s in states)
        if healthy:
            tests = client.containers.get(names[-1])
            reachable = all(
                # busybox nc has no -z: connect with stdin closed (what argus_network_verify does too)
                tests.exec_run(["sh", "-c", f"nc -w 2 {host} {port} </dev/null"]).exit_code == 0
                for host, port in targets
            )
            if reachable:
                return
        time.sleep(0.25)


def compose(binary: str, work: Path, *args: str, file: str = "docker-compose.yml") -> None:
    command = [binary, "-p", COMPOSE_PROJECT, "-f", str(work / file), *args]
    subprocess.run(command, check=True, capture_output=True, timeout=TIMEOUT)


def compose_up(binary: str, work: Path, client, config: dict) -> float:
    started = time.perf_counter()
    compose(binary, work, "up", "-d")
    compose_ready(client, config, started + TIMEOUT)
    return time.perf_counter() - started


def compose_down(binary: str, work: Path) -> float:
    started = time.perf_counter()
    compose(binary, work, "down", "-t", "0")  # the teardown kills at once too (no stop grace period)
    return time.perf_counter() - started


# ---------------------------------------------------------------------------------------------


def role_round(work: Path, timings: dict, stages: list[dict]) -> str:
    cold, result = role_setup(work)
    rerun, rerun_result = role_setup(work)
    changed = [c["name"] for c in rerun_result["services"] if c.get("changed")]
    if changed:
        sys.exit(f"the rerun changed {changed}: it must leave an environment that is up as it is")
    down = role_teardown()
    timings["role cold"].append(cold)
    timings["role rerun"].append(rerun)
    timings["role teardown"].append(down)
    stages.append(result.get("durations_ms") or {})
    stages.append(rerun_result.get("durations_ms") or {})
    return f"role cold {cold:5.2f} s, rerun {rerun:5.2f} s, teardown {down:5.2f} s"


def compose_round(binary: str, work: Path, client, config: dict, timings: dict) -> str:
    cold = compose_up(binary, work, client, config)
    rerun = compose_up(binary, work, client, config)
    down = compose_down(binary, work)
    started = time.perf_counter()
    compose(binary, work, "up", "-d", file="ordered.yml")
    compose_ready(client, config, started + TIMEOUT)
    ordered = time.perf_counter() - started
    compose(binary, work, "down", "-t", "0", file="ordered.yml")
    timings["compose cold"].append(cold)
    timings["compose rerun"].append(rerun)
    timings["compose down"].append(down)
    timings["compose cold, mocks first"].append(ordered)
    return f"compose cold {cold:5.2f} s, rerun {rerun:5.2f} s, down {down:5.2f} s, cold mocks first {ordered:5.2f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    binary = ensure_compose()
    version = subprocess.run([binary, "version", "--short"], capture_output=True, text=True, check=False)
    config = yaml.safe_load(CONFIG.read_text())
    client = docker.from_env(timeout=60)
    names = (
        "role cold",
        "role rerun",
        "role teardown",
        "compose cold",
        "compose rerun",
        "compose down",
        "compose cold, mocks first",
        *FLOORS,
    )
    timings: dict[str, list[float]] = {name: [] for name in names}
    stages: list[dict] = []
    print(machine())
    print(f"demo environment {CONFIG.relative_to(ROOT)}; docker-compose {version.stdout.strip()}; {args.rounds} rounds")
    with tempfile.TemporaryDirectory(prefix="bench-setup-") as tmp:
        work = Path(tmp)
        (work / "docker-compose.yml").write_text(yaml.safe_dump(compose_file(config), sort_keys=False))
        (work / "ordered.yml").write_text(yaml.safe_dump(compose_file(config, ordered=True), sort_keys=False))
        role_clear()
        compose_down(binary, work)
        try:
            for number in range(args.rounds):
                sides = [
                    lambda: role_round(work, timings, stages),
                    lambda: compose_round(binary, work, client, config, timings),
                ]
                if number % 2:
                    sides.reverse()
                lines = [side() for side in sides]
                for name, tasks in FLOORS.items():
                    timings[name].append(ansible_floor(work, tasks))
                print(f"  round {number + 1}: " + "; ".join(lines), flush=True)
        finally:
            role_clear()
            compose_down(binary, work)
    print()
    print(f"{'':40}{'median':>9}{'min':>9}{'max':>9}")
    for name in names:
        values = timings[name]
        print(f"{name:40}{statistics.median(values):8.2f}s{min(values):8.2f}s{max(values):8.2f}s")
    for label, index in (("cold", 0), ("rerun", 1)):
        rows = stages[index::2]
        keys = sorted({key for row in rows for key in row})
        medians = {
            key: statistics.median([row[key] for row in rows if row.get(key) is not None])
            for key in keys
            if any(row.get(key) is not None for row in rows)
        }
        print(f"role {label} stages (median ms, measured on the Docker host): {json.dumps(medians)}")
    print()
    figure("setup cold", timings["role cold"], "compose up -d + readiness", timings["compose cold"], 2.5)
    ordered = statistics.median(timings["compose cold, mocks first"])
    print(
        f"  (against compose with the role's order, depends_on the mocks being healthy: {ordered * 1000:.0f} ms, "
        f"ratio {statistics.median(timings['role cold']) / ordered:.2f}x)"
    )
    figure("setup rerun (up)", timings["role rerun"], "compose up -d (up) + readiness", timings["compose rerun"], 1.5)
    figure("teardown", timings["role teardown"], "compose down -t 0", timings["compose down"], 1.5)
    for name in FLOORS:
        floor = statistics.median(timings[name])
        rerun = statistics.median(timings["compose rerun"])
        print(f"FLOOR {name}: {floor * 1000:8.0f} ms = {floor / rerun:5.2f}x compose's rerun")
    return 0


if __name__ == "__main__":
    sys.exit(main())

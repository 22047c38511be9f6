"""Benchmark: the demo environment brought up by the argus_setup role vs Debian's docker-compose 1.29.

Both bring up examples/demo/e2e.yaml (a mock, a web service that calls it, a test runner):

* role     ``ansible-playbook`` of a play that includes ``argusai.resilience.argus_setup``: preflight,
           orphan cleanup, port resolution, mocks then services + test container under the guard
           (waits until healthy and stable), connectivity check from the test container. Timed from
           the start of ansible-playbook to its end: ready when it returns.
* compose  an equivalent docker-compose.yml (same images, commands, env, ports, healthchecks, memory
           limits, network, container names), ``docker-compose up -d`` (1.29 has no ``--wait``),
           then polling the same readiness the role checks: every container running, mock and web
           healthy, and mock:8080 and web:8080 reachable by name from the test container.

Runs alternate (role, compose, role, ...) so that both see the same machine load; each run is
torn down (untimed) before the next. Prints every timing, the medians and the ratio.

    .venv/bin/python benchmarks/bench_setup.py [--rounds 3]

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

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "examples" / "demo" / "e2e.yaml"
VENV_BIN = Path(sys.executable).parent
PROJECT = "bench-setup"


def ansible_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
            "ANSIBLE_COLLECTIONS_PATH": str(ROOT / "build" / "collections"),
            "ANSIBLE_NOCOLOR": "1",
            "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        }
    )
    return env


def ensure_compose() -> str:
    found = shutil.which("docker-compose")
    if found:
        return found
    if os.geteuid() == 0 and Path("/etc/debian_version").exists():
        print("installing Debian's docker-compose (apt-get) ...", flush=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "docker-compose"],
            check=True,
            stdout=subprocess.DEVNULL,
            env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"),
        )
        found = shutil.which("docker-compose")
    if not found:
        sys.exit("docker-compose (1.29) is needed: apt-get install docker-compose")
    return found


# ---------------------------------------------------------------------------------------------
# the role
# ---------------------------------------------------------------------------------------------


def role_up(work: Path, run: int) -> tuple[float, dict]:
    out = work / f"role-{run}.json"
    play = [
        {
            "name": "bench argus_setup",
            "hosts": "localhost",
            "gather_facts": False,
            "vars": {"argus_config_file": str(CONFIG), "argus_project": PROJECT},
            "tasks": [
                {"ansible.builtin.include_role": {"name": "argusai.resilience.argus_setup"}},
                {
                    "ansible.builtin.copy": {
                        "content": "{{ argus_setup_result | to_json }}",
                        "dest": str(out),
                        "mode": "0600",
                    }
                },
            ],
        }
    ]
    playbook = work / "role-play.yml"
    playbook.write_text(yaml.safe_dump(play, sort_keys=False))
    started = time.perf_counter()
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), str(playbook)],
        env=ansible_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"role setup failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}")
    return elapsed, json.loads(out.read_text())


def role_down() -> None:
    """Remove every run of the bench project (also a half set-up one)."""
    subprocess.run(
        [
            str(VENV_BIN / "ansible-playbook"),
            str(ROOT / "playbooks" / "teardown.yml"),
            "-e",
            json.dumps({"argus_project": PROJECT, "argus_teardown_all_runs": True}),
        ],
        env=ansible_env(),
        capture_output=True,
        check=True,
    )


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


def compose_file(config: dict) -> dict:
    """The equivalent docker-compose.yml (version 2.4: healthchecks, mem_limit, container_name)."""
    network = config["network"] if isinstance(config["network"], str) else config["network"]["name"]
    services = {}
    containers = [*config.get("mocks", []), *config.get("services", []), config["test"]]
    for container in containers:
        service = {"image": container["image"], "container_name": container["name"], "networks": ["e2e"]}
        if container.get("command") is not None:
            service["command"] = _literal(container["command"])
        if container.get("env"):
            service["environment"] = {k: _literal(str(v)) for k, v in container["env"].items()}
        ports = [p for p in container.get("ports", []) if isinstance(p, dict) and p.get("host_port")]
        if ports:
            service["ports"] = [f"{p['host_port']}:{p['container_port']}" for p in ports]
        if container.get("healthcheck"):
            service["healthcheck"] = _healthcheck(container["healthcheck"])
        if container.get("memory"):
            service["mem_limit"] = container["memory"]
        services[container["name"]] = service
    return {"version": "2.4", "services": services, "networks": {"e2e": {"name": network}}}


def compose_ready(client, config: dict, deadline: float) -> None:
    """Poll what the role checks: running, healthy, reachable by name from the test container."""
    mocks_and_services = [*config.get("mocks", []), *config.get("services", [])]
    names = [c["name"] for c in mocks_and_services] + [config["test"]["name"]]
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
            tests = client.containers.get(config["test"]["name"])
            reachable = all(
                # busybox nc has no -z: connect with stdin closed (what argus_network_verify does too)
                tests.exec_run(["sh", "-c", f"nc -w 2 {host} {port} </dev/null"]).exit_code == 0
                for host, port in targets
            )
            if reachable:
                return
        time.sleep(0.25)


def compose_up(compose: str, work: Path, client, config: dict) -> float:
    started = time.perf_counter()
    subprocess.run(
        [compose, "-p", f"{PROJECT}-compose", "-f", str(work / "docker-compose.yml"), "up", "-d"],
        check=True,
        capture_output=True,
    )
    compose_ready(client, config, started + 120)
    return time.perf_counter() - started


def compose_down(compose: str, work: Path) -> None:
    subprocess.run(
        [compose, "-p", f"{PROJECT}-compose", "-f", str(work / "docker-compose.yml"), "down", "-v", "-t", "1"],
        check=True,
        capture_output=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    compose = ensure_compose()
    version_run = subprocess.run([compose, "version", "--short"], capture_output=True, text=True, check=False)
    version = version_run.stdout.strip()
    config = yaml.safe_load(CONFIG.read_text())
    client = docker.from_env(timeout=60)
    timings: dict[str, list[float]] = {"role": [], "compose": []}
    with tempfile.TemporaryDirectory(prefix="bench-setup-") as tmp:
        work = Path(tmp)
        (work / "docker-compose.yml").write_text(yaml.safe_dump(compose_file(config), sort_keys=False))
        print(
            f"demo environment: {CONFIG.relative_to(ROOT)}; docker-compose {version}; {args.rounds} rounds, alternating"
        )
        for run in range(args.rounds):
            try:
                elapsed, result = role_up(work, run)
            finally:
                role_down()
            timings["role"].append(elapsed)
            try:
                compose_elapsed = compose_up(compose, work, client, config)
            finally:
                compose_down(compose, work)
            timings["compose"].append(compose_elapsed)
            print(
                f"  round {run + 1}: role {elapsed:6.2f} s   compose up -d + readiness {compose_elapsed:6.2f} s",
                flush=True,
            )
    role, comp = statistics.median(timings["role"]), statistics.median(timings["compose"])
    print()
    print(f"{'':28}{'median':>10}{'min':>10}{'max':>10}")
    for name, label in (("role", "argus_setup role"), ("compose", "docker-compose + polling")):
        values = timings[name]
        print(f"{label:28}{statistics.median(values):>9.2f}s{min(values):>9.2f}s{max(values):>9.2f}s")
    print(f"ratio role / compose (median): {role / comp:.2f}x")
    print(
        "The role's time includes what compose does not do: preflight (daemon, disk, orphans), orphan cleanup,"
        " host port resolution, restart supervision until stable, and ansible-playbook start-up."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

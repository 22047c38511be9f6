"""An agent that reads only the result file recovers, or gives up at once, on injected faults (issue 13).

The agent follows docs/agents.md: for a failed host it runs the first `fix` action with a playbook
(once per id), then the setup again unless the fix was that rerun; a retryable error without a fix
is retried once; anything else is a give-up, after which it runs `run_teardown` as given. It never
runs anything that is not a suggested action, never changes an action's extra_vars, and reads
nothing but the result file.

Each scenario asserts: the outcome (recovered within two setup rounds, or gave up after one round
where no fix exists), and that no action the agent took removed a live run.
"""

from __future__ import annotations

import json
import secrets
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from conftest import REPO_ROOT, VENV_BIN, ansible_env, execute_playbook, remove_project_resources

SETUP = "argusai.resilience.setup"
HTTPD = "mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 8080 -h /www"
FAST = {
    "preflight": {"disk_threshold_gb": 0.01},
    "container": {"backoff_initial_ms": 100, "backoff_max_ms": 200, "stable_seconds": 0.5, "startup_timeout": 15},
    "network": {"probe_timeout": 2, "wait_seconds": 4},
}


class Agent:
    """The protocol of docs/agents.md, with the result file as its only input."""

    def __init__(self, workdir: Path, facts: Path) -> None:
        self.workdir = workdir
        self.facts = facts
        self.setup_rounds = 0
        self.ran: list[dict] = []  # every action run, as given

    def playbook(self, playbook: str, extra_vars: dict) -> dict:
        result_file = self.workdir / f"result-{len(self.ran)}-{self.setup_rounds}.json"
        if playbook == SETUP:
            self.setup_rounds += 1
        execute_playbook(playbook, dict(extra_vars, argus_result_file=str(result_file)), facts_dir=self.facts)
        return json.loads(result_file.read_text())["hosts"]["localhost"]

    def recover(self, setup_vars: dict) -> tuple[str, dict]:
        """Run the setup until it is ok or the agent gives up: ('recovered' | 'gave_up', last entry)."""
        entry = self.playbook(SETUP, setup_vars)
        fixes_run: set[str] = set()
        retried = False
        while not entry["ok"] and self.setup_rounds < 3:
            error = entry["error"]
            fix = next(
                (
                    a
                    for a in error["suggested_actions"]
                    if a["kind"] == "fix" and a.get("playbook") and a["id"] not in fixes_run
                ),
                None,
            )
            if fix is not None:
                fixes_run.add(fix["id"])
                self.ran.append(fix)
                outcome = self.playbook(fix["playbook"], fix["extra_vars"])
                entry = outcome if fix["playbook"] == SETUP else self.playbook(SETUP, setup_vars)
            elif error["retryable"] and not retried:
                retried = True
                time.sleep(min(float(error["details"].get("retry_after_seconds") or 1), 10))
                entry = self.playbook(SETUP, setup_vars)
            else:
                break
        if entry["ok"]:
            return "recovered", entry
        teardown = next((a for a in entry["error"]["suggested_actions"] if a["id"] == "run_teardown"), None)
        if teardown is not None:
            self.ran.append(teardown)
            self.playbook(teardown["playbook"], teardown["extra_vars"])
        return "gave_up", entry


def service(name: str, image: str, command: str | list, **extra) -> dict:
    return {"name": name, "image": image, "command": command, **extra}


def live(client, project: str) -> set[str]:
    return {c.name for c in client.containers.list(filters={"label": f"argusai.project={project}"})}


@pytest.fixture
def agent(tmp_path) -> Agent:
    return Agent(tmp_path, tmp_path / "facts")


@pytest.fixture
def project(docker_client):
    name = f"it-agent-{secrets.token_hex(3)}"
    yield name
    assert remove_project_resources(docker_client, name) == []


def write(tmp_path: Path, config: dict) -> str:
    path = tmp_path / "e2e.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return str(path)


def base(project: str, image: str, **sections) -> dict:
    return {
        "project": project,
        "services": [service("web", image, ["sh", "-c", HTTPD], ports=[{"container_port": 8080}])],
        "test": service("tests", image, "sleep 600"),
        "resilience": FAST,
        **sections,
    }


def test_held_port_under_strategy_fail_is_fixed_by_a_rerun_with_strategy_auto(
    tmp_path, agent, project, docker_client, test_image
):
    holder = socket.socket()
    holder.bind(("0.0.0.0", 0))
    holder.listen(1)
    held = holder.getsockname()[1]
    config = base(project, test_image, resilience={**FAST, "ports": {"strategy": "fail"}})
    config["services"][0]["ports"] = [{"container_port": 8080, "host_port": held}]
    try:
        outcome, entry = agent.recover({"argus_config_file": write(tmp_path, config)})
    finally:
        holder.close()
    assert outcome == "recovered" and agent.setup_rounds == 2
    assert [a["id"] for a in agent.ran] == ["use_port_strategy_auto"]
    assert entry["result"]["ports"]["web-8080"] != held
    assert f"{project}-web" in live(docker_client, project)


def test_an_oom_loop_is_fixed_by_raising_the_memory_limit(tmp_path, agent, project, docker_client, test_image):
    hungry = "head -c 40000000 /dev/zero | tail -c 40000000 >/dev/null && exec sleep 600"
    config = base(project, test_image)
    config["services"] = [service("api", test_image, ["sh", "-c", hungry], memory="16m", max_restarts=1)]
    outcome, entry = agent.recover({"argus_config_file": write(tmp_path, config)})
    assert outcome == "recovered" and agent.setup_rounds == 2, entry.get("error")
    (fix,) = agent.ran
    assert fix["id"] == "raise_memory_limit"
    assert fix["extra_vars"]["argus_container_overrides"] == {"api": {"memory": "64m"}}
    api = docker_client.containers.get(f"{project}-api")
    assert api.status == "running" and api.attrs["HostConfig"]["Memory"] == 64 * 1024**2


def test_an_open_breaker_is_reset_then_the_setup_passes(tmp_path, agent, project, docker_client, test_image):
    config_file = write(
        tmp_path, base(project, test_image, resilience={**FAST, "circuit_breaker": {"failure_threshold": 1}})
    )
    dead = {"argus_config_file": config_file, "argus_docker_host": "unix:///nonexistent/docker.sock"}
    opened = agent.playbook(SETUP, dead)  # one infrastructure failure opens this breaker
    assert opened["error"]["code"] == "DOCKER_UNAVAILABLE"
    agent.setup_rounds = 0
    outcome, entry = agent.recover({"argus_config_file": config_file})
    assert outcome == "recovered" and agent.setup_rounds == 2
    assert [a["id"] for a in agent.ran] == ["reset_circuit"]
    assert f"{project}-web" in live(docker_client, project)


def test_leftovers_of_an_earlier_run_and_of_a_killed_run_are_cleaned_by_the_setup(
    tmp_path, agent, project, docker_client, test_image
):
    config_file = write(tmp_path, base(project, test_image))
    killed = subprocess.Popen(
        [str(VENV_BIN / "ansible-playbook"), SETUP, "-e", json.dumps({"argus_config_file": config_file})],
        cwd=REPO_ROOT,
        env=ansible_env(facts_dir=tmp_path / "facts"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not docker_client.containers.list(all=True, filters={"label": f"argusai.project={project}"}):
        assert time.monotonic() < deadline, "the setup to kill never created a container"
        time.sleep(0.1)
    killed.send_signal(signal.SIGKILL)
    killed.wait(10)
    outcome, entry = agent.recover({"argus_config_file": config_file})
    assert outcome == "recovered" and agent.setup_rounds == 1 and agent.ran == []
    assert entry["result"]["orphan_cleanup"]["removed"], "the killed run left nothing to clean"
    run_id = entry["result"]["run_id"]
    assert all(
        c.labels["argusai.run-id"] == run_id
        for c in docker_client.containers.list(all=True, filters={"label": f"argusai.project={project}"})
    )


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ("crash_loop", "CONTAINER_RESTART_EXHAUSTED"),
        ("closed_port", "NETWORK_UNREACHABLE"),
        ("disk_threshold", "DISK_SPACE_LOW"),
        ("daemon_unreachable", "DOCKER_UNAVAILABLE"),
    ],
)
def test_a_fault_without_a_fix_is_given_up_at_once(tmp_path, agent, project, docker_client, test_image, fault, code):
    config = base(project, test_image)
    setup_vars: dict = {}
    if fault == "crash_loop":
        config["services"] = [service("api", test_image, ["sh", "-c", "echo cannot start; exit 3"], max_restarts=1)]
    elif fault == "closed_port":
        config["services"] = [service("web", test_image, "sleep 600", ports=[{"container_port": 8080}])]
    elif fault == "disk_threshold":
        config["resilience"] = {**FAST, "preflight": {"disk_threshold_gb": 1_000_000}}
    else:
        setup_vars["argus_docker_host"] = "unix:///nonexistent/docker.sock"
    outcome, entry = agent.recover(dict(setup_vars, argus_config_file=write(tmp_path, config)))
    assert outcome == "gave_up" and entry["error"]["code"] == code, entry["error"]
    assert not any(a["kind"] == "fix" and a.get("playbook") for a in entry["error"]["suggested_actions"])
    # retried once only when the error says a retry can pass
    assert agent.setup_rounds == (2 if entry["error"]["retryable"] else 1)
    assert [a["id"] for a in agent.ran] in ([], ["run_teardown"])
    offered = [a["id"] for a in entry["error"]["suggested_actions"] if a["id"] == "run_teardown"]
    assert [a["id"] for a in agent.ran] == offered  # the agent follows the cleanup the error offers
    assert live(docker_client, project) == set()  # the give-up's teardown (if any) left nothing running
    if offered:  # and it removed the run whole, the exited containers too
        assert docker_client.containers.list(all=True, filters={"label": f"argusai.project={project}"}) == []


def test_following_every_action_never_removes_the_live_run(tmp_path, agent, project, docker_client, test_image):
    """A healthy setup, then an orphan of an earlier run appears and the preflight playbook's
    suggested run_orphan_clean is followed as given: the live run survives."""
    config_file = write(tmp_path, base(project, test_image))
    outcome, entry = agent.recover({"argus_config_file": config_file})
    assert outcome == "recovered"
    running = live(docker_client, project)
    docker_client.volumes.create(
        name=f"{project}-old", labels={"argusai.managed": "true", "argusai.project": project, "argusai.run-id": "old1"}
    )
    report = agent.playbook(
        "argusai.resilience.preflight", {"argus_project": project, "argus_run_id": entry["result"]["run_id"]}
    )
    orphans = next(c for c in report["result"]["preflight"]["checks"] if c["name"] == "orphans")
    action = next(a for a in orphans["error"]["suggested_actions"] if a["id"] == "run_orphan_clean")
    agent.playbook(action["playbook"], action["extra_vars"])
    assert live(docker_client, project) == running
    assert not docker_client.volumes.list(filters={"name": f"{project}-old"})

"""Suggested actions on the real engine (issue 13): scoped to the inventory host that failed and to
the run that reported the error, honest about retrying, and runnable as given.

One play on an inventory host that is not ``localhost`` leaves an older run of a project and the
current run, whose port 8080 nothing listens on. Its network verification fails for the whole wait
(not retryable, a diagnosis, no rerun); the preflight sees the older run as orphans. Both errors'
playbook actions name that host and the current run; run as given, the orphan cleanup removes the
older run only and the teardown the current run only.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from conftest import TEST_IMAGE, execute_playbook

HOST = "dockerhost1"
SLEEPER = {"image": TEST_IMAGE, "command": ["sleep", "3600"], "stable_seconds": 0.3, "startup_timeout": 20}


def play(project: str, outcome: Path) -> list[dict]:
    network = f"{project}-net"
    return [
        {
            "hosts": HOST,
            "gather_facts": False,
            "tasks": [
                {
                    "name": "an older run of the project",
                    "argusai.resilience.argus_container_guard": {
                        "project": project,
                        "run_id": "old1",
                        "containers": [dict(SLEEPER, name=f"{project}-old")],
                    },
                },
                {
                    "name": "the current run: a test container, and api where nothing listens",
                    "argusai.resilience.argus_container_guard": {
                        "project": project,
                        "run_id": "cur1",
                        "containers": [
                            dict(SLEEPER, name=f"{project}-tests", network=network),
                            dict(SLEEPER, name=f"{project}-api", network=network, aliases=["api"]),
                        ],
                    },
                },
                {
                    "name": "verify the network",
                    "argusai.resilience.argus_network_verify": {
                        "project": project,
                        "run_id": "cur1",
                        "container": f"{project}-tests",
                        "network": network,
                        "targets": [{"name": "api:8080", "host": "api", "port": 8080}],
                        "wait_seconds": 2,
                        "probe_timeout": 1,
                    },
                    "register": "verify",
                    "ignore_errors": True,
                },
                {
                    "name": "preflight of the current run",
                    "argusai.resilience.argus_preflight": {
                        "project": project,
                        "run_id": "cur1",
                        "skip_disk_check": True,
                    },
                    "register": "preflight",
                },
                {
                    "name": "keep both results",
                    "ansible.builtin.copy": {
                        "content": "{{ {'verify': verify, 'preflight': preflight} | to_json }}",
                        "dest": str(outcome),
                        "mode": "0644",
                    },
                },
            ],
        }
    ]


def names(docker_client, project: str) -> set[str]:
    return {c.name for c in docker_client.containers.list(all=True, filters={"label": f"argusai.project={project}"})}


def run_as_given(action: dict, inventory: Path, facts_dir: Path) -> None:
    """``ansible-playbook <playbook> -e '<extra_vars>'`` plus the inventory, nothing else."""
    assert action["playbook"].startswith("argusai.resilience.")
    proc = execute_playbook(
        action["playbook"], action["extra_vars"], args=["-i", str(inventory)], facts_dir=facts_dir, timeout=120
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


def test_actions_are_scoped_honest_and_runnable_as_given(tmp_path, unique_project, docker_client):
    project = unique_project
    inventory = tmp_path / "inventory.ini"
    inventory.write_text(f"{HOST} ansible_connection=local ansible_python_interpreter={shlex.quote(sys.executable)}\n")
    playbook, outcome = tmp_path / "play.yml", tmp_path / "outcome.json"
    playbook.write_text(json.dumps(play(project, outcome)))
    proc = execute_playbook(playbook, args=["-i", str(inventory)], facts_dir=tmp_path / "facts", timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    results = json.loads(outcome.read_text())
    scope = {"argus_hosts": HOST, "argus_project": project, "argus_run_id": "cur1"}

    # Nothing listened on 8080 for the whole wait: final, with the evidence and a diagnosis.
    error = results["verify"]["error"]
    assert results["verify"]["failed"] is True
    assert error["code"] == "NETWORK_UNREACHABLE"
    assert error["retryable"] is False
    assert error["details"]["cause"] == "closed" and error["details"]["closed_targets"] == ["api:8080"]
    (probed,) = error["details"]["results"]
    assert probed["attempts"] >= 2 and probed["closed_attempts"] == probed["attempts"]
    actions = {action["id"]: action for action in error["suggested_actions"]}
    assert actions["check_service_listening"]["kind"] == "diagnose"
    assert "raise_wait_seconds" not in actions and "rerun_setup" not in actions
    teardown = actions["run_teardown"]
    assert (teardown["kind"], teardown["playbook"]) == ("cleanup", "argusai.resilience.teardown")
    assert teardown["extra_vars"] == scope

    # The older run is an orphan; its cleanup keeps the current run.
    (orphans,) = [c for c in results["preflight"]["report"]["checks"] if c["name"] == "orphans"]
    assert orphans["error"]["code"] == "ORPHAN_DETECTED"
    (clean,) = orphans["error"]["suggested_actions"]
    assert (clean["id"], clean["kind"], clean["playbook"]) == (
        "run_orphan_clean",
        "fix",
        "argusai.resilience.preflight",
    )
    assert clean["extra_vars"] == dict(scope, auto_fix=True)

    current = {f"{project}-tests", f"{project}-api"}
    assert names(docker_client, project) == current | {f"{project}-old"}
    run_as_given(clean, inventory, tmp_path / "facts")
    assert names(docker_client, project) == current
    run_as_given(teardown, inventory, tmp_path / "facts")
    assert names(docker_client, project) == set()

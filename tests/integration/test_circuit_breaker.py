"""The circuit breaker end to end: real ansible-playbook runs, a jsonfile fact cache per test,
the argus_events callback, a dead Docker address and the live daemon.

A dead ``docker_host`` is ``tcp://127.0.0.1:<port>`` on a port nothing listens on (connection
refused at once). "Not sent" is proven twice: the preflight tasks run their module through an
interpreter wrapper that counts module executions, and a refused result has neither
preflight's ``report`` nor its events.
"""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO_ROOT, VENV_BIN, ansible_env, execute_playbook

pytestmark = pytest.mark.integration

PREFLIGHT = "argusai.resilience.argus_preflight"
CIRCUIT = "argusai.resilience.argus_circuit"
FAST = {"skip_disk_check": True, "skip_orphan_check": True, "daemon_timeout": 5, "timeout": 15}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Runner:
    """Runs plays on localhost with one fact cache and one events file (this test's)."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.facts = tmp_path / "facts"
        self.events = tmp_path / "events" / "argus.jsonl"  # the callback creates the directory
        self.runs = 0
        self.dead = f"tcp://127.0.0.1:{closed_port()}"
        self.counter = tmp_path / "module-runs"
        self.interpreter = tmp_path / "counting-python"
        self.interpreter.write_text(f'#!/bin/sh\necho run >> "{self.counter}"\nexec "{sys.executable}" "$@"\n')
        self.interpreter.chmod(0o755)

    def module_runs(self) -> int:
        """How many times a counted preflight module was executed on the host."""
        return len(self.counter.read_text().splitlines()) if self.counter.exists() else 0

    def counted(self, task: dict[str, Any]) -> dict[str, Any]:
        return {**task, "vars": {"ansible_python_interpreter": str(self.interpreter)}}

    def env(self, **extra: str) -> dict[str, str]:
        return {"ARGUS_EVENTS_PATH": str(self.events), **extra}

    def play(
        self,
        tasks: list[dict[str, Any]],
        *,
        check: bool = False,
        env: dict | None = None,
        play_vars: dict | None = None,
        args: list[str] | None = None,
    ):
        """Run the tasks (each may carry ``register``); return ({register: result}, CompletedProcess)."""
        self.runs += 1
        out = self.tmp / f"results-{self.runs}.json"
        names = [task["register"] for task in tasks if "register" in task]
        collect = "{{ {" + ", ".join(f"'{n}': {n} | default(None)" for n in names) + "} | to_json }}"
        play = {
            "name": f"breaker run {self.runs}",
            "hosts": "localhost",
            "gather_facts": False,
            "vars": dict(play_vars or {}),
            "tasks": tasks
            + [
                {
                    "name": "write the results",
                    "ansible.builtin.copy": {"content": collect, "dest": str(out), "mode": "0600"},
                    "check_mode": False,
                }
            ],
        }
        path = self.tmp / f"play-{self.runs}.yml"
        path.write_text(yaml.safe_dump([play], sort_keys=False))
        proc = execute_playbook(
            path, env=self.env(**(env or {})), check=check, args=args, facts_dir=self.facts, timeout=120
        )
        if not out.exists():
            pytest.fail(f"play {self.runs} broke (rc={proc.returncode})\n{proc.stdout}\n{proc.stderr}", pytrace=False)
        return json.loads(out.read_text()), proc

    def playbook(self, path: str, **extra_vars: Any):
        proc = execute_playbook(path, extra_vars, env=self.env(), facts_dir=self.facts, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    def adhoc(self, module_args: dict[str, Any], extra_vars: dict | None = None, env: dict | None = None):
        """Ad-hoc ``ansible localhost -m argus_preflight`` with this test's fact cache and events file."""
        cmd = [str(VENV_BIN / "ansible"), "localhost", "-m", PREFLIGHT, "-a", json.dumps(module_args)]
        if extra_vars:
            cmd += ["-e", json.dumps(extra_vars)]
        return subprocess.run(
            cmd,
            cwd=str(REPO_ROOT),
            env=ansible_env(self.env(**(env or {})), self.facts),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def status(self, project: str) -> dict[str, Any]:
        results, _unused = self.play([{"name": "status", CIRCUIT: {"project": project}, "register": "st"}])
        return results["st"]["current"]

    def event_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.events.read_text().splitlines()]


def preflight(name: str, project: str, docker_host: str | None = None, **extra: Any) -> dict[str, Any]:
    args = {"project": project, **FAST}
    if docker_host:
        args["docker_host"] = docker_host
    return {"name": name, PREFLIGHT: args, "register": name, "ignore_errors": True, **extra}


def status_task(project: str, register: str = "st") -> dict[str, Any]:
    return {"name": f"status of {project}", CIRCUIT: {"project": project}, "register": register}


def assert_sent(result: dict[str, Any]) -> None:
    assert "report" in result, result
    assert any(event["type"] == "preflight_start" for event in result["argus_events"])


def assert_not_sent(result: dict[str, Any]) -> None:
    assert result["error"]["code"] == "CIRCUIT_OPEN", result
    assert "report" not in result
    assert not any(event["type"].startswith("preflight") for event in result["argus_events"])


@pytest.fixture
def runner(tmp_path) -> Runner:
    return Runner(tmp_path)


@pytest.fixture
def project() -> str:
    """A fresh project name for tests that create no Docker resource (nothing to clean up)."""
    return f"cb-{secrets.token_hex(5)}"


def test_opens_after_five_dead_preflights_persists_across_runs_and_recovers(runner, project):
    other = f"{project}-other"

    # Run 1: five separate tasks against a dead daemon, the sixth is refused; another project runs.
    tasks = [runner.counted(preflight(f"dead{i}", project, runner.dead)) for i in range(1, 7)]
    tasks.append(runner.counted(preflight("other", other)))
    results, proc = runner.play(tasks)
    assert runner.module_runs() == 6  # dead1..dead5 and other: dead6 was never sent
    for i in range(1, 6):
        assert results[f"dead{i}"]["error"]["code"] == "DOCKER_UNAVAILABLE", results[f"dead{i}"]
        assert_sent(results[f"dead{i}"])
        assert results[f"dead{i}"]["argus_circuit"]["failure_count"] == i
    assert results["dead5"]["argus_circuit"]["state"] == "open"
    refused = results["dead6"]
    assert_not_sent(refused)
    details = refused["error"]["details"]
    assert details["retry_after_seconds"] is None and details["state"] == "open"
    assert [entry["task"] for entry in details["failure_history"]] == [f"dead{i}" for i in range(1, 6)]
    assert {entry["code"] for entry in details["failure_history"]} == {"DOCKER_UNAVAILABLE"}
    assert results["other"]["failed"] is False and results["other"]["report"]["overall"] == "healthy"
    assert results["other"]["argus_circuit"]["state"] == "closed"
    assert "ARGUS RESILIENCE SUMMARY" in proc.stdout
    assert f"breaker    {project}: open (5/5 consecutive failures), 1 task(s) refused" in proc.stdout
    assert list(runner.facts.iterdir()), "the jsonfile fact cache holds the breaker"

    # Run 2: a new ansible-playbook process against the LIVE daemon still sees the breaker open.
    results, _unused = runner.play(
        [
            runner.counted(preflight("live", project)),
            {"name": "status", CIRCUIT: {"project": project}, "register": "st"},
        ]
    )
    assert_not_sent(results["live"])
    assert runner.module_runs() == 6
    assert results["st"]["current"]["state"] == "open" and results["st"]["changed"] is False
    assert len(results["st"]["current"]["failure_history"]) == 5

    # Run 3: reset through the collection playbook by FQCN -> half-open.
    runner.playbook("argusai.resilience.reset_circuit", argus_project=project)

    # Run 4: half-open; a good probe (live daemon) closes it.
    results, _unused = runner.play([status_task(project, "before"), runner.counted(preflight("probe", project))])
    assert results["before"]["current"]["state"] == "half-open"
    assert_sent(results["probe"])
    assert runner.module_runs() == 7
    assert results["probe"]["failed"] is False
    assert results["probe"]["argus_circuit"]["state"] == "closed"
    assert results["probe"]["argus_circuit"]["failure_count"] == 0
    assert [e["type"] for e in results["probe"]["argus_events"]][-1] == "circuit_closed"

    # Run 5: open it again with a loop of five; run 6: reset by playbook path; run 7: a bad probe
    # re-opens it at once.
    results, _unused = runner.play([preflight("loop", project, runner.dead, loop=[1, 2, 3, 4, 5])])
    assert [item["error"]["code"] for item in results["loop"]["results"]] == ["DOCKER_UNAVAILABLE"] * 5
    assert results["loop"]["results"][-1]["argus_circuit"]["state"] == "open"
    runner.playbook(str(REPO_ROOT / "playbooks" / "reset_circuit.yml"), argus_project=project)
    results, _unused = runner.play(
        [
            status_task(project, "before"),
            preflight("bad_probe", project, runner.dead),
            preflight("after", project),
            status_task(other, "other_status"),
        ]
    )
    assert results["before"]["current"]["state"] == "half-open"
    assert_sent(results["bad_probe"])
    assert results["bad_probe"]["error"]["code"] == "DOCKER_UNAVAILABLE"
    assert results["bad_probe"]["argus_circuit"]["state"] == "open"
    assert results["bad_probe"]["argus_events"][-1]["data"]["reason"] == "probe failed (DOCKER_UNAVAILABLE)"
    assert_not_sent(results["after"])
    assert results["other_status"]["current"]["state"] == "closed"

    # The events file: valid JSON lines with type, timestamp, host, task, project; every transition.
    lines = runner.event_lines()
    assert lines
    for line in lines:
        assert {"type", "timestamp", "host", "task", "project"} <= set(line), line
        assert line["host"] == "localhost" and line["task"]
    transitions = [(line["type"], line["task"]) for line in lines if line["type"].startswith("circuit_")]
    assert transitions == [
        ("circuit_open", "dead5"),
        ("circuit_half_open", "Move the breaker from open to half-open"),
        ("circuit_closed", "probe"),
        ("circuit_open", "loop"),
        ("circuit_half_open", "Move the breaker from open to half-open"),
        ("circuit_open", "bad_probe"),
    ]
    assert {line["project"] for line in lines if line["type"].startswith("circuit_")} == {project}
    assert any(line["type"] == "preflight_check" and line["project"] == other for line in lines)


def test_user_caused_failures_never_open_the_breaker(runner, unique_project, test_image):
    """PORT_CONFLICT under strategy fail, a crashing app and DISK_SPACE_LOW fail but are not counted."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        conflict = {
            "project": unique_project,
            "strategy": "fail",
            "bind_address": "127.0.0.1",
            "ports": [{"name": "web", "port": port}],
        }
        disk = {"project": unique_project, "disk_threshold_gb": 10**9, "skip_orphan_check": True}
        tasks = [
            {
                "name": "conflict",
                "argusai.resilience.argus_port_resolve": conflict,
                "register": "conflict",
                "ignore_errors": True,
                "loop": [1, 2, 3],
            },
            {"name": "disk", PREFLIGHT: disk, "register": "disk", "ignore_errors": True, "loop": [1, 2, 3]},
            {
                "name": "crash",
                "argusai.resilience.argus_container_guard": {
                    "project": unique_project,
                    "name": f"{unique_project}-crash",
                    "image": test_image,
                    "command": ["sh", "-c", "echo starting; exit 3"],
                    "max_restarts": 1,
                    "backoff_initial_ms": 50,
                    "stable_seconds": 1,
                    "startup_timeout": 20,
                },
                "register": "crash",
                "ignore_errors": True,
                "loop": [1, 2],  # the threshold is 2
            },
            {"name": "status", CIRCUIT: {"project": unique_project}, "register": "st"},
        ]
        results, _unused = runner.play(tasks, play_vars={"argus_circuit_breaker": {"failure_threshold": 2}})
    codes = [item["error"]["code"] for item in results["conflict"]["results"] + results["disk"]["results"]]
    assert codes == ["PORT_CONFLICT"] * 3 + ["DISK_SPACE_LOW"] * 3
    crashes = [item["error"]["code"] for item in results["crash"]["results"]]
    assert crashes and set(crashes) <= {"CONTAINER_CRASH", "CONTAINER_RESTART_EXHAUSTED"}, crashes
    assert len(crashes) == 2
    assert results["st"]["current"]["state"] == "closed"
    assert results["st"]["current"]["failure_count"] == 0
    assert results["st"]["current"]["failure_threshold"] == 2  # the variable is in force
    assert results["st"]["current"]["failure_history"] == []


def test_until_retries_check_mode_and_module_defaults(runner, project):
    """Within one task, retries see each other's failures; the breaker works in check mode too;
    settings given through module_defaults of the action group override the variable (and the
    module never sees them: it would reject an unknown option)."""
    task = runner.counted(preflight("retry", project, runner.dead, retries=6, delay=0, until="retry is succeeded"))
    task["module_defaults"] = {"group/argusai.resilience.docker": {"circuit_breaker": {"failure_threshold": 3}}}
    results, _unused = runner.play([task], check=True, play_vars={"argus_circuit_breaker": {"failure_threshold": 50}})
    result = results["retry"]
    assert runner.module_runs() == 3  # 7 attempts, the module was sent 3 times
    assert_not_sent(result)  # attempts 4..7 were refused
    assert result["error"]["details"]["failure_count"] == 3
    opened = [line for line in runner.event_lines() if line["type"] == "circuit_open"]
    assert len(opened) == 1 and opened[0]["task"] == "retry"  # written from the retry callback
    assert runner.status(project)["state"] == "open"


def test_clear_facts_and_flush_cache_reset_the_breaker(runner, project):
    opener = preflight("dead", project, runner.dead)
    settings = {"argus_circuit_breaker": {"failure_threshold": 1}}

    results, _unused = runner.play([opener, status_task(project, "opened")], play_vars=settings)
    assert results["opened"]["current"]["state"] == "open"
    forget = {"name": "forget", "ansible.builtin.meta": "clear_facts"}
    tasks = [forget, status_task(project, "cleared"), opener, status_task(project, "reopened")]
    results, _unused = runner.play(tasks, play_vars=settings)
    assert results["cleared"]["current"]["state"] == "closed"
    assert results["reopened"]["current"]["state"] == "open"

    results, _unused = runner.play([status_task(project)], args=["--flush-cache"])
    assert results["st"]["current"]["state"] == "closed"


def test_warns_without_the_callback_and_survives_a_bad_events_path(runner, project, tmp_path):
    results, proc = runner.play(
        [preflight("dead", project, runner.dead)], env={"ANSIBLE_CALLBACKS_ENABLED": "ansible.builtin.default"}
    )
    output = " ".join((proc.stdout + proc.stderr).split())
    assert "argusai.resilience.argus_events callback is not enabled" in output
    assert "failures are not remembered" in output
    assert results["dead"]["error"]["code"] == "DOCKER_UNAVAILABLE"

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    bad = {"ARGUS_EVENTS_PATH": str(blocker / "sub" / "events.jsonl")}
    results, proc = runner.play([preflight("one", project), preflight("two", project)], env=bad)
    output = " ".join((proc.stdout + proc.stderr).split())
    assert output.count("argus_events: cannot write events to") == 1
    assert results["one"]["failed"] is False and results["two"]["failed"] is False
    assert proc.returncode == 0


def test_adhoc_remembers_failures_with_bin_ansible_callbacks_and_warns_without(runner, project):
    """Ad-hoc ``ansible`` loads the callback only with bin_ansible_callbacks (the repo ansible.cfg
    sets it): then a failure is remembered across commands and nothing warns; without it the
    module still runs but warns that failures are not remembered."""
    dead = {"project": project, "docker_host": runner.dead, **FAST}
    one = {"argus_circuit_breaker": {"failure_threshold": 1}}

    proc = runner.adhoc(dead, one)
    output = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0 and "DOCKER_UNAVAILABLE" in output, output
    assert "callback is not enabled" not in output
    proc = runner.adhoc(dead, one)  # a second command: the breaker opened and was persisted
    output = " ".join((proc.stdout + proc.stderr).split())
    assert "CIRCUIT_OPEN" in output and "callback is not enabled" not in output, output

    other = {**dead, "project": f"{project}-other"}
    proc = runner.adhoc(other, one, env={"ANSIBLE_LOAD_CALLBACK_PLUGINS": "0"})
    output = " ".join((proc.stdout + proc.stderr).split())
    assert "argusai.resilience.argus_events callback is not enabled" in output, output
    assert "failures are not remembered" in output
    assert "DOCKER_UNAVAILABLE" in output
    assert runner.status(f"{project}-other")["state"] == "closed"  # the failure was not stored

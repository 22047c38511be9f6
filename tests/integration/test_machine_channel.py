"""The machine channel of the playbooks (issue 13) and environments side by side (issue 15 item 1).

- a failed setup writes the result file and its last failed task carries the structured error
  (seen as ansible-runner / AWX see it: the job events), the config stage included (no_log there
  hides the env values, never the error);
- several hosts in one play each get their own entry;
- the teardown playbook writes its result too;
- a run set up again with a renamed service is reconciled with its configuration;
- one e2e.yaml brought up under several project names at once gives isolated environments.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from pathlib import Path

import yaml
from conftest import REPO_ROOT, TEST_IMAGE, VENV_BIN, ansible_env, execute_playbook, remove_project_resources

SETUP = REPO_ROOT / "playbooks" / "setup.yml"
TEARDOWN = REPO_ROOT / "playbooks" / "teardown.yml"
FAST = {
    "preflight": {"disk_threshold_gb": 0.1},
    "container": {"backoff_initial_ms": 100, "backoff_max_ms": 200, "stable_seconds": 0.5, "startup_timeout": 20},
    "network": {"probe_timeout": 2, "wait_seconds": 10},
}
HTTPD = "mkdir -p /www && echo hello-from-{name} > /www/index.html && exec httpd -f -p 8080 -h /www"


def write_config(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def entries(result_file: Path) -> dict:
    return json.loads(result_file.read_text())["hosts"]


def last_failed_event(private_dir: Path) -> dict:
    """The last runner_on_failed job event of an ansible-runner run (what AWX shows as the failure)."""
    events = []
    for path in sorted((private_dir / "artifacts").glob("*/job_events/*.json")):
        event = json.loads(path.read_text())
        if event.get("event") == "runner_on_failed":
            events.append(event)
    assert events, "no failed task event"
    return max(events, key=lambda event: event["counter"])["event_data"]


def spawn(playbook: Path, extra_vars: dict, facts_dir: Path) -> subprocess.Popen:
    """``ansible-playbook`` in the background (its output merged into stdout)."""
    return subprocess.Popen(
        [str(VENV_BIN / "ansible-playbook"), str(playbook), "-e", json.dumps(extra_vars)],
        cwd=REPO_ROOT,
        env=ansible_env(facts_dir=facts_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def run_with_runner(tmp_path: Path, extra_vars: dict) -> Path:
    """``ansible-runner run`` of the setup playbook (the project's ansible.cfg), returns its private dir."""
    private = tmp_path / "runner"
    (private / "env").mkdir(parents=True)
    (private / "env" / "extravars").write_text(json.dumps(extra_vars))
    env = ansible_env(facts_dir=tmp_path / "facts")
    subprocess.run(
        [str(VENV_BIN / "ansible-runner"), "run", str(private), "-p", str(SETUP)],
        env=env,
        cwd=str(REPO_ROOT),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return private


def test_config_errors_reach_the_result_file_and_the_last_failed_event(tmp_path, docker_client):
    project = f"it-mc-{secrets.token_hex(4)}"
    config = write_config(
        tmp_path / "e2e.yaml",
        {
            "project": project,
            "services": [{"name": "api", "image": TEST_IMAGE, "env": {"PASSWORD": "s3cret-value"}, "memory": "1m"}],
            "resilience": {"ports": {"stratgy": "auto"}},
        },
    )
    result_file = tmp_path / "result.json"
    private = run_with_runner(tmp_path, {"argus_config_file": str(config), "argus_result_file": str(result_file)})
    entry = entries(result_file)["localhost"]
    assert entry["ok"] is False and entry["failed_stage"] == "config"
    error = entry["error"]
    assert error["code"] == "INVALID_INPUT"
    assert {e["field"] for e in error["details"]["errors"]} == {"resilience.ports.stratgy", "services[0].memory"}
    failed = last_failed_event(private)
    assert failed["res"]["error"]["code"] == "INVALID_INPUT"  # not censored by the config task's no_log
    assert failed["res"]["error"]["details"]["errors"] == error["details"]["errors"]
    # the secret is nowhere in what the runner recorded
    for path in (private / "artifacts").rglob("*"):
        if path.is_file():
            assert "s3cret-value" not in path.read_text(errors="replace"), path
    assert docker_client.containers.list(all=True, filters={"label": f"argusai.project={project}"}) == []


def test_variables_refused_before_the_roles_tasks_reach_the_result_file(tmp_path):
    """Variables given to the role directly: their content is checked by argus_config (each problem
    named by its path); a type the role's argument spec refuses stops the role before its first
    task, and the playbook records that too (INVALID_INPUT naming the variable)."""
    result_file = tmp_path / "result.json"
    variables = {
        "argus_project": f"it-mc-{secrets.token_hex(4)}",
        "argus_services": [{"image": TEST_IMAGE, "memory": 5, "colour": "red"}],
        "argus_result_file": str(result_file),
    }
    private = run_with_runner(tmp_path, variables)
    error = entries(result_file)["localhost"]["error"]
    fields = [problem["field"] for problem in error["details"]["errors"]]
    assert error["code"] == "INVALID_INPUT" and fields == [
        "services[0].colour",
        "services[0].name",
        "services[0].memory",
    ]
    assert last_failed_event(private)["res"]["error"] == error

    result_file.unlink()
    refused = execute_playbook(SETUP, dict(variables, argus_docker_timeout="soon"), facts_dir=tmp_path)
    assert refused.returncode != 0
    entry = entries(result_file)["localhost"]
    assert entry["ok"] is False and entry["failed_stage"] == "config"
    assert entry["error"]["code"] == "INVALID_INPUT" and entry["error"]["retryable"] is False
    assert entry["error"]["details"]["field"] == "argus_docker_timeout"


def test_the_daemon_chosen_by_docker_host_is_recorded_and_carried_by_the_actions(tmp_path, docker_client):
    """DOCKER_HOST (no argus_docker_host) on a local connection: the result and every playbook action
    name that daemon, so a teardown or retry run as given goes to it, not to the default socket."""
    daemon = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"  # the suite's engine
    project = f"it-mc-{secrets.token_hex(4)}"
    result_file = tmp_path / "result.json"
    variables = {
        "argus_project": project,
        "argus_services": [{"name": "api", "image": TEST_IMAGE, "command": "sh -c 'exit 3'", "max_restarts": 0}],
        "argus_resilience": FAST,
        "argus_result_file": str(result_file),
    }
    try:
        proc = execute_playbook(SETUP, variables, env={"DOCKER_HOST": daemon}, facts_dir=tmp_path)
        assert proc.returncode != 0
        entry = entries(result_file)["localhost"]
        assert entry["error"]["code"] == "CONTAINER_CRASH" and entry["result"]["docker_host"] == daemon
        playbook_actions = [action for action in entry["error"]["suggested_actions"] if action.get("playbook")]
        assert playbook_actions
        assert {action["extra_vars"]["argus_docker_host"] for action in playbook_actions} == {daemon}
    finally:
        assert remove_project_resources(docker_client, project) == []


def test_every_host_of_a_play_gets_its_own_entry(tmp_path, docker_client, test_image):
    projects = {host: f"it-mc-{host}-{secrets.token_hex(3)}" for host in ("h1", "h2")}
    inventory = {
        "all": {
            "hosts": {
                "h1": {"argus_project": projects["h1"]},
                # h2's configuration is broken: only h2 fails
                "h2": {"argus_project": projects["h2"], "argus_resilience_overrides": {"ports": {"strategy": "x"}}},
            },
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": str(VENV_BIN / "python")},
        }
    }
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory))
    config = write_config(
        tmp_path / "e2e.yaml",
        {
            "project": "overridden",
            "services": [{"name": "web", "image": test_image, "command": ["sh", "-c", HTTPD.format(name="web")]}],
            "resilience": {**FAST, "network": {"verify_connectivity": False}},
        },
    )
    result_file = tmp_path / "result.json"
    try:
        proc = execute_playbook(
            SETUP,
            {"argus_hosts": "all", "argus_config_file": str(config), "argus_result_file": str(result_file)},
            args=["-i", str(tmp_path / "hosts.yml")],
            facts_dir=tmp_path,
        )
        assert proc.returncode != 0
        hosts = entries(result_file)
        assert set(hosts) == {"h1", "h2"}
        assert hosts["h1"]["ok"] is True and hosts["h1"]["result"]["project"] == projects["h1"]
        assert hosts["h2"]["ok"] is False and hosts["h2"]["failed_stage"] == "config"
        for action in hosts["h2"]["error"]["suggested_actions"]:
            if action.get("playbook"):
                assert action["extra_vars"]["argus_hosts"] == "h2"
        assert docker_client.containers.get(f"{projects['h1']}-web").status == "running"
    finally:
        for project in projects.values():
            assert remove_project_resources(docker_client, project) == []


def test_teardown_writes_its_result_on_success_and_failure(tmp_path, unique_project):
    result_file = tmp_path / "result.json"
    proc = execute_playbook(
        TEARDOWN,
        {"argus_project": unique_project, "argus_run_id": "nothing1", "argus_result_file": str(result_file)},
        facts_dir=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    entry = entries(result_file)["localhost"]
    assert entry["ok"] is True and entry["result"]["removed"] == []
    proc = execute_playbook(
        TEARDOWN, {"argus_project": "Not_Valid", "argus_result_file": str(result_file)}, facts_dir=tmp_path
    )
    assert proc.returncode != 0
    entry = entries(result_file)["localhost"]
    assert entry["ok"] is False and entry["error"]["code"] == "INVALID_INPUT"


def test_a_renamed_service_is_reconciled_when_the_run_is_set_up_again(
    tmp_path, docker_client, test_image, unique_project
):
    def config(*names):
        return write_config(
            tmp_path / "e2e.yaml",
            {
                "project": unique_project,
                "services": [{"name": n, "image": test_image, "command": "sleep 600"} for n in names],
                "resilience": {**FAST, "network": {"verify_connectivity": False}},
            },
        )

    result_file = tmp_path / "result.json"
    variables = {"argus_run_id": "reco1", "argus_result_file": str(result_file)}
    proc = execute_playbook(SETUP, dict(variables, argus_config_file=str(config("api", "db"))), facts_dir=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    proc = execute_playbook(SETUP, dict(variables, argus_config_file=str(config("api", "cache"))), facts_dir=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    names = {
        c.name for c in docker_client.containers.list(all=True, filters={"label": f"argusai.project={unique_project}"})
    }
    assert names == {f"{unique_project}-api", f"{unique_project}-cache"}
    reconciled = entries(result_file)["localhost"]["result"]["reconciled"]
    assert [(r["name"], r["service"]) for r in reconciled["removed"]] == [(f"{unique_project}-db", "db")]


def test_one_file_under_three_project_names_at_once_gives_three_environments(tmp_path, docker_client, test_image):
    """The same e2e.yaml (fixed host ports included) brought up three times concurrently: three
    isolated, healthy environments whose tests reach the services by the names in the file, on
    distinct host ports; each teardown removes only its own."""
    base = 31000 + secrets.randbelow(2000)
    config = write_config(
        tmp_path / "e2e.yaml",
        {
            "project": "shop",
            "mocks": [
                {
                    "name": "payments",
                    "image": test_image,
                    "command": ["sh", "-c", HTTPD.format(name="payments")],
                    "ports": [{"container_port": 8080, "host_port": base}],
                }
            ],
            "services": [
                {
                    "name": "api",
                    "image": test_image,
                    "command": ["sh", "-c", HTTPD.format(name="api")],
                    "ports": [{"container_port": 8080, "host_port": base + 1}],
                    "healthcheck": {"test": "wget -q -O /dev/null http://127.0.0.1:8080/", "interval": 0.5},
                }
            ],
            "test": {"name": "tests", "image": test_image, "command": "sleep 600"},
            "resilience": FAST,
        },
    )
    projects = [f"it-par-{secrets.token_hex(3)}-{i}" for i in range(3)]
    try:
        procs = [(project, tmp_path / f"{project}.json") for project in projects]
        procs = [
            (
                project,
                result_file,
                spawn(
                    SETUP,
                    {"argus_project": project, "argus_config_file": str(config), "argus_result_file": str(result_file)},
                    tmp_path / project,
                ),
            )
            for project, result_file in procs
        ]
        host_ports = []
        for project, result_file, proc in procs:
            output, _stderr = proc.communicate(timeout=400)
            assert proc.returncode == 0, output[-4000:]
            result = entries(result_file)["localhost"]["result"]
            assert result["network_verification"]["all_reachable"] is True
            assert {r["hostname"] for r in result["network_verification"]["results"]} == {"payments", "api"}
            assert {c["name"] for c in result["services"]} == {
                f"{project}-payments",
                f"{project}-api",
                f"{project}-tests",
            }
            host_ports += [result["ports"]["payments-8080"], result["ports"]["api-8080"]]
            test = docker_client.containers.get(f"{project}-tests")
            exit_code, out = test.exec_run(["wget", "-q", "-O", "-", "http://api:8080/"])
            assert exit_code == 0 and out.decode().strip() == "hello-from-api"
        assert len(set(host_ports)) == 6, host_ports
        teardown = [
            spawn(TEARDOWN, {"argus_project": project, "argus_teardown_all_runs": True}, tmp_path / project)
            for project in projects[:2]
        ]
        for proc in teardown:
            output, _stderr = proc.communicate(timeout=300)
            assert proc.returncode == 0, output[-3000:]
        for project in projects[:2]:
            assert docker_client.containers.list(all=True, filters={"label": f"argusai.project={project}"}) == []
        survivor = docker_client.containers.list(filters={"label": f"argusai.project={projects[2]}"})
        assert len(survivor) == 3
    finally:
        for project in projects:
            remove_project_resources(docker_client, project)

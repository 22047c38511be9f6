"""The argus_setup / argus_teardown roles through real ansible-playbook against the real engine.

- a held host port is reassigned and the service answers on the new one;
- teardown leaves nothing of the run (containers, networks, volumes);
- a crashing service stops setup with CONTAINER_RESTART_EXHAUSTED and its restart history;
- a second setup of that project cleans the crashed run's leftovers first;
- a malformed e2e.yaml fails naming the field (wrong type, unknown key, negative number).
"""

from __future__ import annotations

import json
import secrets
import socket
import urllib.request
from pathlib import Path

import pytest
import yaml
from conftest import REPO_ROOT, TEST_IMAGE, execute_playbook, remove_project_resources

# Fast settings: short backoffs, short waits.
FAST = {
    "preflight": {"disk_threshold_gb": 0.1},
    "container": {"backoff_initial_ms": 100, "backoff_max_ms": 200, "stable_seconds": 1, "startup_timeout": 20},
    "network": {"probe_timeout": 2, "wait_seconds": 10},
}

HTTPD = "mkdir -p /www && echo hello-from-{name} > /www/index.html && exec httpd -f -p 8080 -h /www"


def http_mock(image: str) -> dict:
    """The mock ``mock``: an HTTP server on 8080, published on a resolved host port."""
    return {
        "name": "mock",
        "image": image,
        "command": ["sh", "-c", HTTPD.format(name="mock")],
        "ports": [{"container_port": 8080}],
    }


def run_setup(tmp: Path, config: dict | None = None, extra_vars: dict | None = None, facts_dir: Path | None = None):
    """Run the role in a play that always writes argus_setup_result / argus_setup_error to a file."""
    tmp.mkdir(parents=True, exist_ok=True)
    out = tmp / "setup-out.json"
    if out.exists():
        out.unlink()
    variables = dict(extra_vars or {})
    if config is not None:
        config_file = tmp / "e2e.yaml"
        config_file.write_text(yaml.safe_dump(config, sort_keys=False))
        variables["argus_config_file"] = str(config_file)
    play = [
        {
            "name": "argus_setup under test",
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {
                    "block": [{"ansible.builtin.include_role": {"name": "argusai.resilience.argus_setup"}}],
                    "always": [
                        {
                            "ansible.builtin.copy": {
                                "content": "{{ {'result': argus_setup_result | default(none),"
                                " 'error': argus_setup_error | default(none)} | to_json }}",
                                "dest": str(out),
                                "mode": "0600",
                            }
                        }
                    ],
                }
            ],
        }
    ]
    playbook = tmp / "setup-play.yml"
    playbook.write_text(yaml.safe_dump(play, sort_keys=False))
    proc = execute_playbook(playbook, variables, facts_dir=facts_dir or tmp, timeout=240)
    assert out.exists(), f"no result written (rc={proc.returncode})\n{proc.stdout}\n{proc.stderr}"
    data = json.loads(out.read_text())
    return proc, data["result"], data["error"]


def run_teardown(tmp: Path, project: str, run_id: str):
    return execute_playbook(
        REPO_ROOT / "playbooks" / "teardown.yml",
        {"argus_project": project, "argus_run_id": run_id},
        facts_dir=tmp,
        timeout=120,
    )


def run_resources(client, project: str, run_id: str) -> list[str]:
    labels = {"label": [f"argusai.project={project}", f"argusai.run-id={run_id}"]}
    wanted = {"argusai.project": project, "argusai.run-id": run_id}

    def of_run(resource_labels) -> bool:  # checked again: Podman 4.3 ORs several label filters
        return all((resource_labels or {}).get(key) == value for key, value in wanted.items())

    found = [f"container {c.name}" for c in client.containers.list(all=True, filters=labels) if of_run(c.labels)]
    found += [f"network {n.name}" for n in client.networks.list(filters=labels) if of_run(n.attrs.get("Labels"))]
    found += [f"volume {v.name}" for v in client.volumes.list(filters=labels) if of_run(v.attrs.get("Labels"))]
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def module_project(docker_client):
    """A project shared by the tests of one scenario; everything labeled with it is removed at the end."""
    projects: list[str] = []

    def make() -> str:
        project = f"it-role-{secrets.token_hex(4)}"
        projects.append(project)
        return project

    yield make
    for project in projects:
        problems = remove_project_resources(docker_client, project)
        assert not problems, problems


# --------------------------------------------------------------------------------------------
# Scenario 1: a held port, then teardown
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def held_port_setup(tmp_path_factory, docker_client, test_image, module_project):
    project = module_project()
    tmp = tmp_path_factory.mktemp("held")
    holder = socket.socket()
    holder.bind(("0.0.0.0", 0))
    holder.listen(1)
    held = holder.getsockname()[1]
    config = {
        "project": project,
        "network": f"{project}-net",
        "mocks": [http_mock(test_image)],
        "services": [
            {
                "name": "web",
                "image": test_image,
                "command": ["sh", "-c", HTTPD.format(name="web")],
                "ports": [{"container_port": 8080, "host_port": held}],
                "healthcheck": {"test": "wget -q -O /dev/null http://127.0.0.1:8080/", "interval": 0.5, "retries": 20},
            }
        ],
        "test": {"name": "tests", "image": test_image, "command": "sleep 600"},
        "resilience": FAST,
    }
    try:
        proc, result, error = run_setup(tmp, config)
    finally:
        holder.close()
    return {"project": project, "tmp": tmp, "held": held, "proc": proc, "result": result, "error": error}


def test_held_port_is_reassigned_and_service_answers_on_new_port(held_port_setup, docker_client):
    setup = held_port_setup
    assert setup["proc"].returncode == 0, setup["proc"].stdout[-4000:]
    assert setup["error"] is None
    result = setup["result"]
    name = "web-8080"
    actual = result["ports"][name]
    assert actual != setup["held"]
    mapping = next(m for m in result["port_mappings"] if m["service"] == name)
    assert mapping["reassigned"] is True and mapping["original_port"] == setup["held"]
    assert mapping["occupied_by"]["type"] in ("process", "unknown")
    # the service really answers on the new port, from the controller ...
    with urllib.request.urlopen(f"http://127.0.0.1:{actual}/", timeout=5) as response:
        assert response.read().decode().strip() == "hello-from-web"
    # ... and Docker publishes exactly that port
    web = docker_client.containers.get(f"{setup['project']}-web")
    assert web.labels["argusai.run-id"] == result["run_id"]
    assert int(web.attrs["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"]) == actual
    # the rest of the result
    assert result["preflight"]["overall"] in ("healthy", "degraded")
    assert result["orphan_cleanup"]["found"] == []
    assert {c["name"] for c in result["services"]} == {f"{setup['project']}-{s}" for s in ("mock", "web", "tests")}
    verification = result["network_verification"]
    assert verification["all_reachable"] is True
    assert {r["service"] for r in verification["results"]} == {"mock:8080", "web:8080"}


def test_teardown_leaves_nothing_of_the_run(held_port_setup, docker_client):
    setup = held_port_setup
    project, run_id = setup["project"], setup["result"]["run_id"]
    # a volume of the run, so that all three kinds are covered
    docker_client.volumes.create(
        name=f"{project}-data",
        labels={"argusai.managed": "true", "argusai.project": project, "argusai.run-id": run_id},
    )
    # a resource of another run of the project must survive
    other = docker_client.volumes.create(
        name=f"{project}-other",
        labels={"argusai.managed": "true", "argusai.project": project, "argusai.run-id": "otherrun"},
    )
    before = run_resources(docker_client, project, run_id)
    assert len(before) == 5, before  # 3 containers, 1 network, 1 volume
    proc = run_teardown(setup["tmp"], project, run_id)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert run_resources(docker_client, project, run_id) == []
    docker_client.volumes.get(other.name)  # untouched
    # tolerant of what is already gone
    again = run_teardown(setup["tmp"], project, run_id)
    assert again.returncode == 0, again.stdout[-4000:]
    assert "0 resource(s)" in again.stdout


# --------------------------------------------------------------------------------------------
# Scenario 2: a crashing service, then a second setup of the project
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def crashed_setup(tmp_path_factory, test_image, module_project):
    project = module_project()
    tmp = tmp_path_factory.mktemp("crash")
    config = {
        "project": project,
        "mocks": [http_mock(test_image)],
        "services": [
            {
                "name": "api",
                "image": test_image,
                "command": ["sh", "-c", "echo 'api: cannot open config'; exit 3"],
                "max_restarts": 1,
            }
        ],
        "resilience": FAST,
    }
    proc, result, error = run_setup(tmp, config)
    return {"project": project, "tmp": tmp, "config": config, "proc": proc, "result": result, "error": error}


def test_crashing_service_stops_setup_with_restart_exhausted_and_history(crashed_setup, docker_client):
    setup = crashed_setup
    assert setup["proc"].returncode != 0
    error = setup["error"]
    assert error["code"] == "CONTAINER_RESTART_EXHAUSTED", error
    assert error["stage"] == "services"
    assert "failed at stage services" in setup["proc"].stdout
    history = error["details"]["restart_history"]
    assert history["container_name"] == f"{setup['project']}-api"
    assert len(history["attempts"]) == 2  # the first run and the one restart
    assert all(a["diagnostics"]["exit_code"] == 3 for a in history["attempts"])
    assert any("cannot open config" in line for line in history["attempts"][0]["diagnostics"]["logs"])
    assert {a["id"] for a in error["suggested_actions"]} >= {"inspect_container_logs", "run_teardown"}
    teardown = next(a for a in error["suggested_actions"] if a["id"] == "run_teardown")
    assert teardown["playbook"] == "argusai.resilience.teardown"
    scope = {key: teardown["extra_vars"][key] for key in ("argus_hosts", "argus_project", "argus_run_id")}
    assert scope == {
        "argus_hosts": "localhost",
        "argus_project": setup["project"],
        "argus_run_id": setup["result"]["run_id"],
    }
    # the partial result and the labeled leftovers
    assert setup["result"]["preflight"] is not None and setup["result"]["network_verification"] is None
    left = run_resources(docker_client, setup["project"], setup["result"]["run_id"])
    assert f"container {setup['project']}-api" in left and f"container {setup['project']}-mock" in left


def test_second_setup_cleans_leftovers_of_the_crashed_run_first(crashed_setup, docker_client):
    setup = crashed_setup
    project, crashed_run = setup["project"], setup["result"]["run_id"]
    leftovers = run_resources(docker_client, project, crashed_run)
    assert leftovers
    config = dict(setup["config"])
    config["services"] = [
        {
            "name": "api",
            "image": TEST_IMAGE,
            "command": ["sh", "-c", HTTPD.format(name="api")],
            "ports": [{"container_port": 8080}],
        }
    ]
    proc, result, error = run_setup(setup["tmp"] / "second", config)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert error is None
    assert result["run_id"] != crashed_run
    removed = {f"{r['type']} {r['name']}" for r in result["orphan_cleanup"]["removed"]}
    assert removed == set(leftovers)
    assert all(r["run_id"] == crashed_run for r in result["orphan_cleanup"]["removed"])
    assert run_resources(docker_client, project, crashed_run) == []
    api = docker_client.containers.get(f"{project}-api")
    assert api.status == "running" and api.labels["argusai.run-id"] == result["run_id"]


# --------------------------------------------------------------------------------------------
# Malformed e2e.yaml
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "section, field, value",
    [
        (
            {"services": [{"name": "a", "image": TEST_IMAGE, "ports": [{"container_port": "http"}]}]},
            "services[0].ports[0].container_port",
            "http",
        ),
        ({"mocks": [{"name": "m", "image": TEST_IMAGE, "imagee": "x"}]}, "mocks[0].imagee", "x"),
        ({"resilience": {"container": {"max_restarts": -2}}}, "resilience.container.max_restarts", -2),
    ],
    ids=["wrong-type", "unknown-key", "negative-number"],
)
def test_malformed_config_fails_naming_the_field(tmp_path, docker_client, section, field, value):
    project = f"it-role-{secrets.token_hex(4)}"
    proc, result, error = run_setup(tmp_path, {"project": project, **section})
    assert proc.returncode != 0
    assert error["code"] == "INVALID_INPUT"
    details = error["details"]
    assert {"field": details["field"], "value": details["value"]} == {"field": field, "value": value}
    assert [(e["field"], e["value"]) for e in details["errors"]] == [(field, value)]  # the only mistake
    assert error["stage"] == "config"
    assert field in proc.stdout
    # nothing was created
    assert docker_client.containers.list(all=True, filters={"label": f"argusai.project={project}"}) == []


def test_idempotent_rerun_of_the_same_run_changes_nothing(tmp_path, docker_client, test_image, unique_project):
    """Setting argus_run_id of a run that is up keeps its ports and containers (changed=false)."""
    port = free_port()
    config = {
        "project": unique_project,
        "services": [
            {
                "name": "web",
                "image": test_image,
                "command": ["sh", "-c", HTTPD.format(name="web")],
                "ports": [{"container_port": 8080, "host_port": port}],
            }
        ],
        "resilience": {**FAST, "preflight": {"enabled": False}},
    }
    run_id = "idem1"
    proc, first, _unused = run_setup(tmp_path / "1", config, {"argus_run_id": run_id})
    assert proc.returncode == 0, proc.stdout[-4000:]
    container_id = docker_client.containers.get(f"{unique_project}-web").id
    proc, second, _unused = run_setup(tmp_path / "2", config, {"argus_run_id": run_id})
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert second["ports"] == first["ports"] == {"web-8080": port}
    assert all(c["changed"] is False for c in second["services"])
    assert docker_client.containers.get(f"{unique_project}-web").id == container_id


def test_a_failed_setup_writes_the_result_file_and_its_actions_act_on_that_run(
    tmp_path, docker_client, test_image, unique_project
):
    """The setup playbook's machine channel: the result file holds the failed host's entry, and its
    run_teardown action, run as given, removes that run and nothing else of the project."""
    config = {
        "project": unique_project,
        "services": [{"name": "api", "image": test_image, "command": ["sh", "-c", "exit 3"], "max_restarts": 1}],
        "resilience": {**FAST, "preflight": {"enabled": False}},
    }
    config_file = tmp_path / "e2e.yaml"
    config_file.write_text(yaml.safe_dump(config))
    result_file = tmp_path / "result.json"
    proc = execute_playbook(
        REPO_ROOT / "playbooks" / "setup.yml",
        {"argus_config_file": str(config_file), "argus_result_file": str(result_file)},
        facts_dir=tmp_path,
    )
    assert proc.returncode != 0
    entry = json.loads(result_file.read_text())["hosts"]["localhost"]
    assert entry["ok"] is False and entry["failed_stage"] == "services"
    assert entry["error"]["code"] == "CONTAINER_RESTART_EXHAUSTED" and entry["result"]["run_id"]
    run_id = entry["result"]["run_id"]
    assert docker_client.containers.get(f"{unique_project}-api").labels["argusai.run-id"] == run_id
    other = docker_client.volumes.create(  # another run of the project (the setup cleaned the earlier ones)
        name=f"{unique_project}-other",
        labels={"argusai.managed": "true", "argusai.project": unique_project, "argusai.run-id": "otherrun"},
    )
    teardown = next(a for a in entry["error"]["suggested_actions"] if a["id"] == "run_teardown")
    proc = execute_playbook(teardown["playbook"], teardown["extra_vars"], facts_dir=tmp_path)  # as given
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert run_resources(docker_client, unique_project, run_id) == []
    docker_client.volumes.get(other.name)  # another run of the project is untouched


def test_teardown_module_reports_what_it_could_not_remove(run_module, docker_client, test_image, unique_project):
    """A volume of the run still mounted by another run's container: CLEANUP_FAILED, listed in failed_resources."""
    run_labels = {"argusai.managed": "true", "argusai.project": unique_project, "argusai.run-id": "gone1"}
    volume = docker_client.volumes.create(name=f"{unique_project}-data", labels=run_labels)
    docker_client.containers.run(
        test_image,
        "sleep 300",
        name=f"{unique_project}-user",
        detach=True,
        volumes={volume.name: {"bind": "/data", "mode": "rw"}},
        labels=dict(run_labels, **{"argusai.run-id": "other"}),
    )
    result = run_module("argusai.resilience.argus_teardown", {"project": unique_project, "run_id": "gone1"})
    assert result["failed"] is True
    assert result["error"]["code"] == "CLEANUP_FAILED"
    assert [(f["type"], f["name"]) for f in result["failed_resources"]] == [("volume", volume.name)]
    assert result["failed_resources"][0]["error"]["details"]["cause"] == "volume_in_use"
    docker_client.containers.get(f"{unique_project}-user")  # another run's container is never touched
    # nothing left to do for a run that has nothing: success, unchanged
    again = run_module("argusai.resilience.argus_teardown", {"project": unique_project, "run_id": "never"})
    assert again["changed"] is False and again["failed_resources"] == [] and again["found"] == []

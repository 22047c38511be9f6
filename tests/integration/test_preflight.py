"""argus_preflight against the real Docker Engine, through real ansible-playbook runs."""

from __future__ import annotations

import json
import socket
import subprocess

import pytest
import yaml
from conftest import REPO_ROOT, VENV_BIN, ansible_env, execute_playbook

MODULE = "argusai.resilience.argus_preflight"


def checks(result):
    return {check["name"]: check for check in result["report"]["checks"]}


def test_healthy_host(run_module, unique_project):
    result = run_module(MODULE, {"project": unique_project, "run_id": "r1"})
    assert not result.get("failed"), result.get("msg", result)
    assert result["changed"] is False
    report = result["report"]
    assert report["overall"] == "healthy"
    assert [c["status"] for c in report["checks"]] == ["pass", "pass", "pass"]
    daemon = checks(result)["docker_daemon"]["details"]
    assert daemon["server_version"] and daemon["docker_root_dir"]
    disk_paths = [p["path"] for p in checks(result)["disk_space"]["details"]["paths"]]
    assert disk_paths[0] == "/" and daemon["docker_root_dir"] in disk_paths
    assert [e["type"] for e in result["argus_events"]] == ["preflight_start"] + ["preflight_check"] * 3 + [
        "preflight_end"
    ]
    assert all(e["project"] == unique_project and e["run_id"] == "r1" for e in result["argus_events"])


def test_check_mode_runs_the_same_checks(run_module, unique_project):
    result = run_module(MODULE, {"project": unique_project}, check=True)
    assert result["report"]["overall"] == "healthy"
    assert result["changed"] is False


@pytest.fixture
def closed_port():
    """A loopback port nothing listens on (bound without listen, so connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def silent_port():
    """A loopback port that accepts connections and never answers: a hung daemon."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


@pytest.mark.parametrize(
    ("host", "cause"),
    [
        ("unix:///nonexistent/argus/docker.sock", "socket_missing"),
        ("tcp://127.0.0.1:{closed}", "connection_refused"),
        ("tcp://127.0.0.1:{silent}", "timeout"),
    ],
)
def test_unreachable_daemon_fails_fast_with_structured_error(
    run_module, unique_project, closed_port, silent_port, host, cause
):
    docker_host = host.format(closed=closed_port, silent=silent_port)
    daemon_timeout = 2
    result = run_module(
        MODULE, {"project": unique_project, "docker_host": docker_host, "daemon_timeout": daemon_timeout}
    )
    assert result["failed"] is True
    error = result["error"]
    assert error["code"] == "DOCKER_UNAVAILABLE"
    assert error["category"] == "infrastructure"
    assert {a["id"] for a in error["suggested_actions"]} >= {"start_docker_daemon", "check_docker_host"}
    assert error["details"]["attempts"] == [
        {"docker_host": docker_host, "cause": cause, "error": error["details"]["attempts"][0]["error"]}
    ]
    assert result["msg"].startswith("DOCKER_UNAVAILABLE:")
    assert "Traceback" not in result["_stdout"] + result["_stderr"]
    report = result["report"]
    assert report["overall"] == "unhealthy"
    assert [c["status"] for c in report["checks"]] == ["fail", "pass", "skipped"]
    assert report["duration_ms"] <= (daemon_timeout + 1) * 1000


def test_disk_space_low(run_module, unique_project):
    result = run_module(MODULE, {"project": unique_project, "disk_threshold_gb": 1_000_000})
    assert result["failed"] is True
    assert result["error"]["code"] == "DISK_SPACE_LOW"
    assert "free_disk_space" in [a["id"] for a in result["error"]["suggested_actions"]]
    assert checks(result)["disk_space"]["status"] == "fail"
    assert result["report"]["overall"] == "unhealthy"


def test_unhealthy_report_without_failing(run_module, unique_project):
    result = run_module(MODULE, {"project": unique_project, "disk_threshold_gb": 1_000_000, "fail_on_unhealthy": False})
    assert not result.get("failed")
    assert result["report"]["overall"] == "unhealthy"
    assert result["ansible_facts"]["argus_preflight"]["overall"] == "unhealthy"


def test_orphan_of_another_run_degrades(run_module, unique_project, docker_client, test_image):
    labels = {
        "argusai.managed": "true",
        "argusai.project": unique_project,
        "argusai.run-id": "oldrun",
        "argusai.created-at": "2026-01-01T00:00:00.000Z",
    }
    old = docker_client.containers.create(test_image, "true", name=f"{unique_project}-old", labels=labels)
    current = docker_client.containers.create(
        test_image, "true", name=f"{unique_project}-cur", labels={**labels, "argusai.run-id": "currun"}
    )
    result = run_module(MODULE, {"project": unique_project, "run_id": "currun"})
    assert not result.get("failed")
    assert result["report"]["overall"] == "degraded"
    orphans = checks(result)["orphans"]
    assert orphans["status"] == "warn"
    assert orphans["error"]["code"] == "ORPHAN_DETECTED"
    assert [r["id"] for r in orphans["details"]["resources"]] == [old.id]
    action = orphans["error"]["suggested_actions"][0]
    assert action["playbook"] == "argusai.resilience.preflight"
    # scoped to the host and kept off the run that reported the orphans
    assert action["extra_vars"] == {
        "argus_hosts": "localhost",
        "argus_project": unique_project,
        "argus_run_id": "currun",
        "auto_fix": True,
    }
    assert current.id not in json.dumps(orphans)

    skipped = run_module(MODULE, {"project": unique_project, "run_id": "currun", "skip_orphan_check": True})
    assert skipped["report"]["overall"] == "healthy"
    assert checks(skipped)["orphans"]["status"] == "skipped"


def test_skip_disk_check(run_module, unique_project):
    result = run_module(MODULE, {"project": unique_project, "disk_threshold_gb": 1_000_000, "skip_disk_check": True})
    assert not result.get("failed")
    assert checks(result)["disk_space"]["status"] == "skipped"


BAD_INPUTS = [
    ({"project": "my project"}, "project"),
    ({"project": "a,b"}, "project"),
    ({"project": "a=b"}, "project"),
    ({"project": "a;rm -rf /"}, "project"),
    ({"project": "Shop"}, "project"),
    ({"project": "ok", "run_id": "bad run"}, "run_id"),
    ({"project": "ok", "disk_threshold_gb": -1}, "disk_threshold_gb"),
    ({"project": "ok", "daemon_timeout": 0}, "daemon_timeout"),
    ({"project": "ok", "disk_paths": ["relative/path"]}, "disk_paths"),
    ({"project": "ok", "disk_paths": ["/no/such/dir"]}, "disk_paths"),
]


def test_bad_input_is_refused_before_docker_is_called(tmp_path):
    # A dead docker_host: had the module called Docker first, the error would be DOCKER_UNAVAILABLE.
    tasks = [
        {
            "name": f"bad input {index}",
            MODULE: {**args, "docker_host": "unix:///nonexistent/argus.sock"},
            "register": f"bad_{index}",
            "ignore_errors": True,
        }
        for index, (args, _field) in enumerate(BAD_INPUTS)
    ]
    results_file = tmp_path / "results.json"
    collect = {f"r{i}": f"{{{{ bad_{i} }}}}" for i in range(len(BAD_INPUTS))}
    tasks.append(
        {
            "name": "collect",
            "ansible.builtin.copy": {"content": "{{ collected | to_json }}", "dest": str(results_file), "mode": "0600"},
            "vars": {"collected": collect},
        }
    )
    playbook = tmp_path / "bad.yml"
    playbook.write_text(
        yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], sort_keys=False)
    )
    proc = execute_playbook(playbook, facts_dir=tmp_path)
    assert "Traceback" not in proc.stdout + proc.stderr
    results = json.loads(results_file.read_text())
    for index, (args, field) in enumerate(BAD_INPUTS):
        result = results[f"r{index}"]
        assert result["failed"] is True, args
        assert result["error"]["code"] == "INVALID_INPUT", (args, result["error"])
        assert result["error"]["details"]["field"] == field
        assert field in result["msg"]


def test_ansible_doc_renders():
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-doc"), MODULE],
        env=ansible_env(),
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    for text in ("disk_threshold_gb", "fail_on_unhealthy", "EXAMPLES", "RETURN VALUES", "report"):
        assert text in proc.stdout

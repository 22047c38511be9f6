"""A setup as a user runs it, on the runtime under test (Docker, or Podman with ARGUS_RUNTIME=podman).

Issue 16: on Podman's Docker API a port published with host IP 0.0.0.0 is accepted but not
served, and a container without a healthcheck reports ``Health.Status: ""``, which made every
rerun restart it. Here: the published ports answer from the host, a rerun of the same run
changes nothing, the teardown leaves nothing; and the demo playbook (``make demo``) runs through.
"""

from __future__ import annotations

import json
import re
import socket
import time
from pathlib import Path

import yaml
from conftest import REPO_ROOT, RUNTIME, execute_playbook
from test_container_guard import http_get

HTTPD = ["httpd", "-f", "-p", "8080", "-h", "/var/www"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def recap_changed(stdout: str) -> int:
    match = re.search(r"localhost\s+:\s+ok=\d+\s+changed=(\d+)", stdout)
    assert match, stdout[-3000:]
    return int(match.group(1))


def setup(tmp: Path, config_file: Path, run_id: str) -> tuple[int, dict, str]:
    """playbooks/setup.yml with the result file (the machine channel); (rc, host entry, stdout)."""
    result_file = tmp / f"setup-{time.monotonic_ns()}.json"
    proc = execute_playbook(
        REPO_ROOT / "playbooks" / "setup.yml",
        {"argus_config_file": str(config_file), "argus_run_id": run_id, "argus_result_file": str(result_file)},
        facts_dir=tmp,
        timeout=240,
    )
    assert result_file.exists(), proc.stdout[-4000:]
    return proc.returncode, json.loads(result_file.read_text())["hosts"]["localhost"], proc.stdout


def project_resources(client, project: str) -> list[str]:
    labels = {"label": f"argusai.project={project}"}
    found = [f"container {c.name}" for c in client.containers.list(all=True, filters=labels)]
    found += [f"network {n.name}" for n in client.networks.list(filters=labels)]
    found += [f"volume {v.name}" for v in client.volumes.list(filters=labels)]
    return found


def test_published_ports_answer_rerun_changes_nothing_teardown_leaves_nothing(
    tmp_path, docker_client, test_image, unique_project
):
    web_port, loopback_port = free_port(), free_port()
    config = {
        "project": unique_project,
        "services": [
            {
                "name": "web",
                "image": test_image,
                "command": HTTPD,
                "ports": [{"container_port": 8080, "host_port": web_port}],
            },
            {
                "name": "loopback",
                "image": test_image,
                "command": HTTPD,
                "ports": [{"container_port": 8080, "host_port": loopback_port, "bind_address": "127.0.0.1"}],
            },
        ],
        "resilience": {"preflight": {"disk_threshold_gb": 0.1}, "container": {"stable_seconds": 1}},
    }
    config_file = tmp_path / "e2e.yaml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))

    rc, first, stdout = setup(tmp_path, config_file, "rt1")
    assert rc == 0 and first["ok"] is True, stdout[-4000:]
    assert first["result"]["ports"] == {"web-8080": web_port, "loopback-8080": loopback_port}
    web = docker_client.containers.get(f"{unique_project}-web")
    loopback = docker_client.containers.get(f"{unique_project}-loopback")
    # what was asked of the runtime: no host IP unless one was configured
    assert web.attrs["HostConfig"]["PortBindings"]["8080/tcp"] == [{"HostIp": "", "HostPort": str(web_port)}]
    assert loopback.attrs["HostConfig"]["PortBindings"]["8080/tcp"][0]["HostIp"] == "127.0.0.1"
    # and what it serves, from this host
    assert "argusai testbox" in http_get(web_port)
    assert "argusai testbox" in http_get(loopback_port)

    rc, second, stdout = setup(tmp_path, config_file, "rt1")
    assert rc == 0 and second["ok"] is True, stdout[-4000:]
    assert recap_changed(stdout) == 0, f"{RUNTIME}: an unchanged rerun changed something\n{stdout[-4000:]}"
    assert second["result"]["ports"] == first["result"]["ports"]
    assert docker_client.containers.get(web.name).id == web.id
    assert docker_client.containers.get(loopback.name).id == loopback.id
    assert docker_client.containers.get(web.name).attrs["State"]["StartedAt"] == web.attrs["State"]["StartedAt"]

    proc = execute_playbook(
        REPO_ROOT / "playbooks" / "teardown.yml",
        {"argus_project": unique_project, "argus_run_id": "rt1"},
        facts_dir=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert project_resources(docker_client, unique_project) == []
    with socket.socket() as probe:
        probe.settimeout(2)
        assert probe.connect_ex(("127.0.0.1", web_port)) != 0, "the port still answers after the teardown"


def test_demo_playbook_runs_and_leaves_nothing(tmp_path, docker_client, test_image, unique_project):
    proc = execute_playbook(
        REPO_ROOT / "examples" / "demo" / "demo.yml", {"argus_project": unique_project}, facts_dir=tmp_path, timeout=300
    )
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert "E2E check passed" in proc.stdout
    assert project_resources(docker_client, unique_project) == []

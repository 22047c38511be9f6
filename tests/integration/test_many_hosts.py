"""Several Docker hosts in one play (issue 15 item 2): this machine and ``remote1``, a second machine
reached by SSH whose Python has only the Docker SDK (tests/integration/remote_host.py).

One setup play over both: the configuration is read on the controller, each host gets its own
environment on its own daemon, its own entry in the result file and its own circuit breaker; a
failure on one host carries that host in its suggested actions; the printed teardown and the
teardown playbook act on the host they name.
"""

from __future__ import annotations

import json

import yaml
from conftest import REPO_ROOT, execute_playbook, remove_project_resources

SETUP = REPO_ROOT / "playbooks" / "setup.yml"
TEARDOWN = REPO_ROOT / "playbooks" / "teardown.yml"
HTTPD = "mkdir -p /www && echo hello-from-{name} > /www/index.html && exec httpd -f -p 8080 -h /www"


def config(project: str, image: str) -> dict:
    return {
        "project": project,
        "services": [
            {
                "name": "web",
                "image": image,
                "command": ["sh", "-c", HTTPD.format(name="web")],
                "ports": [{"container_port": 8080, "host_port": 18080}],
            }
        ],
        "test": {"name": "tests", "image": image, "command": "sleep 600"},
        "resilience": {
            "preflight": {"disk_threshold_gb": 0.01},
            "container": {"stable_seconds": 0.5, "backoff_initial_ms": 100, "backoff_max_ms": 200},
            "network": {"probe_timeout": 2, "wait_seconds": 10},
        },
    }


def test_one_play_two_docker_hosts_each_with_its_environment_result_and_breaker(
    tmp_path, docker_client, remote_host, remote_project, test_image
):
    inventory = remote_host.inventory(tmp_path / "hosts.yml")
    config_file = tmp_path / "e2e.yaml"
    config_file.write_text(yaml.safe_dump(config(remote_project, test_image), sort_keys=False))
    result_file = tmp_path / "result.json"
    remote = remote_host.client()
    try:
        proc = execute_playbook(
            SETUP,
            {"argus_hosts": "all", "argus_config_file": str(config_file), "argus_result_file": str(result_file)},
            args=["-i", str(inventory)],
            facts_dir=tmp_path / "facts",
        )
        assert proc.returncode == 0, proc.stdout[-5000:]
        hosts = json.loads(result_file.read_text())["hosts"]
        assert set(hosts) == {"localhost", "remote1"}
        for host in hosts.values():
            assert host["ok"] is True and host["result"]["network_verification"]["all_reachable"] is True
        # each host's environment is on its own daemon
        here = docker_client.containers.get(f"{remote_project}-web")
        there = remote.containers.get(f"{remote_project}-web")
        assert here.id != there.id
        assert hosts["localhost"]["result"]["run_id"] == here.labels["argusai.run-id"]
        assert hosts["remote1"]["result"]["run_id"] == there.labels["argusai.run-id"]
        remote_port = hosts["remote1"]["result"]["ports"]["web-8080"]
        answer = remote_host.ssh(
            f"wget -q -O - http://127.0.0.1:{remote_port}/ 2>/dev/null || busybox wget -q -O - http://127.0.0.1:{remote_port}/"
        )
        assert "hello-from-web" in answer.stdout, answer
        # each host has its own breaker in the facts cache
        for host in ("localhost", "remote1"):
            facts = json.loads(next((tmp_path / "facts").glob(f"*{host}")).read_text())
            assert remote_project in json.dumps(facts), host
        # the printed teardown names the host it acts on
        assert "argus_hosts" in proc.stdout and "remote1" in proc.stdout.split("Show the environment")[-1], proc.stdout[
            -3000:
        ]

        # a teardown of remote1 alone leaves this machine's environment up
        proc = execute_playbook(
            TEARDOWN,
            {
                "argus_hosts": "remote1",
                "argus_project": remote_project,
                "argus_run_id": hosts["remote1"]["result"]["run_id"],
            },
            args=["-i", str(inventory)],
            facts_dir=tmp_path / "facts",
        )
        assert proc.returncode == 0, proc.stdout[-3000:]
        assert remote.containers.list(all=True, filters={"label": f"argusai.project={remote_project}"}) == []
        assert docker_client.containers.get(f"{remote_project}-web").status == "running"

        # a failure on remote1 only (its host port held there, strategy fail): the fix it suggests
        # carries remote1 and, run as given (with the same inventory), sets that host up
        broken = tmp_path / "broken.json"
        with remote_host.hold_port(18090):
            proc = execute_playbook(
                SETUP,
                {
                    "argus_hosts": "all",
                    "argus_config_file": str(config_file),
                    "argus_result_file": str(broken),
                    "argus_resilience_overrides": {"ports": {"strategy": "fail"}},
                    "argus_container_overrides": {"web": {"ports": [{"container_port": 8080, "host_port": 18090}]}},
                },
                args=["-i", str(inventory), "--limit", "remote1"],
                facts_dir=tmp_path / "facts",
            )
            assert proc.returncode != 0
            entry = json.loads(broken.read_text())["hosts"]["remote1"]
            assert entry["error"]["code"] == "PORT_CONFLICT", entry["error"]
            fix = next(a for a in entry["error"]["suggested_actions"] if a["kind"] == "fix" and a.get("playbook"))
            assert fix["extra_vars"]["argus_hosts"] == "remote1"
            proc = execute_playbook(
                fix["playbook"], fix["extra_vars"], args=["-i", str(inventory)], facts_dir=tmp_path / "facts"
            )
            assert proc.returncode == 0, proc.stdout[-4000:]
        assert remote.containers.get(f"{remote_project}-web").status == "running"
    finally:
        remote.close()
        remove_project_resources(docker_client, remote_project)

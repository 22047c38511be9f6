"""The result file: one entry per host, merged by concurrent writers; reruns carry their run's inputs."""

from __future__ import annotations

import json
import multiprocessing

from ansible_collections.argusai.resilience.plugins.plugin_utils import result_file


def _write(path: str, host: str) -> None:
    result_file.write_entry(path, "argusai.resilience.setup", host, {"ok": True, "host": host})


def test_concurrent_hosts_each_keep_their_entry(tmp_path):
    path = str(tmp_path / "out" / "result.json")
    workers = [multiprocessing.Process(target=_write, args=(path, f"h{i}")) for i in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    data = json.loads((tmp_path / "out" / "result.json").read_text())
    assert sorted(data["hosts"]) == [f"h{i}" for i in range(8)]
    assert data["playbook"] == "argusai.resilience.setup"


def test_a_file_of_an_earlier_playbook_run_is_replaced(tmp_path, monkeypatch):
    path = tmp_path / "result.json"
    path.write_text(json.dumps({"run": "older", "hosts": {"stale": {"ok": False}}}))
    result_file.write_entry(str(path), "argusai.resilience.setup", "h1", {"ok": True})
    assert set(json.loads(path.read_text())["hosts"]) == {"h1"}
    result_file.write_entry(str(path), "argusai.resilience.setup", "h2", {"ok": True})
    assert set(json.loads(path.read_text())["hosts"]) == {"h1", "h2"}  # same run: merged


def test_a_rerun_action_carries_the_run_inputs_and_merges_overrides():
    error = {
        "code": "CONTAINER_OOM",
        "suggested_actions": [
            {
                "id": "raise_memory_limit",
                "playbook": "argusai.resilience.setup",
                "extra_vars": {"argus_project": "shop", "argus_container_overrides": {"api": {"memory": "64m"}}},
            },
            {"id": "run_teardown", "playbook": "argusai.resilience.teardown", "extra_vars": {"argus_project": "shop"}},
            {"id": "inspect_container_logs"},
        ],
    }
    rerun = {
        "argus_config_file": "/srv/e2e.yaml",
        "argus_project": "ignored-when-the-action-says",
        "argus_container_overrides": {"api": {"memory": "32m", "stable_seconds": 1}, "db": {"memory": "1g"}},
    }
    scoped = result_file.with_rerun_inputs(error, "argusai.resilience.setup", rerun)
    fix, teardown, logs = scoped["suggested_actions"]
    assert fix["extra_vars"] == {
        "argus_config_file": "/srv/e2e.yaml",
        "argus_project": "shop",
        "argus_container_overrides": {"api": {"memory": "64m", "stable_seconds": 1}, "db": {"memory": "1g"}},
    }
    assert teardown["extra_vars"] == {"argus_project": "shop"}  # another playbook: untouched
    assert logs == {"id": "inspect_container_logs"}
    assert error["suggested_actions"][0]["extra_vars"]["argus_container_overrides"] == {"api": {"memory": "64m"}}

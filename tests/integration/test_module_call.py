"""Where a module task runs (plugin_utils/module_call.py), on the real engine.

On a ``local`` connection the guard's core runs in the action's own process; a task that sets
``environment`` is sent as an AnsiballZ module as usual. The same calls through both paths give
the same result: the rerun of a running container, and a structured failure. Arguments the
module's argument spec refuses are refused on the controller on both paths, with INVALID_INPUT
naming each problem, and nothing is sent.
"""

from __future__ import annotations

import json

import yaml
from conftest import execute_playbook

FQCN = "argusai.resilience.argus_container_guard"
SENT = {"ARGUS_IT_PATH": "sent"}  # any task environment makes the action send the module
TIMINGS = ("phases_ms", "argus_events", "invocation")


def without_timings(result):
    kept = {key: value for key, value in result.items() if key not in TIMINGS}
    if "error" in kept:
        kept["error"] = {key: value for key, value in kept["error"].items() if key != "timestamp"}
    return kept


def test_both_paths_give_the_same_result(tmp_path, unique_project, test_image):
    project = unique_project
    container = {
        "project": project,
        "run_id": "run1",
        "name": f"{project}-app",
        "service": "app",
        "image": test_image,
        "command": ["sleep", "600"],
        "stable_seconds": 0.5,
    }
    missing = dict(container, name=f"{project}-gone", service="gone", image="argusai/no-such-image:0")
    refused = dict(container, timeout="soon", colour="red")
    calls = [
        ("start", container, {}),
        ("rerun_sent", container, SENT),
        ("rerun_here", container, {}),
        ("missing_sent", missing, SENT),
        ("missing_here", missing, {}),
        ("refused_sent", refused, SENT),
        ("refused_here", refused, {}),
    ]
    out = tmp_path / "results.json"
    tasks = [
        {"name": name, FQCN: args, "environment": env, "register": name, "ignore_errors": True}
        for name, args, env in calls
    ]
    names = ", ".join(f"'{name}': {name}" for name, _args, _env in calls)
    tasks.append(
        {
            "name": "write the results",
            "ansible.builtin.copy": {"content": "{{ {" + names + "} | to_json }}", "dest": str(out), "mode": "0600"},
        }
    )
    playbook = tmp_path / "paths.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    proc = execute_playbook(playbook, facts_dir=tmp_path, args=["-vvv"])
    assert out.exists(), proc.stdout + proc.stderr
    results = json.loads(out.read_text())

    # only the two accepted tasks with an environment put a module file on the host
    puts = [line for line in proc.stdout.splitlines() if " PUT " in line and "AnsiballZ_argus_container_guard" in line]
    assert len(puts) == 2, proc.stdout

    assert results["start"]["changed"] is True, results["start"]
    here, sent = results["rerun_here"], results["rerun_sent"]
    assert here["changed"] is sent["changed"] is False, (here, sent)
    assert without_timings(here) == without_timings(sent) and here["container"]["status"] == "running"
    assert [event["type"] for event in here["argus_events"]] == [event["type"] for event in sent["argus_events"]]

    here, sent = results["missing_here"], results["missing_sent"]
    assert here["failed"] is sent["failed"] is True
    assert without_timings(here) == without_timings(sent) and here["error"]["code"] == "IMAGE_NOT_FOUND"

    here, sent = results["refused_here"], results["refused_sent"]
    assert without_timings(here) == without_timings(sent) and here["error"]["code"] == "INVALID_INPUT"
    assert [problem["field"] for problem in here["error"]["details"]["errors"]] == ["colour", "timeout"]

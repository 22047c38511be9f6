"""Crash storms: services that crash at seeded random moments in their first seconds.

Each service counts its starts in a file of its own container filesystem (the guard restarts the
SAME container, so the file survives) and crashes with exit 1 after a seeded random delay on its
first K starts, then serves. Within the restart budget every service must come up with exactly K
crash attempts in its history; beyond it the guard must fail it with CONTAINER_RESTART_EXHAUSTED
and the full history. Every container is labeled. ``ARGUS_CHAOS_SEED`` changes the storm.
"""

from __future__ import annotations

import os
import random
import time

from harness import TRACEBACK, assert_no_traceback, e2e_config, project_resources, service

SEED = int(os.environ.get("ARGUS_CHAOS_SEED", "20261125"))
MAX_RESTARTS = 3
STABLE_SECONDS = 2.0  # longer than any crash delay: a crash is never mistaken for a stable start


def crash_command(crashes: int, delay: float) -> list[str]:
    script = (
        "n=$(cat /tmp/chaos-starts 2>/dev/null || echo 0); n=$((n+1)); echo $n > /tmp/chaos-starts; "
        f'if [ $n -le {crashes} ]; then echo "chaos: crash $n of {crashes} after {delay}s"; sleep {delay}; exit 1; fi; '
        'echo "chaos: serving after $((n-1)) crashes"; exec httpd -f -p 8080'
    )
    return ["sh", "-c", script]


def storm(rng: random.Random, project: str, counts: list[int]) -> list[dict]:
    plan = []
    for i, crashes in enumerate(counts):
        delay = round(rng.uniform(0.1, 1.5), 2)
        plan.append({"name": f"{project}-s{i}", "crashes": crashes, "delay": delay})
    return plan


def guard_options() -> dict:
    return {
        "max_restarts": MAX_RESTARTS,
        "backoff": "exponential",
        "backoff_initial_ms": 100,
        "backoff_max_ms": 400,
        "stable_seconds": STABLE_SECONDS,
        "startup_timeout": 20,
    }


def _assert_all_labeled(client, project: str, names: list[str]) -> None:
    for name in names:
        container = client.containers.get(name)
        labels = container.labels
        assert labels.get("argusai.managed") == "true", (name, labels)
        assert labels.get("argusai.project") == project, (name, labels)
        assert labels.get("argusai.run-id"), (name, labels)
        assert labels.get("argusai.service") == name, (name, labels)
    # and nothing of the project exists without the managed label
    assert all(r["managed"] == "true" for r in project_resources(client, project))


def _assert_crash_history(history: dict, plan: dict) -> None:
    attempts = history["attempts"]
    for attempt in attempts:
        assert attempt["reason"] == "CONTAINER_CRASH", attempt
        diag = attempt["diagnostics"]
        assert diag["exit_code"] == 1, diag
        assert any("chaos: crash" in line for line in diag["logs"]), diag["logs"]
        assert diag["container_name"] == plan["name"]


def test_crash_storm_within_budget_recovers(private_dockerd, private_client, ansible, chaos_project, recorder):
    rng = random.Random(SEED)
    project = chaos_project("storm")
    plan = storm(rng, project, [rng.randint(0, MAX_RESTARTS) for _i in range(5)])
    services = [service(p["name"], command=crash_command(p["crashes"], p["delay"])) for p in plan]
    config = e2e_config(project, services=services, resilience={"container": guard_options()})
    began = time.monotonic()
    proc, outcome = ansible.setup(config, {"argus_run_id": "storm1"}, env=private_dockerd.env())
    took = time.monotonic() - began
    assert outcome is not None, proc.stdout[-4000:]
    assert_no_traceback(proc.stdout, proc.stderr)
    assert outcome["ok"], (outcome["error"], outcome["msg"])
    by_name = {s["name"]: s for s in outcome["result"]["services"]}
    for p in plan:
        item = by_name[p["name"]]
        assert item["container"]["status"] == "running", item
        history = item["restart_history"]
        assert len(history["attempts"]) == p["crashes"], (p, history)
        _assert_crash_history(history, p)
    _assert_all_labeled(private_client, project, [p["name"] for p in plan])
    total = sum(p["crashes"] for p in plan)
    recorder.record(
        "crash_storm.within_budget",
        f"5 services crash {[p['crashes'] for p in plan]} times at seeded moments (seed {SEED}), "
        f"budget {MAX_RESTARTS} restarts",
        f"all 5 recovered: {total} crashes restarted with backoff, each recorded with exit code and logs; "
        "all containers labeled",
        took,
        "setup wall time (5 services + test container, supervised concurrently)",
        plan=plan,
    )


def test_crash_storm_beyond_budget_fails_with_history(
    private_dockerd, private_client, ansible, chaos_project, recorder
):
    rng = random.Random(SEED + 1)
    project = chaos_project("storm")
    counts = [rng.randint(0, MAX_RESTARTS + 2) for _i in range(5)]
    counts[0], counts[1] = MAX_RESTARTS + 1, rng.randint(0, MAX_RESTARTS)  # at least one of each kind
    plan = storm(rng, project, counts)
    containers = []
    for p in plan:
        spec = service(p["name"], command=crash_command(p["crashes"], p["delay"]))
        spec.pop("ports")
        spec.pop("container_name")  # the guard's name is the container's name already
        spec.update(guard_options())
        containers.append(spec)
    task = {
        "name": "guard the storm",
        "argusai.resilience.argus_container_guard": {
            "project": project,
            "run_id": "storm2",
            "containers": containers,
        },
        "register": "guard",
        "ignore_errors": True,
    }
    began = time.monotonic()
    proc, results = ansible.tasks([task], env=private_dockerd.env())
    took = time.monotonic() - began
    assert results is not None, proc.stdout[-4000:]
    assert_no_traceback(proc.stdout, proc.stderr)
    guard = results["guard"]
    assert guard.get("failed") is True
    assert guard["error"]["code"] == "CONTAINER_RESTART_EXHAUSTED", guard["error"]
    assert TRACEBACK not in str(guard)
    items = {item["name"]: item for item in guard["containers"]}
    exhausted = 0
    for p in plan:
        item = items[p["name"]]
        history = item["restart_history"]
        _assert_crash_history(history, p)
        if p["crashes"] <= MAX_RESTARTS:
            assert "error" not in item or not item["error"], item
            assert item["container"]["status"] == "running", item
            assert len(history["attempts"]) == p["crashes"], (p, history)
        else:
            exhausted += 1
            assert item["error"]["code"] == "CONTAINER_RESTART_EXHAUSTED", item
            # the full history: the first run plus every restart of the budget failed
            assert len(history["attempts"]) == MAX_RESTARTS + 1, (p, history)
            assert history["final_status"] != "running", history
            assert item["error"]["retryable"] is False
    _assert_all_labeled(private_client, project, [p["name"] for p in plan])
    recorder.record(
        "crash_storm.beyond_budget",
        f"5 services crash {counts} times at seeded moments (seed {SEED + 1}), budget {MAX_RESTARTS} restarts",
        f"{5 - exhausted} recovered; {exhausted} failed with CONTAINER_RESTART_EXHAUSTED and all "
        f"{MAX_RESTARTS + 1} attempts (exit code, logs) in the history; all containers labeled",
        took,
        "guard task wall time (5 containers supervised concurrently)",
        plan=plan,
    )

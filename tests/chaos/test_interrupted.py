"""Interrupted runs: ``ansible-playbook`` is killed (SIGKILL to its whole process group, as a
cancelled CI job would be) at several points of a setup; the next setup finds and removes
everything the killed run left, and succeeds.

Runs on the private daemon, with ansible inside its network namespace so that published host
ports, the port resolver and its leases all see the same host. The kill points are found from
the live output (the TASK banner is printed when a task starts) and from the daemon itself.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time

import pytest
from conftest import PLAYBOOKS
from harness import assert_no_traceback, e2e_config, project_resources, service

BANNER_ORPHANS = "Argus setup | remove what earlier runs left behind"
# The connectivity check runs inside the guard's call, once every container is ready (issue 17).
BANNER_VERIFY = "Argus setup | start the mocks, then the services and the test container, and verify connectivity"


def _config(project: str, base: int) -> dict:
    # `late` opens its second port 6 s after start (healthy before that): the connectivity check
    # has to wait for it, which leaves time to kill the run mid-verify.
    late = service(
        f"{project}-late",
        command=["sh", "-c", "(sleep 6; exec httpd -f -p 9090) & exec httpd -f -p 8080"],
        ports=[{"container_port": 8080, "host_port": base + 1}, 9090],
    )
    api = service(f"{project}-api", ports=[{"container_port": 8080, "host_port": base}])
    return e2e_config(project, services=[api, late], resilience={"network": {"wait_seconds": 15}})


def _wait(predicate, timeout: float, what: str, proc) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            raise AssertionError(f"the run ended (rc={proc.returncode}) before {what}")
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _live_members(pgid: int) -> list[int]:
    """The processes of the group ``pgid`` that are not zombies (from /proc)."""
    live = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as handle:
                fields = handle.read().rpartition(")")[2].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            live.append(int(entry))
    return live


KILL_POINTS = {
    # name: (how to know we are there, extra delay before the kill)
    "after_preflight": ("banner", BANNER_ORPHANS, 0.0),
    "mid_guard": ("containers", None, 0.5),
    # services ready within ~2 s of the guard's start; `late`'s 9090 opens 6 s after its start
    "mid_verify": ("banner", BANNER_VERIFY, 4.0),
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_killed_setup_is_cleaned_by_the_next(point, private_dockerd, private_client, ansible, chaos_project, recorder):
    project = chaos_project("int")
    base = random.randrange(20000, 59000)
    config = ansible.write_config(_config(project, base))
    env = private_dockerd.env()
    killed_run = f"killed-{point.replace('_', '-')}"

    log = ansible.workdir / "killed.log"
    proc = ansible.spawn(
        PLAYBOOKS / "setup.yml",
        {"argus_config_file": str(config), "argus_run_id": killed_run},
        env=env,
        log=log,
        prefix=private_dockerd.in_netns,
    )
    how, banner, delay = KILL_POINTS[point]
    try:
        if how == "banner":
            _wait(lambda: banner in log.read_text(), 120, f"'{banner}'", proc)
        else:
            _wait(
                lambda: private_client.api.containers(all=True, filters={"label": f"argusai.run-id={killed_run}"}),
                120,
                "the first container",
                proc,
            )
        time.sleep(delay)
        assert proc.poll() is None, f"the run finished before the kill point:\n{log.read_text()[-3000:]}"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)
    # the whole process group is gone (no orphaned module process keeps working); a child killed
    # while ansible forked it may stay a zombie until init reaps it: that one does no work
    deadline = time.monotonic() + 5
    while _live_members(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _live_members(proc.pid) == []
    leftovers = [r for r in project_resources(private_client, project) if r["run_id"] == killed_run]

    result_file = ansible.workdir / "result.json"
    began = time.monotonic()
    rerun = ansible.playbook(
        PLAYBOOKS / "setup.yml",
        {"argus_config_file": str(config), "argus_result_file": str(result_file), "argus_run_id": "next1"},
        env=env,
        prefix=private_dockerd.in_netns,
    )
    took = time.monotonic() - began
    assert_no_traceback(rerun.stdout, rerun.stderr)
    assert rerun.returncode == 0, rerun.stdout[-5000:]
    result = json.loads(result_file.read_text())["hosts"]["localhost"]["result"]
    removed = {(r["type"].rstrip("s"), r["name"]) for r in result["orphan_cleanup"]["removed"]}
    # port leases are not resources of a run (cleanup/cleaner.py): the cleanup releases them without
    # listing them; killed between taking them and starting the containers, a run leaves some
    resources = [r for r in leftovers if not (r["type"] == "volume" and r["name"].startswith("argusai-lease-"))]
    assert {(r["type"], r["name"]) for r in resources} <= removed, (leftovers, removed)
    now = project_resources(private_client, project)
    assert {r["run_id"] for r in now} == {"next1"}, now
    assert result["network_verification"]["all_reachable"] is True
    kinds = sorted({r["type"] for r in leftovers})
    recorder.record(
        f"interrupted.{point}",
        f"ansible-playbook setup killed (SIGKILL, process group) {point.replace('_', ' ')}",
        f"next setup removed the {len(leftovers)} resources the killed run left"
        + (f" ({', '.join(kinds)})" if kinds else "")
        + " and succeeded; ports resolved again",
        took,
        "next setup wall time",
    )

"""Isolation: cleaning up and tearing down project A never touches anything that is not A's.

On the private daemon: 100 managed resources of project B (some running, attached to B's
networks and mounting B's volumes), 50 unlabeled ones (named like A's), and 10 look-alikes that
carry ``argusai.project=A`` but not ``argusai.managed=true`` (or ``argusai.managed=false``).
Then every cleanup path of A runs: setup (orphan clean), ``preflight.yml auto_fix``, a second
setup, ``teardown.yml`` of the run and of all runs, and ``argus_orphan_clean``. Afterwards every
one of the 160 foreign resources still exists (same ids) and nothing of A's is left.
"""

from __future__ import annotations

import time
from collections import Counter

from conftest import PLAYBOOKS
from harness import TEST_IMAGE, assert_no_traceback, e2e_config, inventory_of, project_resources


def _labels(project: str, run_id: str) -> dict[str, str]:
    return {
        "argusai.managed": "true",
        "argusai.project": project,
        "argusai.run-id": run_id,
        "argusai.created-at": "2026-01-01T00:00:00.000Z",
    }


def _populate(client, project_a: str, project_b: str) -> dict[str, set]:
    """Create the foreign resources; return their inventory by group."""
    groups: dict[str, set] = {"project_b": set(), "unlabeled": set(), "look_alikes": set()}
    b = _labels(project_b, "brun1")
    # project B: 30 networks, 30 volumes, 40 containers (5 running, on B's network, using B's volume)
    for i in range(30):
        net = client.networks.create(f"{project_b}-net{i}", labels=b)
        groups["project_b"].add(("network", net.id))
        vol = client.volumes.create(f"{project_b}-vol{i}", labels=b)
        groups["project_b"].add(("volume", vol.name))
    for i in range(40):
        running = i < 5
        container = client.containers.create(
            TEST_IMAGE,
            ["sleep", "3600"],
            name=f"{project_b}-c{i}",
            labels={**b, "argusai.service": f"{project_b}-c{i}"},
            network=f"{project_b}-net0" if running else None,
            volumes={f"{project_b}-vol{i}": {"bind": "/data", "mode": "rw"}} if running else None,
        )
        if running:
            container.start()
        groups["project_b"].add(("container", container.id))
    # 50 unlabeled, named like A's resources
    for i in range(15):
        groups["unlabeled"].add(("network", client.networks.create(f"{project_a}-plain-net{i}").id))
        groups["unlabeled"].add(("volume", client.volumes.create(f"{project_a}-plain-vol{i}").name))
    for i in range(20):
        c = client.containers.create(TEST_IMAGE, ["sleep", "3600"], name=f"{project_a}-plain-c{i}")
        groups["unlabeled"].add(("container", c.id))
    # 10 look-alikes: A's project label without the managed flag, or with managed=false
    for i in range(10):
        labels = {"argusai.project": project_a, "argusai.run-id": "fake1"}
        if i % 2:
            labels["argusai.managed"] = "false"
        c = client.containers.create(TEST_IMAGE, ["sleep", "3600"], name=f"{project_a}-fake-c{i}", labels=labels)
        groups["look_alikes"].add(("container", c.id))
    return groups


def test_cleanup_and_teardown_of_a_touch_nothing_else(
    private_dockerd, private_client, ansible, chaos_project, recorder
):
    project_a, project_b = chaos_project("a"), chaos_project("b")
    began = time.monotonic()
    groups = _populate(private_client, project_a, project_b)
    try:
        _run_all_cleanups(private_dockerd, private_client, ansible, recorder, project_a, groups, began)
    finally:  # the unlabeled ones are ours too (B's and the look-alikes go with chaos_project)
        for kind, ident in groups["unlabeled"]:
            try:
                if kind == "container":
                    private_client.containers.get(ident).remove(force=True)
                elif kind == "network":
                    private_client.networks.get(ident).remove()
                else:
                    private_client.volumes.get(ident).remove(force=True)
            except Exception:
                pass


def _run_all_cleanups(private_dockerd, private_client, ansible, recorder, project_a, groups, began):
    env = private_dockerd.env()
    populate_s = time.monotonic() - began
    sizes = {k: len(v) for k, v in groups.items()}
    assert sizes == {"project_b": 100, "unlabeled": 50, "look_alikes": 10}, sizes
    foreign = set().union(*groups.values())
    before = inventory_of(private_client)
    assert foreign <= before

    steps: list[tuple[str, float]] = []

    def step(name, fn):
        t0 = time.monotonic()
        proc = fn()
        steps.append((name, time.monotonic() - t0))
        output = proc.stdout + proc.stderr
        assert_no_traceback(output)
        assert proc.returncode == 0, f"{name}:\n{proc.stdout[-4000:]}"
        missing = foreign - inventory_of(private_client)
        assert not missing, f"{name} removed foreign resources: {sorted(missing)[:10]} ({len(missing)} in all)"

    config = ansible.write_config(e2e_config(project_a))
    step(
        "setup a1",
        lambda: ansible.playbook(
            PLAYBOOKS / "setup.yml", {"argus_config_file": str(config), "argus_run_id": "a1"}, env=env
        ),
    )
    assert {r["run_id"] for r in project_resources(private_client, project_a) if r["managed"] == "true"} == {"a1"}
    step(
        "preflight.yml auto_fix",
        lambda: ansible.playbook(PLAYBOOKS / "preflight.yml", {"argus_project": project_a, "auto_fix": True}, env=env),
    )
    assert not [r for r in project_resources(private_client, project_a) if r["managed"] == "true"]
    step(
        "setup a2",
        lambda: ansible.playbook(
            PLAYBOOKS / "setup.yml", {"argus_config_file": str(config), "argus_run_id": "a2"}, env=env
        ),
    )
    step(
        "teardown.yml a2",
        lambda: ansible.playbook(
            PLAYBOOKS / "teardown.yml", {"argus_project": project_a, "argus_run_id": "a2"}, env=env
        ),
    )
    step(
        "teardown.yml all runs",
        lambda: ansible.playbook(
            PLAYBOOKS / "teardown.yml", {"argus_project": project_a, "argus_teardown_all_runs": True}, env=env
        ),
    )

    def orphan_clean():
        proc, results = ansible.tasks(
            [
                {
                    "name": "clean A",
                    "argusai.resilience.argus_orphan_clean": {"project": project_a},
                    "register": "clean",
                }
            ],
            env=env,
        )
        assert results["clean"]["found"] == [], results["clean"]
        return proc

    step("argus_orphan_clean", orphan_clean)

    after = inventory_of(private_client)
    assert foreign <= after, "foreign resources removed"
    # nothing of A's managed resources is left; its look-alikes are untouched
    assert not [r for r in project_resources(private_client, project_a) if r["managed"] == "true"]
    by_type_before = Counter(kind for kind, _ident in foreign)
    by_type_after = Counter(kind for kind, _ident in foreign & after)
    assert by_type_before == by_type_after
    total = sum(seconds for _name, seconds in steps)
    recorder.record(
        "isolation.cleanup_and_teardown_of_a",
        "project A cleaned and torn down 6 ways on a host with 100 resources of project B (5 running, "
        "networks in use, volumes mounted), 50 unlabeled ones named like A's, and 10 with A's project "
        "label but no managed=true",
        f"0 of the {len(foreign)} foreign resources removed (counted by id after every step: "
        f"{dict(by_type_after)}); A's own resources all removed",
        total,
        "all six A runs: " + ", ".join(f"{name} {s:.1f} s" for name, s in steps),
        populate_seconds=round(populate_s, 1),
    )

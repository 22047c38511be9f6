"""argus_orphan_clean and playbooks/preflight.yml against the real Docker Engine.

Every resource is created here with the test's own unique project names (or, for the plain
container, a unique name) and removed afterwards, whatever the outcome.
"""

from __future__ import annotations

import secrets
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import docker
import pytest
from conftest import COLLECTIONS_PATH, RUNTIME, remove_project_resources

sys.path.insert(0, str(COLLECTIONS_PATH))

from ansible_collections.argusai.resilience.plugins.module_utils.cleanup.cleaner import (  # noqa: E402
    CleanupOptions,
    OrphanCleaner,
)
from ansible_collections.argusai.resilience.plugins.module_utils.cleanup.inventory import Cutoff  # noqa: E402
from ansible_collections.argusai.resilience.plugins.module_utils.events import EventLog  # noqa: E402

MODULE = "argusai.resilience.argus_orphan_clean"
OLD_RUN = "old1"
CURRENT_RUN = "cur1"
OLD_TIME = "2026-01-01T00:00:00.000Z"


def labels(project, run_id, managed=True):
    result = {"argusai.project": project, "argusai.run-id": run_id, "argusai.created-at": OLD_TIME}
    if managed:
        result["argusai.managed"] = "true"
    return result


def make_container(client, image, name, container_labels, state="running", network=None, volume=None):
    """A container in state running / exited / created (sleep keeps it running)."""
    command = ["sleep", "300"] if state == "running" else ["true"]
    api = client.api
    host_config = api.create_host_config(
        network_mode=network,
        binds=[f"{volume}:/data"] if volume else None,
    )
    created = api.create_container(image, command, name=name, labels=container_labels, host_config=host_config)
    if state != "created":
        api.start(created["Id"])
        if state == "exited":
            api.wait(created["Id"], timeout=30)
            if network and RUNTIME == "docker":  # Podman lists a stopped container on its network for good
                wait_endpoint_released(api, network, created["Id"])
    return created["Id"]


def wait_endpoint_released(api, network, container_id, timeout=15.0):
    """Docker releases an exited container's endpoint after `wait` returns; removing the container
    in between makes Docker 20.10 leak the endpoint, and the network then refuses removal for
    good. Orphans of earlier runs exited long ago, so the fixture waits as time would."""
    deadline = time.monotonic() + timeout
    while container_id in (api.inspect_network(network).get("Containers") or {}):
        if time.monotonic() > deadline:
            raise AssertionError(f"Docker kept the endpoint of exited container {container_id[:12]}")
        time.sleep(0.05)


def exists(client, kind, ident):
    getter = {"container": client.api.inspect_container, "network": client.api.inspect_network}.get(kind)
    try:
        if getter:
            getter(ident)
        else:
            client.api.inspect_volume(ident)
        return True
    except docker.errors.NotFound:
        return False


def names_of(entries):
    return sorted((entry["type"], entry["name"]) for entry in entries)


@pytest.fixture
def other_project(docker_client):
    """A second fresh project (B); its labeled resources are removed afterwards."""
    project = f"it-{secrets.token_hex(5)}"
    yield project
    assert remove_project_resources(docker_client, project) == []


@pytest.fixture
def plain_names(docker_client):
    """Names for unlabeled containers; whatever carries them is removed afterwards."""
    created: list[str] = []

    def new(prefix="argus-it-plain"):
        name = f"{prefix}-{secrets.token_hex(5)}"
        created.append(name)
        return name

    yield new
    for name in created:
        try:
            docker_client.api.remove_container(name, force=True, v=True)
        except docker.errors.NotFound:
            pass


# -- What must be shown: exactly the older run's resources go ------------------------------------


def test_exactly_the_older_runs_resources_are_removed(
    run_module, docker_client, test_image, unique_project, other_project, plain_names
):
    a, b, api = unique_project, other_project, docker_client.api
    old = labels(a, OLD_RUN)
    old_net = api.create_network(f"{a}-old-net", labels=old)["Id"]
    api.create_volume(f"{a}-old-vol", labels=old)
    orphans = {
        ("container", f"{a}-old-running"),
        ("container", f"{a}-old-exited"),
        ("container", f"{a}-old-created"),
        ("network", f"{a}-old-net"),
        ("volume", f"{a}-old-vol"),
    }
    # The running orphan sits on the orphan network and mounts the orphan volume: the order
    # containers -> networks -> volumes is what makes those two removable.
    make_container(docker_client, test_image, f"{a}-old-running", old, "running", f"{a}-old-net", f"{a}-old-vol")
    make_container(docker_client, test_image, f"{a}-old-exited", old, "exited")
    make_container(docker_client, test_image, f"{a}-old-created", old, "created")
    current = labels(a, CURRENT_RUN)
    api.create_network(f"{a}-cur-net", labels=current)
    api.create_volume(f"{a}-cur-vol", labels=current)
    survivors = [
        ("container", make_container(docker_client, test_image, f"{a}-cur", current, "running", f"{a}-cur-net")),
        ("network", f"{a}-cur-net"),
        ("volume", f"{a}-cur-vol"),
        ("container", make_container(docker_client, test_image, f"{b}-old", labels(b, OLD_RUN), "running")),
        ("container", make_container(docker_client, test_image, f"{b}-old-exited", labels(b, OLD_RUN), "exited")),
        (
            "container",
            make_container(docker_client, test_image, f"{a}-unmanaged", labels(a, OLD_RUN, managed=False), "exited"),
        ),
        ("container", make_container(docker_client, test_image, plain_names(), {}, "running")),
    ]
    time.sleep(1.1)  # Docker lists container creation times to the second

    checked = run_module(MODULE, {"project": a, "run_id": CURRENT_RUN}, check=True)
    assert not checked.get("failed"), checked.get("msg")
    assert checked["changed"] is True
    assert set(names_of(checked["found"])) == orphans
    assert checked["removed"] == [] and checked["failed_resources"] == []
    assert all(exists(docker_client, kind, name) for kind, name in orphans), "check mode removed something"
    assert {e["data"]["outcome"] for e in checked["argus_events"] if e["type"] == "cleanup_resource"} == {
        "would_remove"
    }

    result = run_module(MODULE, {"project": a, "run_id": CURRENT_RUN})
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True
    assert set(names_of(result["found"])) == orphans
    assert set(names_of(result["removed"])) == orphans
    assert not result["failed"] and result["failed_resources"] == []
    assert [e["type"] for e in result["found"]] == ["container"] * 3 + ["network", "volume"]
    found = {(e["type"], e["name"]): e for e in result["found"]}
    assert found[("network", f"{a}-old-net")]["id"] == old_net
    assert all(e["project"] == a and e["run_id"] == OLD_RUN for e in result["found"])
    assert not any(exists(docker_client, kind, name) for kind, name in orphans)
    assert all(exists(docker_client, kind, ident) for kind, ident in survivors), "a survivor was removed"
    assert api.inspect_container(f"{a}-cur")["State"]["Running"] is True
    events = result["argus_events"]
    assert [e["type"] for e in events] == ["cleanup_start"] + ["cleanup_resource"] * 5 + ["cleanup_end"]
    assert {e["data"]["outcome"] for e in events[1:-1]} == {"removed"}
    assert events[-1]["data"]["removed"] == 5 and isinstance(result["duration_ms"], int)

    again = run_module(MODULE, {"project": a, "run_id": CURRENT_RUN})
    assert not again.get("failed"), again.get("msg")
    assert again["changed"] is False
    assert again["found"] == again["removed"] == again["failed_resources"] == []
    assert all(exists(docker_client, kind, ident) for kind, ident in survivors)


# -- What must be shown: refusals are reported, never forced --------------------------------------


def test_network_with_a_live_non_orphan_container_is_reported_not_forced(
    run_module, docker_client, test_image, unique_project
):
    a, api = unique_project, docker_client.api
    old = labels(a, OLD_RUN)
    api.create_network(f"{a}-old-net", labels=old)
    make_container(docker_client, test_image, f"{a}-old", old, "running", f"{a}-old-net")
    make_container(docker_client, test_image, f"{a}-cur", labels(a, CURRENT_RUN), "running", f"{a}-old-net")
    time.sleep(1.1)

    result = run_module(MODULE, {"project": a, "run_id": CURRENT_RUN})
    assert result["failed"] is True
    assert result["error"]["code"] == "CLEANUP_FAILED"
    assert names_of(result["removed"]) == [("container", f"{a}-old")]
    assert names_of(result["failed_resources"]) == [("network", f"{a}-old-net")]
    error = result["failed_resources"][0]["error"]
    assert error["code"] == "CLEANUP_FAILED" and error["details"]["cause"] == "network_in_use"
    assert error["details"]["attached_containers"] == [f"{a}-cur"]
    assert "active endpoints" in error["message"]
    assert result["error"]["details"]["errors"][0]["name"] == f"{a}-old-net"
    assert result["changed"] is True
    # not forced: the current run's container is still running and still attached
    state = api.inspect_container(f"{a}-cur")
    assert state["State"]["Running"] is True
    assert f"{a}-old-net" in state["NetworkSettings"]["Networks"]
    assert exists(docker_client, "network", f"{a}-old-net")
    outcomes = {
        e["data"]["name"]: e["data"]["outcome"] for e in result["argus_events"] if e["type"] == "cleanup_resource"
    }
    assert outcomes == {f"{a}-old": "removed", f"{a}-old-net": "failed"}


def test_volume_in_use_is_failed_with_its_error_while_the_others_are_removed(
    run_module, docker_client, test_image, unique_project
):
    a, api = unique_project, docker_client.api
    old = labels(a, OLD_RUN)
    api.create_volume(f"{a}-old-busy", labels=old)
    api.create_volume(f"{a}-old-free", labels=old)
    api.create_network(f"{a}-old-net", labels=old)
    make_container(docker_client, test_image, f"{a}-old-1", old, "running", f"{a}-old-net")
    make_container(docker_client, test_image, f"{a}-old-2", old, "exited")
    # the current run still mounts one of the old volumes
    make_container(docker_client, test_image, f"{a}-cur", labels(a, CURRENT_RUN), "running", volume=f"{a}-old-busy")
    time.sleep(1.1)

    result = run_module(MODULE, {"project": a, "run_id": CURRENT_RUN})
    assert result["failed"] is True
    assert result["error"]["code"] == "CLEANUP_FAILED"
    assert f"volume {a}-old-busy" in result["msg"]
    assert names_of(result["failed_resources"]) == [("volume", f"{a}-old-busy")]
    error = result["failed_resources"][0]["error"]
    assert error["details"]["cause"] == "volume_in_use"
    assert "volume is in use" in error["message"] or "volume is being used" in error["message"]  # Docker, Podman
    assert error["suggested_actions"][0]["id"] == "retry_cleanup"
    assert set(names_of(result["removed"])) == {
        ("container", f"{a}-old-1"),
        ("container", f"{a}-old-2"),
        ("network", f"{a}-old-net"),
        ("volume", f"{a}-old-free"),
    }
    assert exists(docker_client, "volume", f"{a}-old-busy")
    assert not exists(docker_client, "volume", f"{a}-old-free")
    assert api.inspect_container(f"{a}-cur")["State"]["Running"] is True
    details = result["error"]["details"]
    assert details["errors"][0]["error"]["details"]["cause"] == "volume_in_use"
    assert names_of(details["result"]["removed"]) == names_of(result["removed"])


# -- What must be shown: racing cleanups ---------------------------------------------------------


def make_orphans(client, image, project, containers=16, networks=3, volumes=3):
    old = labels(project, OLD_RUN)
    nets = [client.api.create_network(f"{project}-net-{i}", labels=old)["Id"] for i in range(networks)]
    for i in range(volumes):
        client.api.create_volume(f"{project}-vol-{i}", labels=old)
    with ThreadPoolExecutor(8) as pool:
        list(
            pool.map(
                lambda i: make_container(
                    client, image, f"{project}-c{i}", old, ("running", "exited", "created")[i % 3], nets[i % networks]
                ),
                range(containers),
            )
        )
    return containers + networks + volumes


def remaining(client, project):
    filters = {"label": f"argusai.project={project}"}
    return (
        len(client.api.containers(all=True, filters=filters))
        + len(client.api.networks(filters=filters))
        + len(client.api.volumes(filters=filters).get("Volumes") or [])
    )


def test_two_racing_module_runs_both_finish_without_error(run_module, docker_client, test_image, unique_project):
    total = make_orphans(docker_client, test_image, unique_project)
    time.sleep(1.1)
    with ThreadPoolExecutor(2) as pool:
        runs = list(
            pool.map(lambda run_id: run_module(MODULE, {"project": unique_project, "run_id": run_id}), ["r1", "r2"])
        )
    for result in runs:
        assert not result.get("failed"), result.get("msg")
        assert not result["failed"] and result["failed_resources"] == []
    assert remaining(docker_client, unique_project) == 0
    removed = {(e["type"], e["name"]) for r in runs for e in r["removed"]}
    assert len(removed) == total


def test_two_racing_cleaners_in_lockstep_both_finish_without_error(docker_client, test_image, unique_project):
    """The same race, tighter: both cleaners list before either removes (a barrier)."""
    total = make_orphans(docker_client, test_image, unique_project, containers=24)
    time.sleep(1.1)
    barrier = threading.Barrier(2)

    def clean(run_id):
        client = docker.from_env(timeout=60)
        try:
            cleaner = OrphanCleaner(client, CleanupOptions(unique_project, run_id), EventLog(unique_project, run_id))
            real_detect = cleaner.detect

            def detect_then_wait(cutoff=None):
                found = real_detect(cutoff)
                barrier.wait(timeout=30)
                return found

            cleaner.detect = detect_then_wait
            return cleaner.clean()
        finally:
            client.close()

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(clean, ["r1", "r2"]))
    for result in results:
        assert len(result["found"]) == total
        assert result["failed"] == [], [f["error"]["message"] for f in result["failed"]]
        assert len(result["removed"]) == total
    assert remaining(docker_client, unique_project) == 0


# -- created after the cleanup started ----------------------------------------------------------


def test_resources_created_after_the_cleanup_started_are_never_removed(docker_client, test_image, unique_project):
    a, api = unique_project, docker_client.api
    make_container(docker_client, test_image, f"{a}-before", labels(a, OLD_RUN), "exited")
    time.sleep(1.1)
    cleaner = OrphanCleaner(docker_client, CleanupOptions(a, CURRENT_RUN), EventLog(a, CURRENT_RUN))
    cutoff = Cutoff.now(docker_client)
    # a concurrent run of the same project creates its resources just after the start
    concurrent = {"argusai.managed": "true", "argusai.project": a, "argusai.run-id": "concurrent"}
    make_container(docker_client, test_image, f"{a}-after", concurrent, "running")
    api.create_network(f"{a}-after-net", labels=concurrent)
    api.create_volume(f"{a}-after-vol", labels=concurrent)
    found, excluded = cleaner.detect(cutoff)
    assert names_of(found) == [("container", f"{a}-before")]
    assert set(names_of(excluded)) == {
        ("container", f"{a}-after"),
        ("network", f"{a}-after-net"),
        ("volume", f"{a}-after-vol"),
    }


# -- the preflight playbook -------------------------------------------------------------------------


def test_preflight_playbook_auto_fix_cleans_and_reports_again(run_playbook, docker_client, test_image, unique_project):
    a = unique_project
    old = labels(a, OLD_RUN)
    docker_client.api.create_network(f"{a}-old-net", labels=old)
    make_container(docker_client, test_image, f"{a}-old", old, "running", f"{a}-old-net")
    make_container(docker_client, test_image, f"{a}-cur", labels(a, CURRENT_RUN), "running")
    time.sleep(1.1)
    extra = {"argus_project": a, "argus_run_id": CURRENT_RUN, "skip_disk_check": True}

    # by path, without auto_fix: report only, orphans stay (degraded is not a failure)
    plain = run_playbook("playbooks/preflight.yml", extra)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert '"overall": "degraded"' in plain.stdout
    assert "Remove the orphans the preflight found" not in plain.stdout or "skipping" in plain.stdout
    assert exists(docker_client, "container", f"{a}-old")

    # by FQCN, with auto_fix (a string, as -e auto_fix=true gives it)
    fixed = run_playbook("argusai.resilience.preflight", dict(extra, auto_fix="true"))
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    out = fixed.stdout
    assert out.index('"overall": "degraded"') < out.index("TASK [Remove the orphans the preflight found]")
    assert out.index("TASK [Remove the orphans the preflight found]") < out.index(
        "TASK [Show the preflight report after the cleanup]"
    )
    assert '"overall": "healthy"' in out[out.index("TASK [Show the preflight report after the cleanup]") :]
    assert not exists(docker_client, "container", f"{a}-old")
    assert not exists(docker_client, "network", f"{a}-old-net")
    assert docker_client.api.inspect_container(f"{a}-cur")["State"]["Running"] is True


def test_preflight_playbook_auto_fix_fails_when_an_orphan_stays(
    run_playbook, docker_client, test_image, unique_project
):
    a = unique_project
    docker_client.api.create_volume(f"{a}-old-vol", labels=labels(a, OLD_RUN))
    make_container(docker_client, test_image, f"{a}-cur", labels(a, CURRENT_RUN), "running", volume=f"{a}-old-vol")
    time.sleep(1.1)
    proc = run_playbook(
        "playbooks/preflight.yml",
        {"argus_project": a, "argus_run_id": CURRENT_RUN, "skip_disk_check": True, "auto_fix": True},
    )
    assert proc.returncode != 0
    out = proc.stdout
    # the second report is still printed, then the play fails with the cleanup's error
    assert "TASK [Show the preflight report after the cleanup]" in out
    assert "CLEANUP_FAILED" in out[out.index("TASK [Stop when some orphans could not be removed]") :]
    assert exists(docker_client, "volume", f"{a}-old-vol")


@pytest.mark.parametrize("extra", [{}, {"argus_project": "Not Valid"}, {"argus_project": "ok", "argus_run_id": "a b"}])
def test_preflight_playbook_validates_its_variables(run_playbook, extra):
    proc = run_playbook("playbooks/preflight.yml", extra)
    assert proc.returncode != 0
    assert "must match ^[a-z0-9][a-z0-9_.-]{0,62}$" in proc.stdout
    # the module refuses before Docker is called, and the play's last task carries the error
    assert "INVALID_INPUT" in proc.stdout.split("TASK [Stop with the structured error]")[-1]

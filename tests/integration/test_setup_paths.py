"""The setup's combined calls on the real engine (issue 17): what a setup does in fewer processes.

- argus_container_guard with start_first (tiers), resolve_ports and verify in one call: the gated
  containers start once the first ones are healthy, before those are stable (the windows overlap);
  a held host port is reassigned; the connectivity check reports every target;
- the same call again on that environment (the rerun): nothing changes, no stability window is
  waited for, the ports are kept from the run;
- a first container that fails holds the others back (created, never started);
- a failing connectivity check fails the call with phase network_verification;
- argus_preflight with clean_orphans: the checks, then the cleanup in the same call (check mode
  only lists); a cleanup failure is CLEANUP_FAILED with the failed resource.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
from test_container_guard import HEALTHY_PROBE, run_guard_tasks
from test_orphan_clean import OLD_RUN, exists, labels, make_container

HTTPD = "mkdir -p /www && echo {name} > /www/index.html && exec httpd -f -p 8080 -h /www"


def _container(project, name, image, **extra):
    return {"name": f"{project}-{name}", "service": name, "image": image, "network": f"{project}-net", **extra}


class EventRecorder:
    """Records the project's container events live, from a thread (the daemon keeps only the last few
    hundred in memory: on a busy daemon they are gone by the time a play has ended)."""

    def __init__(self, client, project):
        filters = {"type": ["container"], "label": [f"argusai.project={project}"]}
        self.stream = client.events(
            since=int(time.time()) - 1, until=int(time.time()) + 300, filters=filters, decode=True
        )
        self.seen: list[dict] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            for event in self.stream:
                self.seen.append(event)
        except Exception:  # noqa: BLE001 - the stream closed under the reader
            pass

    def times(self, container_name, action):
        """epoch ns of the container's ``action`` events (``health_status: healthy``, ``start``)."""
        return [
            int(event["timeNano"])
            for event in list(self.seen)
            if (event.get("Action") or event.get("status")) == action
            and (event.get("Actor") or {}).get("Attributes", {}).get("name") == container_name
        ]

    def close(self):
        self.stream.close()
        self.thread.join(timeout=10)


@pytest.fixture
def held_port():
    """A host port held by a plain socket of this test (not Docker): the guard must move off it."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("0.0.0.0", 0))
    sock.listen(1)
    yield sock.getsockname()[1]
    sock.close()


def test_tiers_ports_and_verify_in_one_call_then_a_rerun_that_waits_for_nothing(
    tmp_path, docker_client, test_image, unique_project, held_port
):
    project = unique_project
    recorder = EventRecorder(docker_client, project)
    mock = _container(
        project,
        "mock",
        test_image,
        command=["sh", "-c", HTTPD.format(name="mock")],
        ports=[{"container_port": 8080, "host_port": held_port}],
        healthcheck=HEALTHY_PROBE,
        stable_seconds=4,
    )
    web = _container(
        project, "web", test_image, command=["sh", "-c", HTTPD.format(name="web")], healthcheck=HEALTHY_PROBE
    )
    tests = _container(project, "tests", test_image, command=["sleep", "600"])
    for item in (mock, web, tests):
        item["aliases"] = [item["service"]]
    call = {
        "project": project,
        "run_id": "tiers1",
        "containers": [mock, web, tests],
        "start_first": [mock["name"]],
        "keep_services": ["mock", "web", "tests"],
        "resolve_ports": {"strategy": "auto"},
        "verify": {
            "container": tests["name"],
            "network": f"{project}-net",
            "targets": [{"name": "mock", "host": "mock", "port": 8080}, {"name": "web", "host": "web", "port": 8080}],
            "probe_timeout": 2,
            "wait_seconds": 10,
            "probe_image": test_image,
        },
    }
    first, rerun = run_guard_tasks(tmp_path, [call, call])
    assert not first.get("failed"), first.get("msg")
    assert [item["action"] for item in first["containers"]] == ["create"] * 3

    # tiers: web started once the mock was healthy, and before the mock's 4 s stability window ended
    recorder.close()
    healthy = min(recorder.times(mock["name"], "health_status: healthy"))
    web_started = min(recorder.times(web["name"], "start"))
    tests_started = min(recorder.times(tests["name"], "start"))
    assert healthy <= web_started < healthy + 4 * 10**9
    assert healthy <= tests_started

    # ports: the held port was resolved away before the container was created, and published so
    mapping = next(m for m in first["port_resolution"]["mappings"] if m["service"] == "mock-8080")
    assert mapping["original_port"] == held_port and mapping["reassigned"] and mapping["actual_port"] != held_port
    published = docker_client.api.inspect_container(mock["name"])["NetworkSettings"]["Ports"]["8080/tcp"]
    assert {int(binding["HostPort"]) for binding in published} == {mapping["actual_port"]}

    # verify: both targets reached by name from the test container, in the same call
    report = first["network_verification"]
    assert report["all_reachable"] is True and {r["service"] for r in report["results"]} == {"mock", "web"}
    assert set(first["phases_ms"]) == {"reconcile", "ports", "containers"}

    # the rerun: nothing changes, the port is kept, and no stability window (4 s) is waited for
    assert not rerun.get("failed"), rerun.get("msg")
    assert rerun["changed"] is False and [item["action"] for item in rerun["containers"]] == ["none"] * 3
    assert all(item["duration_ms"] < 4000 for item in rerun["containers"])
    assert rerun["port_resolution"]["kept"] == {"mock-8080": mapping["actual_port"]}
    assert rerun["network_verification"]["all_reachable"] is True


def test_a_failed_first_container_holds_the_others_back(tmp_path, docker_client, test_image, unique_project):
    project = unique_project
    mock = _container(project, "mock", test_image, command=["sh", "-c", "exit 3"], max_restarts=0)
    web = _container(project, "web", test_image, command=["sleep", "600"])
    (result,) = run_guard_tasks(
        tmp_path, [{"project": project, "containers": [mock, web], "start_first": [mock["name"]]}]
    )
    assert result["failed"] and result["phase"] == "containers"
    assert result["error"]["code"] == "CONTAINER_CRASH" and result["error"]["details"]["container_name"] == mock["name"]
    held = result["containers"][1]
    assert held["restart_history"]["final_status"] == "not_started" and held["not_started_because"] == [mock["name"]]
    state = docker_client.api.inspect_container(web["name"])["State"]
    assert state["Status"] == "created" and state["StartedAt"].startswith("0001-")


def test_a_failing_connectivity_check_fails_the_call_with_its_phase(
    tmp_path, docker_client, test_image, unique_project
):
    project = unique_project
    web = _container(project, "web", test_image, command=["sleep", "600"], aliases=["web"])
    tests = _container(project, "tests", test_image, command=["sleep", "600"])
    verify = {
        "container": tests["name"],
        "network": f"{project}-net",
        "targets": [{"name": "web", "host": "web", "port": 9090}],
        "probe_timeout": 1,
        "wait_seconds": 1,
        "probe_image": test_image,
    }
    early = _container(project, "early", test_image, command=["sleep", "600"])
    too_short = {"project": project, "containers": [early], "verify": dict(verify, probe_timeout=5), "timeout": 5}
    result, refused = run_guard_tasks(
        tmp_path, [{"project": project, "containers": [web, tests], "verify": verify}, too_short]
    )
    assert result["failed"] and result["phase"] == "network_verification"
    assert result["error"]["code"] == "NETWORK_UNREACHABLE"
    assert result["network_verification"]["all_reachable"] is False
    assert all(item["restart_history"]["final_status"] == "running" for item in result["containers"])
    # a Docker timeout too short for the check's probes: refused before any container is created
    assert refused["failed"] and refused["phase"] == "network_verification"
    assert refused["error"]["code"] == "INVALID_INPUT" and refused["error"]["details"]["field"] == "timeout"
    assert not docker_client.containers.list(all=True, filters={"name": early["name"]})


def test_preflight_then_cleanup_in_one_call(run_module, docker_client, test_image, unique_project):
    project = unique_project
    container = make_container(docker_client, test_image, f"{project}-old", labels(project, OLD_RUN))
    network = docker_client.api.create_network(f"{project}-oldnet", labels=labels(project, OLD_RUN))["Id"]
    args = {"project": project, "run_id": "now1", "clean_orphans": True, "disk_threshold_gb": 0.01}

    listed = run_module("argusai.resilience.argus_preflight", args, check=True)
    assert not listed.get("failed"), listed.get("msg")
    assert {r["name"] for r in listed["orphan_cleanup"]["found"]} == {f"{project}-old", f"{project}-oldnet"}
    assert listed["orphan_cleanup"]["removed"] == [] and exists(docker_client, "container", container)

    cleaned = run_module("argusai.resilience.argus_preflight", args)
    assert not cleaned.get("failed"), cleaned.get("msg")
    assert cleaned["changed"] is True and cleaned["report"]["overall"] == "healthy"
    orphans = next(check for check in cleaned["report"]["checks"] if check["name"] == "orphans")
    assert orphans["status"] == "skipped" and "clean_orphans" in orphans["message"]
    assert {r["name"] for r in cleaned["orphan_cleanup"]["removed"]} == {f"{project}-old", f"{project}-oldnet"}
    assert not exists(docker_client, "container", container) and not exists(docker_client, "network", network)
    types = [event["type"] for event in cleaned["argus_events"]]
    assert types[0] == "preflight_start" and "preflight_end" in types and types[-1] == "cleanup_end"


def test_preflight_cleanup_failure_is_cleanup_failed(run_module, docker_client, test_image, unique_project, request):
    project = unique_project
    network = docker_client.api.create_network(f"{project}-oldnet", labels=labels(project, OLD_RUN))["Id"]
    # an unmanaged container on the orphaned network: never touched, so the network cannot go
    plain = make_container(docker_client, test_image, f"{project}-plain", {}, network=network)
    request.addfinalizer(lambda: docker_client.api.remove_container(plain, force=True))
    result = run_module(
        "argusai.resilience.argus_preflight",
        {"project": project, "run_id": "now1", "clean_orphans": True, "disk_threshold_gb": 0.01},
    )
    assert result["failed"] and result["error"]["code"] == "CLEANUP_FAILED"
    assert [r["name"] for r in result["orphan_cleanup"]["failed_resources"]] == [f"{project}-oldnet"]
    assert result["report"]["overall"] == "healthy" and exists(docker_client, "container", plain)


# --- the role: the failed stage named from what failed inside a combined call ------------------


def _role_config(project, test_image, mock_extra=None, web_extra=None, resilience=None):
    mock = {"name": "mock", "image": test_image, "command": ["sh", "-c", HTTPD.format(name="mock")], "ports": [8080]}
    web = {"name": "web", "image": test_image, "command": ["sh", "-c", HTTPD.format(name="web")], "ports": [8080]}
    fast = {
        "preflight": {"disk_threshold_gb": 0.01},
        "container": {"stable_seconds": 0.5, "max_restarts": 0},
        "network": {"probe_timeout": 1, "wait_seconds": 1},
    }
    for section, values in (resilience or {}).items():
        fast[section] = dict(fast.get(section, {}), **values)
    return {
        "project": project,
        "mocks": [dict(mock, **(mock_extra or {}))],
        "services": [dict(web, **(web_extra or {}))],
        "test": {"name": "tests", "image": test_image, "command": "sleep 600"},
        "resilience": fast,
    }


@pytest.mark.parametrize("stage", ["orphan_cleanup", "ports", "mocks", "network_verification"])
def test_the_role_names_the_stage_that_failed_inside_a_combined_call(
    stage, tmp_path, docker_client, test_image, unique_project, held_port, request
):
    from test_role_setup import run_setup

    project = unique_project
    config = _role_config(project, test_image)
    code = {
        "orphan_cleanup": "CLEANUP_FAILED",
        "ports": "PORT_CONFLICT",
        "mocks": "CONTAINER_CRASH",
        "network_verification": "NETWORK_UNREACHABLE",
    }[stage]
    if stage == "orphan_cleanup":  # an orphaned network still used by an unmanaged container
        network = docker_client.api.create_network(f"{project}-oldnet", labels=labels(project, OLD_RUN))["Id"]
        plain = make_container(docker_client, test_image, f"{project}-plain", {}, network=network)
        request.addfinalizer(lambda: docker_client.api.remove_container(plain, force=True))
    elif stage == "ports":
        config = _role_config(
            project,
            test_image,
            mock_extra={"ports": [{"container_port": 8080, "host_port": held_port}]},
            resilience={"ports": {"strategy": "fail"}},
        )
    elif stage == "mocks":
        config = _role_config(project, test_image, mock_extra={"command": ["sh", "-c", "exit 3"]})
    else:  # web's second port: nothing listens there
        config = _role_config(project, test_image, web_extra={"ports": [8080, 9090]})
    proc, result, error = run_setup(tmp_path, config)
    assert proc.returncode != 0 and error is not None, proc.stdout[-3000:]
    assert error["stage"] == stage and error["code"] == code, error
    assert f"failed at stage {stage}" in proc.stdout
    if stage == "mocks":  # the services were held back: created, never started
        web = docker_client.api.inspect_container(f"{project}-web")["State"]
        assert web["Status"] == "created"
    if stage == "network_verification":
        assert result["network_verification"]["all_reachable"] is False


def test_a_daemon_lost_before_the_guard_call_fails_its_first_stage(tmp_path, test_image, unique_project):
    """Preflight and cleanup off, the daemon unreachable: the guard call fails before any phase
    (phase connect), and the role names its first stage, the mocks, not the connectivity check."""
    from test_role_setup import run_setup

    config = _role_config(
        unique_project, test_image, resilience={"preflight": {"enabled": False, "clean_orphans": False}}
    )
    proc, _result, error = run_setup(tmp_path, config, {"argus_docker_host": "unix:///nonexistent/docker.sock"})
    assert proc.returncode != 0 and error is not None, proc.stdout[-3000:]
    assert error["code"] == "DOCKER_UNAVAILABLE" and error["stage"] == "mocks", error

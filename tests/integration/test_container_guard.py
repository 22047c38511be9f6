"""argus_container_guard against the real Docker Engine, through real ansible-playbook runs.

Every container and network here carries the test's project label (removed afterwards by the
fixtures); names start with the project name. Host ports are random high ports. To keep the file
fast, independent module calls share one playbook (``run_guard_tasks``): one task per call, each
result registered with ``ignore_errors`` and written back as JSON.
"""

from __future__ import annotations

import json
import random
import secrets
import socket
import subprocess
import time
import urllib.request
from datetime import datetime, timezone

import pytest
import yaml
from conftest import PODMAN_RUNS_HEALTHCHECKS, RUNTIME, execute_playbook, remove_project_resources

FQCN = "argusai.resilience.argus_container_guard"
HTTPD = ["httpd", "-f", "-p", "8080", "-h", "/var/www"]
HEALTHY_PROBE = {"test": "wget -q -O /dev/null http://127.0.0.1:8080/", "interval": 0.3, "timeout": 2, "retries": 5}


def run_guard_tasks(workdir, tasks: list[dict], check: tuple[int, ...] = (), timeout: float = 600) -> list[dict]:
    """Run several argus_container_guard tasks in one play; return their results in order.

    ``check``: indexes of the tasks that run in check mode. ``timeout``: the play fails the test
    when it has not ended by then (a guard call that never returns).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / "results.json"
    play_tasks = [
        {
            "name": f"guard {index}",
            FQCN: args,
            "register": f"guard_{index}",
            "ignore_errors": True,
            "check_mode": index in check,
        }
        for index, args in enumerate(tasks)
    ]
    names = ", ".join(f"guard_{index}" for index in range(len(tasks)))
    play_tasks.append(
        {
            "name": "write the results",
            "ansible.builtin.copy": {"content": "{{ [" + names + "] | to_json }}", "dest": str(out), "mode": "0600"},
            "check_mode": False,
            "no_log": True,
        }
    )
    playbook = workdir / "guard.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": play_tasks}]))
    try:
        proc = execute_playbook(playbook, facts_dir=workdir, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the guard play had not returned after {timeout:g} s\n{exc.stdout}", pytrace=False)
    if not out.exists():
        pytest.fail(f"playbook produced no results (rc={proc.returncode})\n{proc.stdout}\n{proc.stderr}", pytrace=False)
    results = json.loads(out.read_text())
    for result in results:
        result["_stdout"] = proc.stdout
    return results


def free_port() -> int:
    """A random high port that nothing listens on right now."""
    for _unused in range(50):
        port = random.randint(20000, 60000)
        with socket.socket() as sock:
            try:
                sock.bind(("0.0.0.0", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port found")


def http_get(port: int) -> str:
    deadline = time.monotonic() + 5
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                return response.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def docker_time(value: str) -> float:
    """Docker's RFC 3339 nanosecond time -> epoch seconds (microsecond precision is plenty)."""
    base, _unused, fraction = value.rstrip("Z").partition(".")
    seconds = datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
    return seconds + float("0." + (fraction or "0"))


def event_types(result) -> list[str]:
    return [event["type"] for event in result["argus_events"]]


@pytest.fixture(scope="module")
def module_project(docker_client):
    """One project for the tests that share a playbook; its labeled resources are removed after."""
    project = f"it-{secrets.token_hex(5)}"
    yield project
    problems = remove_project_resources(docker_client, project)
    assert not problems, problems


def test_healthy_httpd_serves_with_labels_and_is_idempotent(tmp_path, unique_project, test_image, docker_client):
    port = free_port()
    name, network = f"{unique_project}-web", f"{unique_project}-net"
    args = {
        "project": unique_project,
        "run_id": "run1",
        "name": name,
        "image": test_image,
        "command": HTTPD,
        "env": {"GREETING": "hello-secret-value"},
        "ports": [{"container_port": 8080, "host_port": port}],
        "network": network,
        "aliases": ["web"],
        "healthcheck": HEALTHY_PROBE,
        "stable_seconds": 1,
    }
    changed_env = dict(args, env={"GREETING": "bonjour-secret-value"})
    preview_create, first, second, preview_recreate = run_guard_tasks(
        tmp_path / "a", [args, args, args, changed_env], check=(0, 3)
    )
    assert preview_create["changed"] is True and preview_create["action"] == "create"
    assert not first.get("failed"), first.get("msg")
    assert first["changed"] is True and first["action"] == "create"
    container = first["container"]
    assert container["status"] == "running" and container["health"] == "healthy"
    # no bind address: published without a host IP, which Docker binds on IPv4 and (where it can) IPv6,
    # and Podman reports as one binding without an address (docs/runtimes.md)
    assert {(p["container_port"], p["protocol"], p["host_port"]) for p in container["ports"]} == {(8080, "tcp", port)}
    host_ips = ({""},) if RUNTIME == "podman" else ({"0.0.0.0"}, {"0.0.0.0", "::"})
    assert {p["host_ip"] for p in container["ports"]} in host_ips
    # Podman without systemd never runs the healthcheck: the guard ran it through exec, and says so
    assert container.get("health_source") == ("exec" if RUNTIME == "podman" and not PODMAN_RUNS_HEALTHCHECKS else None)
    assert first["restart_history"] == {"container_name": name, "attempts": [], "final_status": "running"}
    assert first["port_mappings"][0]["actual_port"] == port and first["port_mappings"][0]["reassigned"] is False
    assert "argusai testbox" in http_get(port)

    labels = docker_client.containers.get(name).labels
    assert labels["argusai.managed"] == "true"
    assert labels["argusai.project"] == unique_project
    assert labels["argusai.run-id"] == "run1"
    assert labels["argusai.service"] == name
    assert labels["argusai.created-at"].endswith("Z")
    net_labels = docker_client.networks.get(network).attrs["Labels"]
    assert net_labels["argusai.managed"] == "true" and net_labels["argusai.project"] == unique_project
    assert docker_client.networks.get(network).attrs["Driver"] == "bridge"  # network_driver's default
    endpoint = docker_client.containers.get(name).attrs["NetworkSettings"]["Networks"][network]
    assert "web" in endpoint["Aliases"]

    assert not second.get("failed"), second.get("msg")
    assert second["changed"] is False and second["action"] == "none"
    assert second["container"]["id"] == container["id"]
    assert preview_recreate["changed"] is True and preview_recreate["action"] == "recreate"
    assert docker_client.containers.get(name).id == container["id"], "check mode must not touch the container"
    assert "secret-value" not in first["_stdout"]

    absent = {"project": unique_project, "name": name, "state": "absent"}
    recreated, removed, removed_again = run_guard_tasks(tmp_path / "b", [changed_env, absent, absent])
    assert recreated["changed"] is True and recreated["action"] == "recreate"
    assert recreated["container"]["id"] != container["id"] and recreated["container"]["health"] == "healthy"
    assert removed["changed"] is True and removed["action"] == "remove"
    assert removed_again["changed"] is False
    assert not docker_client.containers.list(all=True, filters={"name": f"^/{name}$"})


def test_crash_loop_exhausts_with_diagnostics_and_the_backoff_schedule(tmp_path, unique_project, test_image):
    name = f"{unique_project}-crash"
    (result,) = run_guard_tasks(
        tmp_path,
        [
            {
                "project": unique_project,
                "name": name,
                "image": test_image,
                "command": ["sh", "-c", "echo starting; echo db password=hunter2; echo crash-line; exit 3"],
                "max_restarts": 2,
                "backoff": "exponential",
                "backoff_initial_ms": 2000,
                "stable_seconds": 1,
            }
        ],
    )
    assert result["failed"] is True
    error = result["error"]
    assert error["code"] == "CONTAINER_RESTART_EXHAUSTED" and error["retryable"] is False
    history = error["details"]["restart_history"]
    assert history == result["restart_history"]
    attempts = history["attempts"]
    assert [a["attempt"] for a in attempts] == [1, 2, 3]
    assert [a["delay_ms"] for a in attempts] == [2000, 4000, None]
    assert [a["restarted"] for a in attempts] == [True, True, False]
    for attempt in attempts:
        diag = attempt["diagnostics"]
        assert attempt["reason"] == "CONTAINER_CRASH"
        assert diag["exit_code"] == 3 and diag["oom_killed"] is False
        # the lines of that run only, with the credential masked
        assert diag["logs"] == ["starting", "db password=********", "crash-line"]
    assert "hunter2" not in result["_stdout"]
    assert history["final_status"] == "exited" and result["container"]["status"] == "exited"  # left for inspection
    assert event_types(result) == ["restart_attempt", "restart_attempt", "restart_exhausted"]

    # Gaps as Docker recorded them: the run's FinishedAt -> the next run's StartedAt.
    gaps_ms = [
        (
            docker_time(attempts[i + 1]["diagnostics"]["started_at"])
            - docker_time(attempts[i]["diagnostics"]["finished_at"])
        )
        * 1000
        for i in range(2)
    ]
    for gap, scheduled in zip(gaps_ms, (2000, 4000), strict=True):
        assert abs(gap - scheduled) <= 0.2 * scheduled, f"restart gaps {gaps_ms} vs schedule [2000, 4000]"


FAILURE_CASES = {
    "crash_once": {
        "command": [
            "sh",
            "-c",
            "if [ -f /tmp/marker ]; then echo second run; exec sleep 600; fi; touch /tmp/marker; echo first; exit 1",
        ],
        "backoff_initial_ms": 200,
        "stable_seconds": 1,
    },
    # tail buffers /dev/zero (it has no newline) until the cgroup kills it; the sleep before lets
    # Docker arm its OOM watch first (an OOM in the first instants can go unseen by Docker).
    "oom_restarted": {
        "command": ["sh", "-c", "echo hogging; sleep 1; tail /dev/zero; rc=$?; sleep 0.5; exit $rc"],
        "memory": "8m",
        "max_restarts": 1,
        "backoff_initial_ms": 100,
        "stable_seconds": 3,
    },
    "oom_once": {
        "command": ["sh", "-c", "sleep 1; tail /dev/zero; rc=$?; sleep 0.5; exit $rc"],
        "memory": "8M",
        "max_restarts": 0,
        "stable_seconds": 3,
    },
    "unhealthy": {
        "command": ["sleep", "600"],
        "healthcheck": {"test": "echo probe says no; exit 1", "interval": 0.2, "retries": 2},
        "startup_timeout": 5,
        "max_restarts": 1,
        "backoff_initial_ms": 100,
        "stop_timeout": 0,
    },
    "never_healthy_in_time": {
        "command": ["sleep", "600"],
        "healthcheck": {"test": "exit 0", "interval": 30, "start_period": 30},
        "startup_timeout": 1.5,
        "max_restarts": 0,
    },
    # issue 16: dies a second after its start, before its healthcheck could pass
    "crash_before_healthy": {
        "command": ["sh", "-c", "sleep 1; echo bye; exit 3"],
        "healthcheck": {"test": "exit 1", "interval": 0.3, "retries": 50},
        "startup_timeout": 60,
        "max_restarts": 0,
    },
    "missing_image": {"image": "argusai/no-such-image:0"},
    "bad_command": {"command": ["/no/such/app"]},
    "bad_memory": {"memory": "lots"},
}


@pytest.fixture(scope="module")
def failure_results(module_project, test_image, docker_client, tmp_path_factory):
    """Every case of FAILURE_CASES, plus a name taken by a foreign container, in one playbook."""
    foreign = docker_client.containers.create(
        test_image, ["sleep", "600"], name=f"{module_project}-foreign", labels={"argusai.project": module_project}
    )
    tasks = [
        dict({"project": module_project, "name": f"{module_project}-{case}", "image": test_image}, **options)
        for case, options in FAILURE_CASES.items()
    ]
    # a container of the collection, but of another project (issue 14: the error must name it)
    other = docker_client.containers.create(
        test_image,
        ["sleep", "600"],
        name=f"{module_project}-other",
        labels={"argusai.managed": "true", "argusai.project": f"{module_project}-b"},
    )
    tasks.append({"project": module_project, "name": foreign.name, "image": test_image})
    tasks.append({"project": module_project, "name": foreign.name, "state": "absent"})
    tasks.append({"project": module_project, "name": other.name, "image": test_image})
    # the network's driver reaches Docker: one it does not have is refused, and nothing is created
    tasks.append(
        {
            "project": module_project,
            "name": f"{module_project}-nodriver",
            "image": test_image,
            "network": f"{module_project}-nodriver",
            "network_driver": "argus-no-such-driver",
        }
    )
    try:
        results = run_guard_tasks(tmp_path_factory.mktemp("failures"), tasks)
        other.reload()
        other_status = other.status
    finally:
        other.remove(force=True)
    by_case = dict(zip(FAILURE_CASES, results, strict=False))
    by_case["foreign_started"], by_case["foreign_absent"], by_case["other_project"], by_case["no_driver"] = results[-4:]
    by_case["foreign_container"] = foreign
    by_case["other_project_status"] = other_status
    return by_case


def test_crash_once_then_runs_recovers(failure_results):
    result = failure_results["crash_once"]
    assert not result.get("failed"), result.get("msg")
    history = result["restart_history"]
    assert len(history["attempts"]) == 1 and history["final_status"] == "running"
    assert history["attempts"][0]["diagnostics"]["exit_code"] == 1
    assert history["attempts"][0]["diagnostics"]["logs"] == ["first"]
    assert result["container"]["status"] == "running"
    assert event_types(result) == ["restart_attempt", "restart_success"]


def test_memory_hog_is_classified_oom(failure_results, docker_client):
    if RUNTIME == "podman" and str(docker_client.info().get("CgroupVersion")) == "1":
        return memory_hog_without_an_oom_report(failure_results)
    result = failure_results["oom_restarted"]
    assert result["error"]["code"] == "CONTAINER_RESTART_EXHAUSTED"
    assert result["error"]["details"]["last_reason"] == "CONTAINER_OOM"
    attempts = result["restart_history"]["attempts"]
    assert len(attempts) == 2
    for attempt in attempts:
        assert attempt["reason"] == "CONTAINER_OOM"
        assert attempt["diagnostics"]["oom_killed"] is True
        assert "state" in attempt["diagnostics"]["oom_evidence"]  # Docker's own State.OOMKilled
        assert attempt["diagnostics"]["memory_stats"]["limit_bytes"] == 8 * 1024 * 1024
        assert attempt["diagnostics"]["logs"][0] == "hogging"

    once = failure_results["oom_once"]
    assert once["error"]["code"] == "CONTAINER_OOM"  # no restarts asked: the attempt's own code
    assert once["error"]["details"]["diagnostics"]["oom_killed"] is True
    assert "raise_memory_limit" in [action["id"] for action in once["error"]["suggested_actions"]]


def memory_hog_without_an_oom_report(failure_results):
    """Podman 4.3 on cgroup v1 reports an OOM kill neither in State.OOMKilled nor as an ``oom`` event,
    only the exit code 137. The guard never infers an OOM from it: a crash whose cause and message say
    what is known (a memory limit, SIGKILL, no OOM report), and whose actions offer more memory
    without blaming the application."""
    result = failure_results["oom_restarted"]
    error = result["error"]
    assert error["code"] == "CONTAINER_RESTART_EXHAUSTED"
    assert error["details"]["last_reason"] == "CONTAINER_CRASH"
    assert error["details"]["cause"] == "sigkill_under_memory_limit"
    attempts = result["restart_history"]["attempts"]
    assert len(attempts) == 2
    for attempt in attempts:
        assert (attempt["reason"], attempt["cause"]) == ("CONTAINER_CRASH", "sigkill_under_memory_limit")
        diag = attempt["diagnostics"]
        assert diag["exit_code"] == 137 and diag["oom_killed"] is False and diag["oom_evidence"] == []
        assert diag["runtime"] == "podman" and diag["memory_stats"]["limit_bytes"] == 8 * 1024 * 1024
        assert "SIGKILL under a memory limit of 8 MiB" in attempt["message"]
        assert "Podman reported no OOM kill" in attempt["message"]
    actions = {action["id"]: action for action in error["suggested_actions"]}
    assert "fix_application" not in actions
    assert actions["raise_memory_limit"]["kind"] == "fix"
    assert "not confirmed" in actions["raise_memory_limit"]["description"]

    once = failure_results["oom_once"]["error"]
    assert once["code"] == "CONTAINER_CRASH" and once["details"]["cause"] == "sigkill_under_memory_limit"
    override = [a for a in once["suggested_actions"] if a["id"] == "raise_memory_limit"][0]["extra_vars"]
    assert list(override["argus_container_overrides"].values()) == [{"memory": "64m"}]  # 2 x 8m, at least 64m


def test_healthcheck_that_never_passes(failure_results):
    unhealthy = failure_results["unhealthy"]
    assert unhealthy["error"]["code"] == "CONTAINER_RESTART_EXHAUSTED"
    attempts = unhealthy["restart_history"]["attempts"]
    assert len(attempts) == 2
    for attempt in attempts:
        assert attempt["reason"] == "HEALTH_CHECK_TIMEOUT" and attempt["cause"] == "unhealthy"
        assert attempt["diagnostics"]["health_status"] == "unhealthy"
        assert attempt["diagnostics"]["health_log"][-1]["output"] == "probe says no"
        assert attempt["diagnostics"]["memory_stats"]["source"] == "stats"  # still running: live figures

    slow = failure_results["never_healthy_in_time"]
    assert slow["error"]["code"] == "HEALTH_CHECK_TIMEOUT"
    assert slow["error"]["details"]["restart_history"]["attempts"][0]["cause"] == "not_healthy_in_time"


def test_a_crash_before_healthy_is_a_crash_at_once(failure_results):
    """A service with a healthcheck that exits a second after its start: CONTAINER_CRASH with its exit code
    as soon as it died, not HEALTH_CHECK_TIMEOUT once startup_timeout (60 s) is over (issue 16, Podman)."""
    error = failure_results["crash_before_healthy"]["error"]
    assert (error["code"], error["details"]["cause"]) == ("CONTAINER_CRASH", "exited"), error["message"]
    diag = error["details"]["diagnostics"]
    assert diag["exit_code"] == 3 and diag["status"] == "exited" and diag["logs"] == ["bye"]
    reported_after = docker_time(diag["timestamp"]) - docker_time(diag["started_at"])
    assert reported_after < 30, f"reported {reported_after:.1f} s after the start: it waited for the startup_timeout"


def test_clean_structured_failures(failure_results):
    for case in ("missing_image", "bad_command", "bad_memory", "foreign_started", "foreign_absent"):
        result = failure_results[case]
        assert result["failed"] is True and set(result["error"]) >= {"code", "message", "details", "suggested_actions"}
        assert "Traceback" not in result["msg"]
    assert failure_results["missing_image"]["error"]["code"] == "IMAGE_NOT_FOUND"
    bad = failure_results["bad_command"]["error"]
    assert bad["code"] == "CONTAINER_CRASH" and bad["details"]["cause"] == "bad_command"
    assert bad["details"]["restart_history"]["attempts"] == []
    memory = failure_results["bad_memory"]["error"]
    assert memory["code"] == "INVALID_INPUT" and memory["details"]["field"] == "memory"
    # A container of that name that the project does not manage is never touched.
    for case in ("foreign_started", "foreign_absent"):
        error = failure_results[case]["error"]
        assert error["code"] == "INVALID_INPUT" and error["details"]["cause"] == "name_taken"
    foreign = failure_results["foreign_container"]
    foreign.reload()
    assert foreign.status == "created"
    assert "no argusai.managed=true label" in failure_results["foreign_started"]["error"]["message"]


def test_a_network_driver_the_daemon_lacks_is_refused_before_the_container(
    failure_results, docker_client, module_project
):
    error = failure_results["no_driver"]["error"]
    assert error["code"] == "DOCKER_REQUEST_REJECTED" and error["retryable"] is False
    assert error["details"]["cause"] == "driver_missing" and "argus-no-such-driver" in error["message"]
    assert not docker_client.networks.list(names=[f"{module_project}-nodriver"])
    assert not docker_client.containers.list(all=True, filters={"name": f"^/{module_project}-nodriver$"})


def test_a_name_taken_by_another_project_names_that_project(failure_results, module_project):
    error = failure_results["other_project"]["error"]
    assert error["code"] == "INVALID_INPUT" and error["details"]["cause"] == "name_taken"
    assert f"belongs to project '{module_project}-b'" in error["message"]
    assert "no argusai.managed" not in error["message"]
    assert error["details"]["owner_project"] == f"{module_project}-b"
    assert failure_results["other_project_status"] == "created"  # never touched


def test_list_form_supervises_concurrently(tmp_path, unique_project, test_image):
    items = [
        {
            "name": f"{unique_project}-svc{index}",
            "image": test_image,
            "command": ["sleep", "600"],
            "network": f"{unique_project}-net",
            "stable_seconds": 2,
        }
        for index in range(4)
    ]
    (result,) = run_guard_tasks(tmp_path, [{"project": unique_project, "run_id": "run1", "containers": items}])
    assert not result.get("failed"), result.get("msg")
    assert [item["container"]["status"] for item in result["containers"]] == ["running"] * 4
    assert [history["final_status"] for history in result["restart_histories"]] == ["running"] * 4
    durations = [item["duration_ms"] for item in result["containers"]]
    assert min(durations) >= 2000
    # concurrent: about the slowest one, far below the sum
    assert max(durations) <= result["duration_ms"] < 0.5 * sum(durations), (result["duration_ms"], durations)


def test_port_conflict_is_reassigned_with_strategy_auto(tmp_path, unique_project, test_image, docker_client):
    port = free_port()
    blocker = docker_client.containers.run(
        test_image,
        ["sleep", "600"],
        name=f"{unique_project}-blocker",
        labels={"argusai.managed": "true", "argusai.project": unique_project},
        ports={"8080/tcp": port},
        detach=True,
    )
    args = {
        "project": unique_project,
        "name": f"{unique_project}-web",
        "image": test_image,
        "command": HTTPD,
        "ports": [{"container_port": 8080, "host_port": port}],
        "stable_seconds": 0.5,
    }
    strict, result = run_guard_tasks(tmp_path, [dict(args, port_strategy="fail"), args])
    assert strict["error"]["code"] == "PORT_CONFLICT"
    assert [e["data"]["strategy"] for e in strict["argus_events"] if e["type"] == "port_conflict"] == ["fail"]

    assert not result.get("failed"), result.get("msg")
    mapping = result["port_mappings"][0]
    assert mapping["original_port"] == port and mapping["reassigned"] is True and mapping["actual_port"] != port
    assert result["container"]["ports"][0]["host_port"] == mapping["actual_port"]
    assert "argusai testbox" in http_get(mapping["actual_port"])
    assert {"port_conflict", "port_reassigned"} <= set(event_types(result))
    blocker.reload()
    assert blocker.status == "running"


def exponential_delays_s(initial_ms: int, restarts: int, max_ms: int = 30000) -> float:
    """The sum of the first ``restarts`` exponential backoff delays, in seconds."""
    return sum(min(initial_ms * 2**k, max_ms) for k in range(restarts)) / 1000


def guard_bound(options: dict) -> float:
    """The bound docs/guard.md gives for one container, from its options (defaults of the table)."""
    max_restarts, stable = options.get("max_restarts", 3), options.get("stable_seconds", 3)
    run = stable + (options.get("startup_timeout", 60) if "healthcheck" in options else 0)
    delays = exponential_delays_s(
        options.get("backoff_initial_ms", 1000), max_restarts, options.get("backoff_max_ms", 30000)
    )
    return (
        (max_restarts + 1) * run
        + options.get("watch_seconds", 0)
        + delays
        + max_restarts * options.get("stop_timeout", 5)
    )


# Services that never settle, supervised at once (containers:), each ending within its own bound.
FLAPPING = {
    # healthy for 1 s (stable after 0.5 s), then unhealthy for 1 s, forever
    "health_flips": {
        "command": ["sh", "-c", "while :; do touch /tmp/ok; sleep 1; rm -f /tmp/ok; sleep 1; done"],
        "healthcheck": {"test": "test -f /tmp/ok", "interval": 0.2, "timeout": 1, "retries": 1},
        "startup_timeout": 5,
        "stable_seconds": 0.5,
        "watch_seconds": 30,
        "max_restarts": 2,
        "backoff_initial_ms": 100,
        "stop_timeout": 0,
    },
    # stable, crashes once inside the watch window, then runs: restarted once, after the first delay
    "crashes_once_in_the_window": {
        "command": ["sh", "-c", "if [ -f /tmp/m ]; then exec sleep 600; fi; touch /tmp/m; sleep 2; exit 1"],
        "stable_seconds": 1,
        "watch_seconds": 4,
        "max_restarts": 1,
        "backoff_initial_ms": 300,
    },
}


def test_services_that_never_settle_end_within_their_bound(tmp_path, unique_project, test_image):
    """Issue 14, section 1: the reproduction as reported, then the class (a health check that flips)."""
    reproduction = {
        "command": ["sh", "-c", "sleep 2; exit 1"],
        "stable_seconds": 1,
        # the report had 8 s; wider so that the third crash falls inside the window also when a loaded
        # daemon is slow to restart (a run that outlives the window ends the call as stable)
        "watch_seconds": 20,
        "max_restarts": 2,
        "backoff_initial_ms": 500,
    }
    bound = guard_bound(reproduction)  # 3 * 1 + 20 + (0.5 + 1) + 2 * 5 = 34.5 s
    items = [
        dict({"name": f"{unique_project}-{case}", "image": test_image}, **options) for case, options in FLAPPING.items()
    ]
    started = time.monotonic()
    single, many = run_guard_tasks(
        tmp_path,
        [
            dict({"project": unique_project, "name": f"{unique_project}-flaps", "image": test_image}, **reproduction),
            {"project": unique_project, "containers": items},
        ],
        timeout=bound + max(map(guard_bound, FLAPPING.values())) + 60,
    )
    elapsed = time.monotonic() - started

    # It used to restart forever: every stable run started the watch window and the count over.
    error = single["error"]
    assert error["code"] == "CONTAINER_RESTART_EXHAUSTED", single.get("msg")
    attempts = error["details"]["restart_history"]["attempts"]
    assert [a["delay_ms"] for a in attempts] == [500, 500, None]  # the backoff starts over after a stable run
    assert [a["reason"] for a in attempts] == ["CONTAINER_CRASH"] * 3
    # each run had been stable (it ran its 2 s) before it crashed: the crashes counted all the same
    assert all(
        docker_time(a["diagnostics"]["finished_at"]) - docker_time(a["diagnostics"]["started_at"]) > 1.5
        for a in attempts
    )
    assert error["details"]["last_reason"] == "CONTAINER_CRASH" and error["details"]["oom_attempts"] == 0
    assert error["details"]["memory_limit_bytes"] is None

    flips, crash_once = many["containers"]
    assert flips["error"]["code"] == "CONTAINER_RESTART_EXHAUSTED"
    assert [a["reason"] for a in flips["restart_history"]["attempts"]] == ["HEALTH_CHECK_TIMEOUT"] * 3
    assert [a["cause"] for a in flips["restart_history"]["attempts"]] == ["unhealthy"] * 3
    assert crash_once.get("error") is None, crash_once.get("error")
    assert [a["delay_ms"] for a in crash_once["restart_history"]["attempts"]] == [300]
    assert crash_once["container"]["status"] == "running"
    for case, item in zip(FLAPPING, many["containers"], strict=True):
        assert item["duration_ms"] / 1000 <= guard_bound(FLAPPING[case]), (case, item["duration_ms"])
    assert elapsed < bound + many["duration_ms"] / 1000 + 30, f"{elapsed:.1f}s (+30 s for ansible-playbook itself)"

"""Where Podman's Docker API answers differently, the collection reports the same (issue 16, part 2):
label filters re-checked, the volume-in-use wording, an OOM the runtime does not report, a dead
container's transient ``stopped``, a health probe the runtime refuses (the real engines:
tests/integration with ARGUS_RUNTIME=podman)."""

from __future__ import annotations

import pytest
import requests
from ansible_collections.argusai.resilience.plugins.module_utils import daemon_lock, errors
from ansible_collections.argusai.resilience.plugins.module_utils.guard import diagnostics
from docker import errors as docker_errors

MIB = 1024 * 1024


class OrFilteringAPI:
    """Podman 4.3's volume listing: a volume matches when ANY of the label filters does."""

    def __init__(self, volumes):
        self.volumes_by_name = volumes

    def volumes(self, filters):
        def matches(labels, label_filter):
            key, _eq, value = label_filter.partition("=")
            return key in labels and (not value or labels[key] == value)

        found = [
            {"Name": name, "Labels": labels}
            for name, labels in self.volumes_by_name.items()
            if any(matches(labels, label_filter) for label_filter in filters["label"])
        ]
        return {"Volumes": found}


def test_a_lock_listing_keeps_only_what_has_every_label():
    lock = {"argusai.managed": "true", "argusai.lock": "ports", "argusai.project": "a"}
    api = OrFilteringAPI(
        {
            "ours": lock,
            "other-kind": dict(lock, **{"argusai.lock": "cleanup"}),
            "other-project": dict(lock, **{"argusai.project": "b"}),
            "foreign": {"argusai.project": "a"},  # not managed, not a lock
            "no-project": {"argusai.managed": "true", "argusai.lock": "ports"},
        }
    )
    assert [lock.name for lock in daemon_lock.listing(api, "ports", ("argusai.project=a",))] == ["ours"]
    assert sorted(lock.name for lock in daemon_lock.listing(api, "ports")) == ["no-project", "other-project", "ours"]
    assert sorted(lock.name for lock in daemon_lock.listing(api, "ports", ("argusai.project",))) == [
        "other-project",
        "ours",
    ]


def _api_error(status, explanation):
    response = requests.Response()
    response.status_code = status
    return docker_errors.APIError("request failed", response=response, explanation=explanation)


@pytest.mark.parametrize(
    "explanation",
    [
        "remove old-busy: volume is in use - [4f1c]",  # Docker
        "volume old-busy is being used by the following container(s): 4f1c: volume is being used",  # Podman 4.3
    ],
)
def test_a_volume_in_use_classifies_the_same_on_both_runtimes(explanation):
    assert errors.classify(_api_error(409, explanation)) == ("CLEANUP_FAILED", "volume_in_use")


def killed(runtime, memory=8 * MIB, exit_code=137):
    return {
        "container_name": "shop-api",
        "status": "exited",
        "exit_code": exit_code,
        "oom_killed": False,
        "memory_stats": {"limit_bytes": memory},
        "logs": [],
        "health_log": [],
        "runtime": runtime,
    }


def test_sigkill_under_a_memory_limit_is_a_crash_with_what_is_known_never_an_oom():
    podman = killed("podman")
    assert diagnostics.classify(podman, diagnostics.DIED) == ("CONTAINER_CRASH", "sigkill_under_memory_limit")
    text = diagnostics.summary("CONTAINER_CRASH", podman)
    assert "SIGKILL under a memory limit of 8 MiB" in text and "Podman reported no OOM kill" in text
    assert "not confirmed" in text
    assert "Docker reported no OOM kill" in diagnostics.summary("CONTAINER_CRASH", killed("docker"))
    # without a limit, or another exit code: a plain crash
    assert diagnostics.classify(killed("podman", memory=None), diagnostics.DIED) == ("CONTAINER_CRASH", "exited")
    assert diagnostics.classify(killed("podman", exit_code=3), diagnostics.DIED) == ("CONTAINER_CRASH", "exited")


def guard_error(code, cause, memory=8 * MIB):
    attempt = {"attempt": 1, "reason": "CONTAINER_CRASH", "cause": cause}
    details = {
        "container_name": "shop-api",
        "service": "api",
        "last_reason": "CONTAINER_CRASH",
        "cause": cause,
        "memory_limit_bytes": memory,
        "oom_attempts": 0,
        "restart_history": {"container_name": "shop-api", "attempts": [attempt], "final_status": "exited"},
    }
    error = errors.ArgusError(code, "crashed", details).with_context(project="shop", run_id="r1")
    return {action["id"]: action for action in error.to_dict()["suggested_actions"]}


@pytest.mark.parametrize("code", ["CONTAINER_CRASH", "CONTAINER_RESTART_EXHAUSTED"])
def test_an_unreported_oom_is_offered_more_memory_and_the_application_is_not_blamed(code):
    actions = guard_error(code, "sigkill_under_memory_limit")
    raise_memory = actions["raise_memory_limit"]
    assert raise_memory["kind"] == "fix"
    assert raise_memory["extra_vars"]["argus_container_overrides"] == {"api": {"memory": "64m"}}
    assert "SIGKILL" in raise_memory["description"] and "not confirmed" in raise_memory["description"]
    assert "fix_application" not in actions


def test_a_plain_crash_blames_the_application_and_offers_no_memory():
    actions = guard_error("CONTAINER_CRASH", "exited")
    assert "raise_memory_limit" not in actions and actions["fix_application"]["kind"] == "manual"


@pytest.mark.parametrize(("refused", "cause"), [(True, "runtime_exec_refused"), (False, "unhealthy")])
def test_a_probe_the_runtime_refused_does_not_blame_the_application(refused, cause):
    diag = {"status": "running", "oom_killed": False, "health_exec_refused": refused}
    assert diagnostics.classify(diag, diagnostics.UNHEALTHY) == ("HEALTH_CHECK_TIMEOUT", cause)


class SettlingContainer:
    """Podman: ``stopped`` for a few reloads after the death, then ``exited``."""

    id, name = "c1", "web"

    def __init__(self, stopped_reloads, health=None):
        self.reloads, self.stopped_reloads = 0, stopped_reloads
        self.attrs = {"State": {}, "HostConfig": {"Memory": 0}}
        self.health = health

    def reload(self):
        self.reloads += 1
        status = "stopped" if self.reloads <= self.stopped_reloads else "exited"
        self.attrs["State"] = {"Status": status, "Running": False, "ExitCode": 3, "OOMKilled": False}
        if self.health is not None:
            self.attrs["State"]["Health"] = self.health

    def logs(self, **kwargs):
        return b"bye\n"


def test_the_capture_waits_out_podmans_transient_stopped_state():
    container = SettlingContainer(stopped_reloads=3)
    diag = diagnostics.capture(container)
    assert diag["status"] == "exited" and container.reloads == 4


def test_the_capture_takes_the_guards_own_health_where_it_ran_the_check():
    container = SettlingContainer(0, health={"Status": "starting", "FailingStreak": 0, "Log": None})
    health = {"Status": "unhealthy", "FailingStreak": 2, "Log": [{"ExitCode": 1, "Output": "no token=abc12345"}]}
    observed = {"runtime": "podman", "health_source": "exec", "health": health, "health_exec_refused": False}
    diag = diagnostics.capture(container, observed=observed)
    assert (diag["health_status"], diag["health_source"], diag["runtime"]) == ("unhealthy", "exec", "podman")
    assert diag["health_log"][0]["output"] == "no token=********"
    plain = diagnostics.capture(SettlingContainer(0, health={"Status": "", "FailingStreak": 0, "Log": None}))
    assert plain["health_status"] is None and plain["health_source"] is None  # Podman: no healthcheck

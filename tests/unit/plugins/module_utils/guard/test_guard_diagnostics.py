"""Masking and classification of container diagnostics (no Docker)."""

from __future__ import annotations

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils.guard import diagnostics
from ansible_collections.argusai.resilience.plugins.module_utils.guard.diagnostics import MASK, classify, mask_line


@pytest.mark.parametrize(
    ("line", "leak"),
    [
        ("connecting with password=hunter2", "hunter2"),
        ('{"password": "s3cr3t!"}', "s3cr3t!"),
        ("DB_PASSWORD=abc123 starting", "abc123"),
        ("token: ghp_abcdefghijklmnop", "ghp_abcdefghijklmnop"),
        ("client_secret=xyzzy42", "xyzzy42"),
        ("api_key=AIzaSyA-12345", "AIzaSyA-12345"),
        ("api-key: k-9876", "k-9876"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "eyJhbGciOiJIUzI1NiJ9"),
        ("header authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
        ("using key AKIAIOSFODNN7EXAMPLE for s3", "AKIAIOSFODNN7EXAMPLE"),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI"),
        ("postgres://app:pa55word@db:5432/app", "pa55word"),
    ],
)
def test_credential_lines_are_masked(line, leak):
    masked = mask_line(line)
    assert leak not in masked
    assert MASK in masked


def test_harmless_lines_are_untouched():
    for line in ("GET /health 200", "listening on :8080", "tokenizer ready", "exit code 3"):
        assert mask_line(line) == line


def test_env_values_are_masked_but_not_trivial_ones():
    assert mask_line("connected as s3cr3t-user", ["s3cr3t-user"]) == f"connected as {MASK}"
    assert mask_line("retries 1 of 3", ["1", "yes"]) == "retries 1 of 3"


def diag(**overrides):
    base = {"status": "exited", "exit_code": 3, "oom_killed": False, "memory_stats": {}, "logs": [], "health_log": []}
    base.update(overrides)
    return base


def test_classification():
    assert classify(diag(), diagnostics.DIED) == ("CONTAINER_CRASH", "exited")
    assert classify(diag(oom_killed=True, exit_code=137), diagnostics.DIED) == ("CONTAINER_OOM", "oom_killed")
    # OOM wins even when the health check also failed
    assert classify(diag(oom_killed=True, status="running"), diagnostics.UNHEALTHY)[0] == "CONTAINER_OOM"
    assert classify(diag(status="running"), diagnostics.UNHEALTHY) == ("HEALTH_CHECK_TIMEOUT", "unhealthy")
    assert classify(diag(status="running"), diagnostics.NOT_HEALTHY_IN_TIME) == (
        "HEALTH_CHECK_TIMEOUT",
        "not_healthy_in_time",
    )


def test_exit_137_without_oom_is_not_turned_into_oom():
    result = diag(exit_code=137, memory_stats={"limit_bytes": 8 << 20}, container_name="hog")
    assert classify(result, diagnostics.DIED)[0] == "CONTAINER_CRASH"
    assert "SIGKILL" in diagnostics.summary("CONTAINER_CRASH", result)


class FakeContainer:
    id = "c0ffee"
    name = "web"

    def __init__(self, state, logs=b"", stats=None, memory=None):
        self.attrs = {"State": state, "HostConfig": {"Memory": memory or 0}}
        self._logs = logs
        self._stats = stats
        self.log_kwargs = None

    def reload(self):
        pass

    def logs(self, **kwargs):
        self.log_kwargs = kwargs
        return self._logs

    def stats(self, **kwargs):
        assert kwargs == {"stream": False, "one_shot": True}
        return self._stats


def test_capture_reports_what_docker_says():
    lines = b"".join(f"line {i}\n".encode() for i in range(150)) + b"password=topsecret\n"
    container = FakeContainer(
        {"Status": "exited", "Running": False, "ExitCode": 3, "OOMKilled": False, "Error": ""},
        logs=lines,
        memory=8 << 20,
    )
    result = diagnostics.capture(container, since=1700000000.5, secrets=["topsecret"])
    assert result["exit_code"] == 3 and result["oom_killed"] is False and result["oom_evidence"] == []
    assert len(result["logs"]) == 100 and result["logs"][-1] == f"password={MASK}"
    assert container.log_kwargs["since"] == 1700000000.5 and container.log_kwargs["tail"] == 100
    assert result["memory_stats"] == {"limit_bytes": 8 << 20, "source": "unavailable"}  # no stats once exited
    assert result["error"] is None


def test_capture_running_container_has_live_memory_and_health_log():
    state = {
        "Status": "running",
        "Running": True,
        "ExitCode": 0,
        "OOMKilled": False,
        "Health": {"Status": "unhealthy", "Log": [{"ExitCode": 1, "Output": "token=abc12345 refused\n"}]},
    }
    stats = {"memory_stats": {"usage": 1000, "max_usage": 2000, "limit": 4000, "failcnt": 0}}
    result = diagnostics.capture(FakeContainer(state, stats=stats), oom_event=True)
    assert result["memory_stats"]["usage_bytes"] == 1000 and result["memory_stats"]["source"] == "stats"
    assert result["health_log"] == [{"start": None, "end": None, "exit_code": 1, "output": f"token={MASK} refused"}]
    assert result["oom_killed"] is True and result["oom_evidence"] == ["event"]

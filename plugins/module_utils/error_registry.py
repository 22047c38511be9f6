# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The error registry: every code with its category, severity, retryable flag and suggested actions.

Import it from ``errors`` (``errors.REGISTRY``). The templates and rules are explained in
``error_model``; ``docs/errors.md`` is generated from this file, ``docs/agents.md`` explains how
an agent uses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.error_model import (
    CLEANUP,
    CONFIGURATION,
    CONTAINER,
    CRITICAL,
    DIAGNOSE,
    ERROR,
    FIX,
    INFRASTRUCTURE,
    INTERNAL,
    MANUAL,
    NETWORK,
    RESOURCE,
    RETRY,
    WARNING,
    Derived,
    ErrorSpec,
    SuggestedAction,
    playbook_action,
)

PLAYBOOK_PREFLIGHT = "argusai.resilience.preflight"
PLAYBOOK_RESET_CIRCUIT = "argusai.resilience.reset_circuit"
PLAYBOOK_TEARDOWN = "argusai.resilience.teardown"
PLAYBOOK_SETUP = "argusai.resilience.setup"

MIB = 1024**2
MIN_PROPOSED_MEMORY = 64 * MIB
MAX_PORT_ATTEMPTS = 65535  # argus_port_resolve's max_attempts maximum
MAX_WAIT_SECONDS = 3600  # argus_network_verify's wait_seconds maximum
MIN_PROPOSED_WAIT_SECONDS = 30
# The guard's cause for a SIGKILL (exit 137) under a memory limit that the runtime did not report as an
# OOM kill (Podman 4.3 on cgroup v1 reports none): more memory is the likely fix, not a confirmed one.
SIGKILL_UNDER_LIMIT = "sigkill_under_memory_limit"


# ---------------------------------------------------------------------------------------------
# Values derived from the failing call, for the actions' templates (``facts``: the details, the
# code and the context).
# ---------------------------------------------------------------------------------------------


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _size(amount: int, exact: bool = False) -> str:
    """Bytes as the memory option takes them: whole MiB (``128m``), rounded up unless ``exact``,
    where a size that is no whole MiB stays in bytes."""
    if exact and amount % MIB:
        return str(amount)
    return f"{-(-amount // MIB)}m"


def _service(facts: Mapping[str, Any]) -> str | None:
    """The service name the setup's ``argus_container_overrides`` are keyed by."""
    if facts.get("service"):
        return str(facts["service"])
    # Without it in the details, the default Docker name <project>-<service> still tells it.
    name, project = facts.get("container_name"), facts.get("project")
    if isinstance(name, str) and project and name.startswith(f"{project}-"):
        return name[len(project) + 1 :]
    return None


def _oom_killed(facts: Mapping[str, Any]) -> bool:
    if facts.get("code") == "CONTAINER_OOM" or facts.get("last_reason") == "CONTAINER_OOM":
        return True
    attempts = (facts.get("restart_history") or {}).get("attempts") or []
    return bool(attempts) and facts.get("oom_attempts") == len(attempts)


def _last_cause(facts: Mapping[str, Any]) -> Any:
    attempts = (facts.get("restart_history") or {}).get("attempts") or []
    last = attempts[-1] if attempts and isinstance(attempts[-1], Mapping) else {}
    return last.get("cause") or facts.get("cause")


def _memory_kill(facts: Mapping[str, Any]) -> str | None:
    """Why more memory should help, or None."""
    if _oom_killed(facts):
        return "it was OOM-killed"
    if _last_cause(facts) == SIGKILL_UNDER_LIMIT:
        return "it was killed by SIGKILL under that limit and the runtime reported no OOM kill: likely, not confirmed"
    return None


def _application_failure(facts: Mapping[str, Any]) -> bool | None:
    """True unless the crash may be the runtime's unreported OOM kill (then the application is not blamed)."""
    return None if _last_cause(facts) == SIGKILL_UNDER_LIMIT else True


def _memory_limit(facts: Mapping[str, Any]) -> str | None:
    limit = _count(facts.get("memory_limit_bytes"))
    return _size(limit, exact=True) if limit else None


def _proposed_memory(facts: Mapping[str, Any]) -> str | None:
    limit = _count(facts.get("memory_limit_bytes"))
    if not limit or _memory_kill(facts) is None:
        return None
    return _size(max(2 * limit, MIN_PROPOSED_MEMORY))


def _proposed_max_attempts(facts: Mapping[str, Any]) -> int | None:
    current = _count(facts.get("max_attempts"))
    if not current or current >= MAX_PORT_ATTEMPTS:
        return None
    return min(4 * current, MAX_PORT_ATTEMPTS)


def _proposed_wait_seconds(facts: Mapping[str, Any]) -> int | None:
    current = _count(facts.get("wait_seconds"))
    if current is None or current >= MAX_WAIT_SECONDS:
        return None
    return min(max(2 * current, MIN_PROPOSED_WAIT_SECONDS), MAX_WAIT_SECONDS)


def _holder_container(facts: Mapping[str, Any]) -> str | None:
    holder = facts.get("occupied_by") or {}
    return holder.get("container") if isinstance(holder, Mapping) and holder.get("type") == "container" else None


DERIVED: dict[str, Derived] = {
    "service": Derived(
        _service,
        "the service name of the failing container (what argus_container_overrides are keyed by)",
        "the service is known (details.service, or details.container_name of the form `<project>-<service>`)",
    ),
    "memory_limit": Derived(_memory_limit, "the container's memory limit", "details.memory_limit_bytes is set"),
    "proposed_memory": Derived(
        _proposed_memory,
        "twice details.memory_limit_bytes, at least 64m",
        "the container was OOM-killed under a memory limit (CONTAINER_OOM, or details.last_reason "
        "CONTAINER_OOM, or every attempt OOM-killed), or its last attempt was killed by SIGKILL under it "
        f"without an OOM report (cause {SIGKILL_UNDER_LIMIT})",
    ),
    "memory_kill": Derived(
        _memory_kill, "why more memory should help, in words", "the same conditions as proposed_memory"
    ),
    "application_failure": Derived(
        _application_failure,
        "true: the crash is the application's",
        f"the last attempt's cause is not {SIGKILL_UNDER_LIMIT} (a kill the runtime may not have reported)",
    ),
    "proposed_max_attempts": Derived(
        _proposed_max_attempts, "four times details.max_attempts, at most 65535", "details.max_attempts < 65535"
    ),
    "proposed_wait_seconds": Derived(
        _proposed_wait_seconds, "twice details.wait_seconds, at least 30, at most 3600", "details.wait_seconds < 3600"
    ),
    "holder_container": Derived(
        _holder_container, "the container holding the port", "details.occupied_by.type is container"
    ),
}


# ---------------------------------------------------------------------------------------------
# Actions
# ---------------------------------------------------------------------------------------------

_START_DOCKER = SuggestedAction(
    "start_docker_daemon", MANUAL, "Start the Docker daemon on the host (e.g. 'systemctl start docker')."
)
_CHECK_HOST = SuggestedAction(
    "check_docker_host",
    DIAGNOSE,
    "Compare details.attempts (each daemon address tried, with its cause and error) with docker_host / DOCKER_HOST.",
)
_CHECK_PERMS = SuggestedAction(
    "check_docker_permissions", MANUAL, "Give the user access to the Docker socket (e.g. the 'docker' group)."
)
_ORPHAN_CLEAN = playbook_action(
    "run_orphan_clean",
    CLEANUP,
    "Remove the managed resources that earlier runs of the project left on this host; the run that reported "
    "the error (argus_run_id) is kept.",
    PLAYBOOK_PREFLIGHT,
    auto_fix=True,
)
_TEARDOWN_RUN = playbook_action(
    "run_teardown",
    CLEANUP,
    "Remove every resource of the run that failed (argus_run_id), e.g. when giving up.",
    PLAYBOOK_TEARDOWN,
    needs=("run_id",),
)
_RESET_CIRCUIT = playbook_action(
    "reset_circuit",
    FIX,
    "Once Docker works again (details.failure_history says what failed), move the breaker to half-open: the "
    "next Docker task is the probe that closes it, or opens it again.",
    PLAYBOOK_RESET_CIRCUIT,
    scope=("host", "project"),
)
_RERUN_SETUP = playbook_action(
    "rerun_setup",
    RETRY,
    "Run the setup of this run again, after details.retry_after_seconds when set: this failure can pass "
    "without a change.",
    PLAYBOOK_SETUP,
    when_retryable=True,
)
_INSPECT_LOGS = SuggestedAction(
    "inspect_container_logs",
    DIAGNOSE,
    "Read details.diagnostics (exit_code, oom_killed, error, the last log lines), after restarts "
    "details.restart_history.attempts[].diagnostics; without diagnostics the daemon refused the start and "
    "message gives its reason (e.g. a command not found).",
)
_FIX_APPLICATION = SuggestedAction(
    "fix_application",
    MANUAL,
    "Change the image, command or environment of the container (details.container_name) so that it starts: "
    "it fails the same way on every start.",
    needs=("application_failure",),
)
_RAISE_MEMORY = playbook_action(
    "raise_memory_limit",
    FIX,
    "Raise the memory limit of service {service} from {memory_limit} to {proposed_memory} ({memory_kill}): "
    "the setup runs again with argus_container_overrides, the configuration file is not changed.",
    PLAYBOOK_SETUP,
    needs=("proposed_memory", "service"),
    argus_container_overrides={"{service}": {"memory": "{proposed_memory}"}},
)
_PORT_STRATEGY_AUTO = playbook_action(
    "use_port_strategy_auto",
    FIX,
    "Run the setup again with port strategy auto: a taken host port is replaced by a free one "
    "(argus_setup_result.port_mappings reports it).",
    PLAYBOOK_SETUP,
    # Only the port resolver's own conflict lists its conflicts; it raises one under strategy fail only.
    needs=("conflicts",),
    argus_resilience_overrides={"ports": {"strategy": "auto"}},
)
_STOP_PORT_HOLDER = SuggestedAction(
    "stop_port_holder",
    MANUAL,
    "Stop what holds the port (details.occupied_by: a process and its pid, a container, a lease of another "
    "setup), or choose another port.",
)
_WIDEN_PORT_RANGE = playbook_action(
    "widen_port_range",
    FIX,
    "Run the setup again examining {proposed_max_attempts} candidate ports per service instead of {max_attempts}.",
    PLAYBOOK_SETUP,
    needs=("proposed_max_attempts",),
    argus_resilience_overrides={"ports": {"max_attempts": "{proposed_max_attempts}"}},
)
_FREE_PORTS = SuggestedAction(
    "free_ports", MANUAL, "Free ports of the range (details.taken says what holds each one) or prefer other ports."
)
_CHECK_LISTENING = SuggestedAction(
    "check_service_listening",
    DIAGNOSE,
    "Read details.results: each target's status, address, error, attempts and closed_attempts. The targets in "
    "details.closed_targets were closed on every attempt of the whole wait: nothing listens on that port inside "
    "the container (check the service's command and port).",
)
_RAISE_WAIT = playbook_action(
    "raise_wait_seconds",
    RETRY,
    "Run the setup again, waiting {proposed_wait_seconds} s instead of {wait_seconds} s for the services to answer.",
    PLAYBOOK_SETUP,
    needs=("proposed_wait_seconds",),
    when_retryable=True,
    argus_resilience_overrides={"network": {"wait_seconds": "{proposed_wait_seconds}"}},
)

REGISTRY: dict[str, ErrorSpec] = {
    "DOCKER_UNAVAILABLE": ErrorSpec(
        INFRASTRUCTURE,
        CRITICAL,
        True,
        (_START_DOCKER, _CHECK_HOST, _CHECK_PERMS),
        # These do not pass by themselves.
        final_causes=frozenset({"permission_denied", "host_unknown", "api_version"}),
    ),
    "DISK_SPACE_LOW": ErrorSpec(
        RESOURCE,
        CRITICAL,
        False,
        (
            SuggestedAction(
                "free_disk_space",
                MANUAL,
                "Free disk space on the paths of details.paths below details.threshold_gb "
                "(e.g. 'docker system prune').",
            ),
            _ORPHAN_CLEAN,
        ),
    ),
    "PORT_CONFLICT": ErrorSpec(
        RESOURCE,
        ERROR,
        False,
        (
            _PORT_STRATEGY_AUTO,
            _RERUN_SETUP,
            _STOP_PORT_HOLDER,
            _ORPHAN_CLEAN.but(needs=(*_ORPHAN_CLEAN.needs, "holder_container")),
        ),
        passes_after=True,  # held by another run's lease
    ),
    "PORT_EXHAUSTION": ErrorSpec(RESOURCE, ERROR, False, (_WIDEN_PORT_RANGE, _FREE_PORTS, _ORPHAN_CLEAN)),
    "CONTAINER_OOM": ErrorSpec(CONTAINER, ERROR, False, (_RAISE_MEMORY, _INSPECT_LOGS, _TEARDOWN_RUN)),
    "CONTAINER_CRASH": ErrorSpec(
        CONTAINER, ERROR, False, (_RAISE_MEMORY, _INSPECT_LOGS, _FIX_APPLICATION, _TEARDOWN_RUN)
    ),
    "CONTAINER_RESTART_EXHAUSTED": ErrorSpec(
        CONTAINER,
        CRITICAL,
        False,
        (
            _RAISE_MEMORY,
            _INSPECT_LOGS,
            SuggestedAction(
                "raise_max_restarts",
                MANUAL,
                "If details.restart_history shows a failure that passes, raise max_restarts "
                "(resilience.container.max_restarts, or the container's own).",
            ),
            _TEARDOWN_RUN,
        ),
    ),
    "HEALTH_CHECK_TIMEOUT": ErrorSpec(
        CONTAINER,
        ERROR,
        True,
        (
            SuggestedAction(
                "inspect_health_log", DIAGNOSE, "Read details.diagnostics.health_log: the healthcheck's own output."
            ),
            _RERUN_SETUP,
            SuggestedAction(
                "raise_startup_timeout",
                MANUAL,
                "If the application only starts slowly, raise startup_timeout or the healthcheck's retries.",
            ),
            _TEARDOWN_RUN,
        ),
    ),
    "NETWORK_UNREACHABLE": ErrorSpec(
        NETWORK,
        ERROR,
        True,
        (_CHECK_LISTENING, _RAISE_WAIT, _TEARDOWN_RUN),
        final_causes=frozenset({"closed", "outside_network"}),
    ),
    "DNS_RESOLUTION_FAILED": ErrorSpec(
        NETWORK,
        ERROR,
        False,
        (
            SuggestedAction(
                "check_target_name",
                DIAGNOSE,
                "Compare details.results[].hostname (and its hint) with details.network_topology: the containers "
                "on the network and their aliases.",
            ),
            SuggestedAction(
                "attach_to_network",
                MANUAL,
                "Attach the target and the test container to the same network, or add the name as an alias.",
            ),
            _TEARDOWN_RUN,
        ),
    ),
    "CIRCUIT_OPEN": ErrorSpec(
        INFRASTRUCTURE,
        ERROR,
        False,
        (
            SuggestedAction(
                "check_docker_health",
                DIAGNOSE,
                "Read details.failure_history: the infrastructure failures that opened the breaker.",
            ),
            _RESET_CIRCUIT,
        ),
        passes_after=True,  # the cooldown, when the breaker has one
    ),
    "ORPHAN_DETECTED": ErrorSpec(RESOURCE, WARNING, False, (_ORPHAN_CLEAN.but(kind=FIX),)),
    "CLEANUP_FAILED": ErrorSpec(
        RESOURCE,
        ERROR,
        True,
        (
            SuggestedAction(
                "retry_cleanup",
                RETRY,
                "Run the failed cleanup again: a resource in use is freed when its user stops, a removal in "
                "progress ends.",
            ),
            SuggestedAction(
                "inspect_cleanup_failures", DIAGNOSE, "Read details.errors: each resource not removed and why."
            ),
        ),
    ),
    # Codes added beyond the original 13, for failures none of those describes.
    "INVALID_INPUT": ErrorSpec(
        CONFIGURATION,
        ERROR,
        False,
        (
            SuggestedAction(
                "fix_input",
                MANUAL,
                "Correct the value named in details.field (details.errors lists every problem of a "
                "configuration file).",
            ),
        ),
    ),
    "IMAGE_NOT_FOUND": ErrorSpec(
        CONFIGURATION,
        ERROR,
        False,
        (SuggestedAction("provide_image", MANUAL, "Build, load or pull the image on the Docker host."),),
    ),
    "DOCKER_API_ERROR": ErrorSpec(
        INFRASTRUCTURE,
        ERROR,
        True,
        (
            SuggestedAction("inspect_daemon_logs", DIAGNOSE, "Read the Docker daemon's log for this request."),
            _START_DOCKER,
        ),
    ),
    "DOCKER_REQUEST_REJECTED": ErrorSpec(
        CONFIGURATION,
        ERROR,
        False,
        (SuggestedAction("inspect_error_details", DIAGNOSE, "Read the daemon's reason in details and message."),),
    ),
    "INTERNAL_ERROR": ErrorSpec(
        INTERNAL,
        ERROR,
        False,
        (
            SuggestedAction(
                "report_bug", MANUAL, "Report this failure with its details: it is a defect of the collection."
            ),
        ),
    ),
}

# Failures that say the Docker host itself is broken; only these count for the circuit breaker.
INFRASTRUCTURE_FAILURE_CODES = frozenset({"DOCKER_UNAVAILABLE", "DOCKER_API_ERROR"})

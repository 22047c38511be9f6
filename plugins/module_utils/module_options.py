# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options of every module but the guard's containers (``guard/options.py``), declared once.

Each module's ``OPTIONS`` is composed from these tables; the e2e.yaml ``resilience`` sections
pick the same declarations (``e2e_config``), so a default or a bound is written in one place.
"""

from __future__ import annotations

from ansible_collections.argusai.resilience.plugins.module_utils.cleanup.inventory import RESOURCE_TYPES
from ansible_collections.argusai.resilience.plugins.module_utils.docker_client import DEFAULT_TIMEOUT
from ansible_collections.argusai.resilience.plugins.module_utils.labels import PROJECT_NAME, RUN_ID_PATTERN
from ansible_collections.argusai.resilience.plugins.module_utils.machine.location import LOCATIONS
from ansible_collections.argusai.resilience.plugins.module_utils.options import Option, pick

# --- the circuit breaker (argus_circuit, the argus_circuit_breaker variable, resilience.circuit_breaker)

BREAKER_SETTINGS = (
    Option("enabled", "bool", "Gate the Docker modules behind the breaker.", default=True),
    Option("failure_threshold", "int", "Consecutive infrastructure failures that open the breaker.", default=5,
           minimum=1, maximum=1000),
    Option("cooldown_seconds", "float",
           "Seconds after which an open breaker lets one probe through (half-open) by itself. Not set: only a reset "
           "does.", minimum=0, maximum=31_536_000),
    Option("history_size", "int", "Failures kept in the breaker's history.", default=10, minimum=1, maximum=1000),
)  # fmt: skip

CIRCUIT_BREAKER = Option(
    "circuit_breaker",
    "dict",
    (
        "Breaker settings, key by key over the variable C(argus_circuit_breaker).",
        "Meant for C(module_defaults) of C(group/argusai.resilience.docker); the action plugin applies them and "
        "removes them before the module is sent.",
    ),
    suboptions=tuple(option.but(default=None) for option in BREAKER_SETTINGS),
)

# --- every Docker module (doc fragment argusai.resilience.docker says what they share) -------

DOCKER = (
    Option("docker_host", "str",
           ("The Docker daemon to talk to, for example V(unix:///var/run/docker.sock) or V(tcp://127.0.0.1:2375).",
            "When not set, the E(DOCKER_HOST) environment variable is used, else the local socket "
            "C(/var/run/docker.sock) and then the rootless socket under E(XDG_RUNTIME_DIR).",
            "When the daemon cannot be reached, the module fails with C(DOCKER_UNAVAILABLE) and lists every address "
            "it tried with its root cause (C(socket_missing), C(permission_denied), C(connection_refused), "
            "C(timeout), C(api_version)).")),
    Option("timeout", "int", "Timeout in seconds for each request to the Docker API.", default=DEFAULT_TIMEOUT,
           minimum=1, maximum=3600),
    CIRCUIT_BREAKER,
)  # fmt: skip

PROJECT = Option(
    "project",
    "str",
    ("The E2E project, as in the C(argusai.project) label.", "The circuit breaker is kept per host and project."),
    required=True,
    pattern=PROJECT_NAME,
)
RUN_ID = Option("run_id", "str", "The run, as in the C(argusai.run-id) label.", pattern=RUN_ID_PATTERN)

# --- argus_preflight ---------------------------------------------------------------------------

PREFLIGHT = (
    Option("disk_threshold_gb", "float",
           ("Free space in GiB below which the disk check fails with C(DISK_SPACE_LOW).",
            "Below twice this value the check warns, which makes the report V(degraded)."),
           default=2, minimum=0),
    Option("disk_paths", "list",
           ("Absolute paths on the daemon's machine whose file systems are checked.",
            "Defaults to C(/) and Docker's root directory (from C(docker info)).",
            "When the daemon runs on another machine (C(daemon_location)), they are measured there by the helper "
            "container; a path that does not exist there makes the check V(skipped) with the daemon's explanation."),
           elements="path"),
    Option("skip_disk_check", "bool", "Skip the disk check; it is reported as V(skipped).", default=False),
    Option("skip_orphan_check", "bool", "Skip the orphan check; it is reported as V(skipped).", default=False),
    Option("clean_orphans", "bool",
           ("After the checks, when the report is not V(unhealthy), remove the resources of earlier runs of the "
            "project in the same call, as M(argusai.resilience.argus_orphan_clean) does (same selection, events and "
            "C(CLEANUP_FAILED) error; check mode only lists them): RV(orphan_cleanup).",
            "The orphan check is then answered by the cleanup, which lists the resources once: it is reported as "
            "V(skipped) and does not make the report V(degraded)."),
           default=False),
    Option("daemon_timeout", "float",
           "Seconds to wait for the daemon to answer before the check fails with C(DOCKER_UNAVAILABLE).",
           default=5, minimum=0, exclusive_minimum=True, maximum=3600),
    Option("fail_on_unhealthy", "bool",
           ("Fail the task when the report is V(unhealthy), with the structured error of the first failed check.",
            "When V(false), the task succeeds and the caller reads RV(report.overall)."),
           default=True),
)  # fmt: skip

# --- argus_orphan_clean and argus_teardown -----------------------------------------------------

RESOURCE_TYPES_OPTION = Option(
    "resource_types",
    "list",
    "The kinds of resources to remove.",
    default=RESOURCE_TYPES,
    elements="str",
    choices=RESOURCE_TYPES,
)

# --- argus_port_resolve ------------------------------------------------------------------------

PORT_REQUEST = (
    Option("name", "str", "The service name; the key of RV(ports). Names must be unique within the list.",
           required=True),
    Option("port", "raw",
           ("The preferred host port, an integer from 1 to 65535 (a numeric string is accepted).",
            "Anything else fails with C(INVALID_INPUT) before any port is probed."),
           required=True),
    Option("protocol", "str", "V(tcp) or V(udp). Anything else fails with C(INVALID_INPUT).", default="tcp"),
)  # fmt: skip

PORT_RESOLVE = (
    Option("ports", "list", "The ports to resolve, one entry per service.", required=True, elements="dict",
           suboptions=PORT_REQUEST),
    Option("strategy", "str",
           ("V(auto) picks the next free port when the preferred one is taken and reports it in C(mappings).",
            "V(fail) fails with C(PORT_CONFLICT) when any preferred port is taken."),
           default="auto", choices=("auto", "fail")),
    Option("max_attempts", "int",
           ("How many candidate ports to examine per entry, the preferred port included.",
            "When none of them is free, the task fails with C(PORT_EXHAUSTION)."),
           default=100, minimum=1, maximum=65535),
    Option("bind_address", "str",
           ("The host address the ports will be published on, an IPv4 or IPv6 literal (V(localhost) means "
            "V(127.0.0.1)).",
            "The wildcards V(0.0.0.0) and V(::) probe both IPv4 and, where the host has it, IPv6."),
           default="0.0.0.0"),
)  # fmt: skip

# --- argus_network_verify ----------------------------------------------------------------------

TARGET = (
    Option("name", "str", "The service name, reported as C(service) in C(report.results). Unique among the targets.",
           required=True),
    Option("host", "str",
           ("The host name as the test container would use it - a container name or network alias on O(network) - "
            "or the IPv4 address of a container on O(network)."),
           required=True),
    Option("port", "int", "The TCP port the service listens on inside its container.", required=True, minimum=1,
           maximum=65535),
)  # fmt: skip

NETWORK_VERIFY = (
    Option("container", "str",
           "Name or id of the test container, the one the probes run from. It must be running and attached to "
           "O(network).", required=True),
    Option("network", "str",
           ("The Docker network (name or id) the test container and the targets share.",
            "When not set, the test container must be attached to exactly one user-defined network, which is used."),
           ),
    Option("targets", "list", "The services to reach from the test container.", required=True, elements="dict",
           suboptions=TARGET),
    Option("probe_timeout", "int", "Seconds each probe (one DNS lookup, one TCP connect) may take.", default=5,
           minimum=1, maximum=3600),
    Option("wait_seconds", "int",
           ("How long to keep retrying a target that does not resolve or does not answer yet (services may still "
            "be starting). Retries back off from 0.25 s to 2 s.",
            "V(0) probes each target once."),
           default=30, minimum=0, maximum=3600),
    Option("probe_image", "str",
           ("Image of the helper container used when the test container has no probe tools. It needs C(sleep), "
            "C(sh) and either C(nc) and C(nslookup)/C(getent), or python.",
            "It must already be present on the Docker host; the module never pulls."),
           default="busybox:latest"),
)  # fmt: skip

# --- checks that look at the daemon's machine (argus_preflight, argus_port_resolve) -----------

MACHINE_CHECKS = (
    Option("daemon_location", "str",
           ("Where the Docker daemon runs, for the checks that look at the machine itself: host-port probes and "
            "free disk space.",
            "V(auto): a unix socket, C(localhost), a loopback address or an address of this machine's interfaces "
            "is this machine, unless the daemon reports another host name than this machine's (a socket mounted "
            "into a container or forwarded from elsewhere); anything else, host names included, is another machine.",
            "V(local) and V(remote) say it outright, for example for a host name that is this machine, or a "
            "socket forwarded from another machine.",
            "On another machine the checks run in a short-lived helper container there (C(probe_image)), or are "
            "reported skipped with the reason; they never look at the wrong machine."),
           default="auto", choices=LOCATIONS),
    pick(NETWORK_VERIFY, "probe_image")[0].but(
        description=(
            "Image of the helper container that runs the machine checks when the daemon is on another machine "
            "(see C(daemon_location)): host networking to read that machine's socket tables, the paths to measure "
            "mounted read-only. It needs C(sh), C(cat) and C(df); busybox or any distribution image has them.",
            "It must already be present on that daemon; the module never pulls. When it is missing, the machine "
            "checks are reported skipped with the reason.")),
)  # fmt: skip

# --- argus_container_guard: the ports of its containers resolved in the same call ------------------

RESOLVE_PORTS = Option(
    "resolve_ports",
    "dict",
    (
        "Resolve the host ports of the containers in this call, as M(argusai.resilience.argus_port_resolve) would, "
        "before any container is created: every published port with a C(host_port) is a request named "
        "C(<service>-<container_port>[-udp]).",
        "With O(run_id), the ports that running containers of that run publish already are kept (a rerun keeps its "
        "ports); the others are probed, leased and reassigned by O(resolve_ports.strategy) (RV(port_resolution)).",
        "A conflict under V(fail) or an exhausted range fails the task before any container is touched "
        "(C(PORT_CONFLICT), C(PORT_EXHAUSTION); RV(phase) is V(ports)).",
        "Not set: each container is created on the host ports it is given.",
    ),
    suboptions=(*pick(PORT_RESOLVE, "strategy", "max_attempts", "bind_address"), *MACHINE_CHECKS),
)

GUARD_VERIFY = Option(
    "verify",
    "dict",
    (
        "Check connectivity from the test container as M(argusai.resilience.argus_network_verify) does (the same "
        "options, report and errors), in this call: it starts once every container of O(containers) is ready "
        "(running, healthy), while their O(stable_seconds) windows run on, and runs once more at the end when a "
        "container had to be restarted after it began (RV(network_verification)).",
        "It does not run when a container failed. Its failure (C(DNS_RESOLUTION_FAILED), C(NETWORK_UNREACHABLE)) "
        "fails the task with RV(phase) V(network_verification); the containers stay up.",
    ),
    suboptions=NETWORK_VERIFY,
)

# --- argus_config ------------------------------------------------------------------------------

CONFIG_INPUT = (
    Option("path", "path", "Path of an C(e2e.yaml) file on the controller. Mutually exclusive with O(content)."),
    Option("content", "str",
           "The text of an C(e2e.yaml) file (for example from C(lookup('ansible.builtin.file', ...)) on the "
           "controller)."),
    Option("content_source", "str",
           "Where O(content) came from (for example the file's path on the controller), named in error messages.",
           default="e2e.yaml"),
    PROJECT.but(required=False, description="The project; replaces the file's C(project)."),
    RUN_ID.but(description="The run id; generated when neither this nor the file sets one."),
    Option("docker", "dict", "The Docker daemon, C({host, timeout}); replaces the file's C(docker)."),
    Option("network", "raw", "The network, a name or a dict with C(name) and C(driver); replaces the file's "
           "C(network)."),
    Option("services", "list", "Services (each a dict of container options); replaces the file's C(services).",
           elements="dict"),
    Option("mocks", "list", "Mocks (each a dict of container options); replaces the file's C(mocks).",
           elements="dict"),
    Option("test", "dict", "The test runner container; replaces the file's C(test)."),
    Option("resilience", "dict", "Resilience settings; replaces the file's C(resilience)."),
    Option("container_overrides", "dict",
           ("Options to change per container, by service name (C(name)), merged over the file's and the "
            "sections' values, for example C({api: {memory: 256m}}). Suggested fixes use it to rerun a setup "
            "without editing the file."),
           default={}),
    Option("resilience_overrides", "dict",
           ("Merged key by key over the C(resilience) section, for example C({ports: {strategy: auto}})."),
           default={}),
    Option("require_containers", "bool", "Fail with C(INVALID_INPUT) when the configuration has no container.",
           default=False),
)  # fmt: skip

# --- argus_result --------------------------------------------------------------------------------

RESULT = (
    Option("path", "path",
           ("The result file on the controller (the playbooks' C(argus_result_file)). Every host of the playbook "
            "run has its entry C(hosts.<inventory host>) = C({ok, failed_stage, error, result, timestamp}); a file "
            "of an earlier playbook run is replaced. Not set - nothing is written.")),
    Option("playbook", "str", "The playbook (or role) whose outcome this is, for example V(argusai.resilience.setup).",
           required=True),
    Option("result", "raw", "What the playbook produced for this host (for the setup, C(argus_setup_result))."),
    Option("error", "dict",
           ("The structured error of the failed stage. When set, the task fails with it (C(msg) and C(error)), so "
            "that the last failed task of the playbook carries it. A mapping without C(code) (a task's failure: "
            "C(message) or C(msg), and C(argument_errors) when a role's argument spec refused its variables) is "
            "made one: C(INVALID_INPUT) naming each refused variable, else C(INTERNAL_ERROR).")),
    Option("failed_stage", "str", "The stage that failed (with O(error))."),
    Option("docker_host", "str",
           "The Docker daemon the run used: suggested actions that name a playbook carry it (C(argus_docker_host))."),
    Option("rerun", "dict",
           ("The inputs of this run (for the setup, C(argus_config_file), the sections given as variables and the "
            "overrides), added to the suggested actions that run the same playbook again, so that a rerun as given "
            "is this run with the fix. The actions' own overrides are merged over these."),
           default={}),
)  # fmt: skip

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The container options: the one table behind the guard module, ``containers[]``, the guard's
defaults, the e2e.yaml container schema, the role's argument specs and docs/configuration.md.

Adding a container option is one entry here (then ``python scripts/gen_docs.py`` and giving it an
effect in ``guard/spec.py``).
"""

from __future__ import annotations

from ansible_collections.argusai.resilience.plugins.module_utils.labels import RESOURCE_NAME
from ansible_collections.argusai.resilience.plugins.module_utils.options import Option, defaults

PROTOCOLS = ("tcp", "udp", "sctp")
BACKOFF_STRATEGIES = ("exponential", "linear")
PORT_STRATEGIES = ("auto", "fail")
STATES = ("started", "absent")

PORT_OPTIONS = (
    Option("container_port", "int", "Port the process listens on inside the container.", required=True, minimum=1,
           maximum=65535),
    Option("host_port", "int",
           ("Preferred port on the Docker host. When not set, the port is published on a host port Docker picks "
            "(ephemeral), reported in the container's ports; no port is resolved for it.",
            "When it is taken and the port strategy is V(auto), another free port is chosen and reported in the "
            "port mappings."),
           minimum=1, maximum=65535),
    Option("protocol", "str", "Protocol.", default="tcp", choices=PROTOCOLS),
    Option("bind_address", "str",
           ("Host address to publish on, used as given (an explicit V(0.0.0.0) is not served by Podman 4's "
            "Docker API).",
            "When not set: C(resilience.ports.bind_address) in a setup, else the port is published without a host "
            "address, on every address of the host (IPv4 and, where the runtime does, IPv6).")),
)  # fmt: skip

HEALTHCHECK_OPTIONS = (
    Option("test", "raw",
           ("The probe: a shell command (a string, run with C(CMD-SHELL)) or a list in Docker's form (a list "
            "starting with C(CMD), C(CMD-SHELL) or C(NONE) is passed as is, any other list runs as C(CMD))."),
           required=True, form="command"),
    Option("interval", "float", "Seconds between probes.", default=5, minimum=0, exclusive_minimum=True),
    Option("timeout", "float", "Seconds one probe may take.", default=3, minimum=0, exclusive_minimum=True),
    Option("retries", "int", "Consecutive failed probes that make the container C(unhealthy).", default=3,
           minimum=1),
    Option("start_period", "float", "Seconds after the start during which failed probes do not count.", default=0,
           minimum=0),
)  # fmt: skip

# The restart supervision options: a setup's resilience.container section sets them for every
# container, and a container may override each one.
TUNING_OPTIONS = (
    Option("max_restarts", "int",
           ("Restarts the guard makes in one call before it gives up with C(CONTAINER_RESTART_EXHAUSTED). Every "
            "failed run counts, also one that had been stable (see O(watch_seconds)). V(0) reports the first failure "
            "with its own code (C(CONTAINER_CRASH), C(CONTAINER_OOM), C(HEALTH_CHECK_TIMEOUT))."),
           default=3, minimum=0, maximum=100),
    Option("backoff", "str",
           ("V(exponential) waits O(backoff_initial_ms) * 2^(n-1) before a restart, V(linear) "
            "O(backoff_initial_ms) * n, where n counts the failed runs since the last stable one; both are capped at "
            "O(backoff_max_ms). The delay runs from the container's death to it running again (the start is issued "
            "early by what the last start took).",
            "After a stable run the schedule starts over, as with dockerd's restart policies; the restart count does "
            "not (see O(max_restarts))."),
           default="exponential", choices=BACKOFF_STRATEGIES),
    Option("backoff_initial_ms", "int", "First backoff delay in milliseconds.", default=1000, minimum=0,
           maximum=3_600_000),
    Option("backoff_max_ms", "int", "Largest backoff delay in milliseconds (at least O(backoff_initial_ms)).",
           default=30000, minimum=0, maximum=3_600_000),
    Option("jitter", "bool",
           "Draw each delay uniformly between 0 and the scheduled delay (spreads restarts of many containers).",
           default=False),
    Option("stable_seconds", "float",
           "Seconds the container must keep running (and healthy) for an attempt to count as a success.",
           default=3, minimum=0, maximum=3600),
    Option("startup_timeout", "float",
           "Seconds from the start within which a container with a healthcheck must become C(healthy).",
           default=60, minimum=0.1, maximum=86400),
    Option("watch_seconds", "float",
           ("Keep watching this many seconds after the container first became stable (a window fixed then). A "
            "failure in that window is restarted like any other and counts toward O(max_restarts); a run restarted "
            "in the window is watched until it is stable, also past the window's end."),
           default=0, minimum=0, maximum=86400),
    Option("stop_timeout", "int",
           "Seconds to wait for a graceful stop before an unhealthy container is killed and restarted.",
           default=5, minimum=0, maximum=3600),
)  # fmt: skip

CONTAINER_OPTIONS = (
    Option("name", "str",
           ("Name of the container. Required unless O(containers) is used; mutually exclusive with it.",),
           pattern=RESOURCE_NAME, docker="create.name"),
    Option("service", "str",
           ("The service the container runs: its C(argusai.service) label and the name its port mappings report. "
            "Default: O(name)."),
           pattern=RESOURCE_NAME, recreate=True),
    Option("image", "str", "Image to run; must already be on the Docker host (it is never pulled). Required when "
           "the state is V(started).", recreate=True, docker="create.image"),
    Option("command", "raw", "Command to run, a string (split like a shell would) or a list (passed as is).",
           form="command", recreate=True),
    Option("env", "dict", "Environment variables. The values are never logged, and are masked in the diagnostics.",
           form="map", no_log=True, recreate=True),
    Option("ports", "list", "Ports to publish (in a setup file, a bare integer is a container port).",
           elements="dict", suboptions=PORT_OPTIONS, shorthand="container_port", recreate=True),
    Option("network", "str",
           ("User-defined network to attach the container to. Created with the project's labels when missing, "
            "reused when it exists. When not set, the container uses Docker's default bridge."),
           pattern=RESOURCE_NAME, recreate=True),
    Option("network_driver", "str",
           ("Driver of O(network) when the guard creates it, for example V(bridge), V(macvlan) or V(ipvlan). A "
            "network that exists is reused as it is."),
           default="bridge"),
    Option("aliases", "list", "Extra DNS names of the container on its network. Needs a network.",
           elements="str", pattern=RESOURCE_NAME, recreate=True),
    Option("healthcheck", "dict",
           ("Healthcheck of the container (in a setup file, a bare string is its test). The guard then waits for "
            "C(healthy) before counting O(stable_seconds)."),
           suboptions=HEALTHCHECK_OPTIONS, shorthand="test", recreate=True),
    Option("memory", "str",
           ("Memory limit, for example V(8m), V(512M) or V(1g) (units b, k, m, g; at least 6m), or bytes. Swap is "
            "not added on top of it."),
           form="memory", recreate=True),
    *TUNING_OPTIONS,
    Option("port_strategy", "str",
           ("V(auto) picks another free host port when Docker reports the requested one as already allocated; "
            "V(fail) fails with C(PORT_CONFLICT)."),
           default="auto", choices=PORT_STRATEGIES),
    Option("remove_on_failure", "bool", "Remove the container when the guard gives up (else it is left for "
           "inspection).", default=False),
    Option("state", "str",
           ("V(started) creates, starts and supervises the container; V(absent) removes it (a managed container of "
            "the project only). Networks are left to the teardown."),
           default="started", choices=STATES),
)  # fmt: skip

DEFAULTS = defaults(CONTAINER_OPTIONS)

# An entry of the guard's `containers` list: the same options, the name required.
CONTAINER_ITEM_OPTIONS = tuple(
    option.but(required=True, description="Name of the container.") if option.name == "name" else option
    for option in CONTAINER_OPTIONS
)

CONTAINERS = Option(
    "containers",
    "list",
    (
        "Several containers, supervised concurrently. Each item takes the per-container options above with the "
        "same defaults. Mutually exclusive with O(name).",
        "Every container is brought to its state even when another one fails; the task then fails with the error "
        "of the first failed container (in list order) and C(details.failed_containers).",
    ),
    elements="dict",
    suboptions=CONTAINER_ITEM_OPTIONS,
)

KEEP_SERVICES = Option(
    "keep_services",
    "list",
    (
        "The services of the whole run. When set (with O(run_id)), containers of O(project) and that run whose "
        "service is not listed - a service renamed or dropped from the configuration - are removed first "
        "(C(cleanup_resource) events, RV(reconciled)).",
    ),
    elements="str",
)

START_FIRST = Option(
    "start_first",
    "list",
    (
        "Names of items of O(containers) that start first (for example the mocks). Every other item is created "
        "meanwhile and started once all of them are ready - running, and C(healthy) when they have a healthcheck - "
        "while their O(stable_seconds) windows run on: the windows overlap instead of queueing.",
        "When one of them fails, the others are not started (their C(restart_history.final_status) is "
        "V(not_started), C(not_started_because) names the failed ones; a container created for the call stays "
        "created) and the task fails with its error.",
    ),
    elements="str",
    default=[],
)

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``e2e.yaml`` schema, composed from the options the modules declare.

A container of the file takes the guard's container options (``guard/options.py``); the
``resilience`` sections take the options of the modules they configure (``module_options.py``).
Only what exists in the file alone (``enabled`` switches, ``clean_orphans``, the network) is
declared here. The same tables drive the role's argument specs and docs/configuration.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from ansible_collections.argusai.resilience.plugins.module_utils.guard.options import (
    CONTAINER_OPTIONS,
    PORT_OPTIONS,
    TUNING_OPTIONS,
)
from ansible_collections.argusai.resilience.plugins.module_utils.labels import PROJECT_NAME, RESOURCE_NAME
from ansible_collections.argusai.resilience.plugins.module_utils.module_options import (
    BREAKER_SETTINGS,
    DOCKER,
    NETWORK_VERIFY,
    PORT_RESOLVE,
    PREFLIGHT,
    PROJECT,
    RUN_ID,
)
from ansible_collections.argusai.resilience.plugins.module_utils.options import Option, pick

SECTIONS = ("project", "run_id", "docker", "network", "services", "mocks", "test", "resilience")

_PORT_PROTOCOLS = ("tcp", "udp")  # what argus_port_resolve can check


def _in_file(option: Option) -> Option:
    """A guard container option as a setup file takes it."""
    if option.name == "name":
        return option.but(
            required=True,
            description=(
                "The service name: the DNS name the other containers of the project reach it by (an alias on the "
                "project network) and its C(argusai.service) label. The container's Docker name is "
                "C(<project>-<name>) unless O(container_name) is set, so the same file can be brought up under "
                "several project names at once."
            ),
        )
    if option.name == "image":
        return option.but(required=True)
    if option.name == "ports":
        protocol = pick(PORT_OPTIONS, "protocol")[0].but(choices=_PORT_PROTOCOLS)
        return option.but(default=(), suboptions=tuple(protocol if o.name == "protocol" else o for o in PORT_OPTIONS))
    if option.name == "aliases":
        return option.but(default=())
    return option


# A container of the file takes every guard container option but those the file's sections set
# (the project network, the port strategy) or a setup does not offer. The restart options are unset
# by default, so that resilience.container applies.
NOT_PER_CONTAINER = ("service", "network", "network_driver", "port_strategy", "remove_on_failure", "state")
_TUNING = {option.name for option in TUNING_OPTIONS}
CONTAINER = (
    *(
        _in_file(option).but(default=None) if option.name in _TUNING else _in_file(option)
        for option in CONTAINER_OPTIONS
        if option.name not in NOT_PER_CONTAINER
    ),
    pick(CONTAINER_OPTIONS, "name")[0].but(
        name="container_name",
        description=(
            "The container's Docker name, when it must be a fixed one (default C(<project>-<name>)). A fixed name "
            "cannot be brought up twice on one host."
        ),
    ),
)


def _section(name: str, description: str, options: Sequence[Option]) -> Option:
    return Option(name, "dict", description, default={}, suboptions=tuple(options))


RESILIENCE = (
    _section(
        "preflight",
        "The preflight gate and orphan cleanup.",
        (
            Option("enabled", "bool", "Run argus_preflight first; an unhealthy host stops setup.", default=True),
            *pick(PREFLIGHT, "disk_threshold_gb", "disk_paths", "skip_disk_check", "daemon_timeout"),
            pick(PREFLIGHT, "clean_orphans")[0].but(
                description="Remove what earlier runs of the project left behind.", default=True
            ),
        ),
    ),
    _section(
        "ports",
        "Host port resolution.",
        (
            Option("enabled", "bool", "Check the preferred host ports before starting containers.", default=True),
            *pick(PORT_RESOLVE, "strategy", "max_attempts"),
            pick(PORT_RESOLVE, "bind_address")[0].but(
                default=None,
                description="Address the ports are checked and published on (default: all addresses).",
            ),
        ),
    ),
    _section(
        "container",
        "Restart supervision of every container (a container may override each value).",
        (
            Option(
                "restart_on_failure", "bool", "Restart crashed containers; false means max_restarts 0.", default=True
            ),
            # unset values are left to the guard's own defaults; max_restarts is spelled out
            *(option if option.name == "max_restarts" else option.but(default=None) for option in TUNING_OPTIONS),
        ),
    ),
    _section(
        "network",
        "Connectivity verification from the test container.",
        (
            Option(
                "verify_connectivity",
                "bool",
                "Check every mock and service port from the test container.",
                default=True,
            ),
            *pick(NETWORK_VERIFY, "probe_timeout", "wait_seconds"),
        ),
    ),  # fmt: skip
    _section(
        "circuit_breaker",
        "Circuit breaker of the project on this host.",
        pick(BREAKER_SETTINGS, "failure_threshold", "cooldown_seconds"),
    ),
)

NETWORK = (
    Option("name", "str", "Network name (default argus-<project>).", pattern=RESOURCE_NAME),
    pick(CONTAINER_OPTIONS, "network_driver")[0].but(
        name="driver",
        description="Network driver when the setup creates the network; one that exists is reused as it is.",
    ),
)

DOCKER_CONNECTION = (
    pick(DOCKER, "docker_host")[0].but(name="host"),
    *pick(DOCKER, "timeout"),
)

CONFIG = (
    PROJECT.but(description="Project name (labels every resource).", pattern=PROJECT_NAME),
    RUN_ID.but(description="Run id (generated when absent)."),
    _section(
        "docker",
        "The Docker daemon of the environment (the role variables argus_docker_host and argus_docker_timeout "
        "win over it).",
        DOCKER_CONNECTION,
    ),
    Option("network", "dict", "The project network.", default={}, suboptions=NETWORK, shorthand="name"),
    Option("services", "list", "Services under test.", default=(), elements="dict", suboptions=CONTAINER),
    Option("mocks", "list", "Mocks, started before the services.", default=(), elements="dict", suboptions=CONTAINER),
    Option("test", "dict", "The test runner container.", suboptions=CONTAINER),
    _section("resilience", "Resilience settings.", RESILIENCE),
)


def describe(options: Sequence[Option] = CONFIG, prefix: str = "") -> list[tuple[str, Option]]:
    """Flatten the schema (default: the whole e2e.yaml) to (path, option) rows, for the documentation."""
    rows = []
    for option in options:
        path = f"{prefix}.{option.name}" if prefix else option.name
        rows.append((path, option))
        if option.suboptions:
            rows.extend(describe(option.suboptions, f"{path}[]" if option.type == "list" else path))
    return rows

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inputs of a network verification: the targets and the options, checked before Docker is called."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.errors import invalid_input
from ansible_collections.argusai.resilience.plugins.module_utils.labels import (
    validate_project,
    validate_resource_name,
    validate_run_id,
)
from ansible_collections.argusai.resilience.plugins.module_utils.module_options import NETWORK_VERIFY
from ansible_collections.argusai.resilience.plugins.module_utils.options import defaults

_DEFAULTS = defaults(NETWORK_VERIFY)
DEFAULT_PROBE_IMAGE = _DEFAULTS["probe_image"]
DEFAULT_PROBE_TIMEOUT = _DEFAULTS["probe_timeout"]
DEFAULT_WAIT_SECONDS = _DEFAULTS["wait_seconds"]
# The Docker SDK keeps 10 connections per pool; more threads would only open and drop extra ones.
MAX_WORKERS = 10

HOSTNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$")


@dataclass(frozen=True)
class Target:
    name: str  # the service name reported as `service`
    host: str
    port: int


@dataclass
class VerifyOptions:
    project: str
    container: str
    network: str | None = None
    targets: list[Target] = field(default_factory=list)
    probe_timeout: float = DEFAULT_PROBE_TIMEOUT
    wait_seconds: float = DEFAULT_WAIT_SECONDS
    probe_image: str = DEFAULT_PROBE_IMAGE
    run_id: str | None = None
    max_workers: int = MAX_WORKERS


def parse_targets(raw: Any) -> list[Target]:
    """Validate the ``targets`` option: a non-empty list of ``{name, host, port}``, unique names."""
    if not isinstance(raw, list) or not raw:
        raise invalid_input("targets", raw, "must be a non-empty list of {name, host, port}")
    targets: list[Target] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        where = f"targets[{index}]"
        if not isinstance(item, dict):
            raise invalid_input(where, item, "must be a dict with name, host and port")
        name, host, port = item.get("name"), item.get("host"), item.get("port")
        if not isinstance(name, str) or not name.strip():
            raise invalid_input(f"{where}.name", name, "must be a non-empty string")
        if name in seen:
            raise invalid_input(f"{where}.name", name, "must be unique among the targets")
        seen.add(name)
        if not isinstance(host, str) or not HOSTNAME.match(host):
            raise invalid_input(
                f"{where}.host", host, "must be a container name, network alias or IPv4 address on the network"
            )
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise invalid_input(f"{where}.port", port, "must be an integer from 1 to 65535")
        targets.append(Target(name, host, port))
    return targets


def probe_exec_seconds(probe_timeout: float) -> int:
    """The longest one probe exec runs where the container bounds it: a lookup and a connect,
    each stopped by ``timeout`` one second after ``probe_timeout``."""
    return 2 * (int(probe_timeout) + 1)


def validate_options(options: VerifyOptions, api_timeout: float | None = None) -> VerifyOptions:
    """Check every option before Docker is called; raises INVALID_INPUT naming the field.

    ``api_timeout`` (the Docker API request timeout, option ``timeout``) must outlast one probe:
    a probe is one exec, whose output is read in one request.
    """
    validate_project(options.project)
    if options.run_id is not None:
        validate_run_id(options.run_id)
    if not isinstance(options.container, str) or not options.container:
        raise invalid_input("container", options.container, "must name the test container")
    validate_resource_name(options.container, "container")
    if options.network is not None:
        validate_resource_name(options.network, "network")
    if not options.targets:
        raise invalid_input("targets", options.targets, "must list at least one target")
    # Bounded above so that a typo cannot turn the retry loop into an endless wait.
    if not 0 < options.probe_timeout <= 3600:
        raise invalid_input("probe_timeout", options.probe_timeout, "must be > 0 and <= 3600")
    if not 0 <= options.wait_seconds <= 3600:
        raise invalid_input("wait_seconds", options.wait_seconds, "must be >= 0 and <= 3600")
    if not options.probe_image or any(ch.isspace() for ch in options.probe_image):
        raise invalid_input("probe_image", options.probe_image, "must be an image reference")
    if options.max_workers < 1:
        raise invalid_input("max_workers", options.max_workers, "must be >= 1")
    if api_timeout is not None and api_timeout <= probe_exec_seconds(options.probe_timeout):
        raise invalid_input(
            "timeout",
            api_timeout,
            f"must be more than {probe_exec_seconds(options.probe_timeout)} s with probe_timeout "
            f"{options.probe_timeout:g}: one probe (a DNS lookup and a TCP connect) runs in one Docker API "
            "request; raise timeout or lower probe_timeout",
        )
    return options


def options_from_params(params: Mapping[str, Any]) -> VerifyOptions:
    """The module's checked params as VerifyOptions; ``timeout`` is the Docker API timeout."""
    options = VerifyOptions(
        project=params["project"],
        run_id=params["run_id"],
        container=params["container"],
        network=params["network"],
        targets=parse_targets(params["targets"]),
        probe_timeout=params["probe_timeout"],
        wait_seconds=params["wait_seconds"],
        probe_image=params["probe_image"],
    )
    return validate_options(options, api_timeout=params["timeout"])

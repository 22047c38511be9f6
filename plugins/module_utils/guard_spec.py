# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the container guard is asked to run: one validated ``ContainerSpec`` per container.

Everything here is pure Python (no Docker call), so every input is rejected with INVALID_INPUT
before the daemon is touched. ``config_hash`` is the idempotence key stored in the
``argusai.config-hash`` label.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.backoff import STRATEGIES
from ansible_collections.argusai.resilience.plugins.module_utils.errors import invalid_input
from ansible_collections.argusai.resilience.plugins.module_utils.labels import (
    validate_project,
    validate_resource_name,
    validate_run_id,
)

CONFIG_HASH = "argusai.config-hash"
PROTOCOLS = ("tcp", "udp", "sctp")
PORT_STRATEGIES = ("auto", "fail")
STATES = ("started", "absent")

# Per-container defaults; the module's argument_spec repeats them (validate-modules checks it).
DEFAULTS: dict[str, Any] = {
    "max_restarts": 3,
    "backoff": "exponential",
    "backoff_initial_ms": 1000,
    "backoff_max_ms": 30000,
    "jitter": False,
    "stable_seconds": 3.0,
    "startup_timeout": 60.0,
    "watch_seconds": 0.0,
    "port_strategy": "auto",
    "remove_on_failure": False,
    "state": "started",
    "stop_timeout": 5,
}

_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([bkmg]?)b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
# Docker refuses limits below 6 MiB; say so before the daemon does.
MIN_MEMORY_BYTES = 6 * 1024**2
_ENV_NAME = re.compile(r"^[^=\s][^=]*$")


def parse_memory(value: Any, field_name: str = "memory") -> int | None:
    """``8m`` / ``512M`` / ``1g`` / ``1024k`` / ``123`` (bytes) -> bytes; None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise invalid_input(field_name, value, "must be a size such as 8m, 512M or 1g")
    if isinstance(value, int):
        amount = value
    else:
        match = _MEMORY.match(str(value))
        if not match:
            raise invalid_input(field_name, value, "must be a size such as 8m, 512M or 1g (units b, k, m, g)")
        amount = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    if amount < MIN_MEMORY_BYTES:
        raise invalid_input(field_name, value, "must be at least 6m (Docker's minimum memory limit)")
    return amount


@dataclass(frozen=True)
class PortSpec:
    container_port: int
    host_port: int | None = None  # None: Docker picks an ephemeral port
    protocol: str = "tcp"
    bind_address: str = "0.0.0.0"

    @property
    def key(self) -> str:
        return f"{self.container_port}/{self.protocol}"


@dataclass(frozen=True)
class HealthSpec:
    test: tuple[str, ...]
    interval: float = 5.0
    timeout: float = 3.0
    retries: int = 3
    start_period: float = 0.0

    def to_docker(self) -> dict[str, Any]:
        """The ``healthcheck`` argument of the Docker API (durations in nanoseconds)."""
        return {
            "test": list(self.test),
            "interval": int(self.interval * 1e9),
            "timeout": int(self.timeout * 1e9),
            "retries": self.retries,
            "start_period": int(self.start_period * 1e9),
        }


@dataclass(frozen=True)
class ContainerSpec:
    """One container under the guard, fully validated."""

    name: str
    image: str | None = None
    command: tuple[str, ...] | str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    ports: tuple[PortSpec, ...] = ()
    network: str | None = None
    aliases: tuple[str, ...] = ()
    healthcheck: HealthSpec | None = None
    memory: int | None = None
    max_restarts: int = DEFAULTS["max_restarts"]
    backoff: str = DEFAULTS["backoff"]
    backoff_initial_ms: int = DEFAULTS["backoff_initial_ms"]
    backoff_max_ms: int = DEFAULTS["backoff_max_ms"]
    jitter: bool = DEFAULTS["jitter"]
    stable_seconds: float = DEFAULTS["stable_seconds"]
    startup_timeout: float = DEFAULTS["startup_timeout"]
    watch_seconds: float = DEFAULTS["watch_seconds"]
    port_strategy: str = DEFAULTS["port_strategy"]
    remove_on_failure: bool = DEFAULTS["remove_on_failure"]
    state: str = DEFAULTS["state"]
    stop_timeout: int = DEFAULTS["stop_timeout"]

    def config_hash(self) -> str:
        """Hash of what defines the container; a change means recreate."""
        payload = {
            "image": self.image,
            "command": list(self.command) if isinstance(self.command, tuple) else self.command,
            "env": dict(sorted(self.env.items())),
            "ports": [[p.container_port, p.host_port, p.protocol, p.bind_address] for p in self.ports],
            "network": self.network,
            "aliases": sorted(self.aliases),
            "healthcheck": self.healthcheck.to_docker() if self.healthcheck else None,
            "memory": self.memory,
        }
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


# Upper bounds: a larger value is a typo, and an unbounded wait or restart loop would never end.
MAXIMUMS = {
    "max_restarts": 100,
    "backoff_initial_ms": 3_600_000,
    "backoff_max_ms": 3_600_000,
    "stable_seconds": 3600,
    "startup_timeout": 86_400,
    "watch_seconds": 86_400,
    "stop_timeout": 3600,
}


def _number(params: Mapping[str, Any], key: str, prefix: str, minimum: float, integer: bool = False) -> Any:
    value = params.get(key)
    if value is None:
        return DEFAULTS[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise invalid_input(prefix + key, value, "must be a number") from None
    if not math.isfinite(value) or value < minimum:
        raise invalid_input(prefix + key, value, f"must be >= {minimum}")
    if key in MAXIMUMS and value > MAXIMUMS[key]:
        raise invalid_input(prefix + key, value, f"must be <= {MAXIMUMS[key]}")
    if integer:
        if int(value) != value:
            raise invalid_input(prefix + key, value, "must be an integer")
        return int(value)
    return float(value)


def _choice(params: Mapping[str, Any], key: str, prefix: str, choices: tuple[str, ...]) -> str:
    value = params.get(key)
    if value is None:
        return DEFAULTS[key]
    if value not in choices:
        raise invalid_input(prefix + key, value, f"must be one of {', '.join(choices)}")
    return value


def _bool(params: Mapping[str, Any], key: str, prefix: str) -> bool:
    value = params.get(key)
    if value is None:
        return DEFAULTS[key]
    if not isinstance(value, bool):
        raise invalid_input(prefix + key, value, "must be a boolean")
    return value


def _command(value: Any, field_name: str) -> tuple[str, ...] | str | None:
    if value is None:
        return None
    if isinstance(value, str):
        if not value.strip():
            raise invalid_input(field_name, value, "must not be empty")
        return value
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, (str, int, float)) for v in value):
        return tuple(str(v) for v in value)
    raise invalid_input(field_name, value, "must be a string or a non-empty list of strings")


def _env(value: Any, field_name: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise invalid_input(field_name, "<hidden>", "must be a dict of NAME: value")
    env: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not _ENV_NAME.match(key):
            raise invalid_input(field_name, key, "variable names must be non-empty and contain no '=' or spaces")
        if isinstance(item, (dict, list)):
            raise invalid_input(f"{field_name}.{key}", "<hidden>", "must be a string, number or boolean")
        # Booleans as the shell spells them (Ansible would otherwise turn yes into True).
        env[key] = "" if item is None else (str(item).lower() if isinstance(item, bool) else str(item))
    return env


def _port_number(value: Any, field_name: str, allow_none: bool) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool):
        raise invalid_input(field_name, value, "must be a port number 1-65535")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise invalid_input(field_name, value, "must be a port number 1-65535") from None
    if number != value and str(number) != str(value) or not 1 <= number <= 65535:
        raise invalid_input(field_name, value, "must be a port number 1-65535")
    return number


def _ports(value: Any, field_name: str) -> tuple[PortSpec, ...]:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)):
        raise invalid_input(field_name, value, "must be a list of {container_port, host_port, protocol}")
    ports: list[PortSpec] = []
    seen: set[tuple[int, str]] = set()
    for index, item in enumerate(value):
        where = f"{field_name}[{index}]"
        if not isinstance(item, Mapping) or "container_port" not in item:
            raise invalid_input(where, item, "must be a dict with container_port (and optional host_port, protocol)")
        unknown = set(item) - {"container_port", "host_port", "protocol", "bind_address"}
        if unknown:
            raise invalid_input(where, sorted(unknown), "unknown keys")
        protocol = item.get("protocol") or "tcp"
        if protocol not in PROTOCOLS:
            raise invalid_input(f"{where}.protocol", protocol, f"must be one of {', '.join(PROTOCOLS)}")
        spec = PortSpec(
            container_port=_port_number(item["container_port"], f"{where}.container_port", False),
            host_port=_port_number(item.get("host_port"), f"{where}.host_port", True),
            protocol=protocol,
            bind_address=item.get("bind_address") or "0.0.0.0",
        )
        if (spec.container_port, protocol) in seen:
            raise invalid_input(where, spec.key, "container port listed twice")
        seen.add((spec.container_port, protocol))
        ports.append(spec)
    return tuple(ports)


def _healthcheck(value: Any, field_name: str) -> HealthSpec | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not value.get("test"):
        raise invalid_input(
            field_name, value, "must be a dict with a test (and interval, timeout, retries, start_period)"
        )
    unknown = set(value) - {"test", "interval", "timeout", "retries", "start_period"}
    if unknown:
        raise invalid_input(field_name, sorted(unknown), "unknown keys")
    test = value["test"]
    if isinstance(test, str):
        test = ("CMD-SHELL", test)
    elif isinstance(test, (list, tuple)) and all(isinstance(t, str) for t in test):
        test = tuple(test) if test[0] in ("CMD", "CMD-SHELL", "NONE") else ("CMD", *test)
    else:
        raise invalid_input(f"{field_name}.test", test, "must be a shell string or a list of strings")
    numbers: dict[str, Any] = {}
    for key, minimum, default in (("interval", 0.001, 5.0), ("timeout", 0.001, 3.0), ("start_period", 0, 0.0)):
        raw = value.get(key)
        if raw is None:
            numbers[key] = default
            continue
        try:
            numbers[key] = float(raw)
        except (TypeError, ValueError):
            raise invalid_input(f"{field_name}.{key}", raw, "must be seconds (a number)") from None
        if numbers[key] < minimum or isinstance(raw, bool):
            raise invalid_input(f"{field_name}.{key}", raw, f"must be >= {minimum} seconds")
    retries = value.get("retries", 3)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 1:
        raise invalid_input(f"{field_name}.retries", retries, "must be an integer >= 1")
    return HealthSpec(test=test, retries=retries, **numbers)


def spec_from_params(params: Mapping[str, Any], prefix: str = "") -> ContainerSpec:
    """Validate one container's options (module params or one ``containers`` item)."""
    name = validate_resource_name(params.get("name"), prefix + "name")
    state = _choice(params, "state", prefix, STATES)
    image = params.get("image")
    if state == "started" and (not isinstance(image, str) or not image.strip()):
        raise invalid_input(prefix + "image", image, "is required when state is started")
    network = params.get("network")
    if network is not None:
        validate_resource_name(network, prefix + "network")
    aliases = params.get("aliases") or []
    if not isinstance(aliases, (list, tuple)) or not all(isinstance(a, str) and a for a in aliases):
        raise invalid_input(prefix + "aliases", aliases, "must be a list of names")
    if aliases and network is None:
        raise invalid_input(prefix + "aliases", aliases, "need a network (the default bridge has no aliases)")
    initial = _number(params, "backoff_initial_ms", prefix, 0, integer=True)
    maximum = _number(params, "backoff_max_ms", prefix, 0, integer=True)
    if maximum < initial:
        raise invalid_input(prefix + "backoff_max_ms", maximum, "must be >= backoff_initial_ms")
    startup_timeout = _number(params, "startup_timeout", prefix, 0.1)
    return ContainerSpec(
        name=name,
        image=image,
        command=_command(params.get("command"), prefix + "command"),
        env=_env(params.get("env"), prefix + "env"),
        ports=_ports(params.get("ports"), prefix + "ports"),
        network=network,
        aliases=tuple(aliases),
        healthcheck=_healthcheck(params.get("healthcheck"), prefix + "healthcheck"),
        memory=parse_memory(params.get("memory"), prefix + "memory"),
        max_restarts=_number(params, "max_restarts", prefix, 0, integer=True),
        backoff=_choice(params, "backoff", prefix, STRATEGIES),
        backoff_initial_ms=initial,
        backoff_max_ms=maximum,
        jitter=_bool(params, "jitter", prefix),
        stable_seconds=_number(params, "stable_seconds", prefix, 0),
        startup_timeout=startup_timeout,
        watch_seconds=_number(params, "watch_seconds", prefix, 0),
        port_strategy=_choice(params, "port_strategy", prefix, PORT_STRATEGIES),
        remove_on_failure=_bool(params, "remove_on_failure", prefix),
        state=state,
        stop_timeout=_number(params, "stop_timeout", prefix, 0, integer=True),
    )


def validate_identity(project: Any, run_id: Any) -> tuple[str, str | None]:
    """Project (required) and run id (optional) of a guard call."""
    return validate_project(project), (validate_run_id(run_id) if run_id is not None else None)

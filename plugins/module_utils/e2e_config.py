# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``e2e.yaml`` schema: load, validate and normalise an E2E project configuration.

An ``e2e.yaml`` has the sections ``project``, ``network``, ``services``, ``mocks``, ``test``
and ``resilience``. :func:`load_config` validates every value (types, unknown keys, ranges)
and raises ``INVALID_INPUT`` naming the field by its path (e.g. ``services[0].ports[1].host_port``)
and the value. The result has every default filled, so the ``argus_setup`` role reads flags
without ``default()`` filters, and :func:`port_requests`, :func:`connectivity_targets` and
:func:`apply_ports` derive what the modules need from it.

Pure Python (stdlib + PyYAML when text is parsed): no Docker, no Ansible.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError, invalid_input
from ansible_collections.argusai.resilience.plugins.module_utils.guard_spec import MAXIMUMS, spec_from_params
from ansible_collections.argusai.resilience.plugins.module_utils.labels import (
    PROJECT_NAME,
    RESOURCE_NAME,
    RUN_ID_PATTERN,
)

SECTIONS = ("project", "run_id", "network", "services", "mocks", "test", "resilience")


@dataclass(frozen=True)
class Field:
    """One value of the schema.

    ``kind`` is one of ``str``, ``int``, ``number``, ``bool``, ``list``, ``dict`` (fixed keys,
    ``keys``), ``map`` (free string keys, scalar values), ``command`` (a string or a list of
    strings) or ``memory`` (bytes as an int, or a string such as ``64m``). ``None`` is accepted
    for optional fields and means "use the default".
    """

    kind: str
    description: str
    default: Any = None
    required: bool = False
    minimum: float | None = None
    exclusive_minimum: bool = False
    maximum: float | None = None
    choices: tuple[Any, ...] = ()
    pattern: re.Pattern | None = None
    elements: Field | None = None
    keys: Mapping[str, Field] = field(default_factory=dict)
    # a scalar given where a dict is expected is turned into {shorthand: value}
    shorthand: str | None = None


def _f(kind: str, description: str, **kwargs: Any) -> Field:
    return Field(kind, description, **kwargs)


MEMORY_PATTERN = re.compile(r"^[0-9]+(\.[0-9]+)?[bkmg]?$", re.IGNORECASE)

PORT_SCHEMA = {
    "container_port": _f(
        "int", "Port the process listens on inside the container.", required=True, minimum=1, maximum=65535
    ),
    "host_port": _f(
        "int",
        "Preferred port on the Docker host. Omit to not publish the port. With strategy auto a taken port "
        "is replaced by a free one.",
        minimum=1,
        maximum=65535,
    ),
    "protocol": _f("str", "tcp or udp.", default="tcp", choices=("tcp", "udp")),
    "bind_address": _f("str", "Host address to publish on (default: resilience.ports.bind_address, else 0.0.0.0)."),
}

HEALTHCHECK_SCHEMA = {
    "test": _f(
        "command",
        "The probe: a shell command string, or a list in Docker's form (e.g. [CMD-SHELL, 'wget -q -O- localhost']).",
        required=True,
    ),
    "interval": _f("number", "Seconds between probes.", minimum=0, exclusive_minimum=True),
    "timeout": _f("number", "Seconds one probe may take.", minimum=0, exclusive_minimum=True),
    "retries": _f("int", "Consecutive failures before the container is unhealthy.", minimum=1),
    "start_period": _f("number", "Seconds during which failures do not count.", minimum=0),
}

# Restart/backoff options a container may override; the defaults come from resilience.container.
GUARD_TUNING = {
    "max_restarts": _f(
        "int", "Restarts before CONTAINER_RESTART_EXHAUSTED.", minimum=0, maximum=MAXIMUMS["max_restarts"]
    ),
    "backoff": _f("str", "Backoff between restarts.", choices=("exponential", "linear")),
    "backoff_initial_ms": _f(
        "int", "First backoff delay in milliseconds.", minimum=0, maximum=MAXIMUMS["backoff_initial_ms"]
    ),
    "backoff_max_ms": _f(
        "int", "Largest backoff delay in milliseconds.", minimum=0, maximum=MAXIMUMS["backoff_max_ms"]
    ),
    "stable_seconds": _f(
        "number",
        "Seconds a container must stay up to count as started.",
        minimum=0,
        maximum=MAXIMUMS["stable_seconds"],
    ),
    "startup_timeout": _f(
        "number",
        "Seconds to wait for a container to become healthy.",
        minimum=0,
        exclusive_minimum=True,
        maximum=MAXIMUMS["startup_timeout"],
    ),
    "jitter": _f("bool", "Randomise the backoff delays."),
    "watch_seconds": _f(
        "number",
        "Seconds the guard keeps watching a started container.",
        minimum=0,
        maximum=MAXIMUMS["watch_seconds"],
    ),
    "stop_timeout": _f(
        "int",
        "Seconds Docker waits for the container to stop before killing it.",
        minimum=0,
        maximum=MAXIMUMS["stop_timeout"],
    ),
}

CONTAINER_SCHEMA: dict[str, Field] = {
    "name": _f("str", "Container name; also its DNS name on the network.", required=True, pattern=RESOURCE_NAME),
    "image": _f("str", "Image (must exist on the Docker host or be pullable).", required=True),
    "command": _f("command", "Command: a string (split like a shell would) or a list."),
    "env": _f("map", "Environment variables (values are never logged)."),
    "ports": _f(
        "list",
        "Ports as {container_port, host_port, protocol}; a bare integer is a container port that is not published.",
        default=[],
        elements=_f("dict", "A port.", keys=PORT_SCHEMA, shorthand="container_port"),
    ),
    "healthcheck": _f("dict", "Docker healthcheck.", keys=HEALTHCHECK_SCHEMA, shorthand="test"),
    "memory": _f("memory", "Memory limit: bytes, or a string such as 64m or 1g."),
    "aliases": _f(
        "list",
        "Extra DNS names on the project network.",
        default=[],
        elements=_f("str", "An alias.", pattern=RESOURCE_NAME),
    ),
    **GUARD_TUNING,
}

RESILIENCE_SCHEMA: dict[str, Field] = {
    "preflight": _f(
        "dict",
        "The preflight gate and orphan cleanup.",
        default={},
        keys={
            "enabled": _f("bool", "Run argus_preflight first; an unhealthy host stops setup.", default=True),
            "disk_threshold_gb": _f("number", "Free GiB below which the disk check fails.", default=2, minimum=0),
            "skip_disk_check": _f("bool", "Skip the disk check.", default=False),
            "daemon_timeout": _f(
                "number", "Seconds to wait for the daemon.", default=5, minimum=0, exclusive_minimum=True
            ),
            "clean_orphans": _f("bool", "Remove what earlier runs of the project left behind.", default=True),
        },
    ),
    "ports": _f(
        "dict",
        "Host port resolution.",
        default={},
        keys={
            "enabled": _f("bool", "Check the preferred host ports before starting containers.", default=True),
            "strategy": _f(
                "str",
                "auto: replace a taken port; fail: stop with PORT_CONFLICT.",
                default="auto",
                choices=("auto", "fail"),
            ),
            "max_attempts": _f("int", "Ports tried before PORT_EXHAUSTION.", default=100, minimum=1, maximum=65535),
            "bind_address": _f("str", "Address the ports are checked (and published) on."),
        },
    ),
    "container": _f(
        "dict",
        "Restart supervision of every container (a container may override each value).",
        default={},
        keys={
            "restart_on_failure": _f("bool", "Restart crashed containers; false means max_restarts 0.", default=True),
            **GUARD_TUNING,
            "max_restarts": replace(GUARD_TUNING["max_restarts"], default=3),
        },
    ),
    "network": _f(
        "dict",
        "Connectivity verification from the test container.",
        default={},
        keys={
            "verify_connectivity": _f(
                "bool", "Check every mock and service port from the test container.", default=True
            ),
            "probe_timeout": _f(
                "int", "Seconds each probe step (DNS lookup, TCP connect) may take.", default=5, minimum=1, maximum=3600
            ),
            "wait_seconds": _f(
                "int", "Seconds to keep retrying unreachable targets.", default=30, minimum=0, maximum=3600
            ),
        },
    ),
    "circuit_breaker": _f(
        "dict",
        "Circuit breaker of the project on this host.",
        default={},
        keys={
            "failure_threshold": _f("int", "Infrastructure failures that open the breaker.", default=5, minimum=1),
            "cooldown_seconds": _f("number", "Seconds after which an open breaker turns half-open.", minimum=0),
        },
    ),
}

NETWORK_SCHEMA = {
    "name": _f("str", "Network name (default argus-<project>).", pattern=RESOURCE_NAME),
    "driver": _f("str", "Network driver.", default="bridge"),
}

CONFIG_SCHEMA: dict[str, Field] = {
    "project": _f("str", "Project name (labels every resource).", required=True, pattern=PROJECT_NAME),
    "run_id": _f("str", "Run id (generated when absent).", pattern=RUN_ID_PATTERN),
    "network": _f("dict", "The project network.", default={}, keys=NETWORK_SCHEMA, shorthand="name"),
    "services": _f(
        "list", "Services under test.", default=[], elements=_f("dict", "A service.", keys=CONTAINER_SCHEMA)
    ),
    "mocks": _f(
        "list", "Mocks, started before the services.", default=[], elements=_f("dict", "A mock.", keys=CONTAINER_SCHEMA)
    ),
    "test": _f("dict", "The test runner container.", keys=CONTAINER_SCHEMA),
    "resilience": _f("dict", "Resilience settings.", default={}, keys=RESILIENCE_SCHEMA),
}

_TYPE_NAMES = {
    "str": "a string",
    "int": "an integer",
    "number": "a number",
    "bool": "a boolean",
    "list": "a list",
    "dict": "a mapping",
    "map": "a mapping of names to strings/numbers/booleans",
    "command": "a string or a list of strings",
    "memory": "bytes (integer) or a size string such as 64m",
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_range(spec: Field, value: Any, path: str) -> None:
    if not math.isfinite(value):
        raise invalid_input(path, value, "must be a finite number")
    if spec.minimum is not None:
        if spec.exclusive_minimum and value <= spec.minimum:
            raise invalid_input(path, value, f"must be > {spec.minimum:g}")
        if value < spec.minimum:
            raise invalid_input(path, value, f"must be >= {spec.minimum:g}")
    if spec.maximum is not None and value > spec.maximum:
        raise invalid_input(path, value, f"must be <= {spec.maximum:g}")


def _wrong_type(spec: Field, value: Any, path: str) -> ArgusError:
    return invalid_input(path, value, f"must be {_TYPE_NAMES[spec.kind]}, not {type(value).__name__}")


def _scalar(spec: Field, value: Any, path: str) -> Any:
    if spec.kind == "str":
        if not isinstance(value, str):
            raise _wrong_type(spec, value, path)
        if spec.pattern is not None and not spec.pattern.match(value):
            raise invalid_input(path, value, f"must match {spec.pattern.pattern}")
    elif spec.kind == "int":
        if not _is_int(value):
            raise _wrong_type(spec, value, path)
        _check_range(spec, value, path)
    elif spec.kind == "number":
        if not _is_number(value):
            raise _wrong_type(spec, value, path)
        _check_range(spec, value, path)
    elif spec.kind == "bool":
        if not isinstance(value, bool):
            raise _wrong_type(spec, value, path)
    elif spec.kind == "command":
        if isinstance(value, list):
            for index, item in enumerate(value):
                if not isinstance(item, str):
                    raise invalid_input(f"{path}[{index}]", item, "must be a string")
        elif not isinstance(value, str):
            raise _wrong_type(spec, value, path)
    elif spec.kind == "memory":
        if _is_int(value):
            _check_range(Field("int", "", minimum=1), value, path)
        elif not isinstance(value, str) or not MEMORY_PATTERN.match(value):
            raise _wrong_type(spec, value, path)
    elif spec.kind == "map":
        if not isinstance(value, dict):
            raise _wrong_type(spec, value, path)
        result = {}
        for key, item in value.items():
            if not isinstance(key, str) or not key:
                raise invalid_input(f"{path}", key, "keys must be non-empty strings")
            if not isinstance(item, (str, int, float, bool)) or item is None:
                raise invalid_input(
                    f"{path}.{key}", "<hidden>", f"must be a string, number or boolean, not {type(item).__name__}"
                )
            # Docker wants strings; YAML booleans become "true"/"false" like compose does.
            result[key] = str(item).lower() if isinstance(item, bool) else str(item)
        return result
    if spec.choices and value not in spec.choices:
        raise invalid_input(path, value, f"must be one of {', '.join(map(str, spec.choices))}")
    return value


def validate(spec: Field, value: Any, path: str) -> Any:
    """Validate ``value`` against ``spec``; return it normalised (defaults filled)."""
    if value is None:
        if spec.required:
            raise invalid_input(path, value, "is required")
        default = spec.default
        if spec.kind == "dict" and default is not None:
            return validate(spec, dict(default), path)
        return list(default) if isinstance(default, list) else default
    if spec.kind == "dict":
        if spec.shorthand is not None and not isinstance(value, dict):
            value = {spec.shorthand: value}
        if not isinstance(value, dict):
            raise _wrong_type(spec, value, path)
        unknown = [key for key in value if key not in spec.keys]
        if unknown:
            key = unknown[0]
            raise invalid_input(
                f"{path}.{key}" if path else str(key), value[key], f"unknown key (allowed: {', '.join(spec.keys)})"
            )
        return {key: validate(sub, value.get(key), f"{path}.{key}" if path else key) for key, sub in spec.keys.items()}
    if spec.kind == "list":
        if not isinstance(value, list):
            raise _wrong_type(spec, value, path)
        if spec.elements is None:  # pragma: no cover - every list field of the schema has elements
            raise ValueError(f"schema error: list field {path} has no elements")
        return [validate(spec.elements, item, f"{path}[{index}]") for index, item in enumerate(value)]
    return _scalar(spec, value, path)


def _containers(config: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(path, container) for every container, in start order: mocks, services, test."""
    found = [(f"mocks[{i}]", c) for i, c in enumerate(config["mocks"])]
    found += [(f"services[{i}]", c) for i, c in enumerate(config["services"])]
    if config["test"] is not None:
        found.append(("test", config["test"]))
    return found


def _check_cross_fields(config: dict[str, Any]) -> None:
    """Rules across fields: unique names and host ports, backoff bounds."""
    names: dict[str, str] = {}
    host_ports: dict[tuple[int, str], str] = {}
    for path, container in _containers(config):
        for name in [container["name"], *container["aliases"]]:
            if name in names:
                raise invalid_input(f"{path}.name", name, f"is already used by {names[name]}")
            names[name] = path
        for index, port in enumerate(container["ports"]):
            if port["host_port"] is None:
                continue
            key = (port["host_port"], port["protocol"])
            where = f"{path}.ports[{index}].host_port"
            if key in host_ports:
                raise invalid_input(where, port["host_port"], f"is already requested by {host_ports[key]}")
            host_ports[key] = where
        initial, largest = container["backoff_initial_ms"], container["backoff_max_ms"]
        if initial is not None and largest is not None and largest < initial:
            raise invalid_input(f"{path}.backoff_max_ms", largest, f"must be >= backoff_initial_ms ({initial})")
    tuning = config["resilience"]["container"]
    if (
        tuning["backoff_initial_ms"] is not None
        and tuning["backoff_max_ms"] is not None
        and tuning["backoff_max_ms"] < tuning["backoff_initial_ms"]
    ):
        raise invalid_input(
            "resilience.container.backoff_max_ms",
            tuning["backoff_max_ms"],
            f"must be >= backoff_initial_ms ({tuning['backoff_initial_ms']})",
        )


def normalize(raw: Any, source: str = "config") -> dict[str, Any]:
    """Validate a whole configuration (a parsed ``e2e.yaml``); return it with every default filled."""
    if not isinstance(raw, dict):
        raise invalid_input(
            source,
            raw if isinstance(raw, (str, int, float, bool)) else type(raw).__name__,
            "must be a mapping of sections",
        )
    config = validate(Field("dict", "", keys=CONFIG_SCHEMA), raw, "")
    if config["network"]["name"] is None:
        config["network"]["name"] = f"argus-{config['project']}"
    _check_cross_fields(config)
    tuning = config["resilience"]["container"]
    if not tuning["restart_on_failure"]:
        tuning["max_restarts"] = 0
    # The guard's own rules (memory >= 6m, env names, ...), reported with this file's field paths.
    for path, container in _containers(config):
        spec_from_params(guard_spec(container, config), prefix=f"{path}.")
    return config


def parse_yaml(text: str, source: str = "e2e.yaml") -> Any:
    """Parse YAML text; a syntax error is INVALID_INPUT naming the line."""
    import yaml  # PyYAML is a runtime requirement of the collection

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
        raise invalid_input(where, None, f"is not valid YAML ({getattr(exc, 'problem', None) or exc})") from None


def merge(file_config: Mapping[str, Any] | None, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Sections given as variables replace the file's sections (``None`` = not given)."""
    merged = dict(file_config or {})
    merged.update({key: value for key, value in overrides.items() if value is not None})
    return merged


def load_config(
    text: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    source: str = "e2e.yaml",
    new_run_id: Callable[[], str] | None = None,
) -> dict[str, Any]:
    """Parse ``text`` (may be ``None``), apply ``overrides``, validate, fill the run id."""
    raw = parse_yaml(text, source) if text is not None else {}
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise invalid_input(source, type(raw).__name__, "must be a mapping of sections (project, services, ...)")
    config = normalize(merge(raw, overrides or {}), source)
    if config["run_id"] is None and new_run_id is not None:
        config["run_id"] = new_run_id()
    return config


def port_name(container: str, port: Mapping[str, Any]) -> str:
    """The name a published port has in argus_port_resolve: ``<container>-<port>[-udp]``."""
    suffix = "-udp" if port["protocol"] == "udp" else ""
    return f"{container}-{port['container_port']}{suffix}"


def port_requests(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``ports`` option of argus_port_resolve: every published port of the mocks and services."""
    requests = []
    for _path, container in _containers(config):
        for port in container["ports"]:
            if port["host_port"] is not None:
                requests.append(
                    {
                        "name": port_name(container["name"], port),
                        "port": port["host_port"],
                        "protocol": port["protocol"],
                    }
                )
    return requests


def connectivity_targets(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``targets`` of argus_network_verify: every TCP port of every mock and service, by container name."""
    targets = []
    for section in ("mocks", "services"):
        for container in config[section]:
            for port in container["ports"]:
                if port["protocol"] == "tcp":
                    targets.append(
                        {
                            "name": f"{container['name']}:{port['container_port']}",
                            "host": container["name"],
                            "port": port["container_port"],
                        }
                    )
    return targets


def guard_spec(container: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    """One entry of argus_container_guard's ``containers``: the container plus the resilience defaults.

    Unset values are left out so that the guard's own defaults apply.
    """
    tuning = config["resilience"]["container"]
    bind_address = config["resilience"]["ports"]["bind_address"]
    spec: dict[str, Any] = {}
    for key, value in container.items():
        if key in GUARD_TUNING and value is None:
            value = tuning[key]
        if key == "healthcheck" and value is not None:
            value = {k: v for k, v in value.items() if v is not None}
        if key == "ports":
            value = [
                {
                    k: v
                    for k, v in dict(port, bind_address=port.get("bind_address") or bind_address).items()
                    if v is not None
                }
                for port in value
            ]
        if value is None or (key in ("aliases",) and not value):
            continue
        spec[key] = value
    if not tuning["restart_on_failure"]:
        spec["max_restarts"] = 0
    spec["network"] = config["network"]["name"]
    spec["port_strategy"] = config["resilience"]["ports"]["strategy"]
    return spec


def apply_ports(containers: list[Mapping[str, Any]], ports: Mapping[str, int]) -> list[dict[str, Any]]:
    """Replace each published port's ``host_port`` by the port argus_port_resolve chose."""
    result = []
    for container in containers:
        updated = dict(container)
        new_ports = []
        for port in container.get("ports") or []:
            port = dict(port)
            if port.get("host_port") is not None:
                port.setdefault("protocol", "tcp")
                port["host_port"] = int(ports.get(port_name(container["name"], port), port["host_port"]))
            new_ports.append(port)
        updated["ports"] = new_ports
        result.append(updated)
    return result


def setup_plan(config: Mapping[str, Any]) -> dict[str, Any]:
    """Everything the role needs from a normalised config, derived once."""
    return {
        "mocks": [guard_spec(c, config) for c in config["mocks"]],
        "services": [guard_spec(c, config) for c in config["services"]],
        "test": guard_spec(config["test"], config) if config["test"] is not None else None,
        "port_requests": port_requests(config),
        "targets": connectivity_targets(config),
    }


def describe_schema(schema: Mapping[str, Field] | None = None, prefix: str = "") -> list[tuple[str, Field]]:
    """Flatten the schema (default: the whole e2e.yaml) to (path, field) rows, for the documentation."""
    schema = CONFIG_SCHEMA if schema is None else schema
    rows = []
    for key, spec in schema.items():
        path = f"{prefix}.{key}" if prefix else key
        rows.append((path, spec))
        if spec.kind == "dict":
            rows.extend(describe_schema(spec.keys, path))
        elif spec.kind == "list" and spec.elements is not None and spec.elements.kind == "dict":
            rows.extend(describe_schema(spec.elements.keys, f"{path}[]"))
    return rows

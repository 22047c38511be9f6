# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the container guard is asked to run: one validated :class:`ContainerSpec` per container.

The options and their rules come from ``guard/options.py``; this file adds what one option cannot
say alone (an image for ``started``, aliases need a network, ``backoff_max_ms >= backoff_initial_ms``,
a container port listed once, environment names) and turns values into the forms the guard uses
(memory in bytes, ports as :class:`PortSpec`, the healthcheck as :class:`HealthSpec`). Every
problem of one container is reported at once, before the daemon is touched. ``config_hash`` is the
idempotence key stored in the ``argusai.config-hash`` label.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.errors import invalid_input
from ansible_collections.argusai.resilience.plugins.module_utils.guard.options import CONTAINER_OPTIONS, DEFAULTS
from ansible_collections.argusai.resilience.plugins.module_utils.options import Problems, validate_value

CONFIG_HASH = "argusai.config-hash"

_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([bkmg]?)b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
# Docker refuses limits below 6 MiB; say so before the daemon does.
MIN_MEMORY_BYTES = 6 * 1024**2
_ENV_NAME = re.compile(r"^[^=\s][^=]*$")


def memory_bytes(value: Any) -> int | None:
    """``8m`` / ``512M`` / ``1g`` / ``1024k`` / ``123`` (bytes) -> bytes; None stays None.

    Raises ValueError with the reason for anything else, or for less than Docker's 6 MiB.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("must be a size such as 8m, 512M or 1g")
    if isinstance(value, int):
        amount = value
    else:
        match = _MEMORY.match(str(value))
        if not match:
            raise ValueError("must be a size such as 8m, 512M or 1g (units b, k, m, g)")
        amount = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    if amount < MIN_MEMORY_BYTES:
        raise ValueError("must be at least 6m (Docker's minimum memory limit)")
    return amount


def parse_memory(value: Any, field_name: str = "memory") -> int | None:
    """:func:`memory_bytes`, failing with INVALID_INPUT naming ``field_name``."""
    try:
        return memory_bytes(value)
    except ValueError as exc:
        raise invalid_input(field_name, value, str(exc)) from None


@dataclass(frozen=True)
class PortSpec:
    container_port: int
    host_port: int | None = None  # None: Docker picks an ephemeral port
    protocol: str = "tcp"
    bind_address: str = ""  # "": published without a host address (every address of the host)

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


class ContainerSpec:
    """One container under the guard, validated: every option of the table is an attribute.

    Immutable; options not given take the table's default. ``ports`` is a tuple of
    :class:`PortSpec`, ``healthcheck`` a :class:`HealthSpec` or None, ``memory`` bytes or None,
    ``command`` a string, a tuple or None, ``env`` a dict of strings.
    """

    __slots__ = ("_values",)

    def __init__(self, **values: Any) -> None:
        unknown = set(values) - set(DEFAULTS)
        if unknown:
            raise TypeError(f"unknown container options: {', '.join(sorted(unknown))}")
        merged = dict(DEFAULTS, ports=(), aliases=(), env={})
        merged.update({key: value for key, value in values.items() if value is not None})
        merged["service"] = merged["service"] or merged["name"]
        object.__setattr__(self, "_values", merged)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("ContainerSpec is immutable")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ContainerSpec) and self._values == other._values

    def __hash__(self) -> int:
        return hash(self.config_hash())

    def __repr__(self) -> str:
        shown = {key: ("<hidden>" if key == "env" else value) for key, value in self._values.items()}
        return f"ContainerSpec({shown})"

    def docker_arguments(self) -> dict[str, dict[str, Any]]:
        """The set values of the options declared with ``docker``, by where they go (``create``, ``host_config``)."""
        arguments: dict[str, dict[str, Any]] = {"create": {}, "host_config": {}}
        for option in CONTAINER_OPTIONS:
            value = self._values[option.name]
            if option.docker and value is not None:
                where, _dot, argument = option.docker.partition(".")
                arguments[where][argument] = value
        return arguments

    def config_hash(self) -> str:
        """Hash of the options that define the container (``recreate``); a change means recreate."""
        payload = {option.name: _hashable(self._values[option.name]) for option in CONTAINER_OPTIONS if option.recreate}
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _hashable(value: Any) -> Any:
    if isinstance(value, HealthSpec):
        return value.to_docker()
    if isinstance(value, PortSpec):
        return [value.container_port, value.host_port, value.protocol, value.bind_address]
    if isinstance(value, (tuple, list)):
        return [_hashable(item) for item in value]
    if isinstance(value, Mapping):
        return {key: _hashable(item) for key, item in sorted(value.items())}
    return value


def _healthcheck(value: Mapping[str, Any]) -> HealthSpec:
    test = value["test"]
    if isinstance(test, str):
        test = ("CMD-SHELL", test)
    elif test[0] in ("CMD", "CMD-SHELL", "NONE"):
        test = tuple(test)
    else:
        test = ("CMD", *test)
    return HealthSpec(test, value["interval"], value["timeout"], value["retries"], value["start_period"])


def _ports(values: list[Mapping[str, Any]], where: str, problems: Problems) -> tuple[PortSpec, ...]:
    ports: list[PortSpec] = []
    seen: set[str] = set()
    for index, item in enumerate(values):
        spec = PortSpec(item["container_port"], item["host_port"], item["protocol"], item["bind_address"] or "")
        if spec.key in seen:
            problems.add(f"{where}[{index}]", spec.key, "container port listed twice")
        seen.add(spec.key)
        ports.append(spec)
    return tuple(ports)


def spec_from_params(params: Mapping[str, Any], prefix: str = "") -> ContainerSpec:
    """Validate one container's options (module params or one ``containers`` item); all problems at once."""
    problems = Problems()
    values = {
        option.name: validate_value(option, params.get(option.name), prefix + option.name, problems, coerce=True)
        for option in CONTAINER_OPTIONS
    }
    if values["name"] is None and "name" not in {p["field"] for p in problems.items}:
        problems.add(prefix + "name", None, "is required")
    image = values["image"]
    if values["state"] == "started" and (not isinstance(image, str) or not image.strip()):
        problems.add(prefix + "image", image, "is required when state is started")
    if values["aliases"] and values["network"] is None:
        problems.add(prefix + "aliases", values["aliases"], "need a network (the default bridge has no aliases)")
    initial, largest = values["backoff_initial_ms"], values["backoff_max_ms"]
    if initial is not None and largest is not None and largest < initial:
        problems.add(prefix + "backoff_max_ms", largest, f"must be >= backoff_initial_ms ({initial})")
    for key in values["env"] or {}:
        if not _ENV_NAME.match(key):
            problems.add(prefix + "env", key, "variable names must be non-empty and contain no '=' or spaces")
    if values["ports"]:
        values["ports"] = _ports([p for p in values["ports"] if p], prefix + "ports", problems)
    try:
        values["memory"] = memory_bytes(params.get("memory"))
    except ValueError as exc:
        problems.add(prefix + "memory", params.get("memory"), str(exc))
    problems.raise_if_any()
    if values["healthcheck"] is not None:
        values["healthcheck"] = _healthcheck(values["healthcheck"])
    if isinstance(values["command"], list):
        values["command"] = tuple(values["command"])
    values["aliases"] = tuple(values["aliases"] or ())
    return ContainerSpec(**values)


def specs_from_params(params: Mapping[str, Any]) -> list[ContainerSpec]:
    """Every container of a guard call (the single form, or each ``containers`` item), validated."""
    if params.get("containers") is None:
        return [spec_from_params(params)]
    if not params["containers"]:
        raise invalid_input("containers", [], "must list at least one container")
    specs = [spec_from_params(item, f"containers[{index}].") for index, item in enumerate(params["containers"])]
    names = [spec.name for spec in specs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise invalid_input("containers", duplicates, "container names must be unique")
    return specs

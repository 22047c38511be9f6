# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the setup modules take, derived from a normalised configuration (``config/loader.py``).

The role runs :func:`setup_plan` once: the arguments of each of its module calls (``calls``), and
the parts they are made of for playbooks that call the modules themselves (the guard's
``containers`` entries, the port requests of ``argus_port_resolve``, the connectivity targets of
``argus_network_verify``). Every key of the file reaches the role through here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.guard.options import TUNING_OPTIONS

TUNING_KEYS = frozenset(option.name for option in TUNING_OPTIONS)


def containers(config: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(path, container) for every container, in start order: mocks, services, test."""
    found = [(f"mocks[{i}]", c) for i, c in enumerate(config.get("mocks") or [])]
    found += [(f"services[{i}]", c) for i, c in enumerate(config.get("services") or [])]
    found.append(("test", config.get("test")))
    return [(path, container) for path, container in found if isinstance(container, dict)]


def port_name(service: str, port: Mapping[str, Any]) -> str:
    """The name a published port has in argus_port_resolve: ``<service>-<port>[-udp]``."""
    suffix = "-udp" if port["protocol"] == "udp" else ""
    return f"{service}-{port['container_port']}{suffix}"


def port_requests(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``ports`` option of argus_port_resolve: every published port of the mocks and services."""
    requests = []
    for _path, container in containers(config):
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
    """The ``targets`` of argus_network_verify: every TCP port of every mock and service, by service name."""
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


def docker_name(container: Mapping[str, Any], project: str) -> str:
    """The container's Docker name: ``container_name``, else ``<project>-<name>``."""
    return container.get("container_name") or f"{project}-{container['name']}"


def guard_item(container: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    """One entry of argus_container_guard's ``containers``: the container plus the resilience defaults.

    ``name`` is the Docker name (:func:`docker_name`); the file's name is the ``service`` and an
    alias on the project network. Unset values are left out so that the guard's own defaults apply.
    """
    tuning = config["resilience"]["container"]
    bind_address = config["resilience"]["ports"]["bind_address"]
    spec: dict[str, Any] = {"name": docker_name(container, config["project"]), "service": container["name"]}
    for key, value in container.items():
        if key in ("name", "container_name"):
            continue
        if key == "aliases":
            own = [container["name"]] if container["name"] is not None else []  # None: a problem reported already
            value = [*own, *[alias for alias in value or [] if alias != container["name"]]]
        if key in TUNING_KEYS and value is None:
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
    spec["network_driver"] = config["network"]["driver"]
    spec["port_strategy"] = config["resilience"]["ports"]["strategy"]
    return spec


def apply_ports(items: list[Mapping[str, Any]], ports: Mapping[str, int]) -> list[dict[str, Any]]:
    """Replace each published port's ``host_port`` by the port argus_port_resolve chose."""
    result = []
    for container in items:
        updated = dict(container)
        new_ports = []
        for port in container.get("ports") or []:
            port = dict(port)
            if port.get("host_port") is not None:
                port.setdefault("protocol", "tcp")
                service = container.get("service") or container["name"]
                port["host_port"] = int(ports.get(port_name(service, port), port["host_port"]))
            new_ports.append(port)
        updated["ports"] = new_ports
        result.append(updated)
    return result


def _set(values: Mapping[str, Any]) -> dict[str, Any]:
    """The values that are set: unset ones are left to the module's own defaults."""
    return {key: value for key, value in values.items() if value is not None}


def setup_calls(config: Mapping[str, Any], mocks: list[dict[str, Any]], others: list[dict[str, Any]]) -> dict[str, Any]:
    """The arguments of the argus_setup role's module calls, beyond ``project``, ``run_id`` and the
    Docker connection the role adds to each. ``mocks`` and ``others`` (the services, then the test
    container) are the guard's entries (:func:`guard_item`).

    ``preflight`` (argus_preflight, with the orphan cleanup) and ``guard`` (argus_container_guard:
    ports, every tier, the connectivity check) are None when the configuration turns them off or
    has no container; ``orphan_clean`` is whether argus_orphan_clean runs on its own (the preflight
    off, the cleanup on). ``docker`` is the file's connection (the role's variables win over it);
    ``circuit_breaker`` the breaker settings the file sets.
    """
    resilience = config["resilience"]
    preflight = resilience["preflight"]
    ports = resilience["ports"]
    network = resilience["network"]
    items = mocks + others
    targets = connectivity_targets(config)
    verify = None
    if network["verify_connectivity"] and config["test"] is not None and targets:
        test = others[-1]
        verify = {
            "container": test["name"],
            "network": config["network"]["name"],
            "targets": targets,
            "probe_timeout": network["probe_timeout"],
            "wait_seconds": network["wait_seconds"],
            "probe_image": test["image"],
        }
    guard = {
        "containers": items,
        "start_first": [item["name"] for item in mocks],
        "keep_services": [item["service"] for item in items],
        "resolve_ports": _set({k: ports[k] for k in ("strategy", "max_attempts", "bind_address")})
        if ports["enabled"]
        else None,
        "verify": verify,
    }
    return {
        "preflight": _set({k: v for k, v in preflight.items() if k != "enabled"}) if preflight["enabled"] else None,
        "orphan_clean": not preflight["enabled"] and preflight["clean_orphans"],
        "guard": guard if items else None,
        "docker": dict(config["docker"]),
        "circuit_breaker": _set(resilience["circuit_breaker"]),
    }


def setup_plan(config: Mapping[str, Any]) -> dict[str, Any]:
    """Everything the role needs from a normalised config, derived once."""
    mocks = [guard_item(c, config) for c in config["mocks"]]
    services = [guard_item(c, config) for c in config["services"]]
    test = guard_item(config["test"], config) if config["test"] is not None else None
    return {
        "calls": setup_calls(config, mocks, services + ([test] if test else [])),
        "mocks": mocks,
        "services": services,
        "test": test,
        "port_requests": port_requests(config),
        "targets": connectivity_targets(config),
    }

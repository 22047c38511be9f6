# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Docker side of the guard: find, create, start (re-resolving taken ports) and describe containers.

Only containers labeled ``argusai.managed=true`` for the same project are ever modified: a foreign
container of the wanted name is an error and is never touched.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.docker_client import NotFound
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError, classify, from_exception
from ansible_collections.argusai.resilience.plugins.module_utils.events import EventLog
from ansible_collections.argusai.resilience.plugins.module_utils.guard import diagnostics
from ansible_collections.argusai.resilience.plugins.module_utils.guard.outcome import GuardOutcome
from ansible_collections.argusai.resilience.plugins.module_utils.guard.spec import CONFIG_HASH, ContainerSpec, PortSpec
from ansible_collections.argusai.resilience.plugins.module_utils.labels import (
    PROJECT,
    RUN_ID,
    SERVICE,
    is_managed,
    resource_labels,
)
from ansible_collections.argusai.resilience.plugins.module_utils.ports.leases import supersede

MAX_PORT_RETRIES = 3


def describe(container: Any) -> dict[str, Any]:
    """The ``container`` return value: ``{id, name, status, health, ports, image, run_id}``."""
    attrs = container.attrs
    state = attrs.get("State") or {}
    ports = []
    for key, bindings in sorted(((attrs.get("NetworkSettings") or {}).get("Ports") or {}).items()):
        port, _slash, protocol = key.partition("/")
        for binding in bindings or []:
            ports.append(
                {
                    "container_port": int(port),
                    "protocol": protocol,
                    "host_ip": binding.get("HostIp"),
                    "host_port": int(binding["HostPort"]) if binding.get("HostPort") else None,
                }
            )
    labels = (attrs.get("Config") or {}).get("Labels") or {}
    return {
        "id": container.id,
        "name": container.name,
        "status": state.get("Status"),
        "health": (state.get("Health") or {}).get("Status") or None,  # Podman: "" without a healthcheck
        "ports": ports,
        "image": (attrs.get("Config") or {}).get("Image"),
        "run_id": labels.get(RUN_ID),
        "service": labels.get(SERVICE),
    }


class Containers:
    """The project's containers and networks on one Docker client.

    ``port_resolver(spec, port, host_port, exclude) -> mapping`` picks a new host port after Docker
    said "port is already allocated" (defaults to ports.single_port.reresolve_after_allocation_error).
    """

    _network_lock = threading.Lock()

    def __init__(
        self,
        client: Any,
        project: str,
        events: EventLog,
        port_resolver: Callable[..., dict[str, Any]] | None = None,
    ) -> None:
        self.client = client
        self.project = project
        self.events = events
        self.port_resolver = port_resolver or self._default_port_resolver

    def existing(self, name: str) -> Any | None:
        """The container of that name, if any; a foreign one is an error (never touched)."""
        try:
            container = self.client.containers.get(name)
        except NotFound:
            return None
        if not is_managed(container.labels, self.project):
            owner = (container.labels or {}).get(PROJECT) if is_managed(container.labels) else None
            if owner:
                whose = f"belongs to project {owner!r}"
            elif is_managed(container.labels):
                whose = "carries no argusai.project label"
            else:
                whose = "is not managed by this collection (no argusai.managed=true label)"
            raise ArgusError(
                "INVALID_INPUT",
                f"a container named {name!r} exists and {whose}, not project {self.project!r}; it is never "
                "modified: choose another name or remove it yourself",
                {
                    "field": "name",
                    "value": name,
                    "cause": "name_taken",
                    "container_id": container.id,
                    "owner_project": owner,
                },
            )
        return container

    def image_id(self, image: str) -> str:
        try:
            return self.client.images.get(image).id
        except Exception as exc:
            raise from_exception(exc, f"image {image} is not on the Docker host (never pulled)", image=image) from exc

    def ensure_network(self, name: str, run_id: str, driver: str) -> None:
        """Reuse the network of that name, else create it with ``driver`` and the project's labels."""
        with self._network_lock:
            if any(net.name == name for net in self.client.networks.list(names=[name])):
                return
            try:
                self.client.networks.create(
                    name, driver=driver, labels=resource_labels(self.project, run_id), check_duplicate=True
                )
            except Exception:
                # another run (another process) may have created it in the meantime: reuse it then
                if not any(net.name == name for net in self.client.networks.list(names=[name])):
                    raise

    def create(self, spec: ContainerSpec, run_id: str, bindings: dict[str, int | None]) -> Any:
        api = self.client.api
        passed = spec.docker_arguments()
        port_bindings: dict[str, Any] = {}
        for port in spec.ports:
            host_port = bindings.get(port.key)
            # no bind address: no host IP at all (Podman does not serve an explicit 0.0.0.0)
            port_bindings[port.key] = (port.bind_address, host_port)
        host_config = api.create_host_config(
            port_bindings=port_bindings or None,
            mem_limit=spec.memory,
            memswap_limit=spec.memory,  # no swap on top: the limit is the limit
            network_mode=spec.network,
            **passed["host_config"],
        )
        networking_config = None
        if spec.network:
            endpoint = api.create_endpoint_config(aliases=list(spec.aliases) or None)
            networking_config = api.create_networking_config({spec.network: endpoint})
        labels = resource_labels(self.project, run_id, service=spec.service)
        labels[CONFIG_HASH] = spec.config_hash()
        created = api.create_container(
            command=list(spec.command) if isinstance(spec.command, tuple) else spec.command,
            environment=dict(spec.env) or None,
            labels=labels,
            ports=[(port.container_port, port.protocol) for port in spec.ports] or None,
            host_config=host_config,
            networking_config=networking_config,
            healthcheck=spec.healthcheck.to_docker() if spec.healthcheck else None,
            detach=True,
            **passed["create"],
        )
        return self.client.containers.get(created["Id"])

    def start(self, spec: ContainerSpec, container: Any, outcome: GuardOutcome, bindings: dict) -> Any:
        """Start; on "port is already allocated" with port_strategy auto, re-resolve and recreate."""
        for retry in range(MAX_PORT_RETRIES + 1):
            try:
                outcome.run_since_ns = time.time_ns()
                began = time.monotonic()
                container.start()
                outcome.start_seconds = time.monotonic() - began
                container.reload()
                supersede(self.client, container)  # it holds its ports now: their leases end
                return container
            except Exception as exc:  # noqa: BLE001 - classified below by the one table
                code, cause = classify(exc)
                if code == "PORT_CONFLICT" and spec.port_strategy != "auto":
                    self.events.emit(
                        "port_conflict",
                        service=spec.service,
                        ports=[port for port in bindings.values() if port],
                        strategy=spec.port_strategy,
                        cause=cause,
                    )
                if code != "PORT_CONFLICT" or spec.port_strategy != "auto" or retry == MAX_PORT_RETRIES:
                    raise self._start_error(spec, container, outcome, exc) from exc
                run_id = (container.labels or {}).get(RUN_ID) or outcome.run_id
                self._reassign(spec, bindings, outcome)
                container.remove(force=True)  # ours and never ran: the bindings are fixed at create
                container = self.create(spec, run_id, bindings)
        raise AssertionError("unreachable")

    def restart(self, spec: ContainerSpec, container: Any, outcome: GuardOutcome) -> Any:
        """Start the same container again (stopped first if still up), on the ports it was given."""
        container.reload()
        if container.status in ("running", "paused", "restarting"):
            container.stop(timeout=spec.stop_timeout)
        bindings = {port.key: port.host_port for port in spec.ports}
        for mapping in outcome.port_mappings:
            if mapping.get("reassigned"):
                bindings[f"{mapping['container_port']}/{mapping.get('protocol', 'tcp')}"] = mapping["actual_port"]
        return self.start(spec, container, outcome, bindings)

    def _start_error(self, spec: ContainerSpec, container: Any, outcome: GuardOutcome, exc: Exception) -> ArgusError:
        error = from_exception(exc, f"container {spec.name} could not start")
        error.details["container_name"] = spec.name
        try:
            diag = diagnostics.capture(container, secrets=spec.env.values())
        except Exception:  # noqa: BLE001 - the start error is what matters
            diag = None
        if diag is not None:
            error.details["diagnostics"] = diag
        outcome.final_status = diag["status"] if diag else None
        error.details["restart_history"] = outcome.restart_history
        if spec.remove_on_failure:
            self.remove_quietly(container, outcome)
        return error

    def _reassign(self, spec: ContainerSpec, bindings: dict[str, int | None], outcome: GuardOutcome) -> None:
        """Move the published ports that are taken (all of them if none can be told apart)."""
        fixed = [port for port in spec.ports if bindings.get(port.key)]
        taken = [port for port in fixed if self._looks_taken(port, bindings[port.key])] or fixed
        exclude = {port for port in bindings.values() if port}
        for port in taken:
            mapping = self.port_resolver(spec, port, bindings[port.key], exclude)
            exclude.add(mapping["actual_port"])
            bindings[port.key] = mapping["actual_port"]
            outcome.port_mappings = [m for m in outcome.port_mappings if m.get("container_port") != port.container_port]
            outcome.port_mappings.append(dict(mapping, container_port=port.container_port))

    def _looks_taken(self, port: PortSpec, host_port: int) -> bool:
        from ansible_collections.argusai.resilience.plugins.module_utils.ports.single_port import port_holder

        try:  # read-only: testing a port must not lease it
            return port_holder(host_port, port.protocol, port.bind_address, client=self.client) is not None
        except ArgusError:
            return True

    def _default_port_resolver(self, spec: ContainerSpec, port: PortSpec, host_port: int, exclude: set) -> dict:
        from ansible_collections.argusai.resilience.plugins.module_utils.ports.single_port import (
            reresolve_after_allocation_error,
        )

        return reresolve_after_allocation_error(
            spec.service,
            host_port,
            protocol=port.protocol,
            bind_address=port.bind_address,
            exclude=exclude,
            client=self.client,
            events=self.events,
            project=self.project,
        )

    def mappings(self, spec: ContainerSpec, container: Any, reassigned: list[dict] | None = None) -> list[dict]:
        """``port_mappings``: requested vs actual host port of every published container port."""
        moved = {m["container_port"]: m for m in reassigned or []}
        actual = {(p["container_port"], p["protocol"]): p["host_port"] for p in describe(container)["ports"]}
        mappings = []
        for port in spec.ports:
            host_port = actual.get((port.container_port, port.protocol))
            mapping = {
                "service": spec.service,
                "container_port": port.container_port,
                "protocol": port.protocol,
                "original_port": port.host_port,
                "actual_port": host_port,
                "reassigned": port.host_port is not None and host_port != port.host_port,
            }
            if port.container_port in moved and "occupied_by" in moved[port.container_port]:
                mapping["occupied_by"] = moved[port.container_port]["occupied_by"]
            mappings.append(mapping)
        return mappings

    def remove_quietly(self, container: Any, outcome: GuardOutcome) -> None:
        try:
            container.remove(force=True)
            outcome.final_status = "removed"
        except Exception:  # noqa: BLE001 - the failure being reported matters more
            pass

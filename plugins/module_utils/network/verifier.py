# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Network verification between containers: can the test container reach each target?

From inside the test container (``docker exec``), each target's name is resolved through Docker's
embedded DNS, the address is checked against the containers attached to the network (nothing
else is ever probed), and a TCP connection is opened to the port. Targets run concurrently in
threads; each retries until ``wait_seconds`` (services may still be starting), one deadline fixed
for all targets before the first probe: no attempt starts after it, so the run ends within
``wait_seconds`` plus one attempt per round of workers. Each probe step is bounded by
``probe_timeout``; each Docker API request (inspect, exec) by the client's timeout, which must
outlast one probe (``options.validate_options``).

The probe adapts to what the test container has (detected once, by one exec; ``prober`` runs the
scripts of ``probe_scripts``):

* resolvers, in order: python (``socket.getaddrinfo``), ``getent hosts``, ``nslookup``;
* connectors, in order: python (``socket.create_connection``), ``nc -z``, busybox ``nc -e true``
  (exits once connected), plain ``nc`` (stdin closed), bash's ``/dev/tcp``.

When the test container lacks them (or has no shell at all), the probe runs in a short-lived
helper container that shares the test container's network namespace
(``network_mode=container:<id>``), labeled with the project and removed afterwards. When that is
not possible either, targets are reported as ``probe_unavailable`` -- never as unreachable.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.backoff import delay_ms
from ansible_collections.argusai.resilience.plugins.module_utils.deadline import Deadline
from ansible_collections.argusai.resilience.plugins.module_utils.docker_client import NotFound
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError, invalid_input, utc_now
from ansible_collections.argusai.resilience.plugins.module_utils.events import EventLog
from ansible_collections.argusai.resilience.plugins.module_utils.network.options import (
    Target,
    VerifyOptions,
    validate_options,
)
from ansible_collections.argusai.resilience.plugins.module_utils.network.parsers import ipv4
from ansible_collections.argusai.resilience.plugins.module_utils.network.probe_scripts import ProbeKit
from ansible_collections.argusai.resilience.plugins.module_utils.network.prober import Prober
from ansible_collections.argusai.resilience.plugins.module_utils.network.results import (
    DNS_FAILED,
    OUTSIDE_NETWORK,
    PROBE_UNAVAILABLE,
    REACHABLE,
    UNREACHABLE,
    count_attempt,
    failure_for,
    new_result,
)
from ansible_collections.argusai.resilience.plugins.module_utils.network.topology import (
    endpoint_addresses,
    inspect_network,
    missing,
    read_topology,
)

RETRY_INITIAL_MS = 250
RETRY_MAX_MS = 2000


class NetworkVerifier:
    """Verify that the test container reaches every target; see the module docstring.

    ``run()`` returns the report ``{results, all_reachable, network_topology, probe, timestamp,
    duration_ms}``; ``failure`` then holds the ArgusError for a report with unreachable targets
    (None when all are reachable). Missing container or network, or bad options, raise
    ArgusError (INVALID_INPUT) before anything is probed.
    """

    def __init__(
        self,
        client: Any,
        options: VerifyOptions,
        events: EventLog | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.api = client.api
        self.options = validate_options(options, self.api.timeout)
        self.events = events or EventLog(options.project, options.run_id)
        self.clock = clock
        self.sleep = sleep
        self.failure: ArgusError | None = None
        self.network_name = ""
        self._allowed: set[str] = set()
        self._lock = threading.Lock()
        self.prober = Prober(self.api, self.options)

    # -- the test container and the network --------------------------------------------

    def _topology(self) -> dict[str, Any]:
        topology = read_topology(self.api, self.network_name)
        self.network_name = topology["network"] or self.network_name
        with self._lock:
            self._allowed = {entry["ipv4"] for entry in topology["containers"] if entry["ipv4"]}
        return topology

    def _test_container(self) -> dict[str, Any]:
        name = self.options.container
        try:
            container = self.api.inspect_container(name)
        except NotFound as exc:
            raise missing("test container", "container", name) from exc
        state = container.get("State") or {}
        if not state.get("Running"):
            raise ArgusError(
                "INVALID_INPUT",
                f"test container {name!r} is not running (status {state.get('Status')}); probes run inside it",
                {"field": "container", "value": name, "cause": "not_running", "status": state.get("Status")},
            )
        return container

    def _pick_network(self, container: dict[str, Any]) -> str:
        networks = sorted(((container.get("NetworkSettings") or {}).get("Networks") or {}).keys())
        if self.options.network:
            return self.options.network
        user_networks = [n for n in networks if n not in ("bridge", "host", "none")]
        if len(user_networks) == 1:
            return user_networks[0]
        raise invalid_input(
            "network", None, f"is required: the test container is attached to {', '.join(networks) or 'no network'}"
        )

    def _check_attached(self, container: dict[str, Any], network: dict[str, Any]) -> None:
        attached = network.get("Containers") or {}
        if container["Id"] in attached:
            return
        networks = sorted(((container.get("NetworkSettings") or {}).get("Networks") or {}).keys())
        name = self.options.container
        raise ArgusError(
            "INVALID_INPUT",
            f"test container {name!r} is not attached to the network {network.get('Name')!r} "
            f"(it is on: {', '.join(networks) or 'no network'}); attach it or choose its network",
            {"field": "network", "value": network.get("Name"), "cause": "not_attached", "container_networks": networks},
        )

    # -- targets ------------------------------------------------------------------------

    def _allowed_addresses(self, refresh: bool = False) -> list[str]:
        """IPv4 addresses of the containers on the network (re-read when ``refresh``)."""
        if refresh:
            try:
                fresh = endpoint_addresses(inspect_network(self.api, self.network_name))
            except ArgusError:
                fresh = set()
            with self._lock:
                self._allowed |= fresh
        with self._lock:
            return sorted(self._allowed)

    def _attempt(self, kit: ProbeKit, target: Target, result: dict[str, Any]) -> bool:
        """One resolve+connect attempt; updates ``result``; returns True when it is final."""
        if ipv4(target.host):
            resolution, picked, connection = self.prober.resolve(kit, target.host), None, None  # no exec
            if target.host in self._allowed_addresses() or target.host in self._allowed_addresses(refresh=True):
                picked, connection = target.host, self.prober.connect(kit, target.host, target.port)
        else:
            resolution, picked, connection = self.prober.resolve_and_connect(
                kit, target.host, target.port, self._allowed_addresses()
            )
            if resolution.state == "resolved" and picked is None:
                # a container may have joined the network since the topology was read: look again
                fresh = self._allowed_addresses(refresh=True)
                if any(address in fresh for address in resolution.addresses):
                    resolution, picked, connection = self.prober.resolve_and_connect(
                        kit, target.host, target.port, fresh
                    )
        if resolution.state == "error":
            result.update(status=PROBE_UNAVAILABLE, dns_resolved=None, reachable=None, error=resolution.error)
            return False
        if resolution.state == "not_found":
            result.update(status=DNS_FAILED, dns_resolved=False, address=None, reachable=False, error=resolution.error)
            return False
        if picked is None or connection is None:
            result.update(
                status=OUTSIDE_NETWORK,
                dns_resolved=True,
                address=resolution.addresses[0],
                reachable=False,
                error=f"{', '.join(resolution.addresses)} is no container on the network {self.network_name}; "
                "not probed",
            )
            return True
        result.update(dns_resolved=True, address=picked)
        if connection.state == "open":
            result.update(status=REACHABLE, reachable=True, latency_ms=connection.latency_ms, error=None)
            return True
        if connection.state == "closed":
            result.update(status=UNREACHABLE, reachable=False, latency_ms=None, error=connection.error)
        else:
            result.update(status=PROBE_UNAVAILABLE, reachable=None, latency_ms=None, error=connection.error)
        return False

    def check_target(self, kit: ProbeKit, target: Target, deadline: Deadline) -> dict[str, Any]:
        """Probe one target until it answers or ``deadline`` passes (no attempt starts after it)."""
        result = new_result(target)
        result["probe"] = kit.method
        while True:
            started = self.clock()
            final = self._attempt(kit, target, result)
            count_attempt(result)
            last = final or deadline.expired()
            self.events.emit(
                "network_check",
                service=target.name,
                hostname=target.host,
                port=target.port,
                attempt=result["attempts"],
                final=last,
                status=result["status"],
                dns_resolved=result["dns_resolved"],
                address=result["address"],
                reachable=result["reachable"],
                latency_ms=result["latency_ms"],
                error=result["error"],
                probe=kit.method,
                duration_ms=int((self.clock() - started) * 1000),
            )
            if last:
                break
            retry_ms = delay_ms(result["attempts"], "exponential", RETRY_INITIAL_MS, RETRY_MAX_MS)
            self.sleep(deadline.cap(retry_ms / 1000.0))
        if result["status"] == DNS_FAILED:
            result["hint"] = self._dns_hint(target.host)
        return result

    def _dns_hint(self, host: str) -> str | None:
        """Why a name may not resolve: a container of that name on other networks only."""
        try:
            container = self.api.inspect_container(host)
        except Exception:  # noqa: BLE001 - a hint is optional; no container of that name
            return None
        networks = sorted(((container.get("NetworkSettings") or {}).get("Networks") or {}).keys())
        name = (container.get("Name") or host).lstrip("/")
        if self.network_name in networks:
            return None
        elsewhere = ", ".join(networks) or "no network"
        return f"a container {name} exists but is attached to {elsewhere}, not {self.network_name}"

    # -- the run ----------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        started = self.clock()
        container = self._test_container()
        self.network_name = self._pick_network(container)
        network = inspect_network(self.api, self.network_name)
        self.network_name = network.get("Name") or self.network_name
        self._check_attached(container, network)
        topology = self._topology()
        targets = self.options.targets
        try:
            kit, unavailable = self.prober.probe_kit(container)
            if kit is None:
                results = []
                for target in targets:
                    result = new_result(target)
                    result["error"] = unavailable
                    results.append(result)
                    self.events.emit(
                        "network_check",
                        service=target.name,
                        hostname=target.host,
                        port=target.port,
                        attempt=0,
                        final=True,
                        status=PROBE_UNAVAILABLE,
                        error=unavailable,
                    )
            else:
                deadline = Deadline(self.options.wait_seconds, self.clock)  # one for all: queued targets get no more
                workers = max(1, min(self.options.max_workers, len(targets)))
                with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argus-net") as pool:
                    results = list(pool.map(lambda t: self.check_target(kit, t, deadline), targets))
        finally:
            self.prober.remove_helper()
        if any(r["status"] in (DNS_FAILED, UNREACHABLE, OUTSIDE_NETWORK) for r in results):
            topology = self._topology()  # as it is now, after the wait: what the message explains
        all_reachable = all(r["status"] == REACHABLE for r in results)
        report = {
            "results": results,
            "all_reachable": all_reachable,
            "network_topology": topology,
            "probe": {
                "method": kit.method if kit else None,
                "where": kit.where if kit else None,
                "container": container["Id"][:12],
                "available": kit is not None,
                "reason": unavailable,
            },
            "duration_ms": int((self.clock() - started) * 1000),
            "timestamp": utc_now(),
        }
        self.failure = failure_for(
            results,
            topology,
            self.options.container,
            self.options.probe_image,
            probe_ran=kit is not None,
            wait_seconds=self.options.wait_seconds,
        )
        self.events.emit(
            "network_verified",
            all_reachable=all_reachable,
            network=self.network_name,
            targets=len(results),
            reachable=sum(1 for r in results if r["status"] == REACHABLE),
            failed=[r["service"] for r in results if r["status"] != REACHABLE],
            probe=report["probe"]["method"],
            duration_ms=report["duration_ms"],
            error_code=self.failure.code if self.failure else None,
        )
        return report

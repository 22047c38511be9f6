# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The container guard: start a labeled container, watch it, restart it with backoff, explain it.

One attempt = one run of the container from ``State.StartedAt``. It succeeds when the container
is running, healthy if it has a healthcheck (within ``startup_timeout``), and then stays so for
``stable_seconds``. It fails when the container dies (``die`` event), turns ``unhealthy`` or is
not healthy in time. Watching uses the Docker events stream of that container, bounded by the
daemon-side ``until`` (and a read timeout just beyond it, so that a frozen daemon cannot hang the guard).

On a failure the diagnostics are captured first (diagnostics.capture), the attempt is classified
(CONTAINER_OOM, HEALTH_CHECK_TIMEOUT, CONTAINER_CRASH), the backoff delay (backoff.delay_ms) is
waited, and the same container is started again (the delay runs from the death, as Docker dated
it, to the container running again: the start is issued early by the last start's latency),
up to ``max_restarts`` consecutive failures. A stable run resets both the backoff and the count
(``watch_seconds`` keeps watching after the first stable run). Exhaustion raises
CONTAINER_RESTART_EXHAUSTED with the whole history; the container is left for inspection unless
``remove_on_failure``.

Only containers labeled ``argusai.managed=true`` for the same project are ever modified.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils import diagnostics
from ansible_collections.argusai.resilience.plugins.module_utils.backoff import delay_ms
from ansible_collections.argusai.resilience.plugins.module_utils.docker_client import NotFound
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError, classify, from_exception
from ansible_collections.argusai.resilience.plugins.module_utils.events import EventLog
from ansible_collections.argusai.resilience.plugins.module_utils.guard_spec import CONFIG_HASH, ContainerSpec, PortSpec
from ansible_collections.argusai.resilience.plugins.module_utils.labels import (
    RUN_ID,
    is_managed,
    new_run_id,
    resource_labels,
)

WATCHDOG_SLACK_SECONDS = 30.0  # the daemon ends the stream at ``until``; silence beyond it means a hang
MAX_PORT_RETRIES = 3
WATCHED_EVENTS = ["die", "oom", "health_status"]

# Actions the guard takes on a container.
NONE, CREATE, RECREATE, START, REMOVE = "none", "create", "recreate", "start", "remove"


@dataclass
class Failure:
    """What the watcher saw end an attempt."""

    kind: str  # diagnostics.DIED / UNHEALTHY / NOT_HEALTHY_IN_TIME
    at_ns: int  # when it happened (the event's timeNano): the backoff counts from here
    oom_event: bool = False


@dataclass
class GuardOutcome:
    """The result for one container; ``error`` is set when the guard failed it."""

    name: str
    action: str = NONE
    changed: bool = False
    container: dict[str, Any] | None = None
    attempts: list[dict[str, Any]] = field(default_factory=list)
    final_status: str | None = None
    port_mappings: list[dict[str, Any]] = field(default_factory=list)
    run_id: str | None = None
    error: ArgusError | None = None
    duration_ms: int = 0
    run_since_ns: int | None = None  # just before the current run was started (events and logs since)
    start_seconds: float = 0.0  # how long the last start call took (Docker's own start latency)

    @property
    def restart_history(self) -> dict[str, Any]:
        return {"container_name": self.name, "attempts": self.attempts, "final_status": self.final_status}


def parse_docker_time(value: str | None) -> int | None:
    """Docker's RFC 3339 UTC time with nanoseconds -> epoch nanoseconds (None for the zero time)."""
    if not value or value.startswith("0001-"):
        return None
    from datetime import datetime, timezone

    text = value.rstrip("Z")
    base, _dot, fraction = text.partition(".")
    seconds = int(datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp())
    nanos = int((fraction + "000000000")[:9]) if fraction else 0
    return seconds * 1_000_000_000 + nanos


def _docker_ts(nanos: int) -> str:
    return f"{nanos // 1_000_000_000}.{nanos % 1_000_000_000:09d}"


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
        "health": (state.get("Health") or {}).get("Status"),
        "ports": ports,
        "image": (attrs.get("Config") or {}).get("Image"),
        "run_id": labels.get(RUN_ID),
    }


class ContainerGuardian:
    """Start and supervise containers of one project on one Docker client.

    ``port_resolver(spec, port, exclude) -> mapping`` picks a new host port after Docker said
    "port is already allocated" (defaults to ports.reresolve_after_allocation_error).
    ``sleep`` and ``rng`` are injectable for tests.
    """

    _network_lock = threading.Lock()

    def __init__(
        self,
        client: Any,
        project: str,
        run_id: str | None,
        events: EventLog,
        check_mode: bool = False,
        port_resolver: Callable[..., dict[str, Any]] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.project = project
        self.run_id = run_id
        self.events = events
        self.check_mode = check_mode
        self.port_resolver = port_resolver or self._default_port_resolver
        self.sleep = sleep
        self.rng = rng
        self._fresh_run_id: str | None = None

    # ------------------------------------------------------------------ public entry points
    def ensure(self, spec: ContainerSpec) -> GuardOutcome:
        """Bring one container to ``spec.state``; failures land in ``outcome.error``, never raise."""
        outcome = GuardOutcome(name=spec.name)
        started = time.monotonic()
        try:
            if spec.state == "absent":
                self._absent(spec, outcome)
            else:
                self._started(spec, outcome)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a structured error
            error = from_exception(exc)
            error.details.setdefault("container_name", spec.name)
            error.with_context(project=self.project, run_id=outcome.run_id or self.run_id)
            outcome.error = error
        outcome.duration_ms = int((time.monotonic() - started) * 1000)
        return outcome

    def ensure_all(self, specs: list[ContainerSpec]) -> list[GuardOutcome]:
        """Supervise several containers at once (one thread each); results in input order."""
        if len(specs) <= 1:
            return [self.ensure(spec) for spec in specs]
        with ThreadPoolExecutor(max_workers=len(specs), thread_name_prefix="argus-guard") as pool:
            return list(pool.map(self.ensure, specs))

    # ------------------------------------------------------------------ state: absent
    def _absent(self, spec: ContainerSpec, outcome: GuardOutcome) -> None:
        existing = self._existing(spec.name)
        if existing is None:
            outcome.final_status = "absent"
            return
        outcome.action, outcome.changed = REMOVE, True
        outcome.run_id = (existing.labels or {}).get(RUN_ID)
        if not self.check_mode:
            existing.remove(force=True)
        outcome.final_status = "absent" if not self.check_mode else existing.status

    # ------------------------------------------------------------------ state: started
    def _existing(self, name: str) -> Any | None:
        """The container of that name, if any; a foreign one is an error (never touched)."""
        try:
            container = self.client.containers.get(name)
        except NotFound:
            return None
        if not is_managed(container.labels, self.project):
            raise ArgusError(
                "INVALID_INPUT",
                f"a container named {name!r} exists and is not managed by project {self.project!r} "
                "(no argusai.managed/argusai.project labels); it is never modified: choose another name "
                "or remove it yourself",
                {"field": "name", "value": name, "cause": "name_taken", "container_id": container.id},
            )
        return container

    def _plan(self, spec: ContainerSpec, existing: Any | None, image_id: str) -> str:
        if existing is None:
            return CREATE
        labels = existing.labels or {}
        same = (
            labels.get(CONFIG_HASH) == spec.config_hash()
            and existing.attrs.get("Image") == image_id
            and (self.run_id is None or labels.get(RUN_ID) == self.run_id)
        )
        if not same:
            return RECREATE
        state = existing.attrs.get("State") or {}
        health = (state.get("Health") or {}).get("Status")
        if state.get("Running") and not state.get("Paused") and health in (None, "healthy", "starting"):
            return NONE
        return START

    def _image_id(self, image: str) -> str:
        try:
            return self.client.images.get(image).id
        except Exception as exc:
            raise from_exception(exc, f"image {image} is not on the Docker host (never pulled)", image=image) from exc

    def _started(self, spec: ContainerSpec, outcome: GuardOutcome) -> None:
        existing = self._existing(spec.name)
        image_id = self._image_id(spec.image or "")
        action = self._plan(spec, existing, image_id)
        outcome.action, outcome.changed = action, action != NONE
        if existing is not None and action in (NONE, START):
            outcome.run_id = (existing.labels or {}).get(RUN_ID)
        else:
            outcome.run_id = self.run_id or self._new_run_id(existing)
        if self.check_mode:
            outcome.container = describe(existing) if existing is not None and action != RECREATE else None
            outcome.final_status = existing.status if existing is not None else None
            outcome.port_mappings = self._mappings(spec, existing) if action in (NONE, START) else []
            return
        if action == NONE:
            if ((existing.attrs.get("State") or {}).get("Health") or {}).get("Status") == "starting":
                self._supervise(spec, existing, outcome)  # let the start under way finish, under the guard
                outcome.changed = bool(outcome.attempts)
            else:
                outcome.container = describe(existing)
                outcome.final_status = existing.status
                outcome.port_mappings = self._mappings(spec, existing)
            return
        if action == START:
            self._supervise(spec, self._restart(spec, existing, outcome), outcome)
            return
        if action == RECREATE:
            existing.remove(force=True)
        if spec.network:
            self._ensure_network(spec.network, outcome.run_id)
        bindings = {port.key: port.host_port for port in spec.ports}
        container = self._start(spec, self._create(spec, outcome.run_id, bindings), outcome, bindings)
        self._supervise(spec, container, outcome)

    def _new_run_id(self, existing: Any | None) -> str:
        if existing is not None and (existing.labels or {}).get(RUN_ID):
            return existing.labels[RUN_ID]
        if self._fresh_run_id is None:
            self._fresh_run_id = new_run_id()
            if self.events.run_id is None:
                self.events.run_id = self._fresh_run_id
        return self._fresh_run_id

    # ------------------------------------------------------------------ docker resources
    def _ensure_network(self, name: str, run_id: str) -> None:
        """Reuse the network of that name, else create it with the project's labels."""
        with self._network_lock:
            if any(net.name == name for net in self.client.networks.list(names=[name])):
                return
            try:
                self.client.networks.create(
                    name, driver="bridge", labels=resource_labels(self.project, run_id), check_duplicate=True
                )
            except Exception:
                # another run (another process) may have created it in the meantime: reuse it then
                if not any(net.name == name for net in self.client.networks.list(names=[name])):
                    raise

    def _create(self, spec: ContainerSpec, run_id: str, bindings: dict[str, int | None]) -> Any:
        api = self.client.api
        port_bindings: dict[str, Any] = {}
        for port in spec.ports:
            host_port = bindings.get(port.key)
            port_bindings[port.key] = (port.bind_address, str(host_port)) if host_port else (port.bind_address,)
        host_config = api.create_host_config(
            port_bindings=port_bindings or None,
            mem_limit=spec.memory,
            memswap_limit=spec.memory,  # no swap on top: the limit is the limit
            network_mode=spec.network,
        )
        networking_config = None
        if spec.network:
            endpoint = api.create_endpoint_config(aliases=list(spec.aliases) or None)
            networking_config = api.create_networking_config({spec.network: endpoint})
        labels = resource_labels(self.project, run_id, service=spec.name)
        labels[CONFIG_HASH] = spec.config_hash()
        created = api.create_container(
            image=spec.image,
            command=list(spec.command) if isinstance(spec.command, tuple) else spec.command,
            name=spec.name,
            environment=dict(spec.env) or None,
            labels=labels,
            ports=[(port.container_port, port.protocol) for port in spec.ports] or None,
            host_config=host_config,
            networking_config=networking_config,
            healthcheck=spec.healthcheck.to_docker() if spec.healthcheck else None,
            detach=True,
        )
        return self.client.containers.get(created["Id"])

    def _start(self, spec: ContainerSpec, container: Any, outcome: GuardOutcome, bindings: dict) -> Any:
        """Start; on "port is already allocated" with port_strategy auto, re-resolve and recreate."""
        for retry in range(MAX_PORT_RETRIES + 1):
            try:
                outcome.run_since_ns = time.time_ns()
                began = time.monotonic()
                container.start()
                outcome.start_seconds = time.monotonic() - began
                container.reload()
                return container
            except Exception as exc:  # noqa: BLE001 - classified below by the one table
                code, cause = classify(exc)
                if code == "PORT_CONFLICT" and spec.port_strategy != "auto":
                    self.events.emit(
                        "port_conflict",
                        service=spec.name,
                        ports=[port for port in bindings.values() if port],
                        strategy=spec.port_strategy,
                        cause=cause,
                    )
                if code != "PORT_CONFLICT" or spec.port_strategy != "auto" or retry == MAX_PORT_RETRIES:
                    raise self._start_error(spec, container, outcome, exc) from exc
                run_id = (container.labels or {}).get(RUN_ID) or outcome.run_id
                self._reassign(spec, bindings, outcome)
                container.remove(force=True)  # ours and never ran: the bindings are fixed at create
                container = self._create(spec, run_id, bindings)
        raise AssertionError("unreachable")

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
            self._remove_quietly(container, outcome)
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
        from ansible_collections.argusai.resilience.plugins.module_utils.ports import next_free_port

        try:
            return (
                next_free_port(host_port, port.protocol, port.bind_address, max_attempts=1, client=self.client)
                != host_port
            )
        except ArgusError:
            return True

    def _default_port_resolver(self, spec: ContainerSpec, port: PortSpec, host_port: int, exclude: set) -> dict:
        from ansible_collections.argusai.resilience.plugins.module_utils.ports import reresolve_after_allocation_error

        return reresolve_after_allocation_error(
            spec.name,
            host_port,
            protocol=port.protocol,
            bind_address=port.bind_address,
            exclude=exclude,
            client=self.client,
            events=self.events,
            project=self.project,
        )

    def _mappings(self, spec: ContainerSpec, container: Any, reassigned: list[dict] | None = None) -> list[dict]:
        """``port_mappings``: requested vs actual host port of every published container port."""
        moved = {m["container_port"]: m for m in reassigned or []}
        actual = {(p["container_port"], p["protocol"]): p["host_port"] for p in describe(container)["ports"]}
        mappings = []
        for port in spec.ports:
            host_port = actual.get((port.container_port, port.protocol))
            mapping = {
                "service": spec.name,
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

    def _remove_quietly(self, container: Any, outcome: GuardOutcome) -> None:
        try:
            container.remove(force=True)
            outcome.final_status = "removed"
        except Exception:  # noqa: BLE001 - the failure being reported matters more
            pass

    # ------------------------------------------------------------------ supervision
    def _supervise(self, spec: ContainerSpec, container: Any, outcome: GuardOutcome) -> None:
        consecutive = 0
        secrets = tuple(spec.env.values())
        while True:
            failure, started_ns = self._watch_attempt(spec, container, outcome.run_since_ns)
            if failure is None and spec.watch_seconds > 0:
                consecutive = 0  # a stable run: the backoff and the restart count start over
                failure = self._watch_window(container, time.time_ns(), spec.watch_seconds)
            if failure is None:
                container.reload()
                outcome.container = describe(container)
                outcome.final_status = container.status
                outcome.port_mappings = self._mappings(spec, container, outcome.port_mappings)
                if outcome.attempts:
                    self.events.emit(
                        "restart_success",
                        container=spec.name,
                        container_id=container.id,
                        attempts=len(outcome.attempts),
                        final_status=outcome.final_status,
                    )
                return
            since = started_ns / 1e9 if started_ns else None
            diag = diagnostics.capture(container, since=since, oom_event=failure.oom_event, secrets=secrets)
            code, cause = diagnostics.classify(diag, failure.kind)
            consecutive += 1
            entry: dict[str, Any] = {
                "attempt": len(outcome.attempts) + 1,
                "reason": code,
                "cause": cause,
                "message": diagnostics.summary(code, diag),
                "delay_ms": None,
                "restarted": False,
                "diagnostics": diag,
            }
            outcome.attempts.append(entry)
            if consecutive > spec.max_restarts:
                self._give_up(spec, container, outcome, code, diag)
            entry["delay_ms"] = delay_ms(
                consecutive, spec.backoff, spec.backoff_initial_ms, spec.backoff_max_ms, spec.jitter, self.rng
            )
            self.events.emit(
                "restart_attempt",
                container=spec.name,
                container_id=container.id,
                attempt=entry["attempt"],
                reason=code,
                cause=cause,
                delay_ms=entry["delay_ms"],
                exit_code=diag["exit_code"],
                oom_killed=diag["oom_killed"],
            )
            # The delay runs from the death to the container running again: start early by what the
            # last start took, so that Docker's own start latency does not stretch the schedule.
            delay_s = entry["delay_ms"] / 1000.0
            remaining = delay_s - (time.time_ns() - failure.at_ns) / 1e9 - min(outcome.start_seconds, delay_s)
            if remaining > 0:
                self.sleep(remaining)
            container = self._restart(spec, container, outcome)
            entry["restarted"] = True

    def _restart(self, spec: ContainerSpec, container: Any, outcome: GuardOutcome) -> Any:
        container.reload()
        if container.status in ("running", "paused", "restarting"):
            container.stop(timeout=spec.stop_timeout)
        bindings = {port.key: port.host_port for port in spec.ports}
        for mapping in outcome.port_mappings:
            if mapping.get("reassigned"):
                bindings[f"{mapping['container_port']}/{mapping.get('protocol', 'tcp')}"] = mapping["actual_port"]
        return self._start(spec, container, outcome, bindings)

    def _give_up(self, spec: ContainerSpec, container: Any, outcome: GuardOutcome, code: str, diag: dict) -> None:
        outcome.final_status = diag.get("status")
        if spec.remove_on_failure:
            self._remove_quietly(container, outcome)
        outcome.container = describe(container) if outcome.final_status != "removed" else None
        last = diagnostics.summary(code, diag)
        details = {
            "container_name": spec.name,
            "container_id": container.id,
            "last_reason": code,
            "restart_history": outcome.restart_history,
        }
        if spec.max_restarts == 0:  # no restart was asked for: the attempt's own code is the answer
            raise ArgusError(code, last, dict(details, diagnostics=diag))
        self.events.emit(
            "restart_exhausted",
            container=spec.name,
            container_id=container.id,
            attempts=len(outcome.attempts),
            max_restarts=spec.max_restarts,
            last_reason=code,
        )
        raise ArgusError(
            "CONTAINER_RESTART_EXHAUSTED",
            f"container {spec.name} failed {len(outcome.attempts)} times, {spec.max_restarts} restarts used; "
            f"last: {last}",
            dict(details, max_restarts=spec.max_restarts),
        )

    def _watch_attempt(
        self, spec: ContainerSpec, container: Any, since_ns: int | None
    ) -> tuple[Failure | None, int | None]:
        """Watch the current run until it is stable (None) or failed; returns it with its start time.

        ``since_ns``: taken just before the start call (a quick death can precede ``StartedAt``).
        """
        container.reload()
        state = container.attrs.get("State") or {}
        started_ns = parse_docker_time(state.get("StartedAt")) or time.time_ns()
        since_ns = since_ns or started_ns
        if not state.get("Running"):  # already gone: its events still tell when, and Docker's oom word
            kind, at_ns, oom = self._events(container.id, since_ns, time.time_ns(), want_healthy=False)
            return Failure(diagnostics.DIED, at_ns if kind == diagnostics.DIED else time.time_ns(), oom), since_ns
        stable_from = started_ns
        if spec.healthcheck is not None:
            until = started_ns + int(spec.startup_timeout * 1e9)
            kind, at_ns, oom = self._events(container.id, since_ns, until, want_healthy=True)
            if kind == "healthy":
                stable_from = at_ns
            elif kind != "timeout":
                return Failure(kind, at_ns, oom), since_ns
            else:
                container.reload()
                health = ((container.attrs.get("State") or {}).get("Health") or {}).get("Status")
                if health != "healthy":
                    return Failure(diagnostics.NOT_HEALTHY_IN_TIME, time.time_ns(), oom), since_ns
                stable_from = time.time_ns()
        failure = self._watch_window(container, min(since_ns, stable_from), spec.stable_seconds, stable_from)
        return failure, since_ns

    def _watch_window(
        self, container: Any, since_ns: int, seconds: float, from_ns: int | None = None
    ) -> Failure | None:
        """No death for ``seconds`` from ``from_ns`` (default ``since_ns``); events read from ``since_ns``."""
        until_ns = (from_ns or since_ns) + int(seconds * 1e9)
        kind, at_ns, oom = self._events(container.id, since_ns, until_ns, want_healthy=False)
        if kind != "timeout":
            return Failure(kind, at_ns, oom)
        container.reload()
        if container.status != "running":  # e.g. a die the stream could not deliver
            return Failure(diagnostics.DIED, time.time_ns(), oom)
        return None

    def _open_events(self, container_id: str, since_ns: int, until_ns: int) -> Any:
        """GET /events for one container in [since, until], as a streamed response.

        The SDK's ``events()`` sends the request without any timeout; a frozen daemon would hang the
        guard forever. Here the read timeout is the time left until ``until`` plus a slack: the
        daemon closes the stream at ``until``, so silence beyond that means it is stuck.
        """
        api = self.client.api
        filters = {"type": ["container"], "container": [container_id], "event": WATCHED_EVENTS}
        read_timeout = max(0.0, (until_ns - time.time_ns()) / 1e9) + WATCHDOG_SLACK_SECONDS
        response = api.get(
            f"{api.base_url}/v{api.api_version}/events",
            params={"since": _docker_ts(since_ns), "until": _docker_ts(until_ns), "filters": json.dumps(filters)},
            stream=True,
            timeout=(api.timeout, read_timeout),
        )
        if response.status_code >= 400:
            text = response.text[:300]
            response.close()
            raise ArgusError(
                "DOCKER_API_ERROR", f"Docker refused the events request: {text}", {"status": response.status_code}
            )
        return response

    def _events(self, container_id: str, since_ns: int, until_ns: int, want_healthy: bool) -> tuple[str, int, bool]:
        """Read the container's events in [since, until]: ``(kind, time_ns, oom_seen)``.

        kind: ``died``, ``unhealthy``, ``healthy`` (only when wanted) or ``timeout``.
        """
        response = self._open_events(container_id, since_ns, until_ns)
        oom = False
        try:
            for line in response.iter_lines():
                if not line:
                    continue
                event = json.loads(line)
                at_ns = int(event.get("timeNano") or 0)
                if at_ns and at_ns < since_ns:
                    continue
                action = event.get("Action") or event.get("status") or ""
                if action == "oom":
                    oom = True
                elif action == "die":
                    return diagnostics.DIED, at_ns, oom
                elif action.startswith("health_status"):
                    status = action.partition(":")[2].strip()
                    if status == "unhealthy":
                        return diagnostics.UNHEALTHY, at_ns, oom
                    if status == "healthy" and want_healthy:
                        return "healthy", at_ns, oom
        except (ValueError, OSError) as exc:  # bad JSON; requests' errors (a stalled read) are OSErrors
            raise from_exception(exc, "the Docker events stream of the container broke off or stalled") from exc
        finally:
            response.close()
        return "timeout", until_ns, oom

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Docker events of one container, read as one bounded stream: how the guard watches.

``EventStream(client).watch(container_id, since_ns, until_ns, want_healthy)`` asks the daemon for
the container's ``die``, ``oom`` and ``health_status`` events in [since, until] and returns the
first one that ends the watch (a death, ``unhealthy``, or ``healthy`` when wanted), else a timeout
at ``until``. The daemon itself ends the stream at ``until``. The watch returns by ``until`` plus
WATCHDOG_SLACK_SECONDS whatever the daemon does: the stream is read in a helper thread, and a
stream still open then (a frozen daemon, or one that keeps sending events past ``until``) fails
the watch with DOCKER_UNAVAILABLE (cause ``timeout``). ``open`` starts the same watch without
waiting for it (guard/exec_health.py waits for it together with the health probes it runs).

Podman's Docker API (measured on 4.3.1) differs on the wire: it parses ``since``/``until`` as
whole epoch seconds or RFC 3339 (a ``seconds.nanoseconds`` value matches nothing at all, with
status 200), its event filter knows a death as ``died`` (it sends it as ``die``), and a
``health_status`` event carries the status in ``Actor.Attributes.health_status``. The runtime
(``runtime``: machine/runtime.py's DOCKER or PODMAN) picks the time format.
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
from collections.abc import Iterable
from typing import Any, NamedTuple

from ansible_collections.argusai.resilience.plugins.module_utils.deadline import Deadline
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError, from_exception
from ansible_collections.argusai.resilience.plugins.module_utils.guard.diagnostics import DIED, UNHEALTHY
from ansible_collections.argusai.resilience.plugins.module_utils.machine.runtime import DOCKER, PODMAN

WATCHDOG_SLACK_SECONDS = 30.0  # the daemon ends the stream at ``until``; still open beyond it means a hang
# "died": what Podman's filter calls a death (Docker ignores the name)
WATCHED_EVENTS = ["die", "died", "oom", "health_status"]

# Sighting kinds besides diagnostics.DIED and diagnostics.UNHEALTHY.
HEALTHY = "healthy"
TIMEOUT = "timeout"


class Sighting(NamedTuple):
    """What ended a watch, when (the event's ``timeNano``), and whether Docker's ``oom`` event came first."""

    kind: str  # DIED, UNHEALTHY, HEALTHY (only when wanted) or TIMEOUT (at_ns is then ``until``)
    at_ns: int
    oom: bool


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


def rfc3339(nanos: int) -> str:
    """Epoch nanoseconds as RFC 3339 UTC with nanoseconds (what Podman parses to the nanosecond)."""
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(nanos // 1_000_000_000))
    return f"{seconds}.{nanos % 1_000_000_000:09d}Z"


TIME_FORMATS = {DOCKER: _docker_ts, PODMAN: rfc3339}


def _health_status(event: dict[str, Any], action: str) -> str:
    """Docker: ``health_status: healthy``; Podman: ``health_status`` and the status as an attribute."""
    status = action.partition(":")[2].strip()
    return status or str(((event.get("Actor") or {}).get("Attributes") or {}).get("health_status") or "")


def first_event(lines: Iterable[bytes | str], since_ns: int, until_ns: int, want_healthy: bool) -> Sighting:
    """The first of the stream's JSON ``lines`` that ends the watch, else TIMEOUT at ``until_ns``.

    Events dated before ``since_ns`` are skipped; one dated after ``until_ns`` ends the watch (the
    daemon should have closed the stream). Bad JSON raises ValueError.
    """
    oom = False
    for line in lines:
        if not line:
            continue
        event = json.loads(line)
        at_ns = int(event.get("timeNano") or 0)
        if at_ns and at_ns < since_ns:
            continue
        if at_ns > until_ns:
            break
        action = event.get("Action") or event.get("status") or ""
        if action == "oom":
            oom = True
        elif action in ("die", "died"):
            return Sighting(DIED, at_ns, oom)
        elif action.startswith("health_status"):
            status = _health_status(event, action)
            if status == "unhealthy":
                return Sighting(UNHEALTHY, at_ns, oom)
            if status == "healthy" and want_healthy:
                return Sighting(HEALTHY, at_ns, oom)
    return Sighting(TIMEOUT, until_ns, oom)


class EventStream:
    """Watches containers through GET /events of one Docker client (``runtime``: see the module docstring)."""

    def __init__(self, client: Any, runtime: str = DOCKER) -> None:
        self.client = client
        self.runtime = runtime

    def watch(self, container_id: str, since_ns: int, until_ns: int, want_healthy: bool = False) -> Sighting:
        """Read the container's events in [since, until] until one ends the watch (see first_event).

        Returns (or raises) by ``until`` (now, for a past window) plus WATCHDOG_SLACK_SECONDS.
        """
        pending = self.open(container_id, since_ns, until_ns, want_healthy)
        try:
            outcome = pending.outcomes.get(timeout=pending.deadline.remaining())
        except queue.Empty:
            outcome = TimeoutError(f"the daemon had not ended the stream {WATCHDOG_SLACK_SECONDS:g} s after its end")
        finally:
            pending.close()
        return pending.result_of(outcome)

    def open(
        self,
        container_id: str,
        since_ns: int,
        until_ns: int,
        want_healthy: bool = False,
        outcomes: queue.Queue | None = None,
    ) -> PendingWatch:
        """Start the watch of :meth:`watch` and return at once; its Sighting (or the exception that
        ended the read) is put in ``outcomes`` (a new queue by default) as the reader ends."""
        deadline = Deadline(max(0.0, (until_ns - time.time_ns()) / 1e9) + WATCHDOG_SLACK_SECONDS)
        response = self._open(container_id, since_ns, until_ns, deadline)
        pending = PendingWatch(response, deadline, outcomes if outcomes is not None else queue.Queue())

        def reader() -> None:
            try:
                pending.outcomes.put(first_event(response.iter_lines(), since_ns, until_ns, want_healthy))
            except Exception as exc:  # noqa: BLE001 - handed to the watching thread
                pending.outcomes.put(exc)

        # A read timeout bounds each read, not the stream: a daemon that keeps sending would keep a
        # reader in this thread forever. The reader thread is abandoned at the deadline instead.
        threading.Thread(target=reader, name="argus-events", daemon=True).start()
        return pending

    def _open(self, container_id: str, since_ns: int, until_ns: int, deadline: Deadline) -> Any:
        """GET /events for one container in [since, until], as a streamed response.

        The SDK's ``events()`` sends the request without any timeout; a frozen daemon would hang the
        guard forever. Here each read waits at most until the watch's deadline.
        """
        api = self.client.api
        filters = {"type": ["container"], "container": [container_id], "event": WATCHED_EVENTS}
        stamp = TIME_FORMATS.get(self.runtime, _docker_ts)
        response = api.get(
            f"{api.base_url}/v{api.api_version}/events",
            params={"since": stamp(since_ns), "until": stamp(until_ns), "filters": json.dumps(filters)},
            stream=True,
            timeout=(api.timeout, deadline.remaining()),
        )
        if response.status_code >= 400:
            text = response.text[:300]
            response.close()
            raise ArgusError(
                "DOCKER_API_ERROR", f"Docker refused the events request: {text}", {"status": response.status_code}
            )
        return response


class PendingWatch:
    """A watch under way (EventStream.open): its reader puts one outcome in ``outcomes``; ``deadline``
    is when the daemon should long have ended the stream; ``close`` ends the request, at once even
    while the reader still waits on it."""

    def __init__(self, response: Any, deadline: Deadline, outcomes: queue.Queue) -> None:
        self.response = response
        self.deadline = deadline
        self.outcomes = outcomes

    def close(self) -> None:
        # Closing a response waits for a read in progress (the reader's, until the daemon sends or
        # ends the stream): shut its socket first, so that the read returns now.
        sock = getattr(getattr(getattr(getattr(self.response, "raw", None), "_fp", None), "fp", None), "raw", None)
        with contextlib.suppress(AttributeError, OSError):
            sock._sock.shutdown(socket.SHUT_RDWR)
        self.response.close()

    @staticmethod
    def result_of(outcome: Sighting | Exception) -> Sighting:
        """The reader's outcome as the watch's answer: a Sighting, or its failure raised as an ArgusError."""
        if isinstance(outcome, (ValueError, OSError)):  # bad JSON; requests' errors (a stalled read) are OSErrors
            raise from_exception(outcome, "the Docker events stream of the container broke off or stalled") from outcome
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

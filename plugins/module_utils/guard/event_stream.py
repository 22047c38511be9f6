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
the watch with DOCKER_UNAVAILABLE (cause ``timeout``).
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterable
from typing import Any, NamedTuple

from ansible_collections.argusai.resilience.plugins.module_utils.deadline import Deadline
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError, from_exception
from ansible_collections.argusai.resilience.plugins.module_utils.guard.diagnostics import DIED, UNHEALTHY

WATCHDOG_SLACK_SECONDS = 30.0  # the daemon ends the stream at ``until``; still open beyond it means a hang
WATCHED_EVENTS = ["die", "oom", "health_status"]

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
        elif action == "die":
            return Sighting(DIED, at_ns, oom)
        elif action.startswith("health_status"):
            status = action.partition(":")[2].strip()
            if status == "unhealthy":
                return Sighting(UNHEALTHY, at_ns, oom)
            if status == "healthy" and want_healthy:
                return Sighting(HEALTHY, at_ns, oom)
    return Sighting(TIMEOUT, until_ns, oom)


class EventStream:
    """Watches containers through GET /events of one Docker client."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def watch(self, container_id: str, since_ns: int, until_ns: int, want_healthy: bool = False) -> Sighting:
        """Read the container's events in [since, until] until one ends the watch (see first_event).

        Returns (or raises) by ``until`` (now, for a past window) plus WATCHDOG_SLACK_SECONDS.
        """
        deadline = Deadline(max(0.0, (until_ns - time.time_ns()) / 1e9) + WATCHDOG_SLACK_SECONDS)
        response = self._open(container_id, since_ns, until_ns, deadline)
        read: queue.Queue[Sighting | Exception] = queue.Queue(maxsize=1)

        def reader() -> None:
            try:
                read.put(first_event(response.iter_lines(), since_ns, until_ns, want_healthy))
            except Exception as exc:  # noqa: BLE001 - handed to the watching thread
                read.put(exc)

        # A read timeout bounds each read, not the stream: a daemon that keeps sending would keep a
        # reader in this thread forever. The reader thread is abandoned at the deadline instead.
        threading.Thread(target=reader, name="argus-events", daemon=True).start()
        try:
            outcome = read.get(timeout=deadline.remaining())
        except queue.Empty:
            outcome = TimeoutError(f"the daemon had not ended the stream {WATCHDOG_SLACK_SECONDS:g} s after its end")
        finally:
            response.close()
        if isinstance(outcome, (ValueError, OSError)):  # bad JSON; requests' errors (a stalled read) are OSErrors
            raise from_exception(outcome, "the Docker events stream of the container broke off or stalled") from outcome
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def _open(self, container_id: str, since_ns: int, until_ns: int, deadline: Deadline) -> Any:
        """GET /events for one container in [since, until], as a streamed response.

        The SDK's ``events()`` sends the request without any timeout; a frozen daemon would hang the
        guard forever. Here each read waits at most until the watch's deadline.
        """
        api = self.client.api
        filters = {"type": ["container"], "container": [container_id], "event": WATCHED_EVENTS}
        response = api.get(
            f"{api.base_url}/v{api.api_version}/events",
            params={"since": _docker_ts(since_ns), "until": _docker_ts(until_ns), "filters": json.dumps(filters)},
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

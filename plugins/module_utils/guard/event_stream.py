# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Docker events of one container, read as one bounded stream: how the guard watches.

``EventStream(client).watch(container_id, since_ns, until_ns, want_healthy)`` asks the daemon for
the container's ``die``, ``oom`` and ``health_status`` events in [since, until] and returns the
first one that ends the watch (a death, ``unhealthy``, or ``healthy`` when wanted), else a timeout
at ``until``. The daemon itself ends the stream at ``until``; a read timeout just beyond it makes
sure that a frozen daemon cannot hang the guard.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any, NamedTuple

from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError, from_exception
from ansible_collections.argusai.resilience.plugins.module_utils.guard.diagnostics import DIED, UNHEALTHY

WATCHDOG_SLACK_SECONDS = 30.0  # the daemon ends the stream at ``until``; silence beyond it means a hang
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

    Events dated before ``since_ns`` are skipped. Bad JSON raises ValueError.
    """
    oom = False
    for line in lines:
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
        """Read the container's events in [since, until] until one ends the watch (see first_event)."""
        response = self._open(container_id, since_ns, until_ns)
        try:
            return first_event(response.iter_lines(), since_ns, until_ns, want_healthy)
        except (ValueError, OSError) as exc:  # bad JSON; requests' errors (a stalled read) are OSErrors
            raise from_exception(exc, "the Docker events stream of the container broke off or stalled") from exc
        finally:
            response.close()

    def _open(self, container_id: str, since_ns: int, until_ns: int) -> Any:
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

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one lock: a labeled Docker volume whose name is the lock, kept in the daemon itself.

State that every controller using a daemon must see (port leases, cleanup turns) lives in that
daemon, not in one machine's ``/tmp``. A volume name is unique within a daemon, so creating one is
an atomic test-and-set: Docker answers the create of an existing name with the existing volume,
Podman with 409 Conflict; either way the random token label tells the creator whether it got it.

A lock volume is labeled ``argusai.managed=true``, ``argusai.lock=<kind>``,
``argusai.lock-token=<random>``, ``argusai.lock-ttl=<seconds>`` plus what the caller adds
(project, run id, created-at, service). It expires ``ttl`` seconds after its ``CreatedAt``, read on
the daemon's clock, so controllers whose clocks differ agree. An expired lock is stale (its holder
died or never released it): whoever finds it may break it. Breaking is guarded: only the creator
of ``<name>-break-<token>`` removes the stale lock, after checking its token once more, so two
breakers never remove a lock that a third party took in between. A volume of a lock's name that
the collection did not make is never touched and never expires.
"""

from __future__ import annotations

import contextlib
import math
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils import labels as L
from ansible_collections.argusai.resilience.plugins.module_utils.cleanup.inventory import parse_timestamp
from ansible_collections.argusai.resilience.plugins.module_utils.deadline import Deadline
from ansible_collections.argusai.resilience.plugins.module_utils.docker_client import APIError, NotFound

TOKEN = "argusai.lock-token"
TTL = "argusai.lock-ttl"
BREAK = "break"
BREAK_TTL_SECONDS = 30.0
# Docker gives a volume's CreatedAt to the second (truncated): a lock may look up to 1 s older.
CREATED_PRECISION_SECONDS = 1.0
POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Lock:
    """A lock volume as the daemon answered it."""

    name: str
    labels: Mapping[str, str]
    created: datetime | None

    @classmethod
    def from_volume(cls, volume: Mapping[str, Any]) -> Lock:
        labels = dict(volume.get("Labels") or {})
        created = parse_timestamp(volume.get("CreatedAt")) or parse_timestamp(labels.get(L.CREATED_AT))
        return cls(str(volume["Name"]), labels, created)

    @property
    def managed(self) -> bool:
        """Made by the collection as a lock (anything else of that name is never touched)."""
        return self.labels.get(L.MANAGED) == "true" and bool(self.labels.get(L.LOCK))

    @property
    def kind(self) -> str | None:
        return self.labels.get(L.LOCK)

    @property
    def token(self) -> str:
        return self.labels.get(TOKEN) or ""

    @property
    def project(self) -> str | None:
        return self.labels.get(L.PROJECT)

    @property
    def run_id(self) -> str | None:
        return self.labels.get(L.RUN_ID)

    @property
    def service(self) -> str | None:
        return self.labels.get(L.SERVICE)

    def remaining(self, now: datetime) -> float:
        """Seconds until the lock is stale (<= 0: stale); infinite for a volume not ours."""
        if not self.managed:
            return math.inf
        try:
            ttl = float(self.labels.get(TTL, "0"))
        except ValueError:
            ttl = 0.0
        if self.created is None:  # no age to judge by: stale, or it could block for ever
            return 0.0
        return (self.created - now).total_seconds() + ttl + CREATED_PRECISION_SECONDS


class DaemonClock:
    """The daemon's time: its ``SystemTime`` read once (lazily), then advanced by this host's
    monotonic clock. This host's UTC time stands in when the daemon does not say."""

    def __init__(self, api: Any, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._api = api
        self._monotonic = monotonic
        self._base: tuple[datetime, float] | None = None

    def now(self) -> datetime:
        if self._base is None:
            try:
                daemon = parse_timestamp(self._api.info().get("SystemTime"))
            except Exception:  # noqa: BLE001 - the local clock is the fallback
                daemon = None
            self._base = (daemon or datetime.now(timezone.utc), self._monotonic())
        base, at = self._base
        return base + timedelta(seconds=self._monotonic() - at)


def _status(exc: BaseException) -> int | None:
    return getattr(exc, "status_code", None)


def inspect(api: Any, name: str) -> Lock | None:
    """The volume of that name, or None when there is none."""
    try:
        return Lock.from_volume(api.inspect_volume(name))
    except NotFound:
        return None


def claim(api: Any, name: str, kind: str, ttl: float, labels: Mapping[str, str]) -> tuple[bool, Lock | None]:
    """Create the lock volume: ``(True, lock)`` when this call got it, ``(False, holder)`` when
    another holds it (``holder`` is None when it vanished between Podman's 409 and the inspect).
    Other refusals of the daemon raise."""
    token = secrets.token_hex(16)
    wanted = {**labels, L.MANAGED: "true", L.LOCK: kind, TOKEN: token, TTL: str(int(math.ceil(ttl)))}
    try:
        volume = api.create_volume(name, driver="local", labels=wanted)
    except APIError as exc:
        # Podman refuses an existing name (409), and answers 500 "already exists" when two creates
        # cross; either way the volume that exists now is the holder
        holder = inspect(api, name)
        if holder is None and _status(exc) != 409:
            raise
        return holder is not None and holder.token == token, holder
    lock = Lock.from_volume(volume)
    return lock.token == token, lock


def release(api: Any, name: str, token: str | None = None) -> bool:
    """Remove the lock volume if it is a lock of the collection (and holds ``token`` when given).

    True when this call removed it. Between the check and the removal only a stale-lock breaker
    or the holder itself can change the lock (see the module docstring).
    """
    lock = inspect(api, name)
    if lock is None or not lock.managed or (token is not None and lock.token != token):
        return False
    try:
        api.remove_volume(name)
    except NotFound:
        return False
    return True


def listing(api: Any, kind: str, label_filters: tuple[str, ...] = ()) -> list[Lock]:
    """Every lock of ``kind`` with the ``label_filters`` (``key=value`` or ``key``).

    Every label is checked again here: Podman 4.3 matches a volume with ANY of several label
    filters (Docker: all of them), and a filter bug must never yield a foreign lock.
    """
    wanted = [f"{L.MANAGED}=true", f"{L.LOCK}={kind}", *label_filters]
    answer = api.volumes(filters={"label": wanted}) or {}
    locks = [Lock.from_volume(volume) for volume in answer.get("Volumes") or []]
    return [lock for lock in locks if all(_has_label(lock.labels, wanted_label) for wanted_label in wanted)]


def _has_label(labels: Mapping[str, str], label_filter: str) -> bool:
    key, equals, value = label_filter.partition("=")
    return key in labels and (not equals or labels[key] == value)


def break_stale(api: Any, lock: Lock, clock: DaemonClock) -> bool:
    """Remove ``lock``, found stale, unless it changed since; True when this call removed it.

    Only one breaker per stale token gets ``<name>-break-<token>``; a breaker that died leaves that
    volume behind, which is itself stale after BREAK_TTL_SECONDS and then removed.
    """
    breaker = f"{lock.name}-break-{(lock.token or 'none')[:16]}"
    ours, holder = claim(api, breaker, BREAK, BREAK_TTL_SECONDS, {L.CREATED_AT: clock.now().isoformat()})
    if not ours:
        if holder is not None and holder.remaining(clock.now()) <= 0:
            release(api, breaker, holder.token)
        return False
    try:
        return release(api, lock.name, lock.token)
    finally:
        release(api, breaker, holder.token)


@contextlib.contextmanager
def held(
    api: Any,
    name: str,
    kind: str,
    labels: Mapping[str, str],
    ttl: float,
    timeout: float,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> Iterator[Lock]:
    """Hold the lock ``name`` for the body, breaking it when its holder left it stale.

    Waits at most ``timeout`` seconds, a deadline fixed at the call, then raises TimeoutError.
    Docker errors propagate. The lock is released at the end; a release that fails leaves a lock
    that expires ``ttl`` seconds after it was taken.
    """
    deadline = Deadline(timeout, monotonic)
    clock = DaemonClock(api, monotonic)
    while True:
        ours, lock = claim(api, name, kind, ttl, labels)
        if ours and lock is not None:
            break
        broken = lock is not None and lock.remaining(clock.now()) <= 0 and break_stale(api, lock, clock)
        if deadline.expired():
            holder = f" (held by run {lock.run_id})" if lock is not None and lock.run_id else ""
            raise TimeoutError(f"lock {name} still held after {timeout:g}s{holder}")
        if not broken:  # a lock just broken is taken at once
            sleep(deadline.cap(POLL_SECONDS))
    try:
        yield lock
    finally:
        with contextlib.suppress(Exception):  # left behind, it expires by itself
            release(api, name, lock.token)

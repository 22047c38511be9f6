# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The circuit breaker state machine (controller side, pure: no Ansible, no I/O, no clock).

One breaker exists per host and project. Its state lives in the host facts cache as a plain
dict (``ansible_facts.argus_circuit[<project>]``), so :meth:`CircuitBreaker.from_dict` and
:meth:`CircuitBreaker.to_dict` are the only persistence this module knows about. Every
method that depends on time takes ``now`` (an aware ``datetime``) from the caller.

Transitions::

    closed    --(failure_threshold consecutive infrastructure failures)--> open
    open      --(reset, or cooldown_seconds elapsed before a call)-------> half-open
    half-open --(one good probe)-----------------------------------------> closed
    half-open --(one bad probe)------------------------------------------> open

Only infrastructure failures are recorded (the caller decides which, see
``errors.INFRASTRUCTURE_FAILURE_CODES``); a success resets the consecutive count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.module_options import BREAKER_SETTINGS
from ansible_collections.argusai.resilience.plugins.module_utils.options import Problems, defaults, validate_value

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half-open"
STATES = (CLOSED, OPEN, HALF_OPEN)

_DEFAULTS = defaults(BREAKER_SETTINGS)

# Event type (events.EVENT_TYPES) emitted when the breaker enters a state.
EVENT_FOR_STATE = {OPEN: "circuit_open", HALF_OPEN: "circuit_half_open", CLOSED: "circuit_closed"}

SETTING_KEYS = tuple(option.name for option in BREAKER_SETTINGS)


class SettingsError(ValueError):
    """A breaker setting has a bad value; ``field`` names it."""

    def __init__(self, field_name: str, value: Any, reason: str) -> None:
        super().__init__(f"{field_name}: {reason} (got {value!r})")
        self.field = field_name
        self.value = value
        self.reason = reason


def iso(moment: datetime) -> str:
    """``2026-11-25T10:00:00.123Z`` (the format of ``errors.utc_now``)."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: Any) -> datetime | None:
    """An aware datetime from an ISO-8601 string, or None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class BreakerSettings:
    """How a breaker behaves; from the ``argus_circuit_breaker`` variable."""

    failure_threshold: int = _DEFAULTS["failure_threshold"]
    cooldown_seconds: float | None = _DEFAULTS["cooldown_seconds"]
    enabled: bool = _DEFAULTS["enabled"]
    history_size: int = _DEFAULTS["history_size"]

    @classmethod
    def from_mapping(cls, *layers: Mapping[str, Any] | None) -> BreakerSettings:
        """Merge setting layers (later wins, key by key) and validate them (``module_options.BREAKER_SETTINGS``).

        Templated values may arrive as text (``"3"``, ``"yes"``). Raises :class:`SettingsError` naming the
        first bad key.
        """
        merged: dict[str, Any] = {}
        for layer in layers:
            if layer is None:
                continue
            if not isinstance(layer, Mapping):
                raise SettingsError("argus_circuit_breaker", layer, "must be a dictionary")
            unknown = sorted(str(key) for key in layer if key not in SETTING_KEYS)
            if unknown:
                raise SettingsError(unknown[0], layer[unknown[0]], f"unknown setting; known: {', '.join(SETTING_KEYS)}")
            merged.update(layer)
        problems = Problems()
        values = {
            option.name: validate_value(option, merged.get(option.name), option.name, problems, coerce=True)
            for option in BREAKER_SETTINGS
        }
        if problems.items:
            first = problems.items[0]
            raise SettingsError(first["field"], merged.get(first["field"]), first["reason"])
        return cls(**values)


@dataclass(frozen=True)
class Transition:
    """One state change, with why it happened."""

    previous: str
    current: str
    timestamp: str
    reason: str

    @property
    def event_type(self) -> str:
        return EVENT_FOR_STATE[self.current]

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.previous, "to": self.current, "timestamp": self.timestamp, "reason": self.reason}


@dataclass(frozen=True)
class Decision:
    """Whether a call may go ahead; ``retry_after_seconds`` is None when no cooldown is set."""

    allowed: bool
    retry_after_seconds: float | None = None
    transitions: tuple[Transition, ...] = ()


@dataclass
class CircuitBreaker:
    """The breaker of one host and project."""

    settings: BreakerSettings = field(default_factory=BreakerSettings)
    state: str = CLOSED
    failure_count: int = 0
    last_failure_time: str | None = None
    last_state_transition: dict[str, Any] | None = None
    failure_history: list[dict[str, Any]] = field(default_factory=list)

    # -- persistence ---------------------------------------------------------------------------

    @classmethod
    def from_dict(
        cls, data: Any, settings: BreakerSettings | None = None, name: str = "breaker"
    ) -> tuple[CircuitBreaker, list[str]]:
        """Rebuild a breaker from its facts-cache dict; never raises.

        Returns the breaker and a list of notes about what was unusable. A missing state
        (``None``) is a fresh closed breaker without notes; a state that is not a dict or has
        an unknown ``state`` starts closed and says so; bad single fields are dropped.
        """
        settings = settings or BreakerSettings()
        if data is None:
            return cls(settings), []
        if not isinstance(data, Mapping):
            return cls(settings), [f"{name}: stored state is not a dictionary ({type(data).__name__}); starting closed"]
        state = data.get("state")
        if state not in STATES:
            return cls(settings), [f"{name}: stored state has an unknown state {state!r}; starting closed"]
        notes: list[str] = []
        count = data.get("failure_count", 0)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            notes.append(f"{name}: failure_count {count!r} is not a count; using 0")
            count = 0
        last_failure = data.get("last_failure_time")
        if last_failure is not None and parse_time(last_failure) is None:
            notes.append(f"{name}: last_failure_time {last_failure!r} is not a timestamp; dropped")
            last_failure = None
        transition = data.get("last_state_transition")
        if transition is not None and not (
            isinstance(transition, Mapping) and parse_time(transition.get("timestamp")) is not None
        ):
            notes.append(f"{name}: last_state_transition is malformed; dropped")
            transition = None
        raw_history = data.get("failure_history") or []
        if not isinstance(raw_history, list):
            notes.append(f"{name}: failure_history is not a list; dropped")
            raw_history = []
        history = [dict(entry) for entry in raw_history if isinstance(entry, Mapping)]
        if len(history) != len(raw_history):
            notes.append(f"{name}: {len(raw_history) - len(history)} malformed failure_history entries dropped")
        breaker = cls(
            settings,
            state=state,
            failure_count=count,
            last_failure_time=last_failure,
            last_state_transition=dict(transition) if transition is not None else None,
            failure_history=history[-settings.history_size :],
        )
        return breaker, notes

    def to_dict(self) -> dict[str, Any]:
        """The facts-cache form (also the ``current`` / ``previous`` of ``argus_circuit``)."""
        return {
            "state": self.state,
            "failure_count": self.failure_count,
            "failure_threshold": self.settings.failure_threshold,
            "cooldown_seconds": self.settings.cooldown_seconds,
            "last_failure_time": self.last_failure_time,
            "last_state_transition": dict(self.last_state_transition) if self.last_state_transition else None,
            "failure_history": [dict(entry) for entry in self.failure_history],
        }

    # -- queries -------------------------------------------------------------------------------

    def opened_at(self) -> datetime | None:
        """When the breaker last opened (from the transition, else the last failure)."""
        transition = self.last_state_transition or {}
        if transition.get("to") == OPEN:
            moment = parse_time(transition.get("timestamp"))
            if moment is not None:
                return moment
        return parse_time(self.last_failure_time)

    def retry_after(self, now: datetime) -> float | None:
        """Seconds until the cooldown lets a probe through; None without a cooldown."""
        if self.settings.cooldown_seconds is None:
            return None
        if self.state != OPEN:
            return 0.0
        opened = self.opened_at()
        if opened is None:  # a damaged state: let one probe decide rather than wait forever
            return 0.0
        remaining = self.settings.cooldown_seconds - (now - opened).total_seconds()
        return round(max(0.0, remaining), 3)

    # -- transitions ---------------------------------------------------------------------------

    def _move(self, target: str, now: datetime, reason: str) -> Transition:
        transition = Transition(self.state, target, iso(now), reason)
        self.state = target
        self.last_state_transition = transition.to_dict()
        return transition

    def before_call(self, now: datetime) -> Decision:
        """Gate a call: open refuses it unless the cooldown has elapsed (then half-open)."""
        if self.state != OPEN:
            return Decision(True)
        retry_after = self.retry_after(now)
        if retry_after is not None and retry_after <= 0:
            reason = f"cooldown of {self.settings.cooldown_seconds:g}s elapsed"
            return Decision(True, 0.0, (self._move(HALF_OPEN, now, reason),))
        return Decision(False, retry_after)

    def record_success(self, now: datetime) -> list[Transition]:
        """A call reached a working Docker host: reset the count; a probe closes the breaker."""
        self.failure_count = 0
        if self.state == CLOSED:
            return []
        return [self._move(CLOSED, now, "probe succeeded")]

    def record_failure(self, code: str, message: str, now: datetime, task: str | None = None) -> list[Transition]:
        """An infrastructure failure: count it; open at the threshold or on a failed probe."""
        self.failure_count += 1
        self.last_failure_time = iso(now)
        entry: dict[str, Any] = {"time": self.last_failure_time, "code": code, "message": message}
        if task:
            entry["task"] = task
        self.failure_history.append(entry)
        del self.failure_history[: -self.settings.history_size]
        if self.state == HALF_OPEN:
            return [self._move(OPEN, now, f"probe failed ({code})")]
        if self.state == CLOSED and self.failure_count >= self.settings.failure_threshold:
            plural = "s" if self.failure_count != 1 else ""
            reason = f"{self.failure_count} consecutive infrastructure failure{plural} (last: {code})"
            return [self._move(OPEN, now, reason)]
        return []

    def reset(self, now: datetime, reason: str = "manual reset") -> Transition | None:
        """Open → half-open, so that the next call is a probe. Any other state: no-op (None)."""
        if self.state != OPEN:
            return None
        return self._move(HALF_OPEN, now, reason)

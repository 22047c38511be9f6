"""Unit tests of the circuit breaker state machine: every transition, settings, persistence."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from ansible_collections.argusai.resilience.plugins.plugin_utils.breaker import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    BreakerSettings,
    CircuitBreaker,
    SettingsError,
    iso,
    parse_time,
)

T0 = datetime(2026, 11, 25, 10, 0, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def fail(breaker: CircuitBreaker, times: int, start: float = 0.0, code: str = "DOCKER_UNAVAILABLE"):
    transitions = []
    for i in range(times):
        transitions += breaker.record_failure(code, f"failure {i}", at(start + i), task=f"task {i}")
    return transitions


def opened(threshold: int = 5, cooldown: float | None = None) -> CircuitBreaker:
    breaker = CircuitBreaker(BreakerSettings(failure_threshold=threshold, cooldown_seconds=cooldown))
    fail(breaker, threshold)
    assert breaker.state == OPEN
    return breaker


# -- closed -> open ---------------------------------------------------------------------------


def test_opens_exactly_at_the_threshold():
    breaker = CircuitBreaker()
    assert fail(breaker, 4) == []
    assert breaker.state == CLOSED and breaker.failure_count == 4
    transitions = breaker.record_failure("DOCKER_UNAVAILABLE", "down", at(10), task="t5")
    assert [(t.previous, t.current, t.event_type) for t in transitions] == [(CLOSED, OPEN, "circuit_open")]
    assert breaker.state == OPEN and breaker.failure_count == 5
    assert breaker.last_failure_time == iso(at(10))
    assert breaker.last_state_transition == {
        "from": CLOSED,
        "to": OPEN,
        "timestamp": iso(at(10)),
        "reason": "5 consecutive infrastructure failures (last: DOCKER_UNAVAILABLE)",
    }


def test_custom_threshold_of_one_opens_on_first_failure():
    breaker = CircuitBreaker(BreakerSettings(failure_threshold=1))
    assert [t.current for t in fail(breaker, 1)] == [OPEN]


def test_success_resets_consecutive_count():
    breaker = CircuitBreaker()
    fail(breaker, 4)
    assert breaker.record_success(at(5)) == []
    assert breaker.state == CLOSED and breaker.failure_count == 0
    fail(breaker, 4, start=10)
    assert breaker.state == CLOSED  # 4 + 4 failures but not consecutive


def test_history_is_bounded_and_ordered():
    breaker = CircuitBreaker(BreakerSettings(failure_threshold=100, history_size=3))
    fail(breaker, 7)
    assert [entry["message"] for entry in breaker.failure_history] == ["failure 4", "failure 5", "failure 6"]
    assert breaker.failure_history[-1] == {
        "time": iso(at(6)),
        "code": "DOCKER_UNAVAILABLE",
        "message": "failure 6",
        "task": "task 6",
    }


def test_history_entry_without_task():
    breaker = CircuitBreaker()
    breaker.record_failure("DOCKER_API_ERROR", "500", at(0))
    assert "task" not in breaker.failure_history[0]


def test_default_history_keeps_last_ten():
    breaker = CircuitBreaker(BreakerSettings(failure_threshold=50))
    fail(breaker, 15)
    assert len(breaker.failure_history) == 10


# -- open: gate, cooldown, reset --------------------------------------------------------------


def test_open_refuses_without_cooldown():
    breaker = opened()
    decision = breaker.before_call(at(3600))
    assert not decision.allowed and decision.retry_after_seconds is None and decision.transitions == ()
    assert breaker.state == OPEN


def test_closed_and_half_open_allow_calls():
    assert CircuitBreaker().before_call(at(0)).allowed
    breaker = opened()
    breaker.reset(at(10))
    assert breaker.before_call(at(11)).allowed


def test_open_refuses_until_cooldown_then_half_open():
    breaker = opened(cooldown=30)  # opened at t=4
    decision = breaker.before_call(at(14))
    assert not decision.allowed and decision.retry_after_seconds == pytest.approx(20)
    decision = breaker.before_call(at(34))
    assert decision.allowed and decision.retry_after_seconds == 0.0
    assert [(t.previous, t.current, t.event_type) for t in decision.transitions] == [
        (OPEN, HALF_OPEN, "circuit_half_open")
    ]
    assert breaker.state == HALF_OPEN
    assert "cooldown of 30s elapsed" in breaker.last_state_transition["reason"]


def test_retry_after_when_not_open_is_zero_and_none_without_cooldown():
    assert CircuitBreaker(BreakerSettings(cooldown_seconds=5)).retry_after(at(0)) == 0.0
    assert CircuitBreaker().retry_after(at(0)) is None


def test_cooldown_falls_back_to_last_failure_time_then_now():
    breaker = opened(cooldown=10)
    breaker.last_state_transition = None  # e.g. an older or edited cache entry
    assert breaker.opened_at() == at(4)
    assert breaker.retry_after(at(8)) == pytest.approx(6)
    breaker.last_failure_time = None
    assert breaker.opened_at() is None
    assert breaker.retry_after(at(100)) == 0.0  # unknown: one probe decides, rather than waiting forever
    assert breaker.before_call(at(100)).allowed and breaker.state == HALF_OPEN


def test_reset_open_to_half_open():
    breaker = opened()
    transition = breaker.reset(at(60))
    assert (transition.previous, transition.current, transition.event_type) == (OPEN, HALF_OPEN, "circuit_half_open")
    assert transition.reason == "manual reset"
    assert breaker.state == HALF_OPEN
    assert breaker.failure_count == 5  # kept for the record until a probe decides


@pytest.mark.parametrize("state", [CLOSED, HALF_OPEN])
def test_reset_is_a_noop_unless_open(state):
    breaker = CircuitBreaker(state=state)
    before = breaker.to_dict()
    assert breaker.reset(at(0)) is None
    assert breaker.to_dict() == before


# -- half-open probes -------------------------------------------------------------------------


def test_good_probe_closes():
    breaker = opened()
    breaker.reset(at(60))
    transitions = breaker.record_success(at(61))
    assert [(t.previous, t.current, t.event_type) for t in transitions] == [(HALF_OPEN, CLOSED, "circuit_closed")]
    assert breaker.state == CLOSED and breaker.failure_count == 0
    assert len(breaker.failure_history) == 5  # the history stays for diagnosis


def test_bad_probe_reopens_at_once():
    breaker = opened(threshold=5)
    breaker.reset(at(60))
    transitions = breaker.record_failure("DOCKER_UNAVAILABLE", "still down", at(61))
    assert [(t.previous, t.current) for t in transitions] == [(HALF_OPEN, OPEN)]
    assert transitions[0].reason == "probe failed (DOCKER_UNAVAILABLE)"
    assert breaker.state == OPEN and breaker.failure_count == 6


def test_bad_probe_restarts_the_cooldown():
    breaker = opened(cooldown=30)
    assert breaker.before_call(at(40)).allowed  # half-open via cooldown
    breaker.record_failure("DOCKER_UNAVAILABLE", "still down", at(41))
    decision = breaker.before_call(at(50))
    assert not decision.allowed and decision.retry_after_seconds == pytest.approx(21)


def test_success_recorded_while_open_closes():
    breaker = opened()
    assert [t.current for t in breaker.record_success(at(9))] == [CLOSED]


def test_failure_recorded_while_open_counts_without_transition():
    breaker = opened()
    assert breaker.record_failure("DOCKER_UNAVAILABLE", "x", at(9)) == []
    assert breaker.state == OPEN and breaker.failure_count == 6


# -- persistence ------------------------------------------------------------------------------


def test_round_trip_through_dict():
    breaker = opened(cooldown=12.5)
    data = breaker.to_dict()
    assert set(data) == {
        "state",
        "failure_count",
        "failure_threshold",
        "cooldown_seconds",
        "last_failure_time",
        "last_state_transition",
        "failure_history",
    }
    again, notes = CircuitBreaker.from_dict(data, breaker.settings)
    assert notes == [] and again.to_dict() == data


def test_to_dict_is_a_copy():
    breaker = opened()
    data = breaker.to_dict()
    data["failure_history"][0]["code"] = "EDITED"
    assert breaker.failure_history[0]["code"] == "DOCKER_UNAVAILABLE"


def test_missing_state_is_fresh_and_silent():
    breaker, notes = CircuitBreaker.from_dict(None)
    assert breaker.state == CLOSED and notes == []


@pytest.mark.parametrize("data", ["open", 5, ["open"]])
def test_non_dict_state_starts_closed_and_says_so(data):
    breaker, notes = CircuitBreaker.from_dict(data, name="breaker 'shop'")
    assert breaker.state == CLOSED
    assert len(notes) == 1 and "breaker 'shop'" in notes[0] and "starting closed" in notes[0]


@pytest.mark.parametrize("state", [None, "ajar", 3])
def test_unknown_state_starts_closed_and_says_so(state):
    breaker, notes = CircuitBreaker.from_dict({"state": state, "failure_count": 9})
    assert breaker.state == CLOSED and breaker.failure_count == 0
    assert "unknown state" in notes[0]


def test_partial_dict_is_accepted():
    breaker, notes = CircuitBreaker.from_dict({"state": "open"})
    assert notes == []
    assert breaker.state == OPEN and breaker.failure_count == 0 and breaker.failure_history == []


def test_bad_fields_are_dropped_with_notes():
    data = {
        "state": "open",
        "failure_count": "many",
        "last_failure_time": "yesterday",
        "last_state_transition": {"from": "closed", "to": "open", "timestamp": 12},
        "failure_history": [{"code": "DOCKER_UNAVAILABLE"}, "garbage", 3],
    }
    breaker, notes = CircuitBreaker.from_dict(data)
    assert breaker.state == OPEN
    assert breaker.failure_count == 0
    assert breaker.last_failure_time is None
    assert breaker.last_state_transition is None
    assert breaker.failure_history == [{"code": "DOCKER_UNAVAILABLE"}]
    assert len(notes) == 4
    assert any("2 malformed failure_history" in note for note in notes)


def test_history_not_a_list_is_dropped():
    breaker, notes = CircuitBreaker.from_dict({"state": "closed", "failure_history": {"a": 1}, "failure_count": -1})
    assert breaker.failure_history == [] and breaker.failure_count == 0
    assert len(notes) == 2


def test_stored_history_is_trimmed_to_the_setting():
    data = {"state": "closed", "failure_history": [{"code": str(i)} for i in range(8)]}
    breaker, _unused = CircuitBreaker.from_dict(data, BreakerSettings(history_size=3))
    assert [entry["code"] for entry in breaker.failure_history] == ["5", "6", "7"]


def test_settings_in_force_override_stored_threshold():
    data = {"state": "closed", "failure_count": 3, "failure_threshold": 5}
    breaker, _unused = CircuitBreaker.from_dict(data, BreakerSettings(failure_threshold=4))
    assert [t.current for t in breaker.record_failure("DOCKER_UNAVAILABLE", "x", at(0))] == [OPEN]
    assert breaker.to_dict()["failure_threshold"] == 4


# -- settings ---------------------------------------------------------------------------------


def test_default_settings():
    settings = BreakerSettings.from_mapping()
    assert settings == BreakerSettings(failure_threshold=5, cooldown_seconds=None, enabled=True, history_size=10)


def test_layers_merge_key_by_key():
    settings = BreakerSettings.from_mapping(
        {"failure_threshold": 3, "cooldown_seconds": 60}, None, {"cooldown_seconds": 5}
    )
    assert settings.failure_threshold == 3 and settings.cooldown_seconds == 5.0


def test_templated_strings_are_accepted():
    settings = BreakerSettings.from_mapping(
        {"failure_threshold": "7", "history_size": "4", "cooldown_seconds": "1.5", "enabled": "no"}
    )
    assert (settings.failure_threshold, settings.history_size, settings.cooldown_seconds, settings.enabled) == (
        7,
        4,
        1.5,
        False,
    )


@pytest.mark.parametrize(
    ("layer", "field"),
    [
        ({"failure_threshold": 0}, "failure_threshold"),
        ({"failure_threshold": True}, "failure_threshold"),
        ({"failure_threshold": "five"}, "failure_threshold"),
        ({"history_size": 0}, "history_size"),
        ({"cooldown_seconds": -1}, "cooldown_seconds"),
        ({"cooldown_seconds": "soon"}, "cooldown_seconds"),
        ({"enabled": "maybe"}, "enabled"),
        ({"threshold": 3}, "threshold"),
        ("not a dict", "argus_circuit_breaker"),
    ],
)
def test_bad_settings_name_the_field(layer, field):
    with pytest.raises(SettingsError) as caught:
        BreakerSettings.from_mapping(layer)
    assert caught.value.field == field
    assert field in str(caught.value)


def test_parse_time():
    assert parse_time("2026-11-25T10:00:00.000Z") == T0
    assert parse_time("2026-11-25T10:00:00") == T0  # naive means UTC
    assert parse_time("nope") is None
    assert parse_time(None) is None

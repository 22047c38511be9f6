"""The breaker's only wait, the cooldown, ends at a moment fixed when it opened (issue 14).

Nothing that happens while it is open moves that moment: neither refused calls nor the late
failures of calls that had started before it opened. Only a failed half-open probe opens it again,
with a new cooldown from then (a new opening, by design).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from ansible_collections.argusai.resilience.plugins.plugin_utils import breaker as B

OPENED = datetime(2026, 11, 25, 10, 0, 0, tzinfo=timezone.utc)


def opened_breaker() -> B.CircuitBreaker:
    """Opened at OPENED by its first failure, with a 30 s cooldown."""
    breaker = B.CircuitBreaker(B.BreakerSettings(failure_threshold=1, cooldown_seconds=30))
    breaker.record_failure("DOCKER_UNAVAILABLE", "down", OPENED)
    assert breaker.state == B.OPEN
    return breaker


def test_the_cooldown_ends_at_opening_plus_cooldown_whatever_happens_meanwhile():
    breaker = opened_breaker()
    for second in range(1, 30):  # a refused call and a late failure every second
        moment = OPENED + timedelta(seconds=second)
        assert not breaker.before_call(moment).allowed
        breaker.record_failure("DOCKER_UNAVAILABLE", "a call that started before it opened", moment)
        assert breaker.retry_after(moment) == pytest.approx(30 - second)
    decision = breaker.before_call(OPENED + timedelta(seconds=30))
    assert decision.allowed and breaker.state == B.HALF_OPEN  # the probe goes ahead on time


def test_a_failed_probe_opens_a_new_cooldown_from_the_probe():
    breaker = opened_breaker()
    assert breaker.before_call(OPENED + timedelta(seconds=30)).allowed
    breaker.record_failure("DOCKER_UNAVAILABLE", "still down", OPENED + timedelta(seconds=31))
    assert breaker.state == B.OPEN and breaker.retry_after(OPENED + timedelta(seconds=31)) == pytest.approx(30)

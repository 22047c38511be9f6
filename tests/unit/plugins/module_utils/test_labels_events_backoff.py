"""Labels and name validation, event building, backoff schedules."""

from __future__ import annotations

import random

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils import backoff, events, labels
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError


@pytest.mark.parametrize("name", ["a", "shop", "shop-e2e_1.2", "0abc", "a" * 63])
def test_valid_project_names(name):
    assert labels.validate_project(name) == name


@pytest.mark.parametrize(
    "name",
    ["", "My Project", "UPPER", "a,b", "a=b", "a;rm -rf /", "-lead", "_lead", "a" * 64, "é", "a\nb", None, 3, ["a"]],
)
def test_invalid_project_names_are_refused(name):
    with pytest.raises(ArgusError) as info:
        labels.validate_project(name)
    assert info.value.code == "INVALID_INPUT"
    assert info.value.details["field"] == "project"


def test_run_id_and_resource_name_validation():
    assert labels.validate_run_id("m3x9k2") == "m3x9k2"
    with pytest.raises(ArgusError):
        labels.validate_run_id("run id")
    assert labels.validate_resource_name("Web_1.x-y") == "Web_1.x-y"
    for bad in ["", "-x", "a b", "a/b", "x" * 129]:
        with pytest.raises(ArgusError):
            labels.validate_resource_name(bad, "name")


def test_new_run_id_is_base36_of_epoch_ms():
    assert labels.new_run_id(0) == "0"
    assert labels.new_run_id(35) == "z"
    assert labels.new_run_id(36) == "10"
    assert int(labels.new_run_id(1764000000000), 36) == 1764000000000
    generated = labels.new_run_id()
    assert labels.RUN_ID_PATTERN.match(generated)


def test_resource_labels_and_filters():
    made = labels.resource_labels("shop", "r1", service="web", created_at="2026-01-01T00:00:00.000Z")
    assert made == {
        "argusai.managed": "true",
        "argusai.project": "shop",
        "argusai.run-id": "r1",
        "argusai.created-at": "2026-01-01T00:00:00.000Z",
        "argusai.service": "web",
    }
    assert "argusai.service" not in labels.resource_labels("shop", "r1")
    assert labels.resource_labels("shop", "r1")["argusai.created-at"].endswith("Z")
    assert labels.project_filter("shop") == {"label": ["argusai.managed=true", "argusai.project=shop"]}
    assert labels.run_filter("shop", "r1")["label"][-1] == "argusai.run-id=r1"
    with pytest.raises(ArgusError):
        labels.project_filter("bad name")


def test_is_managed():
    assert labels.is_managed({"argusai.managed": "true", "argusai.project": "a"}, "a")
    assert labels.is_managed({"argusai.managed": "true", "argusai.project": "a"})
    assert not labels.is_managed({"argusai.managed": "true", "argusai.project": "b"}, "a")
    assert not labels.is_managed({"argusai.project": "a"}, "a")
    assert not labels.is_managed(None)


def test_events_have_the_spec_shape():
    assert len(events.EVENT_TYPES) == 16
    log = events.EventLog("shop", "r1")
    event = log.emit("cleanup_resource", id="abc", outcome="removed")
    assert set(event) == {"type", "timestamp", "project", "run_id", "data"}
    assert event["data"] == {"id": "abc", "outcome": "removed"}
    assert log.events == [event]
    with pytest.raises(ValueError):
        log.emit("not_an_event")


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [("exponential", [100, 200, 400, 800, 1000, 1000]), ("linear", [100, 200, 300, 400, 500, 600])],
)
def test_backoff_schedules_are_capped(strategy, expected):
    cap = 1000 if strategy == "exponential" else 10000
    assert [backoff.delay_ms(n, strategy, 100, cap) for n in range(1, 7)] == expected


def test_backoff_huge_attempt_and_jitter():
    assert backoff.delay_ms(10_000, "exponential", 1, 5000) == 5000
    rng = random.Random(7)
    drawn = [backoff.delay_ms(attempt, "exponential", 100, 1000, jitter=True, rng=rng) for attempt in [3] * 200]
    assert all(0 <= d <= 400 for d in drawn)
    assert len(set(drawn)) > 50  # really random, not a constant


@pytest.mark.parametrize(
    "args", [(0, "exponential", 1, 1), (1, "fibonacci", 1, 1), (1, "linear", -1, 1), (1, "linear", 1, -1)]
)
def test_backoff_rejects_bad_arguments(args):
    with pytest.raises(ValueError):
        backoff.delay_ms(*args)

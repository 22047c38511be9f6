"""The Option table and what derives from it: argument specs, docs, validation with every problem."""

from __future__ import annotations

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError
from ansible_collections.argusai.resilience.plugins.module_utils.guard.options import CONTAINER_OPTIONS, DEFAULTS
from ansible_collections.argusai.resilience.plugins.module_utils.options import (
    Option,
    argument_spec,
    check,
    doc_options,
    pick,
    plain,
    validate,
)

PORT = (
    Option("container_port", "int", "Port.", required=True, minimum=1, maximum=65535),
    Option("protocol", "str", "Protocol.", default="tcp", choices=("tcp", "udp")),
)
TABLE = (
    Option("name", "str", "Name.", required=True),
    Option("retries", "int", "Retries.", default=3, minimum=0, maximum=10),
    Option("delay", "float", "Delay.", minimum=0, exclusive_minimum=True),
    Option("ports", "list", "Ports.", elements="dict", suboptions=PORT, shorthand="container_port"),
    Option("env", "dict", "Env.", form="map", no_log=True),
    Option("command", "raw", "Command.", form="command"),
    Option("memory", "str", "Memory.", form="memory"),
    Option("tags", "list", "Tags.", default=("a",), elements="str", choices=("a", "b")),
)


def test_argument_spec_follows_the_table():
    spec = argument_spec(TABLE)
    assert spec["name"] == {"type": "str", "required": True}
    assert spec["retries"] == {"type": "int", "default": 3}
    assert spec["ports"]["options"]["protocol"] == {"type": "str", "default": "tcp", "choices": ["tcp", "udp"]}
    assert spec["env"]["no_log"] is True
    assert spec["tags"] == {"type": "list", "default": ["a"], "choices": ["a", "b"], "elements": "str"}


def test_documentation_states_bounds_and_the_recreate_rule():
    docs = doc_options(TABLE + (Option("image", "str", "Image.", recreate=True),))
    assert docs["retries"]["description"][-1] == "Must be >= 0 and <= 10."
    assert docs["delay"]["description"][-1] == "Must be > 0."
    assert docs["ports"]["suboptions"]["container_port"]["required"] is True
    assert docs["image"]["description"][-1] == "Changing it recreates the container."
    assert plain("V(auto) or O(strategy) C(x)") == "`auto` or `strategy` `x`"


def test_strict_validation_fills_defaults_and_expands_shorthands():
    values = validate(TABLE, {"name": "web", "ports": [8080, {"container_port": 53, "protocol": "udp"}]})
    assert values["retries"] == 3 and values["tags"] == ["a"] and values["delay"] is None
    assert values["ports"] == [
        {"container_port": 8080, "protocol": "tcp"},
        {"container_port": 53, "protocol": "udp"},
    ]


def test_every_problem_is_reported_at_once_with_its_path():
    with pytest.raises(ArgusError) as info:
        validate(
            TABLE,
            {
                "retries": 11,
                "delay": 0,
                "ports": [{"container_port": "80", "protocol": "icmp"}],
                "env": {"A": [1]},
                "command": [],
                "memory": "lots",
                "colour": "red",
            },
            source="e2e.yaml",
        )
    error = info.value
    fields = [problem["field"] for problem in error.details["errors"]]
    assert fields == [
        "colour",
        "name",
        "retries",
        "delay",
        "ports[0].container_port",
        "ports[0].protocol",
        "env.A",
        "command",
        "memory",
    ]
    assert error.code == "INVALID_INPUT" and error.details["field"] == "colour"
    assert error.message.startswith("e2e.yaml: 9 problems: colour: unknown key")
    assert {"field": "env.A", "value": "<hidden>", "reason": "must be a string, number or boolean, not list"} in (
        error.details["errors"]
    )


def test_module_check_accepts_numbers_as_text_like_ansible():
    check(TABLE, {"name": "web", "retries": "4", "ports": [{"container_port": "80", "protocol": "tcp"}]})
    with pytest.raises(ArgusError) as info:
        check(TABLE, {"name": "web", "retries": "40"})
    assert info.value.details["field"] == "retries"


def test_pick_keeps_the_declaration():
    (retries,) = pick(TABLE, "retries")
    assert retries is TABLE[1]
    with pytest.raises(KeyError):
        pick(TABLE, "nope")


def test_container_defaults_come_from_the_table():
    assert DEFAULTS["max_restarts"] == 3 and DEFAULTS["backoff"] == "exponential"
    assert {option.name for option in CONTAINER_OPTIONS} == set(DEFAULTS)

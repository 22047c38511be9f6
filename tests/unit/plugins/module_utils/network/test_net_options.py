"""The inputs of a verification: targets and options, rejected before Docker is called."""

from __future__ import annotations

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError
from ansible_collections.argusai.resilience.plugins.module_utils.network.options import (
    VerifyOptions,
    parse_targets,
    probe_exec_seconds,
    validate_options,
)


@pytest.mark.parametrize(
    "targets, field",
    [
        ([], "targets"),
        ([{"name": "a", "host": "a b", "port": 80}], "targets[0].host"),
        ([{"name": "a", "host": "a", "port": 0}], "targets[0].port"),
        ([{"name": "a", "host": "a", "port": True}], "targets[0].port"),
        ([{"name": "a", "host": "a", "port": 80}, {"name": "a", "host": "b", "port": 81}], "targets[1].name"),
        ([{"name": "", "host": "a", "port": 80}], "targets[0].name"),
    ],
)
def test_parse_targets_rejects(targets, field):
    with pytest.raises(ArgusError) as info:
        parse_targets(targets)
    assert info.value.code == "INVALID_INPUT" and info.value.details["field"] == field


def test_validate_options_rejects_before_docker():
    targets = parse_targets([{"name": "a", "host": "a", "port": 80}])
    for changes, field in (
        ({"project": "Bad Name"}, "project"),
        ({"probe_timeout": 0}, "probe_timeout"),
        ({"wait_seconds": -1}, "wait_seconds"),
        ({"wait_seconds": 1e30}, "wait_seconds"),
        ({"probe_timeout": 10**30}, "probe_timeout"),
        ({"container": "no/slash"}, "container"),
        ({"probe_image": "two words"}, "probe_image"),
    ):
        options = VerifyOptions(project="shop", container="tests", targets=targets)
        for key, value in changes.items():
            setattr(options, key, value)
        with pytest.raises(ArgusError) as info:
            validate_options(options)
        assert info.value.details["field"] == field


def test_api_timeout_must_outlast_one_probe():
    options = VerifyOptions(
        project="shop", container="tests", targets=parse_targets([{"name": "a", "host": "a", "port": 1}])
    )
    assert options.probe_timeout == 5 and probe_exec_seconds(5) == 12  # lookup + connect, each stopped after 6 s
    assert validate_options(options, api_timeout=60) is options
    assert validate_options(options, api_timeout=13) is options
    with pytest.raises(ArgusError) as info:
        validate_options(options, api_timeout=12)
    assert info.value.code == "INVALID_INPUT" and info.value.details == {"field": "timeout", "value": 12}
    assert "must be more than 12 s with probe_timeout 5" in info.value.message
    options.probe_timeout = 1
    assert validate_options(options, api_timeout=5) is options  # a short API timeout wants a short probe

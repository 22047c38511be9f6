"""controller_action: arguments of a controller-only action refused with every problem named by its
option, the same way the Docker modules' arguments are (plugin_utils/module_call.py)."""

from __future__ import annotations

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError
from ansible_collections.argusai.resilience.plugins.module_utils.module_options import RESULT
from ansible_collections.argusai.resilience.plugins.plugin_utils.controller_action import checked_arguments, failed


def test_refused_arguments_name_each_option():
    with pytest.raises(ArgusError) as refused:
        checked_arguments(RESULT, {"error": "not a mapping", "rerun": 7})
    error = refused.value.to_dict()
    assert error["code"] == "INVALID_INPUT"
    assert {problem["field"] for problem in error["details"]["errors"]} >= {"playbook", "error", "rerun"}
    assert all(problem["field"] for problem in error["details"]["errors"])


def test_accepted_arguments_get_the_defaults():
    assert checked_arguments(RESULT, {"playbook": "argusai.resilience.setup"})["rerun"] == {}


def test_a_failure_changed_nothing_and_carries_the_error():
    result = failed(ArgusError("INVALID_INPUT", "bad"), path="x")
    assert result["failed"] is True and result["changed"] is False and result["path"] == "x"
    assert result["msg"] == "INVALID_INPUT: bad" and result["error"]["code"] == "INVALID_INPUT"

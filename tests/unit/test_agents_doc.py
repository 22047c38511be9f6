"""docs/agents.md (hand-written) stays true to the registry: every code has a worked example, every
action id is in its table, and the examples' actions have the kinds and playbooks the registry gives."""

from __future__ import annotations

import json
import re
from pathlib import Path

from ansible_collections.argusai.resilience.plugins.module_utils import errors as E

DOC = (Path(__file__).resolve().parents[2] / "docs" / "agents.md").read_text()
EXAMPLES = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", DOC, re.S)]


def declared(code):
    return {action.id: action for action in E.REGISTRY[code].actions}


def test_every_code_has_a_worked_example():
    examples = {example["code"] for example in EXAMPLES if "code" in example}
    for code in E.REGISTRY:
        assert code in examples or f"`{code}` (`retryable: {str(E.REGISTRY[code].retryable).lower()}`" in DOC, code


def test_every_action_id_is_in_the_table():
    table = DOC.split("## 6. Action ids", 1)[1]
    rows = dict(re.findall(r"^\| `([a-z_]+)` \| ([^|]+) \|", table, re.M))
    ids = {action.id for spec in E.REGISTRY.values() for action in spec.actions}
    assert set(rows) == ids
    for spec in E.REGISTRY.values():
        for action in spec.actions:
            assert action.kind in rows[action.id], action.id


def test_examples_follow_the_registry():
    for example in (example for example in EXAMPLES if "code" in example):
        code = example["code"]
        actions = declared(code)
        for action in example["suggested_actions"]:
            assert action["id"] in actions, (code, action["id"])
            assert action["kind"] == actions[action["id"]].kind, (code, action["id"])
            if "..." in action:  # abbreviated in the doc
                continue
            assert action.get("playbook") == actions[action["id"]].playbook, (code, action["id"])
            extra_vars = action.get("extra_vars") or {}
            if action.get("playbook"):
                assert {"argus_hosts", "argus_project"} <= set(extra_vars), (code, action["id"])
                assert set(extra_vars) - {"argus_config_file"} <= set(actions[action["id"]].extra_vars)
        if example["retryable"] != E.REGISTRY[code].retryable:
            # only where the registry's rules say so
            assert example["details"].get("cause") in E.REGISTRY[code].final_causes, code

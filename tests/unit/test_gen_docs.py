"""The generated documents (module option docs, docs/errors.md, docs/configuration.md, the argus_setup argument
specs) are up to date."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from ansible_collections.argusai.resilience.plugins.module_utils import errors as E
from ansible_collections.argusai.resilience.plugins.module_utils.config import schema as S

ROOT = Path(__file__).resolve().parents[2]


def test_generated_documents_are_up_to_date():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_docs.py"), "--check"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr


def test_errors_doc_lists_every_code_and_action_id():
    text = (ROOT / "docs" / "errors.md").read_text()
    for code, spec in E.REGISTRY.items():
        assert f"### `{code}`" in text
        for action in spec.actions:
            assert f"`{action.id}`" in text


def test_configuration_doc_lists_every_field():
    text = (ROOT / "docs" / "configuration.md").read_text()
    for path, _option in S.describe():
        assert f"| `{path}` |" in text


def test_role_argument_specs_follow_the_schema():
    specs = yaml.safe_load((ROOT / "roles" / "argus_setup" / "meta" / "argument_specs.yml").read_text())
    options = specs["argument_specs"]["main"]["options"]
    # the container and resilience sections are checked by argus_config (structured, every problem at
    # once), not by ansible-core's check of the role's arguments; their descriptions name every key
    for variable, keys in [
        ("argus_services", S.CONTAINER),
        ("argus_mocks", S.CONTAINER),
        ("argus_test", S.CONTAINER),
        ("argus_resilience", S.RESILIENCE),
    ]:
        assert "options" not in options[variable]
        assert all(key.name in options[variable]["description"] for key in keys), variable
    assert all(option.get("description") for option in options.values())


def test_suggested_playbooks_accept_their_extra_vars():
    """Every playbook a suggested action names exists and documents each of its extra_vars."""
    for spec in E.REGISTRY.values():
        for action in spec.actions:
            if not action.playbook:
                continue
            name = action.playbook.rsplit(".", 1)[-1]
            playbook = ROOT / "playbooks" / f"{name}.yml"
            assert playbook.exists(), action.playbook
            header = playbook.read_text()
            for variable in action.extra_vars:
                assert variable in header, (action.playbook, variable)

"""The action plugins' "is the argus_events callback loaded?" decision, against ansible-core itself.

The decision (breaker_action.events_callback_enabled) reads the configuration and the parsed
command line the forked worker inherited. These tests check the rule alone, and - for the setups
users have (ansible.cfg ``callbacks_enabled``, env ``ANSIBLE_CALLBACKS_ENABLED``, ad-hoc
``ansible`` and ``ansible-console`` with and without ``bin_ansible_callbacks``) - the whole
decision against what core's own ``TaskQueueManager.load_callbacks`` loads after the real CLI
parsed its command line. Each such case runs in a fresh interpreter: core reads its constants
and parses the command line once per process. ``make compat`` runs them on ansible-core 2.17 and
2.21 too, so a core that decides differently fails here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ansible_collections.argusai.resilience.plugins.callback.argus_events import CallbackModule
from ansible_collections.argusai.resilience.plugins.plugin_utils.breaker_action import (
    EVENTS_CALLBACK,
    events_callback_loaded,
)

COLLECTIONS = Path(__file__).resolve().parents[4] / "build" / "collections"
OTHER = "ansible.builtin.oneline"


def test_the_name_looked_for_is_the_callbacks_own():
    assert CallbackModule.CALLBACK_NAME == EVENTS_CALLBACK
    assert CallbackModule.CALLBACK_NEEDS_ENABLED is True  # the rule below is core's for such callbacks


@pytest.mark.parametrize(
    ("enabled", "adhoc", "load_callback_plugins", "loaded"),
    [
        ([EVENTS_CALLBACK], False, False, True),  # ansible-playbook ignores bin_ansible_callbacks
        ([OTHER, EVENTS_CALLBACK], False, True, True),
        ([OTHER], False, True, False),
        ([], False, True, False),
        (None, False, True, False),
        ([EVENTS_CALLBACK], True, True, True),
        ([EVENTS_CALLBACK], True, False, False),  # ad-hoc without bin_ansible_callbacks
        ([OTHER], True, True, False),
    ],
)
def test_rule(enabled, adhoc, load_callback_plugins, loaded):
    assert events_callback_loaded(enabled, adhoc, load_callback_plugins) is loaded


# Runs in a fresh interpreter: parses the command line like the CLI, loads the callbacks the way
# the CLI's TaskQueueManager does and prints what core loaded next to what we decided.
COMPARE = r"""
import json, sys
from ansible import constants as C
from ansible.cli.adhoc import AdHocCLI
from ansible.cli.console import ConsoleCLI
from ansible.cli.playbook import PlaybookCLI
from ansible.executor.task_queue_manager import TaskQueueManager
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader
from ansible.vars.manager import VariableManager

argv = sys.argv[1:]
cli = {"ansible": AdHocCLI, "ansible-console": ConsoleCLI, "ansible-playbook": PlaybookCLI}[argv[0]]
cli(argv).parse()
init_plugin_loader()
from ansible_collections.argusai.resilience.plugins.plugin_utils.breaker_action import events_callback_enabled

loader = DataLoader()
inventory = InventoryManager(loader=loader, sources=[])
# cli/adhoc.py and cli/console.py pass bin_ansible_callbacks; ansible-playbook keeps the default (True)
additional = C.DEFAULT_LOAD_CALLBACK_PLUGINS if argv[0] != "ansible-playbook" else True
tqm = TaskQueueManager(
    inventory=inventory,
    variable_manager=VariableManager(loader=loader, inventory=inventory),
    loader=loader,
    passwords={},
    run_additional_callbacks=additional,
)
try:
    tqm.load_callbacks()
    core = any(getattr(plugin, "CALLBACK_NAME", None) == "argusai.resilience.argus_events" for plugin in tqm._callback_plugins)
finally:
    tqm.cleanup()
print(json.dumps({"core": core, "ours": events_callback_enabled()}))
"""

PLAYBOOK = ["ansible-playbook", "site.yml"]
ADHOC = ["ansible", "localhost", "-m", "ping"]
CONSOLE = ["ansible-console", "localhost"]


@pytest.mark.parametrize(
    ("argv", "cfg", "env", "loaded"),
    [
        (PLAYBOOK, [f"callbacks_enabled = {OTHER}, {EVENTS_CALLBACK}"], {}, True),
        (PLAYBOOK, [f"callbacks_enabled = {OTHER}"], {}, False),
        # the environment replaces the file's list (a wrapper setting it without ours unloads ours)
        (PLAYBOOK, [f"callbacks_enabled = {EVENTS_CALLBACK}"], {"ANSIBLE_CALLBACKS_ENABLED": OTHER}, False),
        (PLAYBOOK, [], {"ANSIBLE_CALLBACKS_ENABLED": f"{OTHER},{EVENTS_CALLBACK}"}, True),
        (PLAYBOOK, [f"callbacks_enabled = {EVENTS_CALLBACK}", "bin_ansible_callbacks = False"], {}, True),
        (ADHOC, [f"callbacks_enabled = {EVENTS_CALLBACK}"], {}, False),
        (ADHOC, [f"callbacks_enabled = {EVENTS_CALLBACK}", "bin_ansible_callbacks = True"], {}, True),
        # ansible-runner's ad-hoc commands (it sets ANSIBLE_LOAD_CALLBACK_PLUGINS and the stdout callback)
        (
            ADHOC,
            [f"callbacks_enabled = {EVENTS_CALLBACK}"],
            {"ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.minimal"},
            True,
        ),
        (CONSOLE, [f"callbacks_enabled = {EVENTS_CALLBACK}"], {}, False),
        (CONSOLE, [f"callbacks_enabled = {EVENTS_CALLBACK}", "bin_ansible_callbacks = True"], {}, True),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)
def test_decision_matches_what_core_loads(tmp_path, argv, cfg, env, loaded):
    config = tmp_path / "ansible.cfg"
    config.write_text("\n".join(["[defaults]", *cfg]) + "\n")
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("ANSIBLE_", "ARGUS_"))}
    clean.update(ANSIBLE_CONFIG=str(config), ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), **env)
    proc = subprocess.run(
        [sys.executable, "-c", COMPARE, *argv],
        env=clean,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1]) == {"core": loaded, "ours": loaded}, proc.stderr

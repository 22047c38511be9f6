# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the action plugins call their module: arguments checked here, the core run here when it can.

The arguments go through the module's own argument spec (``OPTIONS``, ``SPEC_RULES``) on the
controller first, as ansible-core's ``validate_argument_spec`` does: arguments the module would
refuse fail at once with ``INVALID_INPUT`` naming every problem in ``details.errors``, each with
its field, instead of the plain message ``AnsibleModule`` leaves (and nothing is sent).

Sending a module to a host costs a payload build (AnsiballZ) and a fresh Python that imports
Ansible's module_utils and the Docker SDK again: about 0.3 s a task, most of a setup's time beyond
Docker's own. When the task's connection is ``local`` (the host is the controller) nothing needs
sending: the module's core runs in this process, with the same checked parameters and the same
result envelope (``module_support.outcome``), and what the module would hide (``no_log`` values)
is hidden the same way. It does not, and the module is sent as usual, when the task sets
``environment`` or ``become`` (the module would run in another environment or as another user),
names a Python interpreter other than this process's (the user chose the Python, and with it the
Docker SDK, the module runs with), or when the Docker SDK cannot be imported here.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from ansible import constants
from ansible.module_utils.common.arg_spec import ModuleArgumentSpecValidator, ValidationResult
from ansible.module_utils.common.parameters import remove_values
from ansible_collections.argusai.resilience.plugins.module_utils.docker_client import HAS_DOCKER
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError
from ansible_collections.argusai.resilience.plugins.module_utils.module_support import outcome
from ansible_collections.argusai.resilience.plugins.module_utils.options import argument_spec
from ansible_collections.argusai.resilience.plugins.plugin_utils.controller_action import failed, raise_refused

MODULES = "ansible_collections.argusai.resilience.plugins.modules"


def module_of(action: Any) -> ModuleType:
    """The collection module the task of ``action`` (an ActionBase) calls."""
    name = str(action._task.resolved_action or action._task.action).rsplit(".", 1)[-1]
    return importlib.import_module(f"{MODULES}.{name}")


def validate(module: ModuleType, args: Mapping[str, Any]) -> ValidationResult:
    """``args`` through the module's argument spec, as AnsibleModule would check them on the host."""
    spec = argument_spec(module.OPTIONS)
    return ModuleArgumentSpecValidator(spec, **getattr(module, "SPEC_RULES", {})).validate(dict(args))


def refusal(module: ModuleType, args: Mapping[str, Any], validation: ValidationResult) -> dict[str, Any]:
    """The failed result for arguments the argument spec refused: ``INVALID_INPUT`` with every problem."""
    try:
        raise_refused(module.OPTIONS, validation)
    except ArgusError as exc:
        context = {key: args.get(key) for key in ("project", "run_id") if isinstance(args.get(key), str)}
        return failed(exc.with_context(**context))
    raise AssertionError("refusal() of arguments the argument spec accepted")


def runs_here(action: Any, task_vars: Mapping[str, Any]) -> bool:
    """Whether the task of ``action`` (an ActionBase) can run its module in this process."""
    task = action._task
    interpreter = constants.config.get_config_value("INTERPRETER_PYTHON", variables=task_vars)
    return (
        HAS_DOCKER
        and getattr(action._connection, "transport", None) == "local"
        and not action._play_context.become
        and not any(task.environment or ())  # a list of (maybe empty) mappings, one per level
        and is_this_python(action._templar.template(interpreter))
    )


def is_this_python(interpreter: Any) -> bool:
    """Whether ``interpreter`` (``ansible_python_interpreter`` or ``interpreter_python``) is this
    process's Python: discovery (``auto*``), or the same executable in the same directory (a
    virtualenv's ``bin/python`` and ``bin/python3`` are one; the base Python it links to is not)."""
    if not interpreter or str(interpreter).startswith("auto"):
        return True
    path = os.path.abspath(str(interpreter))
    here = os.path.abspath(sys.executable)
    return os.path.dirname(path) == os.path.dirname(here) and os.path.exists(path) and os.path.samefile(path, here)


def run_here(module: ModuleType, validation: ValidationResult, check_mode: bool) -> dict[str, Any]:
    """The module's result for the arguments of ``validation`` (accepted), computed in this process."""
    params = validation.validated_parameters
    warnings: list[str] = []
    result = outcome(module.OPTIONS, module.core, params, check_mode, warnings.append)
    result.setdefault("changed", False)
    result["invocation"] = {"module_args": params}
    if warnings:
        result["warnings"] = warnings
    return remove_values(result, validation._no_log_values)  # the set AnsibleModule hides too

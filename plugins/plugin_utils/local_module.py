# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Docker module whose host is this machine runs in the action's own process.

Sending a module to a host costs a payload build (AnsiballZ) and a fresh Python that imports
Ansible's module_utils and the Docker SDK again: about half a second a task, most of a setup's
time beyond Docker's own. When the task's connection is ``local`` (the host is the controller)
nothing needs sending: the module's own core runs here, through the same argument spec, the same
checks and the same result envelope (``module_support.outcome``), and what the module would hide
(``no_log`` values) is hidden the same way.

It does not, and the module is sent as usual, when the task sets ``environment`` or ``become``
(the module would run in another environment or as another user), or when the Docker SDK cannot
be imported here.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from ansible.module_utils.common.arg_spec import ModuleArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible_collections.argusai.resilience.plugins.module_utils.docker_client import HAS_DOCKER
from ansible_collections.argusai.resilience.plugins.module_utils.module_support import outcome
from ansible_collections.argusai.resilience.plugins.module_utils.options import argument_spec

MODULES = "ansible_collections.argusai.resilience.plugins.modules"


def runs_here(action: Any) -> bool:
    """Whether the task of ``action`` (an ActionBase) can run its module in this process."""
    task = action._task
    return (
        HAS_DOCKER
        and getattr(action._connection, "transport", None) == "local"
        and not action._play_context.become
        and not any(task.environment or ())  # a list of (maybe empty) mappings, one per level
    )


def run(module_name: str, args: Mapping[str, Any], check_mode: bool) -> dict[str, Any]:
    """The result of module ``module_name`` (short name) with ``args``, computed in this process."""
    module = importlib.import_module(f"{MODULES}.{module_name}")
    rules = getattr(module, "SPEC_RULES", {})
    validation = ModuleArgumentSpecValidator(argument_spec(module.OPTIONS), **rules).validate(dict(args))
    if validation.error_messages:  # what AnsibleModule answers for the same arguments
        return {"failed": True, "changed": False, "msg": "; ".join(validation.error_messages)}
    params = validation.validated_parameters
    warnings: list[str] = []
    result = outcome(module.OPTIONS, module.core, params, check_mode, warnings.append)
    result.setdefault("changed", False)
    result["invocation"] = {"module_args": params}
    if warnings:
        result["warnings"] = warnings
    return remove_values(result, validation._no_log_values)  # the set AnsibleModule hides too

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way an action runs on the controller only: validate -> run the core -> structured result.

The controller's counterpart of ``module_utils/module_support.run_module``: the arguments are
checked against the same option table the module documents (``OPTIONS``), every problem at once;
nothing is sent to the managed host, which therefore needs neither PyYAML nor this collection's
controller code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError, from_exception
from ansible_collections.argusai.resilience.plugins.module_utils.options import Option, argument_spec, check


def checked_arguments(options: Sequence[Option], args: Mapping[str, Any]) -> dict[str, Any]:
    """``args`` converted and checked as ``AnsibleModule`` would, then by the table's own rules."""
    validation = ArgumentSpecValidator(argument_spec(options)).validate(dict(args))
    if validation.error_messages:
        raise ArgusError(
            "INVALID_INPUT",
            "; ".join(validation.error_messages),
            {"field": None, "errors": [{"field": None, "value": None, "reason": m} for m in validation.error_messages]},
        )
    params = validation.validated_parameters
    check(options, params)
    return params


def failed(error: ArgusError, **result: Any) -> dict[str, Any]:
    """A failed task result: ``msg`` for people, ``error`` for machines."""
    return dict(result, failed=True, changed=False, msg=f"{error.code}: {error.message}", error=error.to_dict())


class ControllerAction(ActionBase):
    """Subclasses set ``OPTIONS`` and implement :meth:`core`."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False
    OPTIONS: Sequence[Option] = ()

    def core(self, params: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars if task_vars is not None else {}
        result = super().run(tmp, task_vars)
        del tmp
        try:
            result.update(self.core(checked_arguments(self.OPTIONS, self._task.args), task_vars))
        except ArgusError as exc:
            result.update(failed(exc))
        except Exception as exc:  # noqa: BLE001 - classified by the one table, never a traceback
            result.update(failed(from_exception(exc)))
        return result

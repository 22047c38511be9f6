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

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator, ValidationResult
from ansible.module_utils.errors import (
    MutuallyExclusiveError,
    RequiredByError,
    RequiredIfError,
    RequiredOneOfError,
    RequiredTogetherError,
)
from ansible.plugins.action import ActionBase
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError, from_exception
from ansible_collections.argusai.resilience.plugins.module_utils.module_support import failed_result
from ansible_collections.argusai.resilience.plugins.module_utils.options import (
    Option,
    Problems,
    argument_spec,
    check,
    validate_into,
)

# What Ansible's argument spec checks across options; the option table checks each option alone.
ACROSS_OPTIONS = (MutuallyExclusiveError, RequiredOneOfError, RequiredTogetherError, RequiredIfError, RequiredByError)


def raise_refused(options: Sequence[Option], validation: ValidationResult) -> None:
    """Raise ``INVALID_INPUT`` naming every problem when Ansible's argument spec refused the arguments.

    Each option's problems are named by the option table (``containers[1].memory``); the rules
    across options (mutually exclusive, required one of) by Ansible's words.
    """
    if not validation.error_messages:
        return
    problems = Problems()
    validate_into(options, validation.validated_parameters, "", problems, coerce=True)
    for error in validation.errors.errors:
        if isinstance(error, ACROSS_OPTIONS) or not problems.items:
            reason, _sep, names = error.msg.rpartition(": ")
            problems.add(names if reason else "", None, reason or error.msg)
    problems.raise_if_any()


def checked_arguments(options: Sequence[Option], args: Mapping[str, Any]) -> dict[str, Any]:
    """``args`` converted and checked as ``AnsibleModule`` would, then by the table's own rules."""
    validation = ArgumentSpecValidator(argument_spec(options)).validate(dict(args))
    raise_refused(options, validation)
    params = validation.validated_parameters
    check(options, params)
    return params


def failed(error: ArgusError, **result: Any) -> dict[str, Any]:
    """A failed task result that changed nothing: ``msg`` for people, ``error`` for machines."""
    return dict(failed_result(error, result=result), changed=False)


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

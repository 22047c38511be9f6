# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""argus_config runs on the controller: the configuration file is read and validated there, so a
managed host needs only Python and the Docker SDK (no PyYAML)."""

from __future__ import annotations

from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.config.loader import read_config
from ansible_collections.argusai.resilience.plugins.module_utils.module_options import CONFIG_INPUT
from ansible_collections.argusai.resilience.plugins.plugin_utils.controller_action import ControllerAction


class ActionModule(ControllerAction):
    OPTIONS = CONFIG_INPUT

    def core(self, params: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        return read_config(params)

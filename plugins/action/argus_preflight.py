# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""argus_preflight behind the circuit breaker of its host and project (see plugin_utils/breaker_action.py)."""

from __future__ import annotations

from ansible_collections.argusai.resilience.plugins.plugin_utils.breaker_action import BreakerAction


class ActionModule(BreakerAction):
    """Refuse at once with CIRCUIT_OPEN while the breaker is open; otherwise run and count."""

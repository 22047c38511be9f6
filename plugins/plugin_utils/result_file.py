# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The result file of a playbook run: one entry per inventory host, written on success and failure.

Format (``docs/agents.md``)::

    {"playbook": ..., "run": <playbook run marker>, "updated": <ISO-8601>,
     "hosts": {<host>: {"ok", "failed_stage", "error", "result", "timestamp"}}}

The hosts of one play write concurrently from Ansible's worker processes: each write takes an
exclusive ``flock`` on the file itself and merges its entry. A file written by an earlier playbook
run (another ``run`` marker) is replaced, so an agent never reads a stale host's outcome.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Mapping
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.errors import utc_now

# Suggested actions whose extra_vars hold container/resilience overrides merge them key by key.
MERGED_VARS = ("argus_container_overrides", "argus_resilience_overrides")


def playbook_run() -> str:
    """A marker of the running ``ansible-playbook`` process: its pid and start time.

    Action plugins run in worker processes forked from it, so their parent is that process.
    """
    parent = os.getppid()
    try:
        with open(f"/proc/{parent}/stat", encoding="ascii") as handle:
            started = handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        started = "?"
    return f"{parent}-{started}"


def write_entry(path: str, playbook: str, host: str, entry: Mapping[str, Any]) -> None:
    """Merge this host's entry into the result file at ``path`` (created when missing)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    run = playbook_run()
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    with os.fdopen(fd, "r+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
        try:
            current = json.loads(handle.read() or "{}")
        except ValueError:
            current = {}
        if not isinstance(current, dict) or current.get("run") != run:
            current = {"playbook": playbook, "run": run, "hosts": {}}
        current["hosts"] = dict(current.get("hosts") or {}, **{host: dict(entry)})
        current["updated"] = utc_now()
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(current, indent=2, sort_keys=True, default=str) + "\n")


def _merge(base: Any, changes: Any) -> Any:
    if isinstance(base, Mapping) and isinstance(changes, Mapping):
        merged = dict(base)
        for key, value in changes.items():
            merged[key] = _merge(merged.get(key), value)
        return merged
    return changes


def with_rerun_inputs(error: Mapping[str, Any], playbook: str, rerun: Mapping[str, Any]) -> dict[str, Any]:
    """``error`` whose actions that run ``playbook`` again also carry this run's inputs (``rerun``),
    so that running one as given is this run with its fix: the action's own values win, and its
    container/resilience overrides are merged over this run's."""
    actions = []
    for action in error.get("suggested_actions") or []:
        if isinstance(action, Mapping) and action.get("playbook") == playbook:
            extra = dict(rerun)
            for key, value in (action.get("extra_vars") or {}).items():
                extra[key] = _merge(extra.get(key), value) if key in MERGED_VARS else value
            action = dict(action, extra_vars=extra)
        actions.append(action)
    return dict(error, suggested_actions=actions)

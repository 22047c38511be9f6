# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: argus_events
type: aggregate
short_description: Resilience events as JSON lines, circuit-breaker persistence and an end-of-play summary
version_added: 0.1.0
description:
  - Writes every event the collection's modules return in C(argus_events) (preflight checks,
    restarts, cleanups, port reassignments, network checks) and every circuit-breaker transition
    (C(circuit_open), C(circuit_half_open), C(circuit_closed)) as one JSON object per line to
    O(events_path). Each line holds C(type), C(timestamp), C(project), C(run_id), C(data), and the
    C(host) and C(task) that produced it.
  - Stores the circuit breaker of every task that returns one in the host facts
    (C(ansible_facts.argus_circuit)), also for failed tasks, whose C(ansible_facts) ansible-core
    discards. Without this callback a breaker never remembers a failure; the breaker's action
    plugins warn when it is not enabled.
  - With a persistent fact cache (C(fact_caching=jsonfile) or C(redis)), the breaker survives
    between C(ansible-playbook) runs. See the collection's C(docs/circuit-breaker.md).
  - Prints a resilience summary at the end of the playbook (preflight checks, port mappings,
    restarts, orphans removed, breaker state per host and project, and the wall time of each stage of
    the C(argusai.resilience.argus_setup) role, as the controller saw it).
author:
  - ArgusAI team (@argusai)
requirements:
  - Enable it in C(ansible.cfg) with C(callbacks_enabled = argusai.resilience.argus_events).
options:
  events_path:
    description:
      - File the events are appended to, one JSON object per line. Its directory is created.
      - When the file cannot be written, the callback warns once and the play goes on.
    type: path
    default: ~/.ansible/argus-events.jsonl
    ini:
      - section: callback_argus_events
        key: events_path
    env:
      - name: ARGUS_EVENTS_PATH
  summary:
    description: Print the resilience summary at the end of the playbook.
    type: bool
    default: true
    ini:
      - section: callback_argus_events
        key: summary
    env:
      - name: ARGUS_EVENTS_SUMMARY
notes:
  - Results of tasks with C(no_log) are censored before callbacks see them, so their events and
    breaker state are not recorded.
  - the C(clear_facts) meta task, C(--flush-cache) and an expired C(fact_caching_timeout) reset every breaker.
  - Under ansible-runner, whose fact cache is a directory of the run unless C(fact_cache) in C(env/settings)
    names another, and in AWX jobs without C(use_fact_cache) and without a shared cache, breakers are
    forgotten when the run ends; the callback warns once per playbook then. See C(docs/circuit-breaker.md).
"""

import json
import os
import time
from collections import defaultdict
from typing import Any

from ansible import constants as C
from ansible.plugins.callback import CallbackBase
from ansible_collections.argusai.resilience.plugins.plugin_utils.breaker_store import (
    FACT,
    BreakerStore,
    HostFactsStore,
    forgotten_after_run,
)

_PREFLIGHT = "argus_preflight"
_PORTS = "argus_port_resolve"
_ORPHANS = "argus_orphan_clean"
_CIRCUIT = "argus_circuit"
_GUARD = "argus_container_guard"
# The task variable by which the argus_setup role names the stage of each of its tasks.
_STAGE_VAR = "argus_setup__stage"


def _short_action(task: Any) -> str:
    action = getattr(task, "resolved_action", None) or getattr(task, "action", "") or ""
    return str(action).rsplit(".", 1)[-1]


def _result_of(result: Any) -> dict[str, Any]:
    data = getattr(result, "result", None)  # ansible-core >= 2.19
    if data is None:
        data = getattr(result, "_result", None)
    return data if isinstance(data, dict) else {}


def _host_of(result: Any) -> str:
    host = getattr(result, "host", None) or getattr(result, "_host", None)
    return host.get_name() if host is not None else "unknown"


def _task_of(result: Any) -> Any:
    return getattr(result, "task", None) or getattr(result, "_task", None)


class HostSummary:
    """What happened on one host, for the end-of-play summary."""

    def __init__(self) -> None:
        self.preflight: dict[str, tuple[int, str]] = {}  # project -> (runs, last report)
        self.ports: list[dict[str, Any]] = []
        self.restarts = 0
        self.orphan_cleanups = 0
        self.orphans_removed = 0
        self.refused: dict[str, int] = defaultdict(int)  # project -> tasks refused with CIRCUIT_OPEN
        self.events = 0
        self.breakers: dict[str, dict[str, Any]] = {}
        self.stages: dict[str, float] = {}  # setup stage -> seconds, in the order the stages ran

    def is_empty(self) -> bool:
        return not (
            self.preflight or self.ports or self.restarts or self.orphan_cleanups or self.breakers or self.stages
        )

    def note_cleanup(self, removed: Any) -> None:
        if isinstance(removed, list):
            self.orphan_cleanups += 1
            self.orphans_removed += len(removed)


def _project_of(data: dict[str, Any]) -> str:
    circuit = data.get(FACT)
    if isinstance(circuit, dict) and circuit.get("project"):
        return str(circuit["project"])
    for event in data.get("argus_events") or []:
        if isinstance(event, dict) and event.get("project"):
            return str(event["project"])
    args = (data.get("invocation") or {}).get("module_args") or {}
    return str(args.get("project") or "default")


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "argusai.resilience.argus_events"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display: Any = None) -> None:
        super().__init__(display=display)
        self._store: BreakerStore | None = None
        self._cache_checked = False
        self._events_path: str | None = None
        self._write_disabled = False
        self._written = 0
        self._summary_enabled = True
        self._hosts: dict[str, HostSummary] = defaultdict(HostSummary)
        self._task_started: tuple[Any, float] | None = None  # (task uuid, monotonic start)

    def set_options(self, task_keys: Any = None, var_options: Any = None, direct: Any = None) -> None:
        super().set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        self._events_path = self.get_option("events_path")
        self._summary_enabled = bool(self.get_option("summary"))

    # -- play and task results -----------------------------------------------------------------

    def v2_playbook_on_play_start(self, play: Any) -> None:
        self._store = HostFactsStore(play.get_variable_manager())

    def v2_playbook_on_task_start(self, task: Any, is_conditional: bool) -> None:
        self._task_started = (getattr(task, "_uuid", None), time.monotonic())

    def v2_runner_on_ok(self, result: Any) -> None:
        self._task_done(result)
        self._timed(result)

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._task_done(result)
        self._timed(result)

    def _timed(self, result: Any) -> None:
        """Add the task's wall time (its start to this host's result) to the host's setup stage."""
        task = _task_of(result)
        stage = (getattr(task, "vars", None) or {}).get(_STAGE_VAR) if task is not None else None
        if not isinstance(stage, str) or self._task_started is None:
            return
        uuid, began = self._task_started
        if uuid != getattr(task, "_uuid", None):
            return
        stages = self._hosts[_host_of(result)].stages
        stages[stage] = stages.get(stage, 0.0) + time.monotonic() - began

    def v2_runner_item_on_ok(self, result: Any) -> None:
        self._record(result, _result_of(result))

    def v2_runner_item_on_failed(self, result: Any) -> None:
        self._record(result, _result_of(result))

    def v2_runner_retry(self, result: Any) -> None:
        # Each `until` attempt is a separate module run with its own events and transitions.
        self._write_events(result, _result_of(result))

    def _task_done(self, result: Any) -> None:
        data = _result_of(result)
        items = data.get("results")
        if isinstance(items, list):
            # A loop: the items were recorded one by one; the last breaker state is the current one.
            states = [item[FACT] for item in items if isinstance(item, dict) and isinstance(item.get(FACT), dict)]
            if states:
                self._persist(_host_of(result), states[-1])
            return
        self._record(result, data)
        if isinstance(data.get(FACT), dict):
            self._persist(_host_of(result), data[FACT])

    def _record(self, result: Any, data: dict[str, Any]) -> None:
        """Write the events of one module run and note what the summary needs."""
        self._write_events(result, data)
        host = self._hosts[_host_of(result)]
        action = _short_action(_task_of(result))
        if action == _PREFLIGHT and isinstance(data.get("report"), dict):
            report = data["report"]
            counts: dict[str, int] = defaultdict(int)
            for check in report.get("checks") or []:
                if isinstance(check, dict):
                    counts[str(check.get("status"))] += 1
            tally = ", ".join(f"{counts[s]} {s}" for s in ("pass", "warn", "fail", "skipped") if counts[s])
            project = _project_of(data)
            runs = host.preflight.get(project, (0, ""))[0] + 1
            host.preflight[project] = (runs, f"{report.get('overall')} ({tally or 'no checks'})")
        elif action == _PORTS and isinstance(data.get("mappings"), list):
            host.ports.extend(m for m in data["mappings"] if isinstance(m, dict))
        elif action == _ORPHANS:
            host.note_cleanup(data.get("removed"))
        if action == _PREFLIGHT and isinstance(data.get("orphan_cleanup"), dict):
            host.note_cleanup(data["orphan_cleanup"].get("removed"))
        elif action == _GUARD and isinstance(data.get("port_resolution"), dict):
            mappings = data["port_resolution"].get("mappings")
            host.ports.extend(m for m in mappings or [] if isinstance(m, dict))
        error = data.get("error")
        if isinstance(error, dict) and error.get("code") == "CIRCUIT_OPEN":
            host.refused[_project_of(data)] += 1
        for event in data.get("argus_events") or []:
            if isinstance(event, dict) and event.get("type") == "restart_attempt":
                host.restarts += 1
        if isinstance(data.get(FACT), dict) and data[FACT].get("project"):
            host.breakers[str(data[FACT]["project"])] = data[FACT]
        elif action == _CIRCUIT and isinstance(data.get("current"), dict) and data.get("project"):
            host.breakers[str(data["project"])] = data["current"]

    # -- breaker persistence -------------------------------------------------------------------

    def _persist(self, host: str, circuit: dict[str, Any]) -> None:
        """Store one project's breaker (the ``argus_circuit`` result key) for the host."""
        project = circuit.get("project")
        if self._store is None or not isinstance(project, str):
            return
        self._store.save(host, project, {key: value for key, value in circuit.items() if key != "project"})
        if not self._cache_checked:
            # Once per playbook, and only when it keeps a breaker: pipelines pick caches that end with the run.
            self._cache_checked = True
            reason = forgotten_after_run(C.CACHE_PLUGIN, C.CACHE_PLUGIN_CONNECTION, os.environ)
            if reason:
                self._display.warning(f"argus_events: {reason}")

    # -- events file ---------------------------------------------------------------------------

    def _write_events(self, result: Any, data: dict[str, Any]) -> None:
        events = [event for event in data.get("argus_events") or [] if isinstance(event, dict)]
        if not events or self._write_disabled or not self._events_path:
            return
        host = _host_of(result)
        task = _task_of(result)
        task_name = task.get_name() if task is not None else None
        lines = "".join(
            json.dumps({**event, "host": host, "task": task_name}, sort_keys=True, default=str) + "\n"
            for event in events
        )
        path = os.path.expanduser(self._events_path)
        try:
            directory = os.path.dirname(path)
            if directory:
                os.makedirs(directory, exist_ok=True)
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(lines)
        except OSError as exc:
            self._write_disabled = True
            self._display.warning(
                f"argus_events: cannot write events to {path} ({exc}); no more events are written in this run. "
                "Set events_path in [callback_argus_events] of ansible.cfg or ARGUS_EVENTS_PATH."
            )
            return
        self._hosts[host].events += len(events)
        self._written += len(events)

    # -- summary -------------------------------------------------------------------------------

    def v2_playbook_on_stats(self, stats: Any) -> None:
        if not self._summary_enabled:
            return
        hosts = {name: summary for name, summary in self._hosts.items() if not summary.is_empty()}
        if not hosts:
            return
        self._display.banner("ARGUS RESILIENCE SUMMARY")
        for name in sorted(hosts):
            for line in self._summary_lines(name, hosts[name]):
                self._display.display(line)
        if self._written:
            self._display.display(f"{self._written} events written to {os.path.expanduser(self._events_path or '')}")

    @staticmethod
    def _summary_lines(name: str, host: HostSummary) -> list[str]:
        lines = [f"{name}:"]
        for project, (runs, last) in sorted(host.preflight.items()):
            lines.append(f"  preflight  {project}: {last}" + (f", last of {runs} runs" if runs > 1 else ""))
        if host.ports:
            moved = [m for m in host.ports if m.get("reassigned")]
            detail = ", ".join(f"{m.get('service')} {m.get('original_port')}->{m.get('actual_port')}" for m in moved)
            lines.append(
                f"  ports      {len(host.ports)} mapped, {len(moved)} reassigned" + (f" ({detail})" if detail else "")
            )
        if host.restarts:
            lines.append(f"  restarts   {host.restarts} restart attempt(s)")
        if host.orphan_cleanups:
            lines.append(f"  orphans    {host.orphans_removed} removed")
        if host.stages:
            spent = ", ".join(f"{stage} {seconds:.2f} s" for stage, seconds in host.stages.items())
            lines.append(f"  stages     {spent} (setup stages, wall time: {sum(host.stages.values()):.2f} s)")
        for project, state in sorted(host.breakers.items()):
            refused = host.refused.get(project)
            lines.append(
                f"  breaker    {project}: {state.get('state')} "
                f"({state.get('failure_count')}/{state.get('failure_threshold')} consecutive failures)"
                + (f", {refused} task(s) refused" if refused else "")
            )
        return lines

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where circuit breakers are kept: the storage interface and the host facts cache behind it.

The stored format is known here and nowhere else: the fact ``argus_circuit`` of a host is a dict
of project -> state, where a state is :meth:`breaker.CircuitBreaker.to_dict` (and whatever
:meth:`~breaker.CircuitBreaker.from_dict` gets back, however damaged, it tolerates).

* :class:`BreakerStore` - load and save the state of ONE host and project.
* :class:`HostFactsStore` - the store the SPEC requires: the host facts cache, written through
  ``VariableManager.set_host_facts`` by the ``argus_events`` callback in the main process.
* :func:`project_state` / :func:`with_project_state` - read one project's state from the fact
  and put one back; the action plugins use them on the fact they see in their task vars.
* :func:`cached_host_facts` - the one access to ansible-core internals (see there).
* :func:`forgotten_after_run` - why the fact cache of a run will not keep its breakers, where a
  pipeline (ansible-runner, AWX) chose a cache that ends with the run.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

FACT = "argus_circuit"


def project_state(circuits: Any, project: str) -> tuple[Any, list[str]]:
    """The stored state of ``project`` in a value of the ``argus_circuit`` fact, and notes.

    The state is returned as stored (``None`` when there is none); the notes say what was
    unusable. A fact that is not a dictionary holds no state at all.
    """
    if circuits is None:
        return None, []
    if not isinstance(circuits, Mapping):
        note = f"ansible_facts.{FACT} is not a dictionary ({type(circuits).__name__}); every breaker starts closed"
        return None, [note]
    return circuits.get(project), []


def with_project_state(circuits: Any, project: str, state: Mapping[str, Any]) -> dict[str, Any]:
    """The ``argus_circuit`` fact with ``project``'s state replaced and every other project kept.

    The result is a new dict: the input may be the cache's own object, which is not ours to change.
    """
    updated = dict(circuits) if isinstance(circuits, Mapping) else {}
    updated[project] = dict(state)
    return updated


class BreakerStore(ABC):
    """Keeps the state (:meth:`CircuitBreaker.to_dict`) of one breaker per host and project."""

    @abstractmethod
    def load(self, host: str, project: str) -> Any:
        """The state as stored, ``None`` when there is none (``CircuitBreaker.from_dict`` reads it)."""

    @abstractmethod
    def save(self, host: str, project: str, state: Mapping[str, Any]) -> None:
        """Store the state; the other projects of the host stay as they are."""


def cached_host_facts(variable_manager: Any, host: str) -> Mapping[str, Any]:
    """The facts of ``host`` in the VariableManager's fact cache; ``{}`` when it has none.

    The one use of a private ansible-core attribute (``VariableManager._fact_cache``): core
    (2.17 to 2.21) has ``set_host_facts`` but no public way to read one host's cached facts
    back, short of ``get_vars()``, which computes every variable of the host on each call. The
    store must read them to merge one project into the fact (``set_host_facts`` replaces a
    fact whole). tests/unit/plugins/plugin_utils/test_breaker_store.py runs this against the
    real VariableManager of every supported core, so a change there fails a test, not a play.
    """
    try:
        facts = variable_manager._fact_cache.get(host)
    except KeyError:  # 2.19+: the cache plugin raises for a host it has nothing for (2.17: None)
        return {}
    return facts if isinstance(facts, Mapping) else {}


class HostFactsStore(BreakerStore):
    """Breakers in the host facts cache (``ansible_facts.argus_circuit``), in the main process.

    Saving goes through ``set_host_facts``: the next task sees the state in its facts, and a
    persistent cache plugin (jsonfile, redis, ...) keeps it across runs.
    """

    def __init__(self, variable_manager: Any) -> None:
        self._variable_manager = variable_manager

    def load(self, host: str, project: str) -> Any:
        state, _notes = project_state(cached_host_facts(self._variable_manager, host).get(FACT), project)
        return state

    def save(self, host: str, project: str, state: Mapping[str, Any]) -> None:
        circuits = cached_host_facts(self._variable_manager, host).get(FACT)
        self._variable_manager.set_host_facts(host, {FACT: with_project_state(circuits, project, state)})


_GUIDE = 'docs/circuit-breaker.md, "Where pipelines run"'


def _plugin_is(plugin: str | None, name: str) -> bool:
    return (plugin or "").rsplit(".", 1)[-1] == name


def forgotten_after_run(cache_plugin: str | None, connection: str | None, environ: Mapping[str, str]) -> str | None:
    """Why this run's fact cache will not keep its breakers for the next run; ``None`` if it may.

    Only the set-ups that pipelines make behind the user's back are recognised:

    * ansible-runner (outside AWX) sets ``ANSIBLE_CACHE_PLUGIN=jsonfile`` with a connection inside
      the run's own artifact directory (its ``AWX_ISOLATED_DATA_DIR``), new for every run, and it
      sets them after ``env/envvars``, so only ``fact_cache`` in ``env/settings`` moves it.
    * An AWX job without "Use Fact Cache" gets no cache from AWX (``JOB_ID`` and
      ``INVENTORY_ID`` come from AWX); with the ``memory`` plugin nothing outlives the job.
      With it, AWX stores the job's cache in its database after the job, so no warning.
    """
    awx = bool(environ.get("JOB_ID") and environ.get("INVENTORY_ID"))
    run_dir = environ.get("AWX_ISOLATED_DATA_DIR")
    if awx:
        if _plugin_is(cache_plugin, "memory"):
            return (
                "this AWX job keeps facts in memory only: circuit breakers are forgotten when it ends. Enable "
                f'"Use Fact Cache" on the job template or configure a shared fact cache ({_GUIDE}).'
            )
        return None
    if run_dir and connection and _plugin_is(cache_plugin, "jsonfile"):
        cache_dir = os.path.realpath(connection)
        if os.path.commonpath([cache_dir, os.path.realpath(run_dir)]) == os.path.realpath(run_dir):
            return (
                f"ansible-runner keeps facts in {connection}, a directory of this run only: circuit breakers "
                "are forgotten when it ends. Keep them with 'fact_cache: /an/absolute/directory' in "
                f"env/settings of the private data directory ({_GUIDE})."
            )
    return None

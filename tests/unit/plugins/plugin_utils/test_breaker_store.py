"""The breaker store and its one private access, against ansible-core's real VariableManager.

No stand-ins: a real ``VariableManager`` with the real ``memory`` and ``jsonfile`` cache plugins.
``cached_host_facts`` reads ``VariableManager._fact_cache``, which core does not promise to keep;
``make compat`` runs this file on ansible-core 2.17 and 2.21 too, so a core that changes it
fails here instead of silently losing breaker state.
"""

from __future__ import annotations

import pytest
from ansible import constants as C
from ansible.parsing.dataloader import DataLoader
from ansible.vars.manager import VariableManager
from ansible_collections.argusai.resilience.plugins.plugin_utils.breaker_store import (
    FACT,
    BreakerStore,
    HostFactsStore,
    cached_host_facts,
    project_state,
    with_project_state,
)

OPEN = {"state": "open", "failure_count": 5, "failure_threshold": 5, "failure_history": [{"code": "X"}]}
CLOSED = {"state": "closed", "failure_count": 1, "failure_threshold": 5, "failure_history": []}


@pytest.fixture(params=["memory", "jsonfile"])
def new_variable_manager(request, monkeypatch, tmp_path):
    """Makes VariableManagers over one fact cache of the given plugin (jsonfile: a fresh directory)."""
    monkeypatch.setattr(C, "CACHE_PLUGIN", request.param)
    monkeypatch.setenv("ANSIBLE_CACHE_PLUGIN_CONNECTION", str(tmp_path / "facts"))
    monkeypatch.setenv("ANSIBLE_CACHE_PLUGIN_TIMEOUT", "0")
    return lambda: VariableManager(loader=DataLoader())


def test_cached_host_facts_reads_what_set_host_facts_wrote(new_variable_manager):
    vm = new_variable_manager()
    assert cached_host_facts(vm, "h1") == {}  # a host the cache has never seen
    vm.set_host_facts("h1", {"other_fact": 1, FACT: {"shop": OPEN}})
    vm.set_host_facts("h1", {"more": [1, 2]})
    facts = cached_host_facts(vm, "h1")
    assert facts["other_fact"] == 1 and facts["more"] == [1, 2] and facts[FACT] == {"shop": OPEN}
    assert cached_host_facts(vm, "h2") == {}
    vm.clear_facts("h1")  # meta: clear_facts
    assert cached_host_facts(vm, "h1") == {}


def test_store_saves_one_project_and_keeps_the_rest(new_variable_manager):
    vm = new_variable_manager()
    store: BreakerStore = HostFactsStore(vm)
    assert store.load("h1", "shop") is None
    vm.set_host_facts("h1", {"other_fact": 1})
    store.save("h1", "shop", OPEN)
    store.save("h1", "blog", CLOSED)
    store.save("h2", "shop", CLOSED)
    assert store.load("h1", "shop") == OPEN and store.load("h1", "blog") == CLOSED
    assert store.load("h2", "shop") == CLOSED and store.load("h2", "blog") is None
    assert cached_host_facts(vm, "h1") == {"other_fact": 1, FACT: {"shop": OPEN, "blog": CLOSED}}
    store.save("h1", "shop", CLOSED)
    assert cached_host_facts(vm, "h1")[FACT] == {"shop": CLOSED, "blog": CLOSED}


def test_saved_state_is_in_the_cache_a_later_run_reads(new_variable_manager):
    HostFactsStore(new_variable_manager()).save("h1", "shop", OPEN)
    later = HostFactsStore(new_variable_manager())
    expected = OPEN if C.CACHE_PLUGIN == "jsonfile" else None  # memory: nothing outlives the run
    assert later.load("h1", "shop") == expected


def test_a_corrupted_fact_is_replaced_on_save(new_variable_manager):
    vm = new_variable_manager()
    vm.set_host_facts("h1", {FACT: "garbage"})
    store = HostFactsStore(vm)
    assert store.load("h1", "shop") is None
    store.save("h1", "shop", OPEN)
    assert cached_host_facts(vm, "h1")[FACT] == {"shop": OPEN}


def test_project_state():
    assert project_state(None, "shop") == (None, [])
    assert project_state({"shop": OPEN}, "shop") == (OPEN, [])
    assert project_state({"blog": OPEN}, "shop") == (None, [])
    assert project_state({"shop": "garbage"}, "shop") == ("garbage", [])  # CircuitBreaker.from_dict judges it
    state, notes = project_state(["not", "a", "dict"], "shop")
    assert state is None and notes == [f"ansible_facts.{FACT} is not a dictionary (list); every breaker starts closed"]


def test_with_project_state_leaves_its_input_alone():
    stored = {"blog": CLOSED, "shop": CLOSED}
    assert with_project_state(stored, "shop", OPEN) == {"blog": CLOSED, "shop": OPEN}
    assert stored == {"blog": CLOSED, "shop": CLOSED}
    assert with_project_state(None, "shop", OPEN) == {"shop": OPEN}
    assert with_project_state("garbage", "shop", OPEN) == {"shop": OPEN}

"""argus_container_guard: the argument spec matches the core defaults, and list validation."""

from __future__ import annotations

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError
from ansible_collections.argusai.resilience.plugins.module_utils.guard.options import CONTAINER_OPTIONS, DEFAULTS
from ansible_collections.argusai.resilience.plugins.module_utils.guard.spec import specs_from_params
from ansible_collections.argusai.resilience.plugins.module_utils.options import argument_spec
from ansible_collections.argusai.resilience.plugins.modules import argus_container_guard as module

SPEC = argument_spec(module.OPTIONS)


def params(**overrides):
    values = {key: option.get("default") for key, option in SPEC.items()}
    values.update(project="shop", run_id=None, containers=None)
    values.update(overrides)
    return values


def test_argument_spec_defaults_are_the_core_defaults():
    item = SPEC["containers"]["options"]
    for key, default in DEFAULTS.items():
        assert item[key].get("default") == default, key
        assert SPEC[key].get("default") == default, key
    assert item["env"]["no_log"] is True
    assert item["name"]["required"] is True and "required" not in SPEC["name"]
    assert set(item) == {option.name for option in CONTAINER_OPTIONS}


def test_single_form():
    (spec,) = specs_from_params(params(name="web", image="img:1", memory="8m"))
    assert spec.name == "web" and spec.memory == 8 << 20


def test_list_form_validates_each_item_with_its_index():
    items = [dict(params(name="a", image="img:1"), containers=None), {"name": "b", "image": "img:1", "memory": "x"}]
    with pytest.raises(ArgusError) as info:
        specs_from_params(params(containers=items))
    assert info.value.details["field"] == "containers[1].memory"


@pytest.mark.parametrize(
    ("containers", "reason"),
    [([], "at least one"), ([{"name": "a", "image": "i"}, {"name": "a", "image": "i"}], "unique")],
)
def test_list_form_rejects_empty_and_duplicates(containers, reason):
    with pytest.raises(ArgusError) as info:
        specs_from_params(params(containers=containers))
    assert info.value.code == "INVALID_INPUT" and reason in info.value.message

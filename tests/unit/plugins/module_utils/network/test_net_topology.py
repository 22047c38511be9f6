"""The network topology: built from inspect data, read from the API, described in messages."""

from __future__ import annotations

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError
from ansible_collections.argusai.resilience.plugins.module_utils.network.topology import (
    build_topology,
    describe_topology,
    endpoint_addresses,
    read_topology,
)
from net_fakes import CONTAINERS, NETWORK, FakeAPI


def test_build_topology_uses_container_aliases_and_drops_short_id():
    topology = build_topology(NETWORK, CONTAINERS)
    assert topology["network"] == "e2e-net" and topology["subnets"] == ["172.18.0.0/16"]
    assert topology["containers"][0] == {"name": "shop-api", "id": "a" * 12, "ipv4": "172.18.0.2", "aliases": ["api"]}
    text = describe_topology(topology)
    assert text.startswith("Containers on the network e2e-net: shop-api (172.18.0.2, aliases api)")
    assert "shop-tests (172.18.0.4, aliases none)" in text


def test_read_topology_lists_a_container_removed_meanwhile_without_aliases():
    containers = {cid: data for cid, data in CONTAINERS.items() if cid != "b" * 64}
    topology = read_topology(FakeAPI(None, containers=containers), "e2e-net")
    assert {c["name"]: c["aliases"] for c in topology["containers"]} == {
        "shop-api": ["api"],
        "shop-payments": [],
        "shop-tests": [],
    }
    assert endpoint_addresses(NETWORK) == {"172.18.0.2", "172.18.0.3", "172.18.0.4"}
    with pytest.raises(ArgusError) as info:
        read_topology(FakeAPI(None), "ghost-net")
    assert info.value.details == {"field": "network", "value": "ghost-net", "cause": "not_found"}

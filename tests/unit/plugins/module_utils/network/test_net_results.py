"""Per-target results and the structured error that explains them."""

from __future__ import annotations

from ansible_collections.argusai.resilience.plugins.module_utils.network import results as R
from ansible_collections.argusai.resilience.plugins.module_utils.network.options import Target
from ansible_collections.argusai.resilience.plugins.module_utils.network.topology import build_topology
from net_fakes import CONTAINERS, NETWORK


def result(status, **values):
    base = R.new_result(Target(values.pop("service", "svc"), values.pop("host", "svc"), values.pop("port", 80)))
    base.update(status=status, **values)
    return base


def test_failure_prefers_dns_and_explains_each_target():
    topology = build_topology(NETWORK, CONTAINERS)
    results = [
        result(R.REACHABLE, service="api", host="api", reachable=True),
        result(
            R.UNREACHABLE,
            service="pay",
            host="payments",
            port=9999,
            address="172.18.0.3",
            error="Connection refused",
        ),
        result(
            R.DNS_FAILED,
            service="db",
            host="db",
            error="NXDOMAIN",
            hint="a container db exists but is attached to other",
        ),
    ]
    error = R.failure_for(results, topology, "shop-tests", "busybox:latest")
    assert error.code == "DNS_RESOLUTION_FAILED"
    assert error.message.startswith("db does not resolve on the network e2e-net (NXDOMAIN); a container db exists")
    assert "payments resolves to 172.18.0.3 but nothing listens on 9999 (Connection refused)" in error.message
    assert "Containers on the network e2e-net: shop-api (172.18.0.2, aliases api)" in error.message
    assert error.details["failed_targets"] == ["db", "pay"]
    assert error.details["network_topology"] == topology and error.details["results"] == results


def test_failure_unreachable_only_and_all_good():
    topology = build_topology(NETWORK, CONTAINERS)
    unreachable = [result(R.UNREACHABLE, host="payments", port=9999, address="172.18.0.3", error="refused")]
    assert R.failure_for(unreachable, topology, "t", "img").code == "NETWORK_UNREACHABLE"
    outside = [result(R.OUTSIDE_NETWORK, host="example.org", address="93.184.216.34")]
    assert R.failure_for(outside, topology, "t", "img").code == "NETWORK_UNREACHABLE"
    assert R.failure_for([result(R.REACHABLE)], topology, "t", "img") is None


def test_probe_unavailable_is_never_unreachable():
    topology = build_topology(NETWORK, CONTAINERS)
    error = R.failure_for([result(R.PROBE_UNAVAILABLE, error="no tools")], topology, "t", "busybox:latest")
    assert error.code == "INVALID_INPUT"
    assert error.details["field"] == "probe_image" and error.details["cause"] == "probe_unavailable"
    assert "could not be probed (no tools)" in error.message

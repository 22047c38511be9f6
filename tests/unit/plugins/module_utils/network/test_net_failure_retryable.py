"""Whether a failed verification can pass when run again: the evidence is in each result."""

from __future__ import annotations

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils.network import results as R
from ansible_collections.argusai.resilience.plugins.module_utils.network.options import Target
from ansible_collections.argusai.resilience.plugins.module_utils.network.topology import build_topology
from net_fakes import CONTAINERS, NETWORK


def probed(service, *statuses, **values):
    """A result after one attempt per status, as the verifier counts them."""
    result = R.new_result(Target(service, service, 80))
    for status in statuses:
        result.update(status=status, **values)
        R.count_attempt(result)
    return result


def failure(*results, wait_seconds=30):
    error = R.failure_for(list(results), build_topology(NETWORK, CONTAINERS), "t", "img", True, wait_seconds)
    return error.with_context(project="shop", run_id="r1").to_dict(), error.details


def test_a_port_closed_for_the_whole_wait_is_final():
    closed = probed("pay", R.UNREACHABLE, R.UNREACHABLE, R.UNREACHABLE, address="172.18.0.3", error="refused")
    assert (closed["attempts"], closed["closed_attempts"]) == (3, 3)
    error, details = failure(closed, probed("api", R.REACHABLE))
    assert error["code"] == "NETWORK_UNREACHABLE"
    assert details["cause"] == "closed" and details["closed_targets"] == ["pay"]
    assert details["wait_seconds"] == 30
    assert error["retryable"] is False
    ids = [action["id"] for action in error["suggested_actions"]]
    assert "check_service_listening" in ids and "raise_wait_seconds" not in ids


@pytest.mark.parametrize(
    "statuses",
    [
        (R.UNREACHABLE,),  # one attempt (wait_seconds 0) proves less
        (R.PROBE_UNAVAILABLE, R.UNREACHABLE),  # not closed every time
    ],
)
def test_a_port_not_proven_closed_can_pass(statuses):
    error, details = failure(probed("pay", *statuses, address="172.18.0.3", error="refused"), wait_seconds=0)
    assert details["cause"] == "not_answering" and "closed_targets" not in details
    assert error["retryable"] is True
    wait = next(action for action in error["suggested_actions"] if action["id"] == "raise_wait_seconds")
    assert wait["kind"] == "retry"


def test_a_name_outside_the_network_is_final():
    outside = probed("ext", R.OUTSIDE_NETWORK, address="93.184.216.34")
    error, details = failure(outside, probed("pay", R.UNREACHABLE))
    assert details["cause"] == "outside_network"
    assert error["retryable"] is False


def test_a_name_that_never_resolves_is_final_with_a_diagnosis():
    error, _details = failure(probed("db", R.DNS_FAILED, R.DNS_FAILED, error="NXDOMAIN"))
    assert error["code"] == "DNS_RESOLUTION_FAILED"
    assert error["retryable"] is False
    assert {a["id"]: a["kind"] for a in error["suggested_actions"]}["check_target_name"] == "diagnose"

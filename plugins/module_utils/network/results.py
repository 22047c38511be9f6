# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-target results of a verification and the structured error that explains them."""

from __future__ import annotations

from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError
from ansible_collections.argusai.resilience.plugins.module_utils.network.options import Target
from ansible_collections.argusai.resilience.plugins.module_utils.network.topology import describe_topology

# Target status values, one per result.
REACHABLE = "reachable"
DNS_FAILED = "dns_failed"
UNREACHABLE = "unreachable"
OUTSIDE_NETWORK = "outside_network"
PROBE_UNAVAILABLE = "probe_unavailable"


def new_result(target: Target) -> dict[str, Any]:
    return {
        "service": target.name,
        "hostname": target.host,
        "port": target.port,
        "dns_resolved": None,
        "address": None,
        "reachable": None,
        "latency_ms": None,
        "error": None,
        "status": PROBE_UNAVAILABLE,
        "probe": None,
        "attempts": 0,
        "closed_attempts": 0,
    }


def count_attempt(result: dict[str, Any]) -> None:
    """Record one finished attempt: how many there were, and how many found the port closed."""
    result["attempts"] += 1
    if result["status"] == UNREACHABLE:
        result["closed_attempts"] += 1


def closed_throughout(result: dict[str, Any]) -> bool:
    """Closed on every attempt of a wait that retried: nothing answers on that port, and waiting as
    long again changes nothing (a single attempt, ``wait_seconds: 0``, proves less)."""
    return result["status"] == UNREACHABLE and 1 < result["attempts"] == result["closed_attempts"]


def target_sentence(result: dict[str, Any], network: str) -> str:
    """One actionable sentence for a target that is not reachable."""
    host, port = result["hostname"], result["port"]
    status = result["status"]
    if status == DNS_FAILED:
        text = f"{host} does not resolve on the network {network} ({result['error']})"
        if result.get("hint"):
            text += f"; {result['hint']}"
        return text
    if status == OUTSIDE_NETWORK:
        return (
            f"{host} resolves to {result['address']}, which is no container on the network {network}; "
            "it was not probed (only the project's containers are)"
        )
    if status == UNREACHABLE:
        return f"{host} resolves to {result['address']} but nothing listens on {port} ({result['error']})"
    if status == PROBE_UNAVAILABLE:
        return f"{host}:{port} could not be probed ({result['error']})"
    return f"{host}:{port} is reachable"


def failure_for(
    results: list[dict[str, Any]],
    topology: dict[str, Any],
    container: str,
    probe_image: str,
    probe_ran: bool = False,
    wait_seconds: int | None = None,
) -> ArgusError | None:
    """The structured error for the report, or None when every target is reachable.

    ``details.cause`` says whether the same verification can pass later: ``outside_network`` (a
    name that points outside the network) and ``closed`` (a port closed for the whole wait,
    ``details.closed_targets``) cannot; ``not_answering`` can.
    """
    order = {DNS_FAILED: 0, OUTSIDE_NETWORK: 1, UNREACHABLE: 2, PROBE_UNAVAILABLE: 3}
    failed = sorted((r for r in results if r["status"] != REACHABLE), key=lambda r: order.get(r["status"], 9))
    if not failed:
        return None
    statuses = {r["status"] for r in failed}
    details = {
        "results": results,
        "network_topology": topology,
        "failed_targets": [r["service"] for r in failed],
        "container": container,
        "wait_seconds": wait_seconds,
    }
    sentences = "; ".join(target_sentence(r, topology["network"]) for r in failed)
    message = f"{sentences}. {describe_topology(topology)}"
    if DNS_FAILED in statuses:
        return ArgusError("DNS_RESOLUTION_FAILED", message, details)
    if UNREACHABLE in statuses or OUTSIDE_NETWORK in statuses:
        closed = [r["service"] for r in failed if closed_throughout(r)]
        if closed:
            details["closed_targets"] = closed
        details["cause"] = "outside_network" if OUTSIDE_NETWORK in statuses else "closed" if closed else "not_answering"
        return ArgusError("NETWORK_UNREACHABLE", message, details)
    # Only probes that could not run: a configuration problem, never "unreachable".
    if probe_ran:  # the tools were there, but the execs failed (container stopped or removed meanwhile)
        details.update({"field": "container", "value": container, "cause": "probe_failed"})
        return ArgusError(
            "INVALID_INPUT",
            f"network probes failed in the test container {container}: {sentences}. Is it still running?",
            details,
        )
    details.update({"field": "probe_image", "value": probe_image, "cause": PROBE_UNAVAILABLE})
    return ArgusError(
        "INVALID_INPUT",
        f"network probe unavailable: {sentences}. Give the test container sh and nc (or python), or set "
        f"probe_image to a local image that has them (now {probe_image}).",
        details,
    )

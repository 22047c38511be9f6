#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: argus_network_verify
short_description: Verify that the test container reaches its services over the Docker network
version_added: 0.1.0
description:
  - From inside the test container (C(docker exec)), resolves each target's host name through
    Docker's embedded DNS and opens a TCP connection to its port. Targets are checked
    concurrently; each one is retried until O(wait_seconds) have passed, so services that are
    still starting are found.
  - Only the containers attached to O(network) are ever probed. A name that resolves to any
    other address is reported as V(outside_network) and not connected to.
  - Works with whatever the test container has, detected once per run. Resolvers, in order of
    preference, C(python), C(getent hosts), C(nslookup); connectors C(python), C(nc -z), plain
    C(nc) (for example busybox, stdin closed) and bash's C(/dev/tcp).
  - When the test container has none of them (or no shell at all), the probe runs in a helper
    container started from O(probe_image) that shares the test container's network namespace,
    carries the project's C(argusai.*) labels and is removed at the end. When that is not
    possible either, the targets are reported as V(probe_unavailable), never as unreachable.
  - Fails with C(DNS_RESOLUTION_FAILED) when a name does not resolve and with
    C(NETWORK_UNREACHABLE) when it resolves but nothing answers on the port. The message says
    what to fix and lists the containers on the network with their addresses and aliases; the
    error's C(details) hold the results and the topology.
extends_documentation_fragment: argusai.resilience.module_options.argus_network_verify
notes:
  - The module only reads, so its read-only probes run in check mode too. A helper container,
    when needed, is also used in check mode and removed afterwards.
  - C(changed) is always V(false).
  - The probes are C(docker exec) calls, so the test container must be running.
  - O(timeout) is the Docker API request timeout, as in every module of the collection; the
    per-probe bound is O(probe_timeout).
  - In RV(report.results), C(dns_resolved) and C(reachable) are V(null) when the probe could not run.
  - Time bound. O(wait_seconds), plus the one attempt per target that may start just before that deadline (at
    most two probe execs of 2 * (O(probe_timeout) + 1) s each; with more than 10 targets, one such attempt per
    round of 10), plus the tool detection (up to three execs) and, when needed, starting and removing the helper
    container. Each Docker API request is bounded by O(timeout).
seealso:
  - module: argusai.resilience.argus_container_guard
"""

EXAMPLES = r"""
- name: Check the mocks are reachable from the test runner
  argusai.resilience.argus_network_verify:
    project: shop
    run_id: "{{ argus_run_id }}"
    container: shop-tests
    network: shop-e2e
    targets:
      - {name: payments, host: payments, port: 8080}
      - {name: api, host: api, port: 3000}
    wait_seconds: 60

- name: Report only; decide later
  argusai.resilience.argus_network_verify:
    project: shop
    container: shop-tests
    targets:
      - {name: payments, host: payments, port: 8080}
  register: net
  ignore_errors: true

- name: Show why a service is not reachable
  ansible.builtin.debug:
    msg: "{{ net.report.results | rejectattr('reachable') | map(attribute='error') | list }}"
  when: not net.report.all_reachable
"""

RETURN = r"""
report:
  description: The verification report.
  returned: always, also on failure after the containers were found
  type: dict
  contains:
    results:
      description:
        - One entry per target, in the order of O(targets), with C(service), C(hostname),
          C(port), C(dns_resolved), C(address), C(reachable), C(latency_ms) (TCP connect time
          measured inside the container when it has a clock, else the exec round trip),
          C(error), C(status) (V(reachable), V(dns_failed), V(unreachable), V(outside_network)
          or V(probe_unavailable)), C(probe) (the method, for example V(nslookup+nc) or
          V(helper:nslookup+nc)), C(attempts) and, for a name that did not resolve, C(hint).
      type: list
      elements: dict
      sample:
        - service: payments
          hostname: payments
          port: 8080
          dns_resolved: true
          address: 172.18.0.3
          reachable: true
          latency_ms: 1.3
          error: null
          status: reachable
          probe: nslookup+nc
          attempts: 1
    all_reachable:
      description: Whether every target is reachable.
      type: bool
    network_topology:
      description:
        - The network as C(docker network inspect) shows it - C(network), C(id), C(driver),
          C(subnets) and C(containers) (each C(name), C(id), C(ipv4), C(aliases)).
      type: dict
      sample:
        network: shop-e2e
        id: 80c3ff0a449a
        driver: bridge
        subnets: [172.18.0.0/16]
        containers:
          - {name: shop-payments, id: adb0d90760c8, ipv4: 172.18.0.3, aliases: [payments]}
    probe:
      description:
        - How the probes ran - C(method), C(where) (V(test_container) or V(helper_container)),
          C(container) (test container short id), C(available) and, when not, C(reason).
      type: dict
    duration_ms:
      description: Time the verification took, in milliseconds.
      type: int
    timestamp:
      description: When the report was made (ISO-8601 UTC).
      type: str
argus_events:
  description:
    - One C(network_check) per target and attempt (C(final) marks the last one) and one
      C(network_verified) at the end.
  returned: always
  type: list
  elements: dict
error:
  description:
    - The structured error - C(DNS_RESOLUTION_FAILED) or C(NETWORK_UNREACHABLE) with
      C(details.results) and C(details.network_topology); C(INVALID_INPUT) for a bad option, a
      test container or network that does not exist, or a probe that could not run anywhere.
  returned: failure
  type: dict
"""

from ansible_collections.argusai.resilience.plugins.module_utils.module_options import (
    DOCKER,
    NETWORK_VERIFY,
    PROJECT,
    RUN_ID,
)
from ansible_collections.argusai.resilience.plugins.module_utils.module_support import (
    FailWithResult,
    ModuleRun,
    run_module,
)
from ansible_collections.argusai.resilience.plugins.module_utils.network.options import options_from_params
from ansible_collections.argusai.resilience.plugins.module_utils.network.verifier import NetworkVerifier

OPTIONS = (
    PROJECT,
    RUN_ID.but(description="The current run, for the events and the helper container's labels."),
    *NETWORK_VERIFY,
    *DOCKER,
)


def main() -> None:
    run_module(OPTIONS, core)


def core(run: ModuleRun) -> dict:
    options = options_from_params(run.params)
    verifier = NetworkVerifier(run.client(), options, run.events)
    report = verifier.run()
    if verifier.failure is not None:
        raise FailWithResult(verifier.failure, changed=False, report=report)
    return {"changed": False, "report": report}


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: argus_port_resolve
short_description: Pick free host ports for the services of an E2E run
version_added: 0.1.0
description:
  - For each entry of O(ports), checks that its preferred host port is free on the Docker host and,
    with O(strategy=auto), picks the next free one when it is not.
  - A port counts as taken when a process has it bound (probed by binding it on O(bind_address),
    IPv4 and, for a wildcard address on a host with IPv6, also C(::)), when a Docker container
    publishes it (read from the daemon, so a daemon running without the userland proxy is covered),
    when an earlier entry of the same task got it, or when another run holds a lease on it.
  - Every port handed out is leased in the Docker daemon (a labeled volume
    C(argusai-lease-<protocol>-<port>)), so that resolutions from any controller using that daemon
    never hand out the same port before its container starts. The lease belongs to O(project) +
    O(run_id), not to the service name, so a service renamed within a run keeps its port. It ends
    with what it protects (see the notes and the collection's C(docs/ports.md)).
  - Ports below 1024 are never picked as alternatives; the scan goes upward from the preferred port
    and stops at 65535.
  - The ports are probed on the daemon's machine. When the daemon runs on another machine
    (O(daemon_location)), a short-lived helper container there (O(probe_image), host networking)
    reads that machine's socket tables instead of binding here (once per task, with at most six more
    Docker requests, each bounded by O(timeout)); when it cannot run, only the ports the daemon
    publishes and the leases count, the task warns and RV(daemon_machine.checks) is V(skipped) with
    the reason (see the collection's C(docs/ports.md)).
  - With O(strategy=fail), a taken port fails the task with C(PORT_CONFLICT), naming the pid and
    process name of the holder when they can be found (or the container that publishes it, or the
    run whose lease holds it). A conflict caused only by other runs' leases is C(retryable) and
    carries C(details.retry_after_seconds), when the last of those leases expires at the latest.
extends_documentation_fragment: argusai.resilience.module_options.argus_port_resolve
notes:
  - Check mode resolves the same way but takes no lease.
  - C(changed) is always V(false). The module binds nothing beyond the instant of a probe and keeps
    nothing on any machine; its only trace is the lease volumes, which end with what they protect.
  - A lease ends when a container of the collection publishes the port
    (M(argusai.resilience.argus_container_guard) removes it after the start), with the guard's
    C(state=absent) for that container, with the teardown of its run
    (M(argusai.resilience.argus_teardown)) or the orphan cleanup of its project
    (M(argusai.resilience.argus_orphan_clean)), and at the latest 300 seconds after it was taken
    (a run that died before starting anything). The next resolution removes expired leases.
  - Without O(run_id), the lease belongs to O(project) alone, shared by every call of that project
    without a run id. Without O(project), a lease belongs to no run, every lease blocks the task,
    and its own leases end only when a container publishes the port or they expire.
  - When the daemon refuses the lease volumes, the module still resolves the ports, without
    leases, and warns.
  - A port free now can still be taken before the container starts (by a process outside the
    collection). M(argusai.resilience.argus_container_guard) handles the daemon's
    C(port is already allocated) answer by resolving that port again.
  - Time bound. It never waits, it makes a few Docker API requests (the published ports and the leases, each bounded by
    O(timeout)) and at most O(max_attempts) bind probes per port, microseconds each.
seealso:
  - module: argusai.resilience.argus_container_guard
"""

EXAMPLES = r"""
- name: Pick host ports for the services
  argusai.resilience.argus_port_resolve:
    project: shop
    ports:
      - {name: api, port: 8080}
      - {name: db, port: 5432}
      - {name: metrics, port: 8125, protocol: udp}
  register: resolved

- name: Use the resolved port
  ansible.builtin.debug:
    msg: "api listens on {{ resolved.ports.api }}"

- name: Refuse to run when a port is taken
  argusai.resilience.argus_port_resolve:
    ports: [{name: api, port: 8080}]
    strategy: fail
    bind_address: 127.0.0.1
"""

RETURN = r"""
mappings:
  description: One entry per element of O(ports), in order.
  returned: success
  type: list
  elements: dict
  contains:
    service:
      description: The entry's name.
      type: str
    original_port:
      description: The preferred port.
      type: int
    actual_port:
      description: The port to use.
      type: int
    reassigned:
      description: Whether RV(mappings[].actual_port) differs from the preferred port.
      type: bool
    occupied_by:
      description:
        - Who held the preferred port, or V(null) when it was free.
        - C(type) is V(process) (with C(pid) and C(process) when visible; on a daemon's machine that is
          another one, C(uid) and C(host) instead, as the helper container does not see its processes),
          V(container) (with
          C(container) and C(container_id)), V(request) (an earlier entry, C(service)), V(lease)
          (another run's lease, with C(project), C(run_id), C(service) it was taken for and
          C(expires_in) seconds at the latest), V(time_wait) or V(unknown).
      type: dict
    protocol:
      description: V(tcp) or V(udp).
      type: str
  sample:
    - service: api
      original_port: 8080
      actual_port: 8081
      reassigned: true
      occupied_by: {type: process, pid: 4242, process: nginx}
      protocol: tcp
daemon_machine:
  description: Where the ports were probed.
  returned: success
  type: dict
  contains:
    location:
      description: V(local) (the daemon runs on the module's machine) or V(remote).
      type: str
    docker_host:
      description: The daemon's address.
      type: str
    machine:
      description: The daemon's machine, as named in messages and in C(occupied_by.host).
      type: str
    decided_by:
      description: Why the daemon is taken to be local or remote (see O(daemon_location)).
      type: str
    checks:
      description: V(local) (bind probes here), V(helper_container) (the socket tables of the daemon's machine,
        read by a helper container) or V(skipped) (no probe; see C(reason)).
      type: str
    probe_image:
      description: The helper's image, when one ran.
      type: str
    reason:
      description: Why the probes were skipped.
      type: str
  sample: {location: remote, docker_host: "tcp://10.217.0.2:2375", machine: 10.217.0.2,
           decided_by: 10.217.0.2 is not an address of this machine, checks: helper_container,
           probe_image: "busybox:latest"}
ports:
  description: Service name to actual port, for templating.
  returned: success
  type: dict
  sample: {api: 8081, db: 5432}
ansible_facts:
  description: RV(mappings) as the fact C(argus_port_mappings).
  returned: success
  type: dict
  contains:
    argus_port_mappings:
      description: The same list as RV(mappings).
      type: list
      elements: dict
argus_events:
  description: C(port_conflict) for every preferred port found taken, C(port_reassigned) for every reassignment.
  returned: always
  type: list
  elements: dict
error:
  description:
    - The structured error. C(PORT_CONFLICT) (O(strategy=fail); C(details) has C(port), C(protocol),
      C(service), C(occupied_by), C(pid) and C(process) when known, C(conflicts) listing every taken port,
      and C(retry_after_seconds) when only leases of other runs hold them, C(retryable) is V(true) then),
      C(PORT_EXHAUSTION) (C(details.taken) lists every examined port and why it was refused),
      C(INVALID_INPUT) (C(details.field) names the bad option) or C(DOCKER_UNAVAILABLE).
  returned: failure
  type: dict
"""

from ansible_collections.argusai.resilience.plugins.module_utils.module_options import (
    DOCKER,
    MACHINE_CHECKS,
    PORT_RESOLVE,
    PROJECT,
    RUN_ID,
)
from ansible_collections.argusai.resilience.plugins.module_utils.module_support import ModuleRun, run_module
from ansible_collections.argusai.resilience.plugins.module_utils.ports.probe import validate_bind_address
from ansible_collections.argusai.resilience.plugins.module_utils.ports.resolver import validate_requests
from ansible_collections.argusai.resilience.plugins.module_utils.ports.run_ports import resolve_on_daemon

OPTIONS = (
    *PORT_RESOLVE,
    PROJECT.but(
        required=False,
        description=(
            "The E2E project, reported in the events and, with O(run_id), the owner of the leases the task takes: "
            "leases of the same project and run do not block it, so a rerun or a renamed service keeps its port.",
            "Without it, the leases belong to no run and every lease blocks the task.",
        ),
    ),
    RUN_ID.but(
        description=(
            "The current run, reported in the events and labeled on the leases, so that its teardown releases them.",
            "Without it, the leases of O(project) belong to the project alone (its orphan cleanup releases them).",
        )
    ),
    *MACHINE_CHECKS,
    *DOCKER,
)


def main() -> None:
    run_module(OPTIONS, core)


def core(run: ModuleRun) -> dict:
    params = run.params
    # every input is checked before a socket or Docker is touched
    requests = validate_requests(params["ports"])
    validate_bind_address(params["bind_address"])
    found = resolve_on_daemon(
        run.client(), requests, params, params["project"], params["run_id"], run.events, lease=not run.check_mode
    )
    for warning in found.warnings:
        run.warn(warning)
    resolution = found.resolution
    mappings = [mapping.to_dict() for mapping in resolution.mappings]
    return {
        "changed": False,
        "mappings": mappings,
        "ports": resolution.ports,
        "daemon_machine": found.daemon_machine,
        "ansible_facts": {"argus_port_mappings": mappings},
    }


if __name__ == "__main__":
    main()

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
    when an earlier entry of the same task got it, or when another resolution on this host handed it
    out less than two minutes ago (a host-wide lease that narrows the race between resolving a port
    and starting the container; see the collection's C(docs/ports.md)).
  - Ports below 1024 are never picked as alternatives; the scan goes upward from the preferred port
    and stops at 65535.
  - With O(strategy=fail), a taken port fails the task with C(PORT_CONFLICT), naming the pid and
    process name of the holder when they can be found (or the container that publishes it).
author:
  - ArgusAI team (@argusai)
extends_documentation_fragment:
  - argusai.resilience.docker
  - argusai.resilience.docker.EVENTS
options:
  ports:
    description:
      - The ports to resolve, one entry per service.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - The service name; the key of RV(ports). Names must be unique within the list.
        type: str
        required: true
      port:
        description:
          - The preferred host port, an integer from 1 to 65535 (a numeric string is accepted).
          - Anything else fails with C(INVALID_INPUT) before any port is probed.
        type: raw
        required: true
      protocol:
        description:
          - V(tcp) or V(udp). Anything else fails with C(INVALID_INPUT).
        type: str
        default: tcp
  strategy:
    description:
      - V(auto) picks the next free port when the preferred one is taken and reports it in RV(mappings).
      - V(fail) fails with C(PORT_CONFLICT) when any preferred port is taken.
    type: str
    choices: [auto, fail]
    default: auto
  max_attempts:
    description:
      - How many candidate ports to examine per entry, the preferred port included (1 to 65535).
      - When none of them is free, the task fails with C(PORT_EXHAUSTION).
    type: int
    default: 100
  bind_address:
    description:
      - The host address the ports will be published on, an IPv4 or IPv6 literal (V(localhost) means V(127.0.0.1)).
      - The wildcards V(0.0.0.0) and V(::) probe both IPv4 and, where the host has it, IPv6.
    type: str
    default: 0.0.0.0
  project:
    description:
      - The E2E project, used for events and for the lease owner C(<project>/<name>), so that a re-run
        of the same project gets back a port it leased itself a moment ago.
      - Must match V(^[a-z0-9][a-z0-9_.-]{0,62}$).
    type: str
  run_id:
    description:
      - The current run, reported in the events.
    type: str
attributes:
  check_mode:
    support: full
    description: Check mode resolves the same way but writes no lease.
notes:
  - C(changed) is always V(false). The module binds nothing beyond the instant of a probe; its only
    trace is an advisory lease entry under C($ARGUS_PORT_STATE_DIR) (default C(/tmp/argusai-ports)),
    which expires by itself.
  - When the lease directory cannot be used (for example C(/tmp/argusai-ports) was created by another
    user), the module still resolves the ports, without leases, and warns.
  - A port free now can still be taken before the container starts (by a process outside the
    collection). M(argusai.resilience.argus_container_guard) handles the daemon's
    C(port is already allocated) answer by resolving that port again.
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
        - C(type) is V(process) (with C(pid) and C(process) when visible), V(container) (with
          C(container) and C(container_id)), V(request) (an earlier entry, C(service)), V(reservation)
          (another resolution's lease, C(service) and C(expires_in) seconds), V(time_wait) or V(unknown).
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
ports:
  description: Service name to actual port, for templating.
  returned: success
  type: dict
  sample: {api: 8081, db: 5432}
ansible_facts:
  description: Facts set by the module.
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
      C(service), C(occupied_by), C(pid) and C(process) when known, and C(conflicts) listing every taken port),
      C(PORT_EXHAUSTION) (C(details.taken) lists every examined port and why it was refused),
      C(INVALID_INPUT) (C(details.field) names the bad option) or C(DOCKER_UNAVAILABLE).
  returned: failure
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.argusai.resilience.plugins.module_utils.events import EventLog
from ansible_collections.argusai.resilience.plugins.module_utils.labels import validate_project, validate_run_id
from ansible_collections.argusai.resilience.plugins.module_utils.module_support import (
    client_for,
    docker_argument_spec,
    require_docker_sdk,
    run,
)
from ansible_collections.argusai.resilience.plugins.module_utils.ports.probe import (
    validate_bind_address,
    validate_max_attempts,
)
from ansible_collections.argusai.resilience.plugins.module_utils.ports.resolver import (
    PortResolver,
    validate_requests,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec=docker_argument_spec(
            ports={
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "name": {"type": "str", "required": True},
                    "port": {"type": "raw", "required": True},
                    "protocol": {"type": "str", "default": "tcp"},
                },
            },
            strategy={"type": "str", "choices": ["auto", "fail"], "default": "auto"},
            max_attempts={"type": "int", "default": 100},
            bind_address={"type": "str", "default": "0.0.0.0"},
            project={"type": "str"},
            run_id={"type": "str"},
        ),
        supports_check_mode=True,
    )
    params = module.params
    events = EventLog(params["project"], params["run_id"])

    def body() -> dict:
        # every input is validated before a socket or Docker is touched
        project = validate_project(params["project"]) if params["project"] is not None else None
        if params["run_id"] is not None:
            validate_run_id(params["run_id"])
        requests = validate_requests(params["ports"])
        max_attempts = validate_max_attempts(params["max_attempts"])
        bind_address = validate_bind_address(params["bind_address"])
        require_docker_sdk(module)
        client = client_for(module)
        resolver = PortResolver(
            client=client,
            bind_address=bind_address,
            max_attempts=max_attempts,
            events=events,
            owner_prefix=project,
            lease=not module.check_mode,
        )
        resolution = resolver.resolve(requests, params["strategy"])
        for warning in resolution.warnings:
            module.warn(warning)
        mappings = [mapping.to_dict() for mapping in resolution.mappings]
        return {
            "changed": False,
            "mappings": mappings,
            "ports": resolution.ports,
            "ansible_facts": {"argus_port_mappings": mappings},
        }

    run(module, body, events)


if __name__ == "__main__":
    main()

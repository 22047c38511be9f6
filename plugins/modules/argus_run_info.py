#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: argus_run_info
short_description: List the Docker resources of one E2E run and the host ports it publishes
version_added: 0.1.0
description:
  - Lists the containers, networks and volumes labeled C(argusai.managed=true),
    C(argusai.project=<project>) and C(argusai.run-id=<run_id>).
  - Returns the host ports the run's running containers publish, keyed like the port requests of
    the C(argusai.resilience.argus_setup) role (C(<container>-<container_port>[-udp])), so that
    running the setup again for the same run keeps its ports instead of moving away from itself.
  - Never changes anything.
extends_documentation_fragment: argusai.resilience.module_options.argus_run_info
notes:
  - The module only reads, so check mode does the same.
  - C(changed) is always V(false).
  - Time bound. It never waits, it lists the run's containers in one Docker API request bounded by O(timeout).
seealso:
  - module: argusai.resilience.argus_teardown
"""

EXAMPLES = r"""
- name: What does the run have?
  argusai.resilience.argus_run_info:
    project: shop
    run_id: "{{ argus_setup_result.run_id }}"
  register: run

- name: Host port of the web container's port 80
  ansible.builtin.debug:
    msg: "{{ run.published['shop-web-80'] }}"
"""

RETURN = r"""
resources:
  description: Every resource of the run, containers first; each C({type, id, name, project, run_id, created_at, service}).
  returned: success
  type: list
  elements: dict
containers:
  description:
    - The run's containers, each C({id, name, image, state, status, service, ports}).
    - C(ports) entries are C({container_port, host_port, host_ip, protocol}).
  returned: success
  type: list
  elements: dict
published:
  description: C(<container>-<container_port>[-udp]) to host port, for the running containers.
  returned: success
  type: dict
  sample: {shop-web-80: 28000}
argus_events:
  description: Always empty (the module emits no event); present for uniformity.
  returned: always
  type: list
  elements: dict
error:
  description: The structured error (C(DOCKER_UNAVAILABLE), C(INVALID_INPUT), ...).
  returned: failure
  type: dict
"""

from ansible_collections.argusai.resilience.plugins.module_utils.cleanup.inventory import find_run_resources
from ansible_collections.argusai.resilience.plugins.module_utils.cleanup.run_containers import (
    container_summary,
    list_containers,
    published_ports,
)
from ansible_collections.argusai.resilience.plugins.module_utils.module_options import DOCKER, PROJECT, RUN_ID
from ansible_collections.argusai.resilience.plugins.module_utils.module_support import ModuleRun, run_module

OPTIONS = (PROJECT, RUN_ID.but(description="The run.", required=True), *DOCKER)


def main() -> None:
    run_module(OPTIONS, core)


def core(run: ModuleRun) -> dict:
    project, run_id = run.params["project"], run.params["run_id"]
    containers = list_containers(run.client(), project, run_id)
    return {
        "changed": False,
        "resources": find_run_resources(run.client(), project, run_id),
        "containers": [container_summary(row) for row in containers],
        "published": published_ports(containers),
    }


if __name__ == "__main__":
    main()

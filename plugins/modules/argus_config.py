#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: argus_config
short_description: Load and validate an E2E project configuration (e2e.yaml)
version_added: 0.1.0
description:
  - Validates an E2E project configuration, given as the text of an C(e2e.yaml) file, as a path
    on the managed host, as section options, or as a mix (sections given as options replace the
    file's sections), and returns it with every default filled.
  - Every value is checked (types, unknown keys, ranges such as negative numbers, unique container
    names and host ports). A bad value fails with C(INVALID_INPUT) whose C(details.field) names the
    field by its path, for example C(services[0].ports[1].host_port), and C(details.value) holds the
    value (environment values are never shown).
  - Also derives what the other modules need, in RV(plan) - the port requests for
    M(argusai.resilience.argus_port_resolve), the container specs for
    M(argusai.resilience.argus_container_guard) and the connectivity targets for
    M(argusai.resilience.argus_network_verify).
  - Generates the run id (base-36 of the epoch milliseconds) when none is given.
  - Does not talk to Docker. The C(argusai.resilience.argus_setup) role calls it first.
  - See the collection's C(docs/configuration.md) for every field of C(e2e.yaml) and its default.
author:
  - ArgusAI
options:
  path:
    description:
      - Path of an C(e2e.yaml) file on the managed host. Mutually exclusive with O(content).
    type: path
  content:
    description:
      - The text of an C(e2e.yaml) file (for example from C(lookup('ansible.builtin.file', ...)) on the controller).
    type: str
  project:
    description: The project; replaces the file's C(project).
    type: str
  run_id:
    description: The run id; generated when neither this nor the file sets one.
    type: str
  network:
    description: The network, a name or a dict with C(name) and C(driver); replaces the file's C(network).
    type: raw
  services:
    description: Services (each a dict of container options); replaces the file's C(services).
    type: list
    elements: dict
  mocks:
    description: Mocks (each a dict of container options); replaces the file's C(mocks).
    type: list
    elements: dict
  test:
    description: The test runner container; replaces the file's C(test).
    type: dict
  resilience:
    description: Resilience settings; replaces the file's C(resilience).
    type: dict
attributes:
  check_mode:
    support: full
    description: The module only reads; check mode does the same.
notes:
  - C(changed) is always V(false).
  - The result holds C(env) values of the containers; register it with C(no_log) when they are secret.
seealso:
  - module: argusai.resilience.argus_container_guard
"""

EXAMPLES = r"""
- name: Validate e2e.yaml on the controller
  argusai.resilience.argus_config:
    content: "{{ lookup('ansible.builtin.file', 'e2e.yaml') }}"
  register: e2e
  no_log: true

- name: Sections as variables
  argusai.resilience.argus_config:
    project: shop
    mocks:
      - name: shop-mock
        image: argusai/testbox:latest
        command: httpd -f -p 8080
        ports: [{container_port: 8080, host_port: 28080}]
    resilience:
      container: {max_restarts: 5}
"""

RETURN = r"""
config:
  description:
    - The validated configuration with every default filled (C(project), C(run_id), C(network),
      C(services), C(mocks), C(test), C(resilience)).
  returned: success
  type: dict
run_id:
  description: The run id (given or generated).
  returned: success
  type: str
  sample: mi5x0c1k
project:
  description: The project.
  returned: success
  type: str
plan:
  description: What the setup modules take, derived from RV(config).
  returned: success
  type: dict
  contains:
    mocks:
      description: C(containers) entries of M(argusai.resilience.argus_container_guard) for the mocks.
      type: list
      elements: dict
    services:
      description: C(containers) entries for the services.
      type: list
      elements: dict
    test:
      description: The guard options of the test container, or null.
      type: dict
    port_requests:
      description: C(ports) of M(argusai.resilience.argus_port_resolve), named C(<container>-<container_port>[-udp]).
      type: list
      elements: dict
    targets:
      description: C(targets) of M(argusai.resilience.argus_network_verify), every TCP port of every mock and service.
      type: list
      elements: dict
error:
  description: The structured error (C(INVALID_INPUT), C(details.field) names the field).
  returned: failure
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.argusai.resilience.plugins.module_utils.e2e_config import load_config, setup_plan
from ansible_collections.argusai.resilience.plugins.module_utils.errors import invalid_input
from ansible_collections.argusai.resilience.plugins.module_utils.labels import new_run_id
from ansible_collections.argusai.resilience.plugins.module_utils.module_support import run

SECTION_OPTIONS = ("project", "run_id", "network", "services", "mocks", "test", "resilience")


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path"},
            "content": {"type": "str"},
            "project": {"type": "str"},
            "run_id": {"type": "str"},
            "network": {"type": "raw"},
            "services": {"type": "list", "elements": "dict"},
            "mocks": {"type": "list", "elements": "dict"},
            "test": {"type": "dict"},
            "resilience": {"type": "dict"},
        },
        mutually_exclusive=[("path", "content")],
        supports_check_mode=True,
    )

    def body() -> dict:
        params = module.params
        text, source = params["content"], "e2e.yaml"
        if params["path"]:
            source = params["path"]
            try:
                with open(params["path"], encoding="utf-8") as handle:
                    text = handle.read()
            except OSError as exc:
                raise invalid_input("path", params["path"], f"cannot be read ({exc.strerror})") from None
        overrides = {key: params[key] for key in SECTION_OPTIONS}
        config = load_config(text, overrides, source=source, new_run_id=new_run_id)
        return {
            "changed": False,
            "config": config,
            "project": config["project"],
            "run_id": config["run_id"],
            "plan": setup_plan(config),
        }

    run(module, body)


if __name__ == "__main__":
    main()

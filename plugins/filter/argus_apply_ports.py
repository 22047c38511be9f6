# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: argus_apply_ports
short_description: Put resolved host ports into container specs
version_added: 0.1.0
description:
  - Takes a list of container specs (C(argus_container_guard) C(containers) entries) and a mapping
    of port names to host ports (RV(argusai.resilience.argus_port_resolve#module:ports)), and
    returns the specs with each published port's C(host_port) replaced by the resolved one.
  - A port is named C(<container name>-<container_port>), with C(-udp) appended for UDP ports -
    the names the C(argusai.resilience.argus_setup) role gives its port requests.
  - Ports without C(host_port), and ports missing from the mapping, are left as they are.
author:
  - ArgusAI team (@argusai)
options:
  _input:
    description: The container specs.
    type: list
    elements: dict
    required: true
  ports:
    description: Port name to host port.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Start the services on the resolved ports
  argusai.resilience.argus_container_guard:
    project: shop
    containers: "{{ services | argusai.resilience.argus_apply_ports(resolved.ports) }}"
"""

RETURN = r"""
_value:
  description: The container specs with resolved host ports (the input is not modified).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.argusai.resilience.plugins.module_utils.config.plan import apply_ports


def argus_apply_ports(containers, ports):
    if not isinstance(containers, list) or not all(isinstance(c, dict) and "name" in c for c in containers):
        raise AnsibleFilterError("argus_apply_ports: the input must be a list of container specs (dicts with a name)")
    if not isinstance(ports, dict):
        raise AnsibleFilterError("argus_apply_ports: ports must be a dict of port name to host port")
    return apply_ports(containers, ports)


class FilterModule:
    def filters(self):
        return {"argus_apply_ports": argus_apply_ports}

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: argus_port_map
short_description: The host ports the container guard published, by port name
version_added: 0.1.0
description:
  - Takes the RV(argusai.resilience.argus_container_guard#module:containers) results of one or more
    guard calls and returns a mapping of port name to the host port Docker really publishes.
  - A port is named C(<container name>-<container_port>), with C(-udp) appended for UDP ports, like
    the port requests of the C(argusai.resilience.argus_setup) role and the input of
    P(argusai.resilience.argus_apply_ports#filter).
  - Results without a container (for example a container that failed to start) are skipped.
author:
  - ArgusAI team (@argusai)
options:
  _input:
    description: The guard's per-container results.
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Where did the services end up?
  ansible.builtin.debug:
    msg: "{{ started.containers | argusai.resilience.argus_port_map }}"
"""

RETURN = r"""
_value:
  description: Port name to host port.
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.argusai.resilience.plugins.module_utils.config.plan import port_name


def argus_port_map(results):
    if not isinstance(results, list):
        raise AnsibleFilterError("argus_port_map: the input must be a list of argus_container_guard results")
    ports = {}
    for result in results:
        container = result.get("container") if isinstance(result, dict) else None
        if not container:
            continue
        for port in container.get("ports") or []:
            if port.get("host_port"):
                entry = {"container_port": port["container_port"], "protocol": port.get("protocol") or "tcp"}
                service = container.get("service") or result["name"]
                ports.setdefault(port_name(service, entry), int(port["host_port"]))
    return ports


class FilterModule:
    def filters(self):
        return {"argus_port_map": argus_port_map}

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: argus_circuit
short_description: Show or reset the circuit breaker of a project on a host
version_added: 0.1.0
description:
  - Every Docker-touching module of this collection runs behind a circuit breaker, one per host
    and project, kept in the host facts at C(ansible_facts.argus_circuit[<project>]).
  - After a project's breaker has seen
    C(failure_threshold) consecutive infrastructure failures (C(DOCKER_UNAVAILABLE),
    C(DOCKER_API_ERROR)) it is V(open) and those modules fail at once with C(CIRCUIT_OPEN)
    without being sent to the host.
  - O(state=reset) moves an open breaker to V(half-open); the next Docker-touching task of the
    project is then a probe that closes the breaker when it succeeds and opens it again when it
    fails with an infrastructure failure. Resetting a V(closed) or V(half-open) breaker changes nothing.
  - O(state=status) only reports the breaker.
  - Runs on the controller (an action plugin); nothing is sent to the host.
extends_documentation_fragment: argusai.resilience.module_options.argus_circuit
attributes:
  action:
    support: full
    description: Implemented as an action plugin that runs on the controller.
notes:
  - In check mode a reset reports what would change and does not store it.
  - C(changed) is V(true) only when a reset moved an open breaker to half-open.
  - The breaker persists between runs through Ansible fact caching; the C(clear_facts) meta task,
    C(--flush-cache) and an expired C(fact_caching_timeout) reset it to closed. See the
    collection's C(docs/circuit-breaker.md).
  - The C(argusai.resilience.argus_events) callback must be enabled for failures to be remembered.
  - Time bound. It never waits and never calls Docker, it reads and writes the breaker in the host facts.
seealso:
  - module: argusai.resilience.argus_preflight
  - plugin: argusai.resilience.argus_events
    plugin_type: callback
"""

EXAMPLES = r"""
- name: Show the breaker of the shop project
  argusai.resilience.argus_circuit:
    project: shop
  register: shop_breaker

- name: After fixing Docker, let the next task probe it
  argusai.resilience.argus_circuit:
    project: shop
    state: reset

- name: Open the breaker after 3 failures and probe again after 5 minutes
  ansible.builtin.set_fact:
    argus_circuit_breaker:
      failure_threshold: 3
      cooldown_seconds: 300
"""

RETURN = r"""
project:
  description: The project of the breaker.
  returned: success
  type: str
  sample: shop
previous:
  description: The breaker before the task.
  returned: success
  type: dict
  contains:
    state:
      description: V(closed), V(open) or V(half-open).
      type: str
      sample: open
    failure_count:
      description: Consecutive infrastructure failures (reset by a success).
      type: int
      sample: 5
    failure_threshold:
      description: Consecutive infrastructure failures that open the breaker.
      type: int
      sample: 5
    cooldown_seconds:
      description: Seconds after which an open breaker lets a probe through by itself; V(null) when only a reset does.
      type: float
      sample: null
    last_failure_time:
      description: When the last infrastructure failure happened (ISO-8601 UTC), or V(null).
      type: str
      sample: "2026-11-25T10:00:00.123Z"
    last_state_transition:
      description: The last state change, C({from, to, timestamp, reason}), or V(null).
      type: dict
      sample: {from: closed, to: open, timestamp: "2026-11-25T10:00:00.123Z", reason: "5 consecutive infrastructure failures (last: DOCKER_UNAVAILABLE)"}
    failure_history:
      description: The last infrastructure failures (at most C(history_size), 10 by default), oldest first, each C({time, code, message, task}).
      type: list
      elements: dict
current:
  description: The breaker after the task, with the same keys as RV(previous).
  returned: success
  type: dict
argus_events:
  description: C(circuit_half_open) when a reset moved the breaker; empty otherwise.
  returned: success
  type: list
  elements: dict
ansible_facts:
  description: The updated breakers of the host, when a reset changed one (not in check mode).
  returned: when changed and not in check mode
  type: dict
  contains:
    argus_circuit:
      description: Project name to breaker state.
      type: dict
argus_circuit:
  description: The changed breaker with its C(project), as the Docker modules' action plugins return it.
  returned: when changed and not in check mode
  type: dict
error:
  description: The structured error (C(INVALID_INPUT)) when an option is invalid.
  returned: failure
  type: dict
"""

from ansible_collections.argusai.resilience.plugins.module_utils.module_options import DOCKER, PROJECT
from ansible_collections.argusai.resilience.plugins.module_utils.module_support import controller_only
from ansible_collections.argusai.resilience.plugins.module_utils.options import Option

IGNORED = "Ignored. Accepted so that C(module_defaults) of C(group/argusai.resilience.docker) apply to this module."

OPTIONS = (
    PROJECT.but(
        description=(
            "The E2E project whose breaker is shown or reset.",
            "Modules without a project (O(argusai.resilience.argus_port_resolve#module:project) is optional) use "
            "the breaker V(default).",
        )
    ),
    Option(
        "state",
        "str",
        "V(status) reports the breaker; V(reset) moves it from V(open) to V(half-open).",
        default="status",
        choices=("status", "reset"),
    ),
    *(option if option.suboptions else option.but(description=IGNORED, default=None) for option in DOCKER),
)


def main() -> None:
    controller_only(OPTIONS, "argus_circuit")


if __name__ == "__main__":
    main()

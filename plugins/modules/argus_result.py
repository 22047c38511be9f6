#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: argus_result
short_description: Record a host's outcome of a playbook run in the result file, and fail with its error
version_added: 0.2.0
description:
  - The machine channel of the collection's playbooks. Writes this inventory host's entry of the
    result file O(path) - C({ok, failed_stage, error, result, timestamp}) - that a pipeline or an AI
    agent reads instead of the log. The playbooks call it last, on success and on failure.
  - With O(error) the task fails with C(msg) and the structured C(error), so that the last failed
    task of the playbook (what ansible-runner and AWX job events show) carries the error. Every
    suggested action of the error that names a playbook gets C(argus_hosts) (this host) and
    C(argus_docker_host) (O(docker_host)); one that runs O(playbook) again also gets this run's
    inputs O(rerun), so that running it as given acts on the same host, daemon and run.
  - Runs on the controller (an action plugin); nothing is sent to the host.
extends_documentation_fragment: argusai.resilience.module_options.argus_result
notes:
  - Check mode writes no file.
  - C(changed) is always V(false). The file is created with mode 0644; see the collection's
    C(docs/agents.md) for its format and how an agent acts on it.
  - Time bound. It never waits and never calls Docker, it writes one file.
seealso:
  - module: argusai.resilience.argus_config
"""

EXAMPLES = r"""
- name: Record success
  argusai.resilience.argus_result:
    path: "{{ argus_result_file }}"
    playbook: argusai.resilience.setup
    result: "{{ argus_setup_result }}"

- name: Record the failure and stop with its structured error
  argusai.resilience.argus_result:
    path: "{{ argus_result_file }}"
    playbook: argusai.resilience.setup
    failed_stage: "{{ argus_setup_error.stage }}"
    error: "{{ argus_setup_error }}"
    result: "{{ argus_setup_result }}"
"""

RETURN = r"""
ok:
  description: Whether the host's playbook run succeeded (no O(error)).
  returned: always
  type: bool
result_file:
  description: The file written (O(path)), or null.
  returned: always
  type: str
failed_stage:
  description: The stage that failed.
  returned: failure
  type: str
error:
  description: The structured error, its playbook actions scoped to this host and run.
  returned: failure
  type: dict
"""

from ansible_collections.argusai.resilience.plugins.module_utils.module_options import RESULT
from ansible_collections.argusai.resilience.plugins.module_utils.module_support import controller_only

OPTIONS = RESULT


def main() -> None:
    controller_only(OPTIONS, "argus_result")


if __name__ == "__main__":
    main()

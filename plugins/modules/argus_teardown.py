#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: argus_teardown
short_description: Remove every Docker resource of one E2E run
version_added: 0.1.0
description:
  - Removes the containers, networks and volumes labeled C(argusai.managed=true),
    C(argusai.project=<project>) and C(argusai.run-id=<run_id>) - everything one run created.
  - The opposite scope of M(argusai.resilience.argus_orphan_clean) (which removes the OTHER runs of
    a project), with the same removal logic - containers first (forced, with their anonymous
    volumes), then networks, then volumes, removals of one type in parallel, a resource that is
    already gone counts as removed, each resource fails on its own.
  - A resource without C(argusai.managed=true), of another project or of another run is never touched.
  - Tolerant of what is already gone - tearing down a run twice, or a run that never created
    anything, succeeds with C(changed=false).
  - When any resource could not be removed the task fails with C(CLEANUP_FAILED), its details
    holding every per-resource error.
  - The C(argusai.resilience.argus_teardown) role and the C(argusai.resilience.teardown) playbook call it.
extends_documentation_fragment: argusai.resilience.module_options.argus_teardown
notes:
  - Check mode only lists; RV(found) is what would be removed and nothing is removed.
  - C(changed) is V(true) when at least one resource was removed or, in check mode, would be removed.
  - Time bound. The listing and the removals (Docker API requests, each bounded by O(timeout); up to 16 removals at
    a time), plus at most 120 s waiting for another cleanup of the project to finish its turn, plus at most 15 s
    in all for containers another cleanup is removing at that moment.
seealso:
  - module: argusai.resilience.argus_orphan_clean
  - module: argusai.resilience.argus_run_info
"""

EXAMPLES = r"""
- name: Remove everything the run created
  argusai.resilience.argus_teardown:
    project: shop
    run_id: "{{ argus_setup_result.run_id }}"

- name: Keep the volumes of the run (e.g. for a post-mortem)
  argusai.resilience.argus_teardown:
    project: shop
    run_id: mi5x0c1k
    resource_types: [containers, networks]
"""

RETURN = r"""
found:
  description:
    - The resources of the run, containers first, then networks, then volumes; each
      C({type, id, name, project, run_id, created_at, service}).
  returned: always, also on failure
  type: list
  elements: dict
removed:
  description: The resources removed (or found already gone); empty in check mode.
  returned: always, also on failure
  type: list
  elements: dict
failed:
  description:
    - The resources that could not be removed, each with C(error), a structured error.
    - Always empty when the task succeeds. Ansible owns the C(failed) key of a task result - it replaces
      this list by V(true) when the task fails, and ansible-core 2.21 also turns the empty list into V(false).
      Read the list from RV(failed_resources).
  returned: success
  type: list
  elements: dict
  sample: []
failed_resources:
  description: The same list as RV(failed), under a name Ansible does not overwrite when the task fails.
  returned: always, also on failure
  type: list
  elements: dict
leases_released:
  description:
    - How many port leases of the run were given back (volumes kept in the daemon, not listed in
      RV(found)); a teardown that only released leases, of a run whose containers were never created,
      is a change too. V(0) in check mode.
  returned: always, also on failure
  type: int
  sample: 1
duration_ms:
  description: Time the listing and removal took, in milliseconds.
  returned: always, also on failure
  type: int
argus_events:
  description: C(cleanup_start), one C(cleanup_resource) per resource with its C(outcome), and C(cleanup_end).
  returned: always
  type: list
  elements: dict
error:
  description: The structured error (C(CLEANUP_FAILED), C(DOCKER_UNAVAILABLE), C(INVALID_INPUT), ...).
  returned: failure
  type: dict
"""

from ansible_collections.argusai.resilience.plugins.module_utils.cleanup.cleaner import CleanupOptions
from ansible_collections.argusai.resilience.plugins.module_utils.cleanup.teardown import RunTeardown
from ansible_collections.argusai.resilience.plugins.module_utils.module_options import (
    DOCKER,
    PROJECT,
    RESOURCE_TYPES_OPTION,
    RUN_ID,
)
from ansible_collections.argusai.resilience.plugins.module_utils.module_support import (
    ModuleRun,
    cleanup_result,
    run_module,
)

OPTIONS = (PROJECT, RUN_ID.but(description="The run to remove.", required=True), RESOURCE_TYPES_OPTION, *DOCKER)


def main() -> None:
    run_module(OPTIONS, core)


def core(run: ModuleRun) -> dict:
    teardown = RunTeardown(run.client(), CleanupOptions.from_params(run.params), run.events)
    return cleanup_result(teardown, run.check_mode)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: argus_orphan_clean
short_description: Remove the Docker resources earlier runs of an E2E project left behind
version_added: 0.1.0
description:
  - Finds the containers, networks and volumes labeled C(argusai.managed=true) and
    C(argusai.project=<project>) whose C(argusai.run-id) is not O(run_id), and removes them.
  - A resource without C(argusai.managed=true), of another project, or of the current run is
    never touched.
  - Resources created after the cleanup started (for example by a concurrent run of the same
    project) are never removed. Docker's creation time is compared with the daemon's clock at
    the start, the C(argusai.created-at) label with this host's clock when Docker gives no exact
    time; when in doubt the resource is kept.
  - Containers are removed first (forced, with their anonymous volumes), then networks, then
    volumes. Removals of one type run in parallel.
  - Each resource succeeds or fails on its own; a failure never stops the others. A resource
    that is already gone (for example removed by a concurrent cleanup) counts as removed.
  - A network that still has a container attached (one that is not an orphan, for example of the
    current run) is not forced; it is reported in RV(failed_resources) with the daemon's refusal. The same
    holds for a volume still in use.
  - When any resource could not be removed the task fails with C(CLEANUP_FAILED); its details
    hold every per-resource error and the whole result.
extends_documentation_fragment: argusai.resilience.module_options.argus_orphan_clean
notes:
  - Check mode only detects; RV(found) lists what would be removed and nothing is removed.
  - C(changed) is V(true) when at least one resource was removed or, in check mode, would be removed.
  - A resource removed by a concurrent cleanup between listing and removal counts as removed, so
    two cleanups of the same project may both report it.
  - Time bound. The listing and the removals (Docker API requests, each bounded by O(timeout); up to 16 removals at
    a time), plus at most 120 s waiting for another cleanup of the project to finish its turn, plus at most 15 s
    in all for containers another cleanup is removing at that moment.
seealso:
  - module: argusai.resilience.argus_preflight
"""

EXAMPLES = r"""
- name: Remove what earlier runs of the project left behind, keep the current run
  argusai.resilience.argus_orphan_clean:
    project: shop
    run_id: "{{ argus_run_id }}"
  register: cleanup

- name: Only show what would be removed
  argusai.resilience.argus_orphan_clean:
    project: shop
  check_mode: true
  register: orphans

- name: Clean containers and networks, keep volumes (e.g. database data)
  argusai.resilience.argus_orphan_clean:
    project: shop
    resource_types: [containers, networks]

- name: Go on when something is still in use, but look at it
  argusai.resilience.argus_orphan_clean:
    project: shop
  register: cleanup
  failed_when: cleanup.error is defined and cleanup.error.code != 'CLEANUP_FAILED'
"""

RETURN = r"""
found:
  description:
    - The orphans detected, containers first, then networks, then volumes.
    - Each is C({type, id, name, project, run_id, created_at, service}); C(type) is V(container),
      V(network) or V(volume), C(id) is the volume name for volumes, C(run_id), C(created_at) and C(service)
      come from the resource's labels.
  returned: always, also on failure
  type: list
  elements: dict
  sample:
    - type: container
      id: 3f2c9a6e1b0d...
      name: shop-api
      project: shop
      run_id: m3x1k2a9
      created_at: "2026-11-25T10:00:00.123Z"
removed:
  description:
    - The orphans removed (or found already gone), same entries as RV(found).
    - Empty in check mode.
  returned: always, also on failure
  type: list
  elements: dict
failed:
  description:
    - The orphans that could not be removed, same entries as RV(found) plus C(error), a structured
      error (C(CLEANUP_FAILED) with C(details.cause) V(volume_in_use) or V(network_in_use) when the
      daemon refused because something still uses the resource; for a network,
      C(details.attached_containers) names the containers still attached).
    - Always empty when the task succeeds. Ansible owns the C(failed) key of a task result and
      replaces this list by V(true) when the task fails, and ansible-core 2.21 also turns the
      empty list into V(false). Read the list from RV(failed_resources) (or C(error.details.result.failed)).
  returned: success
  type: list
  elements: dict
  sample: []
failed_resources:
  description:
    - The same list as RV(failed), under a name Ansible does not overwrite when the task fails.
  returned: always, also on failure
  type: list
  elements: dict
  sample:
    - type: volume
      id: shop-data
      name: shop-data
      project: shop
      run_id: m3x1k2a9
      created_at: "2026-11-25T10:00:00.123Z"
      error:
        code: CLEANUP_FAILED
        message: "removing volume shop-data failed: remove shop-data: volume is in use - [3f2c9a6e1b0d]"
        details: {cause: volume_in_use, status: 409}
leases_released:
  description:
    - How many port leases of the ended runs were given back (volumes kept in the daemon, not listed
      in RV(found)); releasing one is a change. V(0) in check mode.
  returned: always, also on failure
  type: int
  sample: 0
duration_ms:
  description: Time the detection and removal took, in milliseconds.
  returned: always, also on failure
  type: int
  sample: 412
argus_events:
  description:
    - C(cleanup_start), one C(cleanup_resource) per orphan with C(outcome) (V(removed),
      V(already_gone), V(failed), or V(would_remove) in check mode), and C(cleanup_end).
  returned: always
  type: list
  elements: dict
error:
  description:
    - The structured error. C(CLEANUP_FAILED) when a resource could not be removed, with
      C(details.errors) (per resource) and C(details.result); C(DOCKER_UNAVAILABLE) when the
      daemon cannot be reached; C(INVALID_INPUT) for a bad option.
  returned: failure
  type: dict
"""

from ansible_collections.argusai.resilience.plugins.module_utils.cleanup.cleaner import CleanupOptions, OrphanCleaner
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

OPTIONS = (
    PROJECT,
    RUN_ID.but(
        description=(
            "The current run. Its resources are never touched.",
            "When not set, every managed resource of the project is an orphan.",
        )
    ),
    RESOURCE_TYPES_OPTION,
    *DOCKER,
)


def main() -> None:
    run_module(OPTIONS, core)


def core(run: ModuleRun) -> dict:
    cleaner = OrphanCleaner(run.client(), CleanupOptions.from_params(run.params), run.events)
    return cleanup_result(cleaner, run.check_mode)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: argus_preflight
short_description: Check that a Docker host is fit for an E2E run
version_added: 0.1.0
description:
  - Checks the Docker daemon, the free disk space and the resources left by earlier runs of the
    project, and returns a health report.
  - The report is V(healthy) when every check passes, V(degraded) when one warns (for example
    orphans of earlier runs, or free space below twice the threshold) and V(unhealthy) when one
    fails (daemon unreachable, free space below the threshold).
  - The C(docker_daemon) check says which runtime answered (Docker Engine or Podman, with its
    version) and whether the daemon runs on this machine or on another one (O(daemon_location)).
  - The disk check looks at the daemon's machine. When that is another machine, a short-lived
    helper container there (O(probe_image), the paths mounted read-only) measures them, or the check
    is V(skipped) with the reason (for example the image is not on that daemon); it never measures
    the wrong machine.
  - Never changes anything on the host, unless O(clean_orphans) is set; a helper container, when one runs, is
    removed before the module returns.
  - With O(clean_orphans), the orphan cleanup of M(argusai.resilience.argus_orphan_clean) follows the checks in the
    same call (one process instead of two; the resources are listed once), unless the report is V(unhealthy).
extends_documentation_fragment: argusai.resilience.module_options.argus_preflight
notes:
  - The checks only read, so check mode runs the same checks; with O(clean_orphans), check mode lists the orphans
    and removes nothing.
  - C(changed) is V(false) unless O(clean_orphans) removed a resource or gave back a port lease (in check mode,
    found a resource).
  - Time bound. O(daemon_timeout) for the daemon check (connecting, C(docker info) and C(docker version)),
    plus the Docker API requests of the disk and orphan checks, each bounded by O(timeout) (for a daemon on
    another machine, the disk check's helper container makes at most six of them). With O(clean_orphans), plus the
    bound of M(argusai.resilience.argus_orphan_clean).
seealso:
  - module: argusai.resilience.argus_orphan_clean
"""

EXAMPLES = r"""
- name: Check the host before the E2E suite
  argusai.resilience.argus_preflight:
    project: shop
    run_id: "{{ argus_run_id }}"

- name: Report only, decide later
  argusai.resilience.argus_preflight:
    project: shop
    disk_threshold_gb: 5
    fail_on_unhealthy: false
  register: preflight

- name: Stop when the host is unhealthy
  ansible.builtin.fail:
    msg: "{{ preflight.report.checks | selectattr('status', 'eq', 'fail') | map(attribute='message') | list }}"
  when: preflight.report.overall == 'unhealthy'
"""

RETURN = r"""
report:
  description: The health report.
  returned: always, also on failure
  type: dict
  contains:
    overall:
      description: V(healthy), V(degraded) or V(unhealthy).
      type: str
      sample: degraded
    checks:
      description:
        - One entry per check, in order C(docker_daemon), C(disk_space), C(orphans).
        - Each has C(name), C(status) (V(pass), V(warn), V(fail) or V(skipped)), C(message),
          C(details), C(duration_ms) and, for a failed or warning check, C(error) (a structured error).
        - C(docker_daemon) details have C(runtime) (V(docker) or V(podman)), C(runtime_name),
          C(runtime_version), C(platform), C(server_version), C(api_version), C(docker_root_dir) and
          C(daemon_machine) (C(location) V(local) or V(remote), C(docker_host), C(machine), C(decided_by),
          and C(checks), how the machine checks ran (V(local), V(helper_container) with C(probe_image), or
          V(skipped) with C(reason))).
        - C(disk_space) details have C(threshold_gb), C(warn_below_gb), C(paths) (each C(path), C(free_gb),
          C(total_gb), C(status)), C(machine) and C(method) (V(local) or V(helper_container)); when
          skipped for a daemon on another machine, C(reason).
      type: list
      elements: dict
      sample:
        - name: docker_daemon
          status: pass
          message: Docker Engine 20.10.24 answers at unix:///var/run/docker.sock (this machine)
          details: {server_version: 20.10.24, api_version: "1.41", docker_root_dir: /var/lib/docker,
                    runtime: docker, runtime_name: Docker Engine, runtime_version: 20.10.24, platform: null,
                    daemon_machine: {location: local, docker_host: "unix:///var/run/docker.sock",
                                     machine: this machine, decided_by: unix socket on this machine, checks: local}}
          duration_ms: 7
    duration_ms:
      description: Time the checks took, in milliseconds.
      type: int
      sample: 40
    timestamp:
      description: When the report was made (ISO-8601 UTC).
      type: str
ansible_facts:
  description: Facts set by the module.
  returned: success
  type: dict
  contains:
    argus_preflight:
      description: The same report as RV(report).
      type: dict
argus_events:
  description:
    - The events C(preflight_start), one C(preflight_check) per check, and C(preflight_end); with
      O(clean_orphans), then the cleanup's C(cleanup_start), C(cleanup_resource) and C(cleanup_end).
  returned: always
  type: list
  elements: dict
orphan_cleanup:
  description:
    - With O(clean_orphans), what the cleanup after the checks did, C({found, removed, failed, failed_resources,
      leases_released, duration_ms}) as in M(argusai.resilience.argus_orphan_clean) (C(failed_resources) repeats C(failed)).
  returned: when O(clean_orphans) is set and the report is not V(unhealthy), also on a cleanup failure
  type: dict
  sample: {found: [], removed: [], failed: [], failed_resources: [], leases_released: 0, duration_ms: 12}
error:
  description:
    - The structured error of the first failed check (C(DOCKER_UNAVAILABLE) or C(DISK_SPACE_LOW)), or
      C(CLEANUP_FAILED) when the cleanup of O(clean_orphans) could not remove a resource.
  returned: failure
  type: dict
"""

from ansible_collections.argusai.resilience.plugins.module_utils.cleanup.cleaner import CleanupOptions, OrphanCleaner
from ansible_collections.argusai.resilience.plugins.module_utils.module_options import (
    DOCKER,
    MACHINE_CHECKS,
    PREFLIGHT,
    PROJECT,
    RUN_ID,
)
from ansible_collections.argusai.resilience.plugins.module_utils.module_support import (
    FailWithResult,
    ModuleRun,
    cleanup_outcome,
    run_module,
)
from ansible_collections.argusai.resilience.plugins.module_utils.preflight import (
    UNHEALTHY,
    PreflightChecker,
    PreflightOptions,
)

OPTIONS = (
    PROJECT,
    RUN_ID.but(
        description=(
            "The current run. Its resources are not orphans.",
            "When not set, every managed resource of the project counts as an orphan.",
        )
    ),
    *PREFLIGHT,
    *MACHINE_CHECKS,
    *DOCKER,
)


def main() -> None:
    run_module(OPTIONS, core)


def core(run: ModuleRun) -> dict:
    checker = PreflightChecker(PreflightOptions.from_params(run.params), run.client, run.events)
    report = checker.run()
    if report["overall"] == UNHEALTHY and run.params["fail_on_unhealthy"]:
        raise FailWithResult(checker.failure, report=report)  # an unhealthy report always has a failed check
    result = {"changed": False, "report": report, "ansible_facts": {"argus_preflight": report}}
    if run.params["clean_orphans"] and report["overall"] != UNHEALTHY:
        cleaner = OrphanCleaner(checker.client, CleanupOptions(run.params["project"], run.params["run_id"]), run.events)
        cleanup, error = cleanup_outcome(cleaner, run.check_mode)
        result.update(changed=cleanup.pop("changed"), orphan_cleanup=cleanup)
        if error is not None:
            raise FailWithResult(error, **result)
    return result


if __name__ == "__main__":
    main()

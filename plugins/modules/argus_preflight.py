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
  - Never changes anything on the host.
author:
  - ArgusAI team (@argusai)
extends_documentation_fragment:
  - argusai.resilience.docker
  - argusai.resilience.docker.EVENTS
  - argusai.resilience.docker.PROJECT
options:
  run_id:
    description:
      - The current run. Its resources are not orphans.
      - When not set, every managed resource of the project counts as an orphan.
    type: str
  disk_threshold_gb:
    description:
      - Free space in GiB below which the disk check fails with C(DISK_SPACE_LOW).
      - Below twice this value the check warns, which makes the report V(degraded).
    type: float
    default: 2
  disk_paths:
    description:
      - Absolute paths whose file systems are checked.
      - Defaults to C(/) and Docker's root directory (from C(docker info)) when the daemon runs on this host.
    type: list
    elements: path
  skip_disk_check:
    description: Skip the disk check; it is reported as V(skipped).
    type: bool
    default: false
  skip_orphan_check:
    description: Skip the orphan check; it is reported as V(skipped).
    type: bool
    default: false
  daemon_timeout:
    description:
      - Seconds to wait for the daemon to answer before the check fails with C(DOCKER_UNAVAILABLE).
    type: float
    default: 5
  fail_on_unhealthy:
    description:
      - Fail the task when the report is V(unhealthy), with the structured error of the first failed check.
      - When V(false), the task succeeds and the caller reads RV(report.overall).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: The module only reads; check mode runs the same checks.
notes:
  - C(changed) is always V(false).
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
      type: list
      elements: dict
      sample:
        - name: docker_daemon
          status: pass
          message: Docker 20.10.24 answers
          details: {server_version: 20.10.24, api_version: "1.41", docker_root_dir: /var/lib/docker}
          duration_ms: 7
    duration_ms:
      description: Time the checks took, in milliseconds.
      type: int
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
  description: The events C(preflight_start), one C(preflight_check) per check, and C(preflight_end).
  returned: always
  type: list
  elements: dict
error:
  description: The structured error of the first failed check (C(DOCKER_UNAVAILABLE) or C(DISK_SPACE_LOW)).
  returned: failure
  type: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError, invalid_input
from ansible_collections.argusai.resilience.plugins.module_utils.events import EventLog
from ansible_collections.argusai.resilience.plugins.module_utils.labels import validate_project, validate_run_id
from ansible_collections.argusai.resilience.plugins.module_utils.module_support import (
    FailWithResult,
    client_for,
    docker_argument_spec,
    require_docker_sdk,
    run,
)
from ansible_collections.argusai.resilience.plugins.module_utils.preflight import (
    UNHEALTHY,
    PreflightChecker,
    PreflightOptions,
)


def options_from(params: dict) -> PreflightOptions:
    """Validate every option before Docker is called."""
    if params["disk_threshold_gb"] < 0:
        raise invalid_input("disk_threshold_gb", params["disk_threshold_gb"], "must be >= 0")
    if params["daemon_timeout"] <= 0:
        raise invalid_input("daemon_timeout", params["daemon_timeout"], "must be > 0")
    for path in params["disk_paths"] or []:
        if not os.path.isabs(path) or not os.path.exists(path):
            raise invalid_input("disk_paths", path, "must be an existing absolute path")
    return PreflightOptions(
        project=validate_project(params["project"]),
        run_id=validate_run_id(params["run_id"]) if params["run_id"] is not None else None,
        disk_threshold_gb=params["disk_threshold_gb"],
        disk_paths=params["disk_paths"],
        skip_disk_check=params["skip_disk_check"],
        skip_orphan_check=params["skip_orphan_check"],
        daemon_timeout=params["daemon_timeout"],
    )


def main() -> None:
    module = AnsibleModule(
        argument_spec=docker_argument_spec(
            project={"type": "str", "required": True},
            run_id={"type": "str"},
            disk_threshold_gb={"type": "float", "default": 2},
            disk_paths={"type": "list", "elements": "path"},
            skip_disk_check={"type": "bool", "default": False},
            skip_orphan_check={"type": "bool", "default": False},
            daemon_timeout={"type": "float", "default": 5},
            fail_on_unhealthy={"type": "bool", "default": True},
        ),
        supports_check_mode=True,
    )
    events = EventLog(module.params["project"], module.params["run_id"])

    def body() -> dict:
        options = options_from(module.params)
        require_docker_sdk(module)
        checker = PreflightChecker(options, lambda seconds: client_for(module, connect_timeout=seconds), events)
        report = checker.run()
        if report["overall"] == UNHEALTHY and module.params["fail_on_unhealthy"]:
            error: ArgusError = checker.failure  # an unhealthy report always has a failed check
            raise FailWithResult(error, report=report)
        return {"changed": False, "report": report, "ansible_facts": {"argus_preflight": report}}

    run(module, body, events)


if __name__ == "__main__":
    main()

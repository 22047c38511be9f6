#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: argus_container_guard
short_description: Start containers under a guard that restarts them with backoff and explains every crash
version_added: 0.1.0
description:
  - Creates and starts a container labeled with the C(argusai.*) labels (plus C(argusai.config-hash), the
    idempotence key), on its labeled network (created when missing, reused when present).
  - Waits until the container runs, is healthy when it has a healthcheck (within O(startup_timeout)), and then
    stays so for O(stable_seconds). The wait follows the Docker events stream of the container (C(die),
    C(oom), C(health_status)); a container that exits during the wait fails at once.
  - On a failure it captures the diagnostics first (exit code, C(OOMKilled), the state error, the last 100 log
    lines, the last health-probe outputs, memory figures while the container still runs), classifies the attempt
    (C(CONTAINER_OOM), C(HEALTH_CHECK_TIMEOUT), else C(CONTAINER_CRASH)), waits the backoff counted from the
    death, and starts the container again, up to O(max_restarts) consecutive failures.
  - When the restarts are used up the task fails with C(CONTAINER_RESTART_EXHAUSTED) whose details hold the
    whole C(restart_history); the container is left in place for inspection unless O(remove_on_failure).
  - With O(containers), every container of the list is supervised at the same time (one thread each); the task
    takes about as long as the slowest container. With O(start_first), the other items start once the named ones
    are ready (running, healthy), so tiers of a setup (mocks, then services) take one call and their stability
    windows overlap.
  - A running container whose configuration matches, healthy (or without a healthcheck) and up for
    O(stable_seconds) already, is left as it is without waiting (a rerun on an environment that is up).
  - Idempotent. A running container whose configuration (the options documented with "Changing it recreates the
    container") and run id match is left alone (C(changed=false)); a changed configuration recreates it.
  - Only containers labeled C(argusai.managed=true) for O(project) are ever modified or removed. When the name
    is taken by any other container the task fails with C(INVALID_INPUT) and touches nothing.
  - The image is never pulled; a missing image fails with C(IMAGE_NOT_FOUND).
extends_documentation_fragment: argusai.resilience.module_options.argus_container_guard
notes:
  - Check mode reports what would be created, recreated, started or removed (RV(action)); changes nothing.
  - C(changed) is V(true) when a container was created, recreated, started, restarted or removed.
  - C(oom_killed) in the diagnostics is what Docker says (C(State.OOMKilled), or Docker's C(oom) event for the
    container during the attempt, see C(oom_evidence)); it is never inferred from an exit code such as 137.
    When the killed process is the container's PID 1, Docker can miss the OOM (exit code 137, C(oom_killed=false)),
    and Podman 4.3 on cgroup v1 never reports one. A SIGKILL under a memory limit without an OOM report is
    C(CONTAINER_CRASH) with cause C(sigkill_under_memory_limit), whose suggested fix is C(raise_memory_limit).
  - Where the runtime does not run healthchecks (Podman without systemd), the guard runs the container's own check
    through exec with its interval, timeout, retries and start period, as Docker would, and says so
    (RV(container.health_source) V(exec)). See the collection's C(docs/runtimes.md).
  - Log lines that look like credentials (C(password=), C(token), C(secret), C(api_key), C(Authorization) headers,
    AWS keys, C(user:password@) in URLs) and the O(env) values are masked in the diagnostics.
  - Watching relies on the daemon's event timestamps and the host clock; use it with a local daemon or one whose
    clock is in sync.
  - Time bound. One container's supervision ends within
    (O(max_restarts) + 1) * (O(startup_timeout), counted only with a O(healthcheck), + O(stable_seconds))
    + O(watch_seconds) + the backoff delays of O(max_restarts) restarts (at most O(max_restarts) * O(backoff_max_ms))
    + O(max_restarts) * O(stop_timeout), plus its Docker API requests (each bounded by O(timeout); a start refused for
    a taken port is retried at most 3 times). With O(containers) they are supervised at the same time, so the bound is the
    slowest one's. A daemon that stops sending the container's events fails the call with C(DOCKER_UNAVAILABLE) 30 s
    after the watch in progress should have ended. With O(start_first), the others' bound starts when the first ones
    are ready (at the latest, their bound). With O(verify), plus twice the bound of
    M(argusai.resilience.argus_network_verify). See the collection's C(docs/guard.md).
seealso:
  - module: argusai.resilience.argus_port_resolve
  - module: argusai.resilience.argus_network_verify
"""

EXAMPLES = r"""
- name: Start the API under the guard
  argusai.resilience.argus_container_guard:
    project: shop
    run_id: "{{ argus_run_id }}"
    name: shop-api
    image: shop/api:1.4
    env:
      DATABASE_PASSWORD: "{{ vault_db_password }}"
    ports:
      - container_port: 8080
        host_port: 18080
    network: shop-net
    aliases: [api]
    healthcheck:
      test: wget -q -O /dev/null http://127.0.0.1:8080/health
      interval: 2
      retries: 3
    memory: 512m
    max_restarts: 3
    backoff: exponential
    backoff_initial_ms: 1000
  register: api

- name: Start the mocks together
  argusai.resilience.argus_container_guard:
    project: shop
    run_id: "{{ argus_run_id }}"
    containers:
      - name: shop-payments-mock
        image: shop/mock:latest
        network: shop-net
      - name: shop-mail-mock
        image: shop/mock:latest
        network: shop-net

- name: Remove the API container
  argusai.resilience.argus_container_guard:
    project: shop
    name: shop-api
    state: absent
"""

RETURN = r"""
container:
  description: The container (single form). Also returned on failure when it exists.
  returned: when O(name) is used and the container exists
  type: dict
  contains:
    id:
      description: Container id.
      type: str
    name:
      description: Container name.
      type: str
    status:
      description: Docker status (V(running), V(exited), ...).
      type: str
    health:
      description: Health status (V(healthy), V(unhealthy), V(starting)) or null without a healthcheck.
      type: str
    health_source:
      description:
        - V(exec) when the guard ran the healthcheck itself (the runtime does not run it, e.g. Podman without
          systemd); C(health) is then what its probes found.
      returned: when the guard ran the container's healthcheck itself
      type: str
    ports:
      description: Published ports, each C({container_port, protocol, host_ip, host_port}).
      type: list
      elements: dict
    image:
      description: Image name.
      type: str
    run_id:
      description: The container's C(argusai.run-id) label.
      type: str
  sample:
    id: 4f1c...
    name: shop-api
    status: running
    health: healthy
    ports: [{container_port: 8080, protocol: tcp, host_ip: 0.0.0.0, host_port: 18080}]
    image: shop/api:1.4
    run_id: lq2x9k1a
restart_history:
  description:
    - What the guard had to do (single form); also in C(error.details.restart_history) on failure.
    - C(attempts) has one entry per failed run, C({attempt, reason, cause, message, delay_ms, restarted,
      diagnostics}); C(reason) is the code of that attempt (C(CONTAINER_CRASH), C(CONTAINER_OOM),
      C(HEALTH_CHECK_TIMEOUT)), C(delay_ms) the backoff before the restart that followed (null when none did).
    - C(diagnostics) is C({container_id, container_name, status, exit_code, oom_killed, oom_evidence, error,
      health_status, health_source, health_exec_refused, started_at, finished_at, logs, memory_stats, health_log,
      runtime, timestamp}), C(logs) at most the last 100 lines of that run; C(health_source) is V(exec) where the
      guard ran the healthcheck (C(health_status) and C(health_log) are then its probes'), V(runtime) where the
      runtime did; C(runtime) is V(docker) or V(podman).
    - C(final_status) is the container's status at the end (V(running), V(exited), V(removed), V(absent), or
      V(not_started) for an item O(start_first) held back).
  returned: when O(name) is used
  type: dict
  sample:
    container_name: shop-api
    final_status: running
    attempts:
      - attempt: 1
        reason: CONTAINER_CRASH
        cause: exited
        message: "container shop-api exited with code 3; last log: cannot reach db"
        delay_ms: 1000
        restarted: true
        diagnostics:
          container_id: 4f1c...
          container_name: shop-api
          exit_code: 3
          oom_killed: false
          error: null
          logs: [cannot reach db]
          memory_stats: {limit_bytes: 536870912, source: unavailable}
          health_log: []
          timestamp: "2026-11-25T10:00:00.123Z"
containers:
  description:
    - One result per item of O(containers), in the same order, each C({name, action, changed, container,
      restart_history, port_mappings, duration_ms}) plus C(error) (a structured error) when that container failed.
    - An item held back by O(start_first) whose first containers failed has C(restart_history.final_status)
      V(not_started) and C(not_started_because) (the names of the failed ones).
  returned: when O(containers) is used
  type: list
  elements: dict
duration_ms:
  description: Wall time of the supervision of all O(containers), in milliseconds (about the slowest item's).
  returned: when O(containers) is used
  type: int
restart_histories:
  description: The C(restart_history) of every item of O(containers), in the same order.
  returned: when O(containers) is used
  type: list
  elements: dict
port_mappings:
  description:
    - Requested and actual host port of every published port, C({service, container_port, protocol,
      original_port, actual_port, reassigned}) and C(occupied_by) when the requested port was taken.
  returned: always
  type: list
  elements: dict
  sample:
    - {service: shop-api, container_port: 8080, protocol: tcp, original_port: 18080, actual_port: 18081,
       reassigned: true, occupied_by: {type: container, container: other-web}}
reconciled:
  description:
    - The containers of the run that O(keep_services) no longer has, C({found, removed, failed, duration_ms})
      as in M(argusai.resilience.argus_teardown).
  returned: when O(keep_services) and O(run_id) are set
  type: dict
port_resolution:
  description:
    - What O(resolve_ports) decided, C({mappings, ports, kept, daemon_machine}) - C(mappings) and C(ports) as in
      M(argusai.resilience.argus_port_resolve) (C(ports) keyed C(<service>-<container_port>[-udp])), C(kept) the
      ports kept from running containers of the run (their mappings say C(kept_from_run)), C(daemon_machine)
      how the daemon's machine was probed (only when a port had to be resolved).
  returned: when O(resolve_ports) is set
  type: dict
phases_ms:
  description:
    - Where the time of the call went, in milliseconds, C({reconcile, ports, containers}) (V(0) for a phase that
      had nothing to do).
  returned: success
  type: dict
  sample: {reconcile: 4, ports: 35, containers: 1650}
network_verification:
  description:
    - With O(verify), the report of the connectivity check, as RV(argusai.resilience.argus_network_verify#module:report)
      (C({results, all_reachable, network_topology, probe, duration_ms, timestamp})).
  returned: when O(verify) is set and every container succeeded (not in check mode)
  type: dict
phase:
  description:
    - On failure, the phase that failed - V(connect) (the daemon could not be reached), V(reconcile)
      (O(keep_services)), V(ports) (O(resolve_ports)), V(containers) or V(network_verification) (O(verify)).
  returned: failure
  type: str
action:
  description:
    - What was (or in check mode would be) done, one of V(none), V(create), V(recreate), V(start) or V(remove).
  returned: when O(name) is used
  type: str
  sample: create
run_id:
  description: The run id of the container (given, kept from the existing container, or generated).
  returned: when O(name) is used
  type: str
argus_events:
  description: C(restart_attempt), C(restart_success), C(restart_exhausted), C(port_conflict), C(port_reassigned).
  returned: always
  type: list
  elements: dict
error:
  description:
    - The structured error. C(CONTAINER_RESTART_EXHAUSTED) (details C(restart_history), C(last_reason),
      C(max_restarts)); with O(max_restarts=0) the attempt's own C(CONTAINER_CRASH), C(CONTAINER_OOM) or
      C(HEALTH_CHECK_TIMEOUT); C(CONTAINER_CRASH) with C(details.cause=bad_command) when the command cannot run;
      C(IMAGE_NOT_FOUND), C(PORT_CONFLICT), C(INVALID_INPUT).
  returned: failure
  type: dict
"""

from ansible_collections.argusai.resilience.plugins.module_utils.guard.call import guard_call
from ansible_collections.argusai.resilience.plugins.module_utils.guard.options import (
    CONTAINER_OPTIONS,
    CONTAINERS,
    KEEP_SERVICES,
    START_FIRST,
)
from ansible_collections.argusai.resilience.plugins.module_utils.module_options import (
    DOCKER,
    GUARD_VERIFY,
    PROJECT,
    RESOLVE_PORTS,
    RUN_ID,
)
from ansible_collections.argusai.resilience.plugins.module_utils.module_support import run_module

OPTIONS = (
    PROJECT,
    RUN_ID.but(
        description=(
            "The run the containers belong to (label C(argusai.run-id)).",
            "When set, a running container of another run is recreated so that its labels name this run.",
            "When not set, a matching container keeps its run id and new containers get a fresh one (RV(run_id)).",
        )
    ),
    *CONTAINER_OPTIONS,
    CONTAINERS,
    START_FIRST,
    KEEP_SERVICES,
    RESOLVE_PORTS,
    GUARD_VERIFY,
    *DOCKER,
)


SPEC_RULES = {"mutually_exclusive": [("name", "containers")], "required_one_of": [("name", "containers")]}
core = guard_call


def main() -> None:
    run_module(OPTIONS, core, **SPEC_RULES)


if __name__ == "__main__":
    main()

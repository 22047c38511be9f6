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
    takes about as long as the slowest container.
  - Idempotent. A running container whose configuration (image, command, env, ports, network, aliases,
    healthcheck, memory) and run id match is left alone (C(changed=false)); a changed configuration recreates it.
  - Only containers labeled C(argusai.managed=true) for O(project) are ever modified or removed. When the name
    is taken by any other container the task fails with C(INVALID_INPUT) and touches nothing.
  - The image is never pulled; a missing image fails with C(IMAGE_NOT_FOUND).
author:
  - ArgusAI team (@argusai)
extends_documentation_fragment:
  - argusai.resilience.docker
  - argusai.resilience.docker.EVENTS
  - argusai.resilience.docker.PROJECT
options:
  run_id:
    description:
      - The run the containers belong to (label C(argusai.run-id)).
      - When set, a running container of another run is recreated so that its labels name this run.
      - When not set, a matching container keeps its run id and new containers get a fresh one (RV(run_id)).
    type: str
  name:
    description:
      - Name of the container. Required unless O(containers) is used; mutually exclusive with it.
    type: str
  image:
    description:
      - Image to run; must already be on the Docker host. Required when O(state=started).
    type: str
  command:
    description:
      - Command to run, a string (split like a shell would) or a list (passed as is).
    type: raw
  env:
    description:
      - Environment variables. The values are never logged, and are masked in the diagnostics.
    type: dict
  ports:
    description:
      - Ports to publish.
    type: list
    elements: dict
    suboptions:
      container_port:
        description: Port inside the container.
        type: int
        required: true
      host_port:
        description:
          - Port on the host. When not set, Docker picks a free ephemeral port.
          - When Docker says it is already allocated and O(port_strategy=auto), another free port is chosen
            and reported in RV(port_mappings).
        type: int
      protocol:
        description: Protocol.
        type: str
        choices: [tcp, udp, sctp]
        default: tcp
      bind_address:
        description: Host address to bind.
        type: str
        default: 0.0.0.0
  network:
    description:
      - User-defined network to attach the container to. Created with the project's labels when missing,
        reused when it exists. When not set, the container uses Docker's default bridge.
    type: str
  aliases:
    description:
      - Extra DNS names of the container on O(network). Needs O(network).
    type: list
    elements: str
  healthcheck:
    description:
      - Healthcheck of the container. The guard then waits for C(healthy) before counting O(stable_seconds).
    type: dict
    suboptions:
      test:
        description:
          - A shell command (string, run with C(CMD-SHELL)) or a list (C(CMD) form; a list starting with
            C(CMD), C(CMD-SHELL) or C(NONE) is passed as is).
        type: raw
        required: true
      interval:
        description: Seconds between probes.
        type: float
        default: 5
      timeout:
        description: Seconds a probe may take.
        type: float
        default: 3
      retries:
        description: Consecutive failed probes that make the container C(unhealthy).
        type: int
        default: 3
      start_period:
        description: Seconds after start during which failed probes do not count.
        type: float
        default: 0
  memory:
    description:
      - Memory limit, for example V(8m), V(512M) or V(1g) (units b, k, m, g; at least 6m). Swap is not added on
        top of it. An invalid value fails with C(INVALID_INPUT) before Docker is called.
    type: str
  max_restarts:
    description:
      - Restarts after consecutive failed attempts before the guard gives up. V(0) reports the first failure
        with its own code (C(CONTAINER_CRASH), C(CONTAINER_OOM), C(HEALTH_CHECK_TIMEOUT)).
    type: int
    default: 3
  backoff:
    description:
      - V(exponential) waits O(backoff_initial_ms) * 2^(n-1) before restart n, V(linear) O(backoff_initial_ms) * n;
        both are capped at O(backoff_max_ms). The delay runs from the container's death to it
        running again (the start is issued early by what the last start took).
      - A stable run (see O(watch_seconds)) starts the schedule and the restart count over.
    type: str
    choices: [exponential, linear]
    default: exponential
  backoff_initial_ms:
    description: First backoff delay in milliseconds.
    type: int
    default: 1000
  backoff_max_ms:
    description: Largest backoff delay in milliseconds.
    type: int
    default: 30000
  jitter:
    description: Draw each delay uniformly between 0 and the scheduled delay (spreads restarts of many containers).
    type: bool
    default: false
  stable_seconds:
    description: Seconds the container must keep running (and healthy) for an attempt to count as a success.
    type: float
    default: 3
  startup_timeout:
    description: Seconds from start within which a container with a healthcheck must become C(healthy).
    type: float
    default: 60
  watch_seconds:
    description:
      - Keep watching this many seconds after the container became stable; a failure in that window is restarted
        like any other, with the backoff and restart count starting over (the run before it was stable).
    type: float
    default: 0
  stop_timeout:
    description: Seconds to wait for a graceful stop before an unhealthy container is killed and restarted.
    type: int
    default: 5
  port_strategy:
    description:
      - V(auto) picks another free host port when Docker reports the requested one as already allocated;
        V(fail) fails with C(PORT_CONFLICT).
    type: str
    choices: [auto, fail]
    default: auto
  remove_on_failure:
    description: Remove the container when the guard gives up (by default it is left for inspection).
    type: bool
    default: false
  state:
    description:
      - V(started) creates, starts and supervises the container; V(absent) removes it (a managed container of
        O(project) only). Networks are left to the teardown.
    type: str
    choices: [started, absent]
    default: started
  containers:
    description:
      - Several containers, supervised concurrently. Each item takes the per-container options above (O(name),
        O(image), O(command), O(env), O(ports), O(network), O(aliases), O(healthcheck), O(memory),
        O(max_restarts), O(backoff), O(backoff_initial_ms), O(backoff_max_ms), O(jitter), O(stable_seconds),
        O(startup_timeout), O(watch_seconds), O(stop_timeout), O(port_strategy), O(remove_on_failure),
        O(state)) with the same defaults. Mutually exclusive with O(name).
      - Every container is brought to its state even when another one fails; the task then fails with the
        error of the first failed container (in list order) and C(details.failed_containers).
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the container.
        type: str
        required: true
      image:
        description: Image to run (required when O(containers[].state=started)).
        type: str
      command:
        description: Command, a string or a list.
        type: raw
      env:
        description: Environment variables (values never logged).
        type: dict
      ports:
        description: Ports to publish, as O(ports).
        type: list
        elements: dict
        suboptions:
          container_port:
            description: Port inside the container.
            type: int
            required: true
          host_port:
            description: Port on the host (ephemeral when not set).
            type: int
          protocol:
            description: Protocol.
            type: str
            choices: [tcp, udp, sctp]
            default: tcp
          bind_address:
            description: Host address to bind.
            type: str
            default: 0.0.0.0
      network:
        description: Network, as O(network).
        type: str
      aliases:
        description: Aliases on the network.
        type: list
        elements: str
      healthcheck:
        description: Healthcheck, as O(healthcheck).
        type: dict
        suboptions:
          test:
            description: Shell string or list.
            type: raw
            required: true
          interval:
            description: Seconds between probes.
            type: float
            default: 5
          timeout:
            description: Seconds a probe may take.
            type: float
            default: 3
          retries:
            description: Failed probes before C(unhealthy).
            type: int
            default: 3
          start_period:
            description: Grace period in seconds.
            type: float
            default: 0
      memory:
        description: Memory limit, as O(memory).
        type: str
      max_restarts:
        description: As O(max_restarts).
        type: int
        default: 3
      backoff:
        description: As O(backoff).
        type: str
        choices: [exponential, linear]
        default: exponential
      backoff_initial_ms:
        description: As O(backoff_initial_ms).
        type: int
        default: 1000
      backoff_max_ms:
        description: As O(backoff_max_ms).
        type: int
        default: 30000
      jitter:
        description: As O(jitter).
        type: bool
        default: false
      stable_seconds:
        description: As O(stable_seconds).
        type: float
        default: 3
      startup_timeout:
        description: As O(startup_timeout).
        type: float
        default: 60
      watch_seconds:
        description: As O(watch_seconds).
        type: float
        default: 0
      stop_timeout:
        description: As O(stop_timeout).
        type: int
        default: 5
      port_strategy:
        description: As O(port_strategy).
        type: str
        choices: [auto, fail]
        default: auto
      remove_on_failure:
        description: As O(remove_on_failure).
        type: bool
        default: false
      state:
        description: As O(state).
        type: str
        choices: [started, absent]
        default: started
attributes:
  check_mode:
    support: full
    description: Reports what would be created, recreated, started or removed (RV(action)); changes nothing.
notes:
  - C(changed) is V(true) when a container was created, recreated, started, restarted or removed.
  - C(oom_killed) in the diagnostics is what Docker says (C(State.OOMKilled), or Docker's C(oom) event for the
    container during the attempt, see C(oom_evidence)); it is never inferred from an exit code such as 137.
    When the killed process is the container's PID 1, Docker can miss the OOM (exit code 137, C(oom_killed=false)).
  - Log lines that look like credentials (C(password=), C(token), C(secret), C(api_key), C(Authorization) headers,
    AWS keys, C(user:password@) in URLs) and the O(env) values are masked in the diagnostics.
  - Watching relies on the daemon's event timestamps and the host clock; use it with a local daemon or one whose
    clock is in sync.
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
      health_status, started_at, finished_at, logs, memory_stats, health_log, timestamp}), C(logs) at most the
      last 100 lines of that run.
    - C(final_status) is the container's status at the end (V(running), V(exited), V(removed), V(absent)).
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

import time
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError, invalid_input
from ansible_collections.argusai.resilience.plugins.module_utils.events import EventLog
from ansible_collections.argusai.resilience.plugins.module_utils.guard.supervisor import ContainerGuardian
from ansible_collections.argusai.resilience.plugins.module_utils.guard_spec import (
    ContainerSpec,
    spec_from_params,
    validate_identity,
)
from ansible_collections.argusai.resilience.plugins.module_utils.module_support import (
    FailWithResult,
    client_for,
    docker_argument_spec,
    require_docker_sdk,
    run,
)

PER_CONTAINER_KEYS = (
    "name",
    "image",
    "command",
    "env",
    "ports",
    "network",
    "aliases",
    "healthcheck",
    "memory",
    "max_restarts",
    "backoff",
    "backoff_initial_ms",
    "backoff_max_ms",
    "jitter",
    "stable_seconds",
    "startup_timeout",
    "watch_seconds",
    "stop_timeout",
    "port_strategy",
    "remove_on_failure",
    "state",
)


def container_options(item: bool) -> dict[str, Any]:
    """The per-container argument spec; ``item`` for an element of ``containers``."""
    port = {
        "container_port": {"type": "int", "required": True},
        "host_port": {"type": "int"},
        "protocol": {"type": "str", "choices": ["tcp", "udp", "sctp"], "default": "tcp"},
        "bind_address": {"type": "str", "default": "0.0.0.0"},
    }
    health = {
        "test": {"type": "raw", "required": True},
        "interval": {"type": "float", "default": 5},
        "timeout": {"type": "float", "default": 3},
        "retries": {"type": "int", "default": 3},
        "start_period": {"type": "float", "default": 0},
    }
    return {
        "name": {"type": "str", "required": item},
        "image": {"type": "str"},
        "command": {"type": "raw"},
        "env": {"type": "dict", "no_log": True},
        "ports": {"type": "list", "elements": "dict", "options": port},
        "network": {"type": "str"},
        "aliases": {"type": "list", "elements": "str"},
        "healthcheck": {"type": "dict", "options": health},
        "memory": {"type": "str"},
        "max_restarts": {"type": "int", "default": 3},
        "backoff": {"type": "str", "choices": ["exponential", "linear"], "default": "exponential"},
        "backoff_initial_ms": {"type": "int", "default": 1000},
        "backoff_max_ms": {"type": "int", "default": 30000},
        "jitter": {"type": "bool", "default": False},
        "stable_seconds": {"type": "float", "default": 3},
        "startup_timeout": {"type": "float", "default": 60},
        "watch_seconds": {"type": "float", "default": 0},
        "stop_timeout": {"type": "int", "default": 5},
        "port_strategy": {"type": "str", "choices": ["auto", "fail"], "default": "auto"},
        "remove_on_failure": {"type": "bool", "default": False},
        "state": {"type": "str", "choices": ["started", "absent"], "default": "started"},
    }


def specs_from(params: dict[str, Any]) -> list[ContainerSpec]:
    """Validate every container before Docker is called."""
    if params["containers"] is None:
        return [spec_from_params({key: params[key] for key in PER_CONTAINER_KEYS})]
    if not params["containers"]:
        raise invalid_input("containers", [], "must list at least one container")
    specs = [spec_from_params(item, f"containers[{index}].") for index, item in enumerate(params["containers"])]
    names = [spec.name for spec in specs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise invalid_input("containers", duplicates, "container names must be unique")
    return specs


def item_result(outcome) -> dict[str, Any]:
    result = {
        "name": outcome.name,
        "action": outcome.action,
        "changed": outcome.changed,
        "container": outcome.container,
        "restart_history": outcome.restart_history,
        "port_mappings": outcome.port_mappings,
        "run_id": outcome.run_id,
        "duration_ms": outcome.duration_ms,
    }
    if outcome.error is not None:
        result["error"] = outcome.error.to_dict()
    return result


def main() -> None:
    options = container_options(item=False)
    options["containers"] = {"type": "list", "elements": "dict", "options": container_options(item=True)}
    module = AnsibleModule(
        argument_spec=docker_argument_spec(
            project={"type": "str", "required": True}, run_id={"type": "str"}, **options
        ),
        mutually_exclusive=[("name", "containers")],
        required_one_of=[("name", "containers")],
        supports_check_mode=True,
    )
    events = EventLog(module.params["project"], module.params["run_id"])

    def body() -> dict:
        project, run_id = validate_identity(module.params["project"], module.params["run_id"])
        specs = specs_from(module.params)
        require_docker_sdk(module)
        guardian = ContainerGuardian(client_for(module), project, run_id, events, check_mode=module.check_mode)
        started = time.monotonic()
        outcomes = guardian.ensure_all(specs)
        duration_ms = int((time.monotonic() - started) * 1000)
        changed = any(outcome.changed for outcome in outcomes)
        port_mappings = [mapping for outcome in outcomes for mapping in outcome.port_mappings]
        if module.params["containers"] is None:
            outcome = outcomes[0]
            result: dict[str, Any] = {
                "changed": changed,
                "action": outcome.action,
                "run_id": outcome.run_id,
                "container": outcome.container,
                "restart_history": outcome.restart_history,
                "port_mappings": port_mappings,
            }
        else:
            items = [item_result(outcome) for outcome in outcomes]
            result = {
                "changed": changed,
                "containers": items,
                "restart_histories": [item["restart_history"] for item in items],
                "port_mappings": port_mappings,
                "duration_ms": duration_ms,
            }
        failed = [outcome for outcome in outcomes if outcome.error is not None]
        if failed:
            error: ArgusError = failed[0].error
            if len(outcomes) > 1:
                error.details["failed_containers"] = [outcome.name for outcome in failed]
            raise FailWithResult(error, **result)
        return result

    run(module, body, events)


if __name__ == "__main__":
    main()

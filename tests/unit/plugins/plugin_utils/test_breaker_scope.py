"""The breaker gate scopes every suggested action to the inventory host and daemon of the task."""

from __future__ import annotations

import json
import shlex

from ansible_collections.argusai.resilience.plugins.module_utils.errors import structured_error
from test_breaker_action import DOWN, Host

CONTEXT = {"project": "shop", "run_id": "r1"}


def crashed():
    """A guard result as the module returns it: the host is unknown there."""
    return {
        "failed": True,
        "msg": "CONTAINER_CRASH: exited",
        "error": structured_error("CONTAINER_CRASH", "exited", context=CONTEXT),
        "containers": [{"name": "api", "error": structured_error("CONTAINER_CRASH", "exited", context=CONTEXT)}],
    }


def playbook_actions(error):
    return [action for action in error["suggested_actions"] if action.get("playbook")]


def test_module_failures_name_the_inventory_host_and_the_daemon():
    host = Host([crashed(), crashed()])
    result = host.run({"project": "shop", "run_id": "r1", "docker_host": "tcp://d1:2375"})
    for error in (result["error"], result["containers"][0]["error"]):
        (teardown,) = playbook_actions(error)
        assert teardown["extra_vars"] == {
            "argus_hosts": "h1",
            "argus_project": "shop",
            "argus_run_id": "r1",
            "argus_docker_host": "tcp://d1:2375",
        }
    result = host.run({"project": "shop", "run_id": "r1"})
    (teardown,) = playbook_actions(result["error"])
    assert "argus_docker_host" not in teardown["extra_vars"]  # the module's default daemon, as the task used


def test_the_refusal_resets_this_hosts_breaker():
    host = Host([DOWN] * 5)
    for _unused in range(5):
        host.run({"project": "shop"})
    refused = host.run({"project": "shop", "run_id": "r1"})
    reset = next(a for a in refused["error"]["suggested_actions"] if a["id"] == "reset_circuit")
    assert reset["extra_vars"] == {"argus_hosts": "h1", "argus_project": "shop"}
    command = refused["msg"].split("reset the breaker: ", 1)[1]  # the whole rest: copy and paste
    assert command.startswith("ansible-playbook argusai.resilience.reset_circuit -e '")
    assert json.loads(shlex.split(command)[-1]) == reset["extra_vars"]

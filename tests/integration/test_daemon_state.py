"""State the collection keeps in the Docker daemon (port leases, cleanup turns), on the real engine:
it ends with what it protects, and controllers that share a daemon coordinate through it.

- issue 14 §2 reproduced through ansible-playbook: a renamed service gets its port back with
  ``strategy: fail`` once the old container is gone (or its run torn down), within the lease's
  lifetime; within one run a rename keeps the port; a conflict caused only by another run's lease
  is retryable with ``retry_after_seconds``; leases end with the guard's start (superseded), with
  ``state: absent``, with teardown and with orphan cleanup, and are never listed as resources;
- the lease of a run killed before it started anything expires and is replaced;
- two controllers, each in a network namespace of its own with its own HOME and TMPDIR (so their
  bind probes see nothing of each other), racing for the same ports: distinct ports every round;
  the same race without leases hands out one port to all (the control);
- a cleanup turn whose holder was killed ends the wait at its deadline, and is broken once stale;
- a full setup, run with a /tmp of its own, leaves it empty and no lease behind; nor does its teardown.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from conftest import COLLECTIONS_PATH, REPO_ROOT, ansible_env, execute_playbook

sys.path.insert(0, str(COLLECTIONS_PATH))

from ansible_collections.argusai.resilience.plugins.module_utils.cleanup.cleaner import removal_lock  # noqa: E402
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError  # noqa: E402
from ansible_collections.argusai.resilience.plugins.module_utils.ports.leases import (  # noqa: E402
    PORT_LOCK,
    Owner,
    lease_name,
    release_runs,
)
from ansible_collections.argusai.resilience.plugins.module_utils.ports.probe import (  # noqa: E402
    bind_probe,
    probe_targets,
)
from ansible_collections.argusai.resilience.plugins.module_utils.ports.resolver import PortResolver  # noqa: E402

pytestmark = pytest.mark.integration

COLLECTION = "argusai.resilience"
TARGETS = probe_targets("0.0.0.0")


def free_ports(count: int, spacing: int = 3) -> list[int]:
    """``count`` random high ports, each with ``spacing - 1`` free ports above it."""
    ports: list[int] = []
    for _attempt in range(500):
        base = random.randint(20000, 60000)
        if all(bind_probe(p, "tcp", TARGETS) is None for p in range(base, base + spacing)) and all(
            abs(base - other) > spacing for other in ports
        ):
            ports.append(base)
            if len(ports) == count:
                return ports
    raise AssertionError("no free ports found")


def leases_of(client, project: str) -> dict[str, dict]:
    """Lease volume name -> labels, for one project."""
    found = client.api.volumes(filters={"label": [f"argusai.lock={PORT_LOCK}", f"argusai.project={project}"]})
    return {volume["Name"]: volume["Labels"] for volume in found.get("Volumes") or []}


def run_steps(workdir: Path, steps: list[tuple[str, str, dict]], timeout: float = 300) -> dict[str, dict]:
    """Run ``(name, module, args)`` steps as the tasks of one play (each failure kept, not fatal);
    returns each step's registered result by name. A ``module`` of ``"wait"`` sleeps ``args`` seconds."""
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / "steps.json"
    tasks = []
    for name, module, args in steps:
        if module == "wait":
            tasks.append({"name": name, "ansible.builtin.wait_for": {"timeout": args}})
            continue
        fqcn = module if "." in module else f"{COLLECTION}.{module}"
        tasks.append({"name": name, fqcn: args, "register": f"step_{name}", "ignore_errors": True})
    registered = {name: f"{{{{ step_{name} }}}}" for name, module, _args in steps if module != "wait"}
    tasks.append({"ansible.builtin.copy": {"content": "{{ results | to_json }}", "dest": str(out), "mode": "0600"}})
    play = [{"hosts": "localhost", "gather_facts": False, "vars": {"results": registered}, "tasks": tasks}]
    playbook = workdir / "play.yml"
    playbook.write_text(yaml.safe_dump(play, sort_keys=False))
    proc = execute_playbook(playbook, facts_dir=workdir, timeout=timeout)
    assert out.exists(), f"rc={proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
    return json.loads(out.read_text())


def volume_names(project: str) -> dict:
    """A step listing the project's lease volumes (by the docker CLI, to see them between steps)."""
    return {
        "argv": ["docker", "volume", "ls", "-q", "--filter", "label=argusai.lock=port"]
        + ["--filter", f"label=argusai.project={project}"]
    }


# -- issue 14 §2, through ansible-playbook -----------------------------------------------------


def test_issue_reproduction_and_every_way_a_lease_ends(tmp_path, docker_client, test_image, unique_project):
    p = unique_project
    gone, renamed, leased, torn = free_ports(4)
    old = {"project": p, "run_id": "r1", "name": f"{p}-old", "service": "old-8080", "image": test_image}
    steps = [
        # the reproduction: resolve, use the port, remove the container, resolve again under a new name
        ("resolve_old", "argus_port_resolve", {"project": p, "run_id": "r1", "ports": [{"name": "old-8080", "port": gone}]}),
        ("leased_old", "ansible.builtin.command", volume_names(p)),
        ("start_old", "argus_container_guard",
         dict(old, command=["httpd", "-f", "-p", "8080"], ports=[{"container_port": 8080, "host_port": gone}],
              stable_seconds=0.5)),
        ("after_start", "ansible.builtin.command", volume_names(p)),
        ("absent_old", "argus_container_guard", dict(old, state="absent")),
        ("resolve_new", "argus_port_resolve", {"project": p, "run_id": "r2", "ports": [{"name": "new-8080", "port": gone}], "strategy": "fail"}),
        # within one run a renamed service keeps its port
        ("rename_a", "argus_port_resolve", {"project": p, "run_id": "r3", "ports": [{"name": "a-old", "port": renamed}]}),
        ("rename_b", "argus_port_resolve", {"project": p, "run_id": "r3", "ports": [{"name": "a-new", "port": renamed}], "strategy": "fail"}),
        # a conflict caused only by another run's lease
        ("hold", "argus_port_resolve", {"project": p, "run_id": "r4", "ports": [{"name": "db", "port": leased}]}),
        ("conflict", "argus_port_resolve", {"project": p, "run_id": "r5", "ports": [{"name": "db", "port": leased}], "strategy": "fail"}),
        # state: absent of a container that never started ends its project's lease of its ports
        ("absent_unstarted", "argus_container_guard",
         {"project": p, "name": f"{p}-db", "image": test_image, "state": "absent",
          "ports": [{"container_port": 5432, "host_port": leased}]}),
        ("after_absent", "ansible.builtin.command", volume_names(p)),
        # a run torn down before it started anything gives its ports back
        ("resolve_torn", "argus_port_resolve", {"project": p, "run_id": "r6", "ports": [{"name": "t", "port": torn}]}),
        ("teardown", "argus_teardown", {"project": p, "run_id": "r6"}),
        ("resolve_after_teardown", "argus_port_resolve", {"project": p, "run_id": "r7", "ports": [{"name": "t2", "port": torn}], "strategy": "fail"}),
        # the orphan cleanup of a later run ends the leases of every earlier run
        ("age", "wait", 2),
        ("orphans", "argus_orphan_clean", {"project": p, "run_id": "r8"}),
        ("after_orphans", "ansible.builtin.command", volume_names(p)),
    ]  # fmt: skip
    results = run_steps(tmp_path, steps)
    for name, result in results.items():
        if name != "conflict":
            assert not result.get("failed"), (name, result.get("msg"))
    assert results["resolve_old"]["ports"] == {"old-8080": gone}
    assert results["leased_old"]["stdout_lines"] == [lease_name("tcp", gone)]
    assert results["start_old"]["container"]["ports"][0]["host_port"] == gone
    assert results["after_start"]["stdout_lines"] == []  # superseded by the container that publishes it
    assert results["resolve_new"]["ports"] == {"new-8080": gone}  # no PORT_CONFLICT, though within 120 s
    assert results["rename_b"]["ports"] == {"a-new": renamed}

    error = results["conflict"]["error"]
    assert results["conflict"]["failed"] is True and error["code"] == "PORT_CONFLICT"
    assert error["retryable"] is True and 0 < error["details"]["retry_after_seconds"] <= 301
    holder = error["details"]["occupied_by"]
    assert holder["type"] == "lease" and holder["project"] == p and holder["run_id"] == "r4"
    assert holder["service"] == "db" and 0 < holder["expires_in"] <= 301
    assert f"run r4 of project {p}" in results["conflict"]["msg"]
    assert lease_name("tcp", leased) not in results["after_absent"]["stdout_lines"]

    assert all(lease_name("tcp", torn) != r["name"] for r in results["teardown"]["found"])  # no resource
    assert results["resolve_after_teardown"]["ports"] == {"t2": torn}

    orphans = results["orphans"]
    assert not any(r["name"].startswith("argusai-") for r in orphans["found"])
    end = [e for e in orphans["argus_events"] if e["type"] == "cleanup_end"][0]["data"]
    assert end["leases_released"] == 3 and end["serialised"] is True  # r2, r3, r7
    assert results["after_orphans"]["stdout_lines"] == []
    assert leases_of(docker_client, p) == {}


# -- a crashed run -----------------------------------------------------------------------------

CRASHER = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, sys.argv[1])
    import docker
    from ansible_collections.argusai.resilience.plugins.module_utils.ports.leases import Owner
    from ansible_collections.argusai.resilience.plugins.module_utils.ports.resolver import PortResolver
    resolver = PortResolver(client=docker.from_env(), owner=Owner(sys.argv[2], "crashed"), lease_seconds=6)
    resolver.resolve([{"name": "api", "port": int(sys.argv[3])}])
    os.kill(os.getpid(), signal.SIGKILL)  # dies before starting anything: nothing releases the lease
    """
)


def run_until_killed(script: str, *args: str) -> None:
    """Run ``script`` (which SIGKILLs itself at the point under test) in a process of its own."""
    proc = subprocess.run(
        [sys.executable, "-c", script, str(COLLECTIONS_PATH), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr


def test_the_lease_of_a_killed_run_expires_and_is_replaced(docker_client, unique_project):
    (port,) = free_ports(1)
    run_until_killed(CRASHER, unique_project, str(port))
    assert leases_of(docker_client, unique_project)[lease_name("tcp", port)]["argusai.run-id"] == "crashed"
    resolver = PortResolver(client=docker_client, owner=Owner(unique_project, "next"))
    with pytest.raises(ArgusError) as info:
        resolver.resolve([{"name": "api", "port": port}], strategy="fail")
    assert info.value.to_dict()["retryable"] is True
    wait = info.value.details["retry_after_seconds"]
    assert 1 <= wait <= 8  # 6 s from its creation (whole seconds on the daemon's clock, + 1 s)
    time.sleep(wait + 0.5)  # as the error says
    assert resolver.resolve([{"name": "api", "port": port}], strategy="fail").ports == {"api": port}
    assert leases_of(docker_client, unique_project)[lease_name("tcp", port)]["argusai.run-id"] == "next"


# -- two controllers, one daemon ----------------------------------------------------------------

RACER = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[1])
    import docker
    from ansible_collections.argusai.resilience.plugins.module_utils.ports.leases import Owner
    from ansible_collections.argusai.resilience.plugins.module_utils.ports.resolver import PortResolver
    preferred, project, run_id, lease = int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5] == "lease"
    resolver = PortResolver(client=docker.from_env(), owner=Owner(project, run_id), lease=True if lease else None)
    print("ready", flush=True)
    sys.stdin.readline()  # "go": every racer resolves at the same moment
    ports = resolver.resolve([{"name": "a", "port": preferred}, {"name": "b", "port": preferred + 1}]).ports
    print(json.dumps(sorted(ports.values())), flush=True)
    """
)
RACERS = 10
ROUNDS = 3


@pytest.fixture
def controllers(tmp_path):
    """Two network namespaces, each the machine of one controller (only ``lo`` inside)."""
    subprocess.run(["bash", str(REPO_ROOT / "scripts" / "ensure_netns.sh")], check=True, timeout=600)
    names = [f"argus-ctl-{secrets.token_hex(3)}" for _index in range(2)]
    for name in names:
        subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
        subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True)
    yield [(name, tmp_path / name) for name in names]
    for name in names:
        subprocess.run(["ip", "netns", "delete", name], check=False, capture_output=True)


def race(controllers, preferred: int, project: str, round_id: int, lease: bool) -> list[list[int]]:
    """RACERS processes split over the controllers, released together; each one's ports."""
    racers = []
    for index in range(RACERS):
        netns, home = controllers[index % len(controllers)]
        (home / "tmp").mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, HOME=str(home), TMPDIR=str(home / "tmp"))
        argv = [sys.executable, "-c", RACER, str(COLLECTIONS_PATH), str(preferred), project, f"r{round_id}-{index}"]
        cmd = ["ip", "netns", "exec", netns, *argv, "lease" if lease else "none"]
        racers.append(subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
    try:
        for racer in racers:
            assert racer.stdout.readline().strip() == "ready"
        for racer in racers:
            racer.stdin.write("go\n")
            racer.stdin.flush()
        return [json.loads(racer.stdout.readline()) for racer in racers]
    finally:
        for racer in racers:
            racer.stdin.close()
            racer.wait(timeout=30)
            racer.stdout.close()


def test_two_controllers_racing_for_ports_on_one_daemon_never_share_one(controllers, docker_client, unique_project):
    (preferred,) = free_ports(1, spacing=2 * RACERS + 2)  # free here; the controllers' namespaces are empty
    for round_id in range(ROUNDS):
        got = [port for ports in race(controllers, preferred, unique_project, round_id, lease=True) for port in ports]
        assert len(got) == 2 * RACERS and len(set(got)) == len(got), (round_id, sorted(got))
        # and none skipped a port without cause (a port of another test on this machine may be taken)
        assert max(got) < preferred + 2 * RACERS + 2, (round_id, sorted(got))
        # the runs end (a teardown's release): the next round races for the same ports again
        assert release_runs(docker_client, unique_project, lambda _run: True) == 2 * RACERS
    # the control: the same race without leases. Each controller's probe sees only its own
    # namespace, where nothing is bound, so every racer gets the preferred ports.
    control = race(controllers, preferred, unique_project, ROUNDS, lease=False)
    assert {tuple(ports) for ports in control} == {(preferred, preferred + 1)}


# -- cleanup turns -------------------------------------------------------------------------------

TURN_HOLDER = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, sys.argv[1])
    import docker
    from ansible_collections.argusai.resilience.plugins.module_utils.cleanup.cleaner import removal_lock
    with removal_lock(docker.from_env().api, sys.argv[2], "killed", ttl=float(sys.argv[3])) as had:
        assert had
        os.kill(os.getpid(), signal.SIGKILL)  # killed while removing: the turn is never given back
    """
)


def test_a_cleanup_turn_never_given_back_ends_the_wait_at_its_deadline(docker_client, unique_project):
    run_until_killed(TURN_HOLDER, unique_project, "600")
    began = time.monotonic()
    with removal_lock(docker_client.api, unique_project, "next", timeout=2.0) as had:
        waited = time.monotonic() - began
        assert had is False  # the cleanup goes on unserialised
    assert 2.0 <= waited < 2.0 + 6.0  # the deadline, and at most the Docker request under way
    turn = docker_client.api.inspect_volume(f"argusai-cleanup-{unique_project}")
    assert turn["Labels"]["argusai.run-id"] == "killed"  # still held: not broken before its expiry


def test_a_stale_cleanup_turn_is_broken_after_its_expiry(docker_client, unique_project):
    run_until_killed(TURN_HOLDER, unique_project, "2")
    began = time.monotonic()
    with removal_lock(docker_client.api, unique_project, "next", timeout=30.0) as had:
        waited = time.monotonic() - began
        assert had is True
        turn = docker_client.api.inspect_volume(f"argusai-cleanup-{unique_project}")
        assert turn["Labels"]["argusai.run-id"] == "next"
    assert waited < 10.0
    names = [v["Name"] for v in docker_client.api.volumes(filters={"label": "argusai.lock"})["Volumes"] or []]
    assert not [name for name in names if unique_project in name]  # the turn and its breaker are gone


# -- a full setup ---------------------------------------------------------------------------------


def playbook_in_private_tmp(
    workdir: Path, playbook: Path, extra_vars: dict
) -> tuple[subprocess.CompletedProcess, list]:
    """ansible-playbook in a mount namespace of its own whose /tmp is an empty tmpfs (so what other
    runs on this machine write there does not count); returns the run and what its /tmp held after."""
    listing = workdir / f"{playbook.stem}-tmp.txt"
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    env = ansible_env({"HOME": str(home), "TMPDIR": "/tmp"}, workdir / "facts")
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), str(playbook), "-e", json.dumps(extra_vars)]
    script = 'mount -t tmpfs argus-tmp /tmp && "$@"; rc=$?; find /tmp -mindepth 1 > "$LISTING"; exit $rc'
    proc = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *cmd],
        env=dict(env, LISTING=str(listing)),
        cwd=str(REPO_ROOT),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return proc, listing.read_text().split()


@pytest.fixture
def outside_tmp():
    """A work directory outside /tmp (the runs below get a /tmp of their own)."""
    path = Path(tempfile.mkdtemp(prefix="argus-daemon-state-", dir="/var/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_full_setup_keeps_nothing_on_the_controller_and_no_lease_outlives_it(
    outside_tmp, docker_client, test_image, unique_project
):
    subprocess.run(["bash", str(REPO_ROOT / "scripts" / "ensure_netns.sh")], check=True, timeout=600)  # unshare
    (port,) = free_ports(1)
    config = {
        "project": unique_project,
        "services": [
            {
                "name": "web",
                "image": test_image,
                "command": ["httpd", "-f", "-p", "8080"],
                "ports": [{"container_port": 8080, "host_port": port}],
            }
        ],
        "resilience": {
            "preflight": {"disk_threshold_gb": 0.1},
            "container": {"stable_seconds": 0.5, "startup_timeout": 20},
            "network": {"verify_connectivity": False},
        },
    }
    (outside_tmp / "e2e.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    play = [{"hosts": "localhost", "gather_facts": False, "roles": [f"{COLLECTION}.argus_setup"]}]
    (outside_tmp / "setup.yml").write_text(yaml.safe_dump(play))
    setup, left = playbook_in_private_tmp(
        outside_tmp,
        outside_tmp / "setup.yml",
        {"argus_config_file": str(outside_tmp / "e2e.yaml"), "argus_run_id": "full1"},
    )
    assert setup.returncode == 0, setup.stdout[-4000:] + setup.stderr[-2000:]
    assert left == []  # the setup (preflight, orphan cleanup, ports, guard) kept nothing under /tmp
    assert leases_of(docker_client, unique_project) == {}  # the service's start superseded its lease
    published = docker_client.containers.get(f"{unique_project}-web").attrs["NetworkSettings"]["Ports"]
    assert int(published["8080/tcp"][0]["HostPort"]) == port
    teardown, left = playbook_in_private_tmp(
        outside_tmp,
        REPO_ROOT / "playbooks" / "teardown.yml",
        {"argus_project": unique_project, "argus_run_id": "full1"},
    )
    assert teardown.returncode == 0, teardown.stdout[-4000:]
    assert left == []
    labeled = {"label": f"argusai.project={unique_project}"}
    assert docker_client.api.volumes(filters=labeled)["Volumes"] in (None, [])  # no lease, no turn
    assert docker_client.api.containers(all=True, filters=labeled) == []

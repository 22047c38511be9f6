"""A daemon on another machine: the machine checks look at that machine (issue 15 item 3).

The daemon is the remote host's (tests/integration/remote_host.py), reached over TCP on its
network namespace's address while the modules run here; the last test runs a module ON that host
over SSH, with a Python that has only the Docker SDK.
"""

from __future__ import annotations

import errno
import json
import random
import shutil
import socket
from contextlib import closing, contextmanager

from conftest import execute_playbook

RESOLVE = "argusai.resilience.argus_port_resolve"
PREFLIGHT = "argusai.resilience.argus_preflight"
HELPER_LABEL = "argusai.service=machine-check"


def free_here(port: int, protocol: str = "tcp") -> bool:
    kind = socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind(("0.0.0.0", port))
        except OSError as exc:
            assert exc.errno == errno.EADDRINUSE, exc
            return False
    return True


def free_ports(count: int) -> list[int]:
    """Ports free on this machine, apart from each other (the remote machine only has 22 and 2375 bound)."""
    ports: list[int] = []
    while len(ports) < count:
        port = random.randrange(30000, 32000, 10)  # candidates above a port are the next ones: keep gaps
        if port not in ports and all(free_here(p, proto) for p in range(port, port + 3) for proto in ("tcp", "udp")):
            ports.append(port)
    return ports


@contextmanager
def held_here(port: int):
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", port))
        sock.listen()
        yield


def helpers_left(remote_host) -> list:
    with closing(remote_host.client()) as client:
        return client.api.containers(all=True, filters={"label": HELPER_LABEL})


def checks(result):
    return {check["name"]: check for check in result["report"]["checks"]}


def test_ports_are_probed_on_the_daemons_machine(remote_host, remote_project, run_module, test_image):
    there, here, udp_there = free_ports(3)
    args = {
        "project": remote_project,
        "run_id": "r1",
        "docker_host": remote_host.docker_host,
        "probe_image": test_image,
        "ports": [
            {"name": "held-there", "port": there},
            {"name": "held-here", "port": here},
            {"name": "udp-held-there", "port": udp_there, "protocol": "udp"},
        ],
    }
    with remote_host.hold_port(there), remote_host.hold_port(udp_there, "udp"), held_here(here):
        assert free_here(there) and free_here(udp_there, "udp") and not free_here(here)
        result = run_module(RESOLVE, args, check=True)  # check mode: no lease, the same probes
        failing = run_module(RESOLVE, dict(args, strategy="fail", ports=args["ports"][:1]), check=True)
    assert not result.get("failed"), result.get("msg", result)
    mappings = {m["service"]: m for m in result["mappings"]}
    owner = {"type": "process", "uid": 0, "host": remote_host.address}
    assert mappings["held-there"]["reassigned"] and mappings["held-there"]["actual_port"] > there
    assert mappings["held-there"]["occupied_by"] == owner
    assert mappings["udp-held-there"]["reassigned"] and mappings["udp-held-there"]["occupied_by"] == owner
    # held on this machine only: free where the daemon publishes
    assert mappings["held-here"] == dict(mappings["held-here"], actual_port=here, reassigned=False, occupied_by=None)
    assert result["daemon_machine"] == {
        "location": "remote",
        "docker_host": remote_host.docker_host,
        "machine": remote_host.address,
        "decided_by": f"{remote_host.address} is not an address of this machine",
        "checks": "helper_container",
        "probe_image": test_image,
    }
    assert not result.get("warnings")
    assert failing["failed"] and failing["error"]["code"] == "PORT_CONFLICT"
    assert failing["error"]["details"]["occupied_by"] == owner
    assert f"held by a process of uid 0 on {remote_host.address}" in failing["msg"]
    assert helpers_left(remote_host) == []


def test_without_a_helper_image_the_port_probe_is_skipped_and_said(remote_host, remote_project, run_module):
    (there,) = free_ports(1)
    with remote_host.hold_port(there):
        result = run_module(
            RESOLVE,
            {
                "project": remote_project,
                "docker_host": remote_host.docker_host,
                "probe_image": "argusai/not-on-that-daemon:1",
                "ports": [{"name": "api", "port": there}],
            },
            check=True,
        )
    assert not result.get("failed"), result.get("msg", result)
    machine = result["daemon_machine"]
    assert machine["checks"] == "skipped" and "argusai/not-on-that-daemon:1 is not present" in machine["reason"]
    # never the wrong machine: not probed here either, and the task says so
    assert result["mappings"][0]["reassigned"] is False
    assert any(f"host ports on {remote_host.address}" in warning for warning in result["warnings"])


def test_preflight_measures_the_daemons_machine(remote_host, remote_project, run_module, test_image):
    args = {
        "project": remote_project,
        "docker_host": remote_host.docker_host,
        "probe_image": test_image,
        "disk_threshold_gb": 0.05,
        "fail_on_unhealthy": False,
    }
    measured = run_module(PREFLIGHT, dict(args, disk_paths=[str(remote_host.disk), "/"]))
    default = run_module(PREFLIGHT, args)
    skipped = run_module(PREFLIGHT, dict(args, probe_image="argusai/not-on-that-daemon:1"))

    disk = checks(measured)["disk_space"]
    tmpfs, root = disk["details"]["paths"]
    # 64 MiB that only the remote machine has; here the same path is a directory of this machine's /
    assert tmpfs == dict(tmpfs, path=str(remote_host.disk), total_gb=0.06, status="warn")
    assert shutil.disk_usage(remote_host.disk).total > 1024**3
    assert root["path"] == "/" and root["status"] == "pass"
    assert disk["status"] == "warn" and measured["report"]["overall"] == "degraded"
    assert disk["details"]["machine"] == remote_host.address and disk["details"]["method"] == "helper_container"
    assert disk["message"].startswith(f"free space is close to the 0.05 GB threshold: on {remote_host.address}")

    with closing(remote_host.client()) as client:
        engine = next(c for c in client.version()["Components"] if c["Name"] == "Engine")
    daemon = checks(default)["docker_daemon"]
    assert daemon["details"]["runtime"] == "docker" and daemon["details"]["runtime_version"] == engine["Version"]
    assert daemon["message"] == (
        f"Docker Engine {engine['Version']} answers at {remote_host.docker_host} (another machine, {remote_host.address})"
    )
    assert daemon["details"]["daemon_machine"] == dict(
        daemon["details"]["daemon_machine"], location="remote", checks="helper_container", probe_image=test_image
    )
    # by default: / and the remote daemon's root dir, as that machine sees them
    default_paths = [p["path"] for p in checks(default)["disk_space"]["details"]["paths"]]
    assert default_paths == ["/", str(remote_host.daemon.data_root)]

    skipped_disk = checks(skipped)["disk_space"]
    assert skipped_disk["status"] == "skipped" and skipped["report"]["overall"] == "healthy"
    assert "argusai/not-on-that-daemon:1 is not present on that daemon" in skipped_disk["message"]
    assert checks(skipped)["docker_daemon"]["details"]["daemon_machine"]["checks"] == "skipped"
    assert helpers_left(remote_host) == []


SSH_PLAY = """
- name: argus_preflight on remote1, over SSH, with a Python that has only the Docker SDK
  hosts: remote1
  gather_facts: false
  tasks:
    - name: Preflight of the remote host, against its own daemon at the default socket
      argusai.resilience.argus_preflight:
        project: "{{ project }}"
        disk_threshold_gb: 0.01
        disk_paths: ["/", "{{ remote_disk }}"]
      register: remote_preflight
    - name: Bring the result back
      ansible.builtin.copy:
        content: "{{ remote_preflight | to_json }}"
        dest: "{{ result_file }}"
        mode: "0600"
      delegate_to: localhost
"""


def test_preflight_over_ssh_with_a_bare_python(remote_host, remote_project, tmp_path):
    no_yaml = remote_host.ssh(f"{remote_host.python} -c 'import yaml'")
    assert no_yaml.returncode == 1 and "No module named 'yaml'" in no_yaml.stderr, no_yaml
    playbook = tmp_path / "remote_preflight.yml"
    playbook.write_text(SSH_PLAY)
    result_file = tmp_path / "result.json"
    proc = execute_playbook(
        playbook,
        {"project": remote_project, "remote_disk": str(remote_host.disk), "result_file": str(result_file)},
        args=["-i", str(remote_host.inventory(tmp_path / "inventory.yml"))],
        facts_dir=tmp_path / "facts",
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    result = json.loads(result_file.read_text())
    assert result["report"]["overall"] == "healthy", result["report"]
    daemon = checks(result)["docker_daemon"]["details"]
    # the module ran there: /var/run/docker.sock of that machine is its own daemon, local to it
    assert daemon["docker_root_dir"] == str(remote_host.daemon.data_root)
    assert daemon["daemon_machine"] == dict(daemon["daemon_machine"], location="local", checks="local")
    assert daemon["daemon_machine"]["docker_host"] == "unix:///var/run/docker.sock"
    disk = {p["path"]: p for p in checks(result)["disk_space"]["details"]["paths"]}
    assert disk[str(remote_host.disk)]["total_gb"] == 0.06  # its tmpfs, measured by itself
    # and that Python sees no package but its own venv's (Debian's python3-yaml is not one of them)
    site = remote_host.ssh(f"{remote_host.python} -c 'import site; print(*site.getsitepackages())'").stdout.split()
    assert site and all(path.startswith(f"{remote_host.python.parents[1]}/") for path in site), site

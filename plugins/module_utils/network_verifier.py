# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Network verification between containers: can the test container reach each target?

From inside the test container (``docker exec``), each target's name is resolved through Docker's
embedded DNS, the address is checked against the containers attached to the network (nothing
else is ever probed), and a TCP connection is opened to the port. Targets run concurrently in
threads; each retries until ``wait_seconds`` (services may still be starting) and each probe is
bounded by ``timeout``.

The probe adapts to what the test container has (detected once, by one exec):

* resolvers, in order: python (``socket.getaddrinfo``), ``getent hosts``, ``nslookup``;
* connectors, in order: python (``socket.create_connection``), ``nc -z``, busybox ``nc -e true``
  (exits once connected), plain ``nc`` (stdin closed), bash's ``/dev/tcp``.

When the test container lacks them (or has no shell at all), the probe runs in a short-lived
helper container that shares the test container's network namespace
(``network_mode=container:<id>``), labeled with the project and removed afterwards. When that is
not possible either, targets are reported as ``probe_unavailable`` -- never as unreachable.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.backoff import delay_ms
from ansible_collections.argusai.resilience.plugins.module_utils.docker_client import APIError, ImageNotFound, NotFound
from ansible_collections.argusai.resilience.plugins.module_utils.errors import (
    INFRASTRUCTURE_FAILURE_CODES,
    ArgusError,
    classify,
    from_exception,
    invalid_input,
    root_cause_message,
    utc_now,
)
from ansible_collections.argusai.resilience.plugins.module_utils.events import EventLog
from ansible_collections.argusai.resilience.plugins.module_utils.labels import (
    new_run_id,
    resource_labels,
    validate_project,
    validate_resource_name,
    validate_run_id,
)

DEFAULT_PROBE_IMAGE = "busybox:latest"
DEFAULT_TIMEOUT = 5
DEFAULT_WAIT_SECONDS = 30
# The Docker SDK keeps 10 connections per pool; more threads would only open and drop extra ones.
MAX_WORKERS = 10
RETRY_INITIAL_MS = 250
RETRY_MAX_MS = 2000
# Exit codes of `docker exec` when the command cannot be started (not found / not executable).
EXEC_NOT_RUNNABLE = (126, 127)
# Exit codes of `timeout` when it had to stop the probe.
TIMED_OUT = (124, 143)

# Target status values, one per result.
REACHABLE = "reachable"
DNS_FAILED = "dns_failed"
UNREACHABLE = "unreachable"
OUTSIDE_NETWORK = "outside_network"
PROBE_UNAVAILABLE = "probe_unavailable"

HOSTNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$")

# One exec: which probe tools does this container have? `command -v` is POSIX (ash, dash, bash).
DETECT_SCRIPT = r"""
for t in python3 python getent nslookup nc bash timeout; do
  p=$(command -v "$t" 2>/dev/null) && echo "tool $t $p"
done
if command -v nc >/dev/null 2>&1; then
  h=$(nc -h 2>&1)
  case "$h" in *" -z"*) echo "nc_z";; esac
  case "$h" in *"-e PROG"*) echo "nc_e";; esac
fi
for d in /bin /usr/bin; do if [ -x "$d/true" ]; then echo "tool true $d/true"; break; fi; done
if command -v timeout >/dev/null 2>&1 && timeout 5 true >/dev/null 2>&1; then echo "timeout_ok"; fi
case "$EPOCHREALTIME" in [0-9]*.[0-9]*) echo "clock";; esac
echo "end"
"""

# Wraps a connect command run by sh: prints the exit code and the clock around it.
CLOCK_WRAPPER = 's=$EPOCHREALTIME; {command}; rc=$?; e=$EPOCHREALTIME; echo "ARGUS-RC $rc $s $e"'

PY_RESOLVE = r"""
import socket, sys, threading
out = []
def lookup():
    try:
        infos = socket.getaddrinfo(sys.argv[1], None, socket.AF_INET, socket.SOCK_STREAM)
        addrs = []
        for info in infos:
            if info[4][0] not in addrs:
                addrs.append(info[4][0])
        out.append("ARGUS-ADDR " + " ".join(addrs))
    except socket.gaierror as exc:
        out.append("ARGUS-NOTFOUND %s" % (exc,))
worker = threading.Thread(target=lookup)
worker.daemon = True
worker.start()
worker.join(float(sys.argv[2]))
print(out[0] if out else "ARGUS-TIMEOUT")
"""

PY_CONNECT = r"""
import socket, sys, time
clock = getattr(time, "perf_counter", time.time)
start = clock()
try:
    conn = socket.create_connection((sys.argv[1], int(sys.argv[2])), float(sys.argv[3]))
    conn.close()
    print("ARGUS-OPEN %.3f" % ((clock() - start) * 1000.0))
except socket.timeout:
    print("ARGUS-CLOSED timed out after %s s" % sys.argv[3])
except Exception as exc:
    print("ARGUS-CLOSED %s" % (getattr(exc, "strerror", None) or exc,))
"""


# One exec per attempt: resolve "$1", connect to the first answer that is one of the allowed
# addresses ("$3"...: the containers on the network), and to nothing else. Globbing is off so
# that words of the resolver's output ("** server can't find") stay words.
SH_PROBE = r"""set -f
h=$1; p=$2; shift 2
r=$({resolve} 2>&1); rrc=$?
printf '%s\nARGUS-DNS %s\n' "$r" "$rrc"
a=
for t in $r; do for ip in "$@"; do if [ "$t" = "$ip" ]; then a=$ip; break 2; fi; done; done
[ -n "$a" ] || exit 0
echo "ARGUS-PICK $a"
{connect}
"""

PY_PROBE = r"""
import socket, sys, threading, time
host, port, timeout, allowed = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
out = []
def lookup():
    try:
        infos = socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)
        addrs = []
        for info in infos:
            if info[4][0] not in addrs:
                addrs.append(info[4][0])
        out.append(addrs)
    except socket.gaierror as exc:
        out.append(str(exc))
worker = threading.Thread(target=lookup)
worker.daemon = True
worker.start()
worker.join(timeout)
if not out:
    print("ARGUS-TIMEOUT")
elif not isinstance(out[0], list):
    print("ARGUS-NOTFOUND " + out[0])
else:
    print("ARGUS-ADDR " + " ".join(out[0]))
    print("ARGUS-DNS 0")
    picked = [a for a in out[0] if a in allowed]
    if picked:
        print("ARGUS-PICK " + picked[0])
        clock = getattr(time, "perf_counter", time.time)
        start = clock()
        try:
            conn = socket.create_connection((picked[0], port), timeout)
            conn.close()
            print("ARGUS-OPEN %.3f" % ((clock() - start) * 1000.0))
        except socket.timeout:
            print("ARGUS-CLOSED timed out after %s s" % sys.argv[3])
        except Exception as exc:
            print("ARGUS-CLOSED %s" % (getattr(exc, "strerror", None) or exc,))
"""


def split_probe_output(stdout: str) -> tuple[str, int, str | None, str]:
    """Split a combined probe's output: (resolver output, resolver exit code, picked address, rest)."""
    lines = stdout.splitlines()
    marker = next((i for i, line in enumerate(lines) if line.startswith("ARGUS-DNS ")), None)
    if marker is None:  # python: NOTFOUND / TIMEOUT lines only
        return stdout, 1, None, ""
    try:
        dns_rc = int(lines[marker].split()[1])
    except (IndexError, ValueError):
        dns_rc = 1
    rest = lines[marker + 1 :]
    picked = None
    if rest and rest[0].startswith("ARGUS-PICK "):
        picked = _ipv4(rest[0].split()[1]) if len(rest[0].split()) > 1 else None
        rest = rest[1:]
    return "\n".join(lines[:marker]) + "\n", dns_rc, picked, "\n".join(rest) + ("\n" if rest else "")


# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    name: str  # the service name reported as `service`
    host: str
    port: int


@dataclass
class VerifyOptions:
    project: str
    container: str
    network: str | None = None
    targets: list[Target] = field(default_factory=list)
    timeout: float = DEFAULT_TIMEOUT
    wait_seconds: float = DEFAULT_WAIT_SECONDS
    probe_image: str = DEFAULT_PROBE_IMAGE
    run_id: str | None = None
    max_workers: int = MAX_WORKERS


def parse_targets(raw: Any) -> list[Target]:
    """Validate the ``targets`` option: a non-empty list of ``{name, host, port}``, unique names."""
    if not isinstance(raw, list) or not raw:
        raise invalid_input("targets", raw, "must be a non-empty list of {name, host, port}")
    targets: list[Target] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        where = f"targets[{index}]"
        if not isinstance(item, dict):
            raise invalid_input(where, item, "must be a dict with name, host and port")
        name, host, port = item.get("name"), item.get("host"), item.get("port")
        if not isinstance(name, str) or not name.strip():
            raise invalid_input(f"{where}.name", name, "must be a non-empty string")
        if name in seen:
            raise invalid_input(f"{where}.name", name, "must be unique among the targets")
        seen.add(name)
        if not isinstance(host, str) or not HOSTNAME.match(host):
            raise invalid_input(
                f"{where}.host", host, "must be a container name, network alias or IPv4 address on the network"
            )
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise invalid_input(f"{where}.port", port, "must be an integer from 1 to 65535")
        targets.append(Target(name, host, port))
    return targets


def validate_options(options: VerifyOptions) -> VerifyOptions:
    """Check every option before Docker is called; raises INVALID_INPUT naming the field."""
    validate_project(options.project)
    if options.run_id is not None:
        validate_run_id(options.run_id)
    if not isinstance(options.container, str) or not options.container:
        raise invalid_input("container", options.container, "must name the test container")
    validate_resource_name(options.container, "container")
    if options.network is not None:
        validate_resource_name(options.network, "network")
    if not options.targets:
        raise invalid_input("targets", options.targets, "must list at least one target")
    # Bounded above so that a typo cannot turn the retry loop into an endless wait.
    if not 0 < options.timeout <= 3600:
        raise invalid_input("timeout", options.timeout, "must be > 0 and <= 3600")
    if not 0 <= options.wait_seconds <= 3600:
        raise invalid_input("wait_seconds", options.wait_seconds, "must be >= 0 and <= 3600")
    if not options.probe_image or any(ch.isspace() for ch in options.probe_image):
        raise invalid_input("probe_image", options.probe_image, "must be an image reference")
    if options.max_workers < 1:
        raise invalid_input("max_workers", options.max_workers, "must be >= 1")
    return options


# ---------------------------------------------------------------------------------------------
# Tool detection and probe choice (pure functions, unit-tested)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToolSet:
    tools: dict[str, str] = field(default_factory=dict)  # tool name -> path
    nc_z: bool = False
    nc_e: bool = False  # busybox nc: "-e PROG" runs PROG once connected, then the connection closes
    timeout_ok: bool = False
    clock: bool = False  # the shell has $EPOCHREALTIME
    shell: str | None = "sh"  # how scripts are run; None: no shell (python is exec'ed directly)

    def has(self, tool: str) -> bool:
        return tool in self.tools


def parse_tools(output: str, shell: str | None = "sh") -> ToolSet:
    """Parse the output of :data:`DETECT_SCRIPT`."""
    tools: dict[str, str] = {}
    flags: set[str] = set()
    for line in output.splitlines():
        parts = line.strip().split(None, 2)
        if len(parts) == 3 and parts[0] == "tool":
            tools[parts[1]] = parts[2]
        elif len(parts) == 1:
            flags.add(parts[0])
    return ToolSet(
        tools,
        nc_z="nc_z" in flags,
        nc_e="nc_e" in flags,
        timeout_ok="timeout_ok" in flags,
        clock="clock" in flags,
        shell=shell,
    )


@dataclass(frozen=True)
class ProbeKit:
    """How targets are probed: a resolver and a connector run in one container."""

    container_id: str
    container_name: str
    where: str  # "test_container" or "helper_container"
    tools: ToolSet
    resolver: str  # python | getent | nslookup
    connector: str  # python | nc-z | nc-e | nc | bash

    @property
    def method(self) -> str:
        prefix = "helper:" if self.where == "helper_container" else ""
        return f"{prefix}{self.resolver}+{self.connector}"

    @property
    def python(self) -> str:
        return self.tools.tools.get("python3") or self.tools.tools["python"]


def choose_methods(tools: ToolSet) -> tuple[str, str] | None:
    """The best (resolver, connector) the tools allow, or None when no complete probe exists."""
    has_python = tools.has("python3") or tools.has("python")
    shell = tools.shell is not None
    resolver = connector = None
    if has_python:
        resolver = connector = "python"
    if resolver is None and shell:
        resolver = next((tool for tool in ("getent", "nslookup") if tools.has(tool)), None)
    if connector is None and shell:
        if tools.has("nc"):
            if tools.nc_z:
                connector = "nc-z"
            elif tools.nc_e and tools.has("true"):
                connector = "nc-e"  # exits as soon as it is connected, even if the server stays silent
            else:
                connector = "nc"  # stdin closed: exits when the server closes too
        elif tools.has("bash"):
            connector = "bash"
    if resolver is None or connector is None:
        return None
    return resolver, connector


def missing_tools_reason(tools: ToolSet) -> str:
    if tools.shell is None and not (tools.has("python3") or tools.has("python")):
        return "no shell (sh) and no python"
    found = ", ".join(sorted(tools.tools)) or "none"
    return f"no resolver (python, getent, nslookup) or no connector (python, nc, bash); found: {found}"


# ---------------------------------------------------------------------------------------------
# Output parsing (pure functions, unit-tested)
# ---------------------------------------------------------------------------------------------


@dataclass
class Resolution:
    state: str  # resolved | not_found | error
    addresses: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class Connection:
    state: str  # open | closed | error
    latency_ms: float | None = None
    error: str | None = None


def _ipv4(text: str) -> str | None:
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        return None


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def parse_resolution(method: str, exit_code: int, stdout: str, stderr: str) -> Resolution:
    """Turn a resolver's output into resolved / not_found / error."""
    if exit_code in EXEC_NOT_RUNNABLE:
        return Resolution("error", error=f"resolver could not run: {_first_line(stdout + stderr)}")
    if exit_code in TIMED_OUT and method != "python":
        return Resolution("not_found", error="DNS lookup timed out")
    addresses: list[str] = []
    if method == "python":
        line = _first_line(stdout)
        if line.startswith("ARGUS-ADDR"):
            addresses = [a for a in (_ipv4(x) for x in line.split()[1:]) if a]
        elif line.startswith("ARGUS-NOTFOUND"):
            return Resolution("not_found", error=line[len("ARGUS-NOTFOUND") :].strip() or "name not found")
        elif line.startswith("ARGUS-TIMEOUT"):
            return Resolution("not_found", error="DNS lookup timed out")
        else:
            return Resolution("error", error=f"unexpected resolver output: {_first_line(stdout + stderr)!r}")
    elif method == "getent":
        # "172.18.0.2      api" per line; exit code 2 means the name is unknown
        for line in stdout.splitlines():
            parts = line.split()
            if parts and _ipv4(parts[0]) and parts[0] not in addresses:
                addresses.append(parts[0])
        if not addresses and exit_code == 0:
            return Resolution("not_found", error="no IPv4 address")
    elif method == "nslookup":
        # Answers follow the first "Name:" line; the "Address" lines before it are the DNS server.
        in_answer = False
        for line in stdout.splitlines():
            stripped = line.strip()
            if stripped.startswith("Name:"):
                in_answer = True
                continue
            match = re.match(r"^Address(?:\s+\d+)?:\s*(\S+)", stripped)
            if in_answer and match:
                address = _ipv4(match.group(1))
                if address and address not in addresses:
                    addresses.append(address)
    else:
        raise ValueError(f"unknown resolver {method!r}")
    if addresses:
        return Resolution("resolved", addresses)
    found = [line.strip(" *") for line in (stdout + "\n" + stderr).splitlines() if "can't find" in line]
    text = "; ".join(dict.fromkeys(found))  # busybox repeats it for the A and AAAA queries
    if exit_code == 0 and not text:
        return Resolution("not_found", error="no IPv4 address in the answer")
    return Resolution("not_found", error=text or _first_line(stderr) or _first_line(stdout) or "name not found")


def parse_connection(
    method: str, exit_code: int, stdout: str, stderr: str, timeout: float, elapsed_ms: float
) -> Connection:
    """Turn a connector's output into open (with latency) / closed / error.

    ``elapsed_ms`` (the whole exec, measured on the Docker host) is the latency when the
    container has no clock; it is an upper bound.
    """
    if exit_code in EXEC_NOT_RUNNABLE:
        return Connection("error", error=f"connector could not run: {_first_line(stdout + stderr)}")
    if method == "python":
        line = _first_line(stdout)
        if line.startswith("ARGUS-OPEN"):
            try:
                return Connection("open", round(float(line.split()[1]), 3))
            except (IndexError, ValueError):
                return Connection("open", round(elapsed_ms, 3))
        if line.startswith("ARGUS-CLOSED"):
            return Connection("closed", error=line[len("ARGUS-CLOSED") :].strip() or "connection failed")
        return Connection("error", error=f"unexpected connector output: {_first_line(stdout + stderr)!r}")
    marker = [line for line in stdout.splitlines() if line.startswith("ARGUS-RC ")]
    if not marker:
        return Connection("error", error=f"unexpected connector output: {_first_line(stdout + stderr)!r}")
    parts = marker[-1].split()
    try:
        rc = int(parts[1])
    except (IndexError, ValueError):
        return Connection("error", error=f"unexpected connector output: {marker[-1]!r}")
    if rc in EXEC_NOT_RUNNABLE:
        return Connection("error", error=f"connector could not run: {_first_line(stderr)}")
    if rc == 0:
        latency = elapsed_ms
        if len(parts) == 4:
            try:
                latency = (float(parts[3]) - float(parts[2])) * 1000.0
            except ValueError:
                pass
        return Connection("open", round(latency, 3))
    if rc in TIMED_OUT:
        if method == "nc":  # killed while waiting: a hung connect or a silent server, plain nc cannot tell
            return Connection("error", error=f"plain nc got no answer within {timeout:g} s (inconclusive)")
        return Connection("closed", error=f"timed out after {timeout:g} s")
    reason = _first_line(stderr)
    # busybox: "nc: can't connect to remote host (172.18.0.3): Connection refused"
    if ": " in reason:
        reason = reason.rsplit(": ", 1)[-1]
    return Connection("closed", error=reason or f"connection failed (exit code {rc})")


# ---------------------------------------------------------------------------------------------
# Topology
# ---------------------------------------------------------------------------------------------


def build_topology(network: dict[str, Any], containers: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``{network, id, driver, subnets, containers: [{name, id, ipv4, aliases}]}`` from inspect data.

    ``containers`` maps container id -> container inspect data (for the aliases, which only the
    container's NetworkSettings.Networks[<network>].Aliases holds). The container's short id,
    which Docker also registers as an alias, is left out of ``aliases``.
    """
    name = network.get("Name", "")
    subnets = [cfg.get("Subnet") for cfg in (network.get("IPAM") or {}).get("Config") or [] if cfg.get("Subnet")]
    entries = []
    for container_id, endpoint in (network.get("Containers") or {}).items():
        inspect = containers.get(container_id) or {}
        settings = ((inspect.get("NetworkSettings") or {}).get("Networks") or {}).get(name) or {}
        aliases = [a for a in settings.get("Aliases") or [] if a != container_id[:12]]
        entries.append(
            {
                "name": endpoint.get("Name") or (inspect.get("Name") or "").lstrip("/"),
                "id": container_id[:12],
                "ipv4": (endpoint.get("IPv4Address") or "").split("/")[0] or None,
                "aliases": aliases,
            }
        )
    entries.sort(key=lambda entry: entry["name"])
    return {
        "network": name,
        "id": (network.get("Id") or "")[:12],
        "driver": network.get("Driver"),
        "subnets": subnets,
        "containers": entries,
    }


def describe_topology(topology: dict[str, Any]) -> str:
    """``containers on the network e2e: api (172.18.0.2, aliases api), ...``."""
    parts = []
    for entry in topology["containers"]:
        aliases = ", ".join(entry["aliases"]) or "none"
        parts.append(f"{entry['name']} ({entry['ipv4'] or 'no IPv4'}, aliases {aliases})")
    listing = "; ".join(parts) if parts else "none"
    return f"Containers on the network {topology['network']}: {listing}"


# ---------------------------------------------------------------------------------------------
# Results and the failure
# ---------------------------------------------------------------------------------------------


def target_sentence(result: dict[str, Any], network: str) -> str:
    """One actionable sentence for a target that is not reachable."""
    host, port = result["hostname"], result["port"]
    status = result["status"]
    if status == DNS_FAILED:
        text = f"{host} does not resolve on the network {network} ({result['error']})"
        if result.get("hint"):
            text += f"; {result['hint']}"
        return text
    if status == OUTSIDE_NETWORK:
        return (
            f"{host} resolves to {result['address']}, which is no container on the network {network}; "
            "it was not probed (only the project's containers are)"
        )
    if status == UNREACHABLE:
        return f"{host} resolves to {result['address']} but nothing listens on {port} ({result['error']})"
    if status == PROBE_UNAVAILABLE:
        return f"{host}:{port} could not be probed ({result['error']})"
    return f"{host}:{port} is reachable"


def failure_for(
    results: list[dict[str, Any]],
    topology: dict[str, Any],
    container: str,
    probe_image: str,
    probe_ran: bool = False,
) -> ArgusError | None:
    """The structured error for the report, or None when every target is reachable."""
    order = {DNS_FAILED: 0, OUTSIDE_NETWORK: 1, UNREACHABLE: 2, PROBE_UNAVAILABLE: 3}
    failed = sorted((r for r in results if r["status"] != REACHABLE), key=lambda r: order.get(r["status"], 9))
    if not failed:
        return None
    statuses = {r["status"] for r in failed}
    details = {
        "results": results,
        "network_topology": topology,
        "failed_targets": [r["service"] for r in failed],
        "container": container,
    }
    sentences = "; ".join(target_sentence(r, topology["network"]) for r in failed)
    message = f"{sentences}. {describe_topology(topology)}"
    if DNS_FAILED in statuses:
        return ArgusError("DNS_RESOLUTION_FAILED", message, details)
    if UNREACHABLE in statuses or OUTSIDE_NETWORK in statuses:
        return ArgusError("NETWORK_UNREACHABLE", message, details)
    # Only probes that could not run: a configuration problem, never "unreachable".
    if probe_ran:  # the tools were there, but the execs failed (container stopped or removed meanwhile)
        details.update({"field": "container", "value": container, "cause": "probe_failed"})
        return ArgusError(
            "INVALID_INPUT",
            f"network probes failed in the test container {container}: {sentences}. Is it still running?",
            details,
        )
    details.update({"field": "probe_image", "value": probe_image, "cause": PROBE_UNAVAILABLE})
    return ArgusError(
        "INVALID_INPUT",
        f"network probe unavailable: {sentences}. Give the test container sh and nc (or python), or set "
        f"probe_image to a local image that has them (now {probe_image}).",
        details,
    )


def new_result(target: Target) -> dict[str, Any]:
    return {
        "service": target.name,
        "hostname": target.host,
        "port": target.port,
        "dns_resolved": None,
        "address": None,
        "reachable": None,
        "latency_ms": None,
        "error": None,
        "status": PROBE_UNAVAILABLE,
        "probe": None,
        "attempts": 0,
    }


# ---------------------------------------------------------------------------------------------
# The verifier
# ---------------------------------------------------------------------------------------------


class ProbeHung(Exception):
    """A probe exec whose output did not end within the API timeout."""


@dataclass
class ExecResult:
    exit_code: int
    stdout: str
    stderr: str
    elapsed_ms: float


class NetworkVerifier:
    """Verify that the test container reaches every target; see the module docstring.

    ``run()`` returns the report ``{results, all_reachable, network_topology, probe, timestamp,
    duration_ms}``; ``failure`` then holds the ArgusError for a report with unreachable targets
    (None when all are reachable). Missing container or network, or bad options, raise
    ArgusError (INVALID_INPUT) before anything is probed.
    """

    def __init__(
        self,
        client: Any,
        options: VerifyOptions,
        events: EventLog | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.api = client.api
        self.options = validate_options(options)
        self.events = events or EventLog(options.project, options.run_id)
        self.clock = clock
        self.sleep = sleep
        self.failure: ArgusError | None = None
        self.network_name = ""
        self._allowed: set[str] = set()
        self._lock = threading.Lock()
        self._helper_id: str | None = None

    # -- Docker helpers ---------------------------------------------------------------------

    def _exec(self, container_id: str, cmd: list[str]) -> ExecResult:
        """Run ``cmd`` in the container; the read is bounded by the client's API timeout."""
        start = time.monotonic()
        exec_id = self.api.exec_create(container_id, cmd, stdout=True, stderr=True)["Id"]
        try:
            out, err = self.api.exec_start(exec_id, demux=True)
        except Exception as exc:
            # The daemon took the exec but its output did not end in time: the probe hangs in
            # the container (e.g. no `timeout` tool there), which says nothing about the host.
            if classify(exc) == ("DOCKER_UNAVAILABLE", "timeout"):
                raise ProbeHung(f"the probe did not finish within {self.api.timeout} s") from exc
            raise
        exit_code = self.api.exec_inspect(exec_id).get("ExitCode")
        elapsed = (time.monotonic() - start) * 1000.0
        return ExecResult(
            exit_code if isinstance(exit_code, int) else -1,
            (out or b"").decode("utf-8", "replace"),
            (err or b"").decode("utf-8", "replace"),
            elapsed,
        )

    def _inspect_network(self) -> dict[str, Any]:
        try:
            return self.api.inspect_network(self.network_name)
        except NotFound as exc:
            raise ArgusError(
                "INVALID_INPUT",
                f"network {self.network_name!r} does not exist on the Docker host",
                {"field": "network", "value": self.network_name, "cause": "not_found"},
            ) from exc

    def _topology(self) -> dict[str, Any]:
        network = self._inspect_network()
        self.network_name = network.get("Name") or self.network_name
        inspected: dict[str, dict[str, Any]] = {}
        for container_id in network.get("Containers") or {}:
            try:
                inspected[container_id] = self.api.inspect_container(container_id)
            except NotFound:  # removed between the two calls: listed without aliases
                inspected[container_id] = {}
        topology = build_topology(network, inspected)
        with self._lock:
            self._allowed = {entry["ipv4"] for entry in topology["containers"] if entry["ipv4"]}
        return topology

    def _test_container(self) -> dict[str, Any]:
        name = self.options.container
        try:
            container = self.api.inspect_container(name)
        except NotFound as exc:
            raise ArgusError(
                "INVALID_INPUT",
                f"test container {name!r} does not exist on the Docker host",
                {"field": "container", "value": name, "cause": "not_found"},
            ) from exc
        state = container.get("State") or {}
        if not state.get("Running"):
            raise ArgusError(
                "INVALID_INPUT",
                f"test container {name!r} is not running (status {state.get('Status')}); probes run inside it",
                {"field": "container", "value": name, "cause": "not_running", "status": state.get("Status")},
            )
        return container

    def _pick_network(self, container: dict[str, Any]) -> str:
        networks = sorted(((container.get("NetworkSettings") or {}).get("Networks") or {}).keys())
        if self.options.network:
            return self.options.network
        user_networks = [n for n in networks if n not in ("bridge", "host", "none")]
        if len(user_networks) == 1:
            return user_networks[0]
        raise invalid_input(
            "network", None, f"is required: the test container is attached to {', '.join(networks) or 'no network'}"
        )

    def _check_attached(self, container: dict[str, Any], network: dict[str, Any]) -> None:
        attached = network.get("Containers") or {}
        if container["Id"] in attached:
            return
        networks = sorted(((container.get("NetworkSettings") or {}).get("Networks") or {}).keys())
        name = self.options.container
        raise ArgusError(
            "INVALID_INPUT",
            f"test container {name!r} is not attached to the network {network.get('Name')!r} "
            f"(it is on: {', '.join(networks) or 'no network'}); attach it or choose its network",
            {"field": "network", "value": network.get("Name"), "cause": "not_attached", "container_networks": networks},
        )

    # -- tool detection and the helper container --------------------------------------------

    def detect_tools(self, container_id: str) -> ToolSet:
        result = self._guarded_exec(container_id, ["sh", "-c", DETECT_SCRIPT])
        if isinstance(result, ExecResult) and result.exit_code == 0 and "end" in result.stdout.split():
            return parse_tools(result.stdout, "sh")
        # No shell: a distroless python image can still be probed with python alone.
        for python in ("python3", "python"):
            result = self._guarded_exec(container_id, [python, "-c", "print('ok')"])
            if isinstance(result, ExecResult) and result.exit_code == 0:
                return ToolSet({python: python}, shell=None)
        return ToolSet({}, shell=None)

    def _guarded_exec(self, container_id: str, cmd: list[str]) -> ExecResult | str:
        """Run an exec; a failure that is the container's, not the Docker host's, becomes its reason.

        The container may be gone (404) or stopped (409) by now: the probe reports it for the
        target. An unusable Docker host (unreachable, 5xx) is raised for the whole run.
        """
        try:
            return self._exec(container_id, cmd)
        except ProbeHung as exc:
            return str(exc)
        except Exception as exc:  # noqa: BLE001 - split below: the container's fault or the host's
            client_side = isinstance(exc, NotFound) or (isinstance(exc, APIError) and exc.is_client_error())
            code, _cause = classify(exc)
            if not client_side and (code in INFRASTRUCTURE_FAILURE_CODES or code == "DOCKER_UNAVAILABLE"):
                raise from_exception(exc, f"exec {cmd[0]} in {container_id[:12]}") from exc
            return root_cause_message(exc)

    def _start_helper(self, test_container: dict[str, Any]) -> tuple[str | None, str | None]:
        """Start the helper container; returns (id, None) or (None, why it cannot run)."""
        image = self.options.probe_image
        try:
            self.api.inspect_image(image)
        except ImageNotFound:
            return None, f"the probe image {image} is not present on the Docker host (it is never pulled)"
        run_id = self.options.run_id or new_run_id()
        labels = resource_labels(self.options.project, run_id, service="network-probe")
        name = f"argus-netprobe-{self.options.project}-{secrets.token_hex(3)}"
        lifetime = int(self.options.wait_seconds + 4 * self.options.timeout + 120)
        try:
            host_config = self.api.create_host_config(network_mode=f"container:{test_container['Id']}")
            created = self.api.create_container(
                image,
                command=[str(lifetime)],
                entrypoint=["sleep"],
                name=name,
                labels=labels,
                host_config=host_config,
            )
            self._helper_id = created["Id"]
            self.api.start(self._helper_id)
        except Exception as exc:  # noqa: BLE001 - the helper is optional: say why it could not run
            code, _cause = classify(exc)
            if code in INFRASTRUCTURE_FAILURE_CODES or code == "DOCKER_UNAVAILABLE":
                raise from_exception(exc, "start the network probe helper") from exc
            return None, f"the probe helper ({image}) did not start: {root_cause_message(exc)}"
        helper_id = self._helper_id
        return helper_id, None

    def _remove_helper(self) -> None:
        helper_id = self._helper_id
        if helper_id:
            try:
                self.api.remove_container(helper_id, force=True)
            except NotFound:
                pass
            self._helper_id = None

    def _probe_kit(self, test_container: dict[str, Any]) -> tuple[ProbeKit | None, str | None]:
        name = (test_container.get("Name") or "").lstrip("/") or self.options.container
        tools = self.detect_tools(test_container["Id"])
        methods = choose_methods(tools)
        if methods:
            return ProbeKit(test_container["Id"], name, "test_container", tools, *methods), None
        reason = f"the test container {name} has {missing_tools_reason(tools)}"
        helper_id, why = self._start_helper(test_container)
        if helper_id is None:
            return None, f"{reason}, and {why}"
        helper_tools = self.detect_tools(helper_id)
        methods = choose_methods(helper_tools)
        if methods is None:
            return (
                None,
                f"{reason}, and the probe image {self.options.probe_image} has {missing_tools_reason(helper_tools)}",
            )
        return ProbeKit(helper_id, name, "helper_container", helper_tools, *methods), None

    # -- probes -----------------------------------------------------------------------------

    def _wrap_timeout(self, kit: ProbeKit, command: str, seconds: float) -> str:
        if kit.tools.timeout_ok:
            return f"timeout {int(seconds) + 1} {command}"
        return command

    def _sh_resolver(self, kit: ProbeKit, host: str) -> str:
        """The resolve command (sh syntax; ``host`` is a shell word such as "$1")."""
        tool = f"getent hosts {host}" if kit.resolver == "getent" else f"nslookup {host}"
        return self._wrap_timeout(kit, tool, self.options.timeout)

    def _sh_connector(self, kit: ProbeKit, address: str, port: str) -> str:
        """The connect command (sh syntax; ``address``/``port`` are shell words such as "$a")."""
        seconds = max(1, int(round(self.options.timeout)))
        if kit.connector == "nc-z":
            command = f"nc -z -w {seconds} {address} {port}"
        elif kit.connector == "nc-e":
            command = f"nc -w {seconds} {address} {port} -e {kit.tools.tools['true']}"
        elif kit.connector == "nc":
            command = f"nc -w {seconds} {address} {port} </dev/null >/dev/null"
        else:
            command = f"bash -c 'exec 3<>/dev/tcp/$1/$2' argus {address} {port}"
        return CLOCK_WRAPPER.format(command=self._wrap_timeout(kit, command, self.options.timeout))

    def _run_probe(self, kit: ProbeKit, cmd: list[str]) -> ExecResult | str:
        return self._guarded_exec(kit.container_id, cmd)

    def resolve(self, kit: ProbeKit, host: str) -> Resolution:
        """Resolve ``host`` in the probe container (one exec)."""
        if _ipv4(host):
            return Resolution("resolved", [host])
        if kit.resolver == "python":
            cmd = [kit.python, "-c", PY_RESOLVE, host, str(self.options.timeout)]
        else:
            cmd = [kit.tools.shell, "-c", self._sh_resolver(kit, '"$1"'), "argus", host]
        result = self._run_probe(kit, cmd)
        if isinstance(result, str):
            return Resolution("error", error=f"the probe exec failed: {result}")
        return parse_resolution(kit.resolver, result.exit_code, result.stdout, result.stderr)

    def connect(self, kit: ProbeKit, address: str, port: int) -> Connection:
        """Open a TCP connection to ``address:port`` from the probe container (one exec)."""
        timeout = self.options.timeout
        if kit.connector == "python":
            cmd = [kit.python, "-c", PY_CONNECT, address, str(port), str(timeout)]
        else:
            cmd = [kit.tools.shell, "-c", self._sh_connector(kit, '"$1"', '"$2"'), "argus", address, str(port)]
        result = self._run_probe(kit, cmd)
        if isinstance(result, str):
            return Connection("error", error=f"the probe exec failed: {result}")
        return parse_connection(
            kit.connector, result.exit_code, result.stdout, result.stderr, timeout, result.elapsed_ms
        )

    def resolve_and_connect(
        self, kit: ProbeKit, host: str, port: int, allowed: list[str]
    ) -> tuple[Resolution, str | None, Connection | None]:
        """One exec: resolve ``host``, connect only to an answer that is in ``allowed``.

        Returns the resolution, the address connected to (None when no answer was allowed) and
        the connection outcome (None when nothing was connected to).
        """
        timeout = self.options.timeout
        if kit.resolver == "python" and kit.connector == "python":
            cmd = [kit.python, "-c", PY_PROBE, host, str(port), str(timeout), *allowed]
        else:
            script = SH_PROBE.format(
                resolve=self._sh_resolver(kit, '"$h"'), connect=self._sh_connector(kit, '"$a"', '"$p"')
            )
            cmd = [kit.tools.shell, "-c", script, "argus", host, str(port), *allowed]
        result = self._run_probe(kit, cmd)
        if isinstance(result, str):
            return Resolution("error", error=f"the probe exec failed: {result}"), None, None
        if result.exit_code in EXEC_NOT_RUNNABLE:
            return parse_resolution(kit.resolver, result.exit_code, result.stdout, result.stderr), None, None
        dns_out, dns_rc, picked, rest = split_probe_output(result.stdout)
        if kit.resolver == "python":
            resolution = parse_resolution("python", 0, dns_out, "")
        else:
            resolution = parse_resolution(kit.resolver, dns_rc, dns_out, "")
        if picked is None or resolution.state != "resolved":
            return resolution, None, None
        connection = parse_connection(kit.connector, 0, rest, result.stderr, timeout, result.elapsed_ms)
        return resolution, picked, connection

    def _allowed_addresses(self, refresh: bool = False) -> list[str]:
        """IPv4 addresses of the containers on the network (re-read when ``refresh``)."""
        if refresh:
            try:
                network = self._inspect_network()
            except ArgusError:
                network = {}
            fresh = {
                (endpoint.get("IPv4Address") or "").split("/")[0]
                for endpoint in (network.get("Containers") or {}).values()
            }
            with self._lock:
                self._allowed |= {a for a in fresh if a}
        with self._lock:
            return sorted(self._allowed)

    def _attempt(self, kit: ProbeKit, target: Target, result: dict[str, Any]) -> bool:
        """One resolve+connect attempt; updates ``result``; returns True when it is final."""
        if _ipv4(target.host):
            resolution, picked, connection = Resolution("resolved", [target.host]), None, None
            if target.host in self._allowed_addresses() or target.host in self._allowed_addresses(refresh=True):
                picked, connection = target.host, self.connect(kit, target.host, target.port)
        else:
            resolution, picked, connection = self.resolve_and_connect(
                kit, target.host, target.port, self._allowed_addresses()
            )
            if resolution.state == "resolved" and picked is None:
                # a container may have joined the network since the topology was read: look again
                fresh = self._allowed_addresses(refresh=True)
                if any(address in fresh for address in resolution.addresses):
                    resolution, picked, connection = self.resolve_and_connect(kit, target.host, target.port, fresh)
        if resolution.state == "error":
            result.update(status=PROBE_UNAVAILABLE, dns_resolved=None, reachable=None, error=resolution.error)
            return False
        if resolution.state == "not_found":
            result.update(status=DNS_FAILED, dns_resolved=False, address=None, reachable=False, error=resolution.error)
            return False
        if picked is None or connection is None:
            result.update(
                status=OUTSIDE_NETWORK,
                dns_resolved=True,
                address=resolution.addresses[0],
                reachable=False,
                error=f"{', '.join(resolution.addresses)} is no container on the network {self.network_name}; "
                "not probed",
            )
            return True
        result.update(dns_resolved=True, address=picked)
        if connection.state == "open":
            result.update(status=REACHABLE, reachable=True, latency_ms=connection.latency_ms, error=None)
            return True
        if connection.state == "closed":
            result.update(status=UNREACHABLE, reachable=False, latency_ms=None, error=connection.error)
        else:
            result.update(status=PROBE_UNAVAILABLE, reachable=None, latency_ms=None, error=connection.error)
        return False

    def check_target(self, kit: ProbeKit, target: Target, deadline: float) -> dict[str, Any]:
        """Probe one target until it answers or ``deadline`` passes."""
        result = new_result(target)
        result["probe"] = kit.method
        attempt = 0
        while True:
            attempt += 1
            started = self.clock()
            final = self._attempt(kit, target, result)
            result["attempts"] = attempt
            remaining = deadline - self.clock()
            last = final or remaining <= 0
            self.events.emit(
                "network_check",
                service=target.name,
                hostname=target.host,
                port=target.port,
                attempt=attempt,
                final=last,
                status=result["status"],
                dns_resolved=result["dns_resolved"],
                address=result["address"],
                reachable=result["reachable"],
                latency_ms=result["latency_ms"],
                error=result["error"],
                probe=kit.method,
                duration_ms=int((self.clock() - started) * 1000),
            )
            if last:
                break
            self.sleep(min(delay_ms(attempt, "exponential", RETRY_INITIAL_MS, RETRY_MAX_MS) / 1000.0, remaining))
        if result["status"] == DNS_FAILED:
            result["hint"] = self._dns_hint(target.host)
        return result

    def _dns_hint(self, host: str) -> str | None:
        """Why a name may not resolve: a container of that name on other networks only."""
        try:
            container = self.api.inspect_container(host)
        except Exception:  # noqa: BLE001 - a hint is optional; no container of that name
            return None
        networks = sorted(((container.get("NetworkSettings") or {}).get("Networks") or {}).keys())
        name = (container.get("Name") or host).lstrip("/")
        if self.network_name in networks:
            return None
        elsewhere = ", ".join(networks) or "no network"
        return f"a container {name} exists but is attached to {elsewhere}, not {self.network_name}"

    # -- the run ----------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        started = self.clock()
        container = self._test_container()
        self.network_name = self._pick_network(container)
        network = self._inspect_network()
        self.network_name = network.get("Name") or self.network_name
        self._check_attached(container, network)
        topology = self._topology()
        targets = self.options.targets
        try:
            kit, unavailable = self._probe_kit(container)
            if kit is None:
                results = []
                for target in targets:
                    result = new_result(target)
                    result["error"] = unavailable
                    results.append(result)
                    self.events.emit(
                        "network_check",
                        service=target.name,
                        hostname=target.host,
                        port=target.port,
                        attempt=0,
                        final=True,
                        status=PROBE_UNAVAILABLE,
                        error=unavailable,
                    )
            else:
                deadline = self.clock() + self.options.wait_seconds
                workers = max(1, min(self.options.max_workers, len(targets)))
                with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argus-net") as pool:
                    results = list(pool.map(lambda t: self.check_target(kit, t, deadline), targets))
        finally:
            self._remove_helper()
        if any(r["status"] in (DNS_FAILED, UNREACHABLE, OUTSIDE_NETWORK) for r in results):
            topology = self._topology()  # as it is now, after the wait: what the message explains
        all_reachable = all(r["status"] == REACHABLE for r in results)
        report = {
            "results": results,
            "all_reachable": all_reachable,
            "network_topology": topology,
            "probe": {
                "method": kit.method if kit else None,
                "where": kit.where if kit else None,
                "container": container["Id"][:12],
                "available": kit is not None,
                "reason": unavailable,
            },
            "duration_ms": int((self.clock() - started) * 1000),
            "timestamp": utc_now(),
        }
        self.failure = failure_for(
            results, topology, self.options.container, self.options.probe_image, probe_ran=kit is not None
        )
        self.events.emit(
            "network_verified",
            all_reachable=all_reachable,
            network=self.network_name,
            targets=len(results),
            reachable=sum(1 for r in results if r["status"] == REACHABLE),
            failed=[r["service"] for r in results if r["status"] != REACHABLE],
            probe=report["probe"]["method"],
            duration_ms=report["duration_ms"],
            error_code=self.failure.code if self.failure else None,
        )
        return report

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading what the probes print (see ``probe_scripts``): tools, lookups and connects.

Pure functions on the text of one exec; nothing here talks to Docker.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from ansible_collections.argusai.resilience.plugins.module_utils.network.probe_scripts import ToolSet

# Exit codes of `docker exec` when the command cannot be started (not found / not executable).
EXEC_NOT_RUNNABLE = (126, 127)
# Exit codes of `timeout` when it had to stop the probe.
TIMED_OUT = (124, 143)


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


def ipv4(text: str) -> str | None:
    """``text`` as an IPv4 address, or None when it is none."""
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        return None


def first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def parse_tools(output: str, shell: str | None = "sh") -> ToolSet:
    """Parse the output of ``probe_scripts.DETECT_SCRIPT``."""
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


def split_probe_output(stdout: str) -> tuple[str, int, str | None, str]:
    """Split a probe's output: (resolver output, resolver exit code, picked address, rest)."""
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
        picked = ipv4(rest[0].split()[1]) if len(rest[0].split()) > 1 else None
        rest = rest[1:]
    return "\n".join(lines[:marker]) + "\n", dns_rc, picked, "\n".join(rest) + ("\n" if rest else "")


def parse_resolution(method: str, exit_code: int, stdout: str, stderr: str) -> Resolution:
    """Turn a resolver's output into resolved / not_found / error."""
    if exit_code in EXEC_NOT_RUNNABLE:
        return Resolution("error", error=f"resolver could not run: {first_line(stdout + stderr)}")
    if exit_code in TIMED_OUT and method != "python":
        return Resolution("not_found", error="DNS lookup timed out")
    addresses: list[str] = []
    if method == "python":
        line = first_line(stdout)
        if line.startswith("ARGUS-ADDR"):
            addresses = [a for a in (ipv4(x) for x in line.split()[1:]) if a]
        elif line.startswith("ARGUS-NOTFOUND"):
            return Resolution("not_found", error=line[len("ARGUS-NOTFOUND") :].strip() or "name not found")
        elif line.startswith("ARGUS-TIMEOUT"):
            return Resolution("not_found", error="DNS lookup timed out")
        else:
            return Resolution("error", error=f"unexpected resolver output: {first_line(stdout + stderr)!r}")
    elif method == "getent":
        # "172.18.0.2      api" per line; exit code 2 means the name is unknown
        for line in stdout.splitlines():
            parts = line.split()
            if parts and ipv4(parts[0]) and parts[0] not in addresses:
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
                address = ipv4(match.group(1))
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
    return Resolution("not_found", error=text or first_line(stderr) or first_line(stdout) or "name not found")


def parse_connection(
    method: str, exit_code: int, stdout: str, stderr: str, timeout: float, elapsed_ms: float
) -> Connection:
    """Turn a connector's output into open (with latency) / closed / error.

    ``elapsed_ms`` (the whole exec, measured on the Docker host) is the latency when the
    container has no clock; it is an upper bound.
    """
    if exit_code in EXEC_NOT_RUNNABLE:
        return Connection("error", error=f"connector could not run: {first_line(stdout + stderr)}")
    if method == "python":
        line = first_line(stdout)
        if line.startswith("ARGUS-OPEN"):
            try:
                return Connection("open", round(float(line.split()[1]), 3))
            except (IndexError, ValueError):
                return Connection("open", round(elapsed_ms, 3))
        if line.startswith("ARGUS-CLOSED"):
            return Connection("closed", error=line[len("ARGUS-CLOSED") :].strip() or "connection failed")
        return Connection("error", error=f"unexpected connector output: {first_line(stdout + stderr)!r}")
    marker = [line for line in stdout.splitlines() if line.startswith("ARGUS-RC ")]
    if not marker:
        return Connection("error", error=f"unexpected connector output: {first_line(stdout + stderr)!r}")
    parts = marker[-1].split()
    try:
        rc = int(parts[1])
    except (IndexError, ValueError):
        return Connection("error", error=f"unexpected connector output: {marker[-1]!r}")
    if rc in EXEC_NOT_RUNNABLE:
        return Connection("error", error=f"connector could not run: {first_line(stderr)}")
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
    reason = first_line(stderr)
    # busybox: "nc: can't connect to remote host (172.18.0.3): Connection refused"
    if ": " in reason:
        reason = reason.rsplit(": ", 1)[-1]
    return Connection("closed", error=reason or f"connection failed (exit code {rc})")

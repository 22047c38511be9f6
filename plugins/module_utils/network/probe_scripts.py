# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What runs inside the probe container: tool detection, the probe scripts and their commands.

One exec (:data:`DETECT_SCRIPT`) finds the container's tools; :func:`choose_methods` picks a
resolver and a connector from them. Each probe is then one exec of one of two scripts, whose mode
says which steps run:

* :data:`RESOLVE` - look the name up;
* :data:`CONNECT` - open a TCP connection to an address;
* :data:`RESOLVE_CONNECT` - look the name up and connect to the first answer that is one of the
  allowed addresses (the containers on the network), and to nothing else.

:data:`PY_PROBE` (python, 2.7 to 3.x: whatever the container has) takes the mode as its first
argument; :data:`SH_PROBE` (POSIX sh with the chosen tools) has it, the tool commands and the
bound filled in by :func:`sh_probe`. Both print the markers that ``parsers`` reads: ``ARGUS-ADDR``
/ ``ARGUS-NOTFOUND`` / ``ARGUS-TIMEOUT`` (python lookup) or the resolver's own output, then
``ARGUS-DNS <exit code>`` (after any answer), ``ARGUS-PICK <address>`` (the address connected
to), and ``ARGUS-OPEN <ms>`` / ``ARGUS-CLOSED <reason>`` (python) or
``ARGUS-RC <exit code> <start> <end>`` (sh) for the connect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

RESOLVE = "resolve"
CONNECT = "connect"
RESOLVE_CONNECT = "resolve+connect"

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

# Arguments: MODE TIMEOUT TARGET [PORT [ALLOWED...]] - TARGET is the name to resolve, or the
# address to connect to in connect mode. getaddrinfo has no timeout of its own: a daemon thread
# bounds the wait for it.
PY_PROBE = r"""
import socket, sys, threading, time
mode, timeout, target = sys.argv[1], float(sys.argv[2]), sys.argv[3]

def resolve():
    out = []
    def lookup():
        try:
            infos = socket.getaddrinfo(target, None, socket.AF_INET, socket.SOCK_STREAM)
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
        return out[0]
    return []

def connect(address, port):
    clock = getattr(time, "perf_counter", time.time)
    start = clock()
    try:
        conn = socket.create_connection((address, port), timeout)
        conn.close()
        print("ARGUS-OPEN %.3f" % ((clock() - start) * 1000.0))
    except socket.timeout:
        print("ARGUS-CLOSED timed out after %s s" % sys.argv[2])
    except Exception as exc:
        print("ARGUS-CLOSED %s" % (getattr(exc, "strerror", None) or exc,))

if mode == "connect":
    connect(target, int(sys.argv[4]))
else:
    addrs = resolve()
    if mode == "resolve+connect":
        picked = [a for a in addrs if a in sys.argv[5:]]
        if picked:
            print("ARGUS-PICK " + picked[0])
            connect(picked[0], int(sys.argv[4]))
"""

# Arguments: HOST [PORT [ALLOWED...]] ($0 is "argus"); HOST is the address in connect mode.
# Names reach the script as arguments, never inside its text. Globbing is off so that words of
# the resolver's output ("** server can't find") stay words. The connect step prints its exit code
# and the shell's clock ($EPOCHREALTIME, empty where the shell has none) around it.
SH_PROBE = r"""set -f
m={mode}; h=$1; p=$2
if [ "$m" = connect ]; then
  a=$h
else
  r=$({limit}{resolve} 2>&1); rrc=$?
  printf '%s\nARGUS-DNS %s\n' "$r" "$rrc"
  [ "$m" = resolve ] && exit 0
  shift 2; a=
  for t in $r; do for ip in "$@"; do if [ "$t" = "$ip" ]; then a=$ip; break 2; fi; done; done
  [ -n "$a" ] || exit 0
  echo "ARGUS-PICK $a"
fi
s=$EPOCHREALTIME; {limit}{connect}; rc=$?; e=$EPOCHREALTIME; echo "ARGUS-RC $rc $s $e"
"""

# The resolve step of SH_PROBE per resolver, on "$h".
SH_RESOLVERS = {
    "getent": 'getent hosts "$h"',
    "nslookup": 'nslookup "$h"',
}

# The connect step of SH_PROBE per connector, on "$a" and "$p".
SH_CONNECTORS = {
    "nc-z": 'nc -z -w {seconds} "$a" "$p"',
    # busybox: runs PROG once connected and exits, even if the server stays silent
    "nc-e": 'nc -w {seconds} "$a" "$p" -e {true}',
    # stdin closed: exits when the server closes too
    "nc": 'nc -w {seconds} "$a" "$p" </dev/null >/dev/null',
    "bash": 'bash -c \'exec 3<>/dev/tcp/$1/$2\' argus "$a" "$p"',
}


# ---------------------------------------------------------------------------------------------
# Tool detection and probe choice
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
    """The best (resolver, connector) the tools allow, or None when no complete probe exists.

    Python is always both or neither, so that one script runs every step.
    """
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
# The probe command
# ---------------------------------------------------------------------------------------------


def sh_probe(kit: ProbeKit, mode: str, probe_timeout: float) -> str:
    """:data:`SH_PROBE` with the kit's resolver and connector and the bound of each step."""
    # `timeout` (where it works) stops a step that its tool does not bound itself
    limit = f"timeout {int(probe_timeout) + 1} " if kit.tools.timeout_ok else ""
    connect = SH_CONNECTORS[kit.connector].format(
        seconds=max(1, int(round(probe_timeout))), true=kit.tools.tools.get("true")
    )
    return SH_PROBE.format(mode=mode, limit=limit, resolve=SH_RESOLVERS[kit.resolver], connect=connect)


def probe_command(
    kit: ProbeKit,
    mode: str,
    target: str,
    probe_timeout: float,
    port: int | None = None,
    allowed: Sequence[str] = (),
) -> list[str]:
    """The exec command of one probe: ``target`` is a name (an address in connect mode).

    ``port`` is needed unless the mode is :data:`RESOLVE`; ``allowed`` only for
    :data:`RESOLVE_CONNECT`.
    """
    if mode == RESOLVE:
        args = [target]
    elif mode in (CONNECT, RESOLVE_CONNECT) and port is not None:
        args = [target, str(port), *(allowed if mode == RESOLVE_CONNECT else ())]
    else:
        raise ValueError(f"probe mode {mode!r} with port {port!r}")
    if kit.resolver == "python":  # and so is the connector (choose_methods)
        return [kit.python, "-c", PY_PROBE, mode, str(probe_timeout), *args]
    return [kit.tools.shell, "-c", sh_probe(kit, mode, probe_timeout), "argus", *args]

"""Tool detection, probe choice, and the one probe source per language in each of its modes.

The scripts run here for real: PY_PROBE on this Python, SH_PROBE on this sh with a scripted
resolver (getent) and bash's /dev/tcp against a local socket. The busybox tools are exercised in
tests/integration/test_network_verify.py.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils.network import probe_scripts as P
from ansible_collections.argusai.resilience.plugins.module_utils.network.parsers import (
    parse_connection,
    parse_resolution,
    parse_tools,
    split_probe_output,
)

# --------------------------------------------------------------------------- tool detection


def test_parse_tools_busybox():
    tools = parse_tools(
        "tool nslookup /bin/nslookup\ntool nc /bin/nc\ntool timeout /bin/timeout\ntimeout_ok\nclock\nend\n"
    )
    assert tools.has("nc") and tools.has("nslookup") and not tools.has("getent")
    assert tools.timeout_ok and tools.clock and not tools.nc_z and not tools.nc_e
    assert P.choose_methods(tools) == ("nslookup", "nc")
    with_e = parse_tools("tool nslookup /bin/nslookup\ntool nc /bin/nc\nnc_e\ntool true /bin/true\nend\n")
    assert P.choose_methods(with_e) == ("nslookup", "nc-e")
    without_true = parse_tools("tool nslookup /bin/nslookup\ntool nc /bin/nc\nnc_e\nend\n")
    assert P.choose_methods(without_true) == ("nslookup", "nc")


def test_parse_tools_prefers_python_then_getent_and_nc_z():
    tools = parse_tools("tool python3 /usr/bin/python3\ntool getent /usr/bin/getent\ntool nc /bin/nc\nnc_z\nend")
    assert P.choose_methods(tools) == ("python", "python")
    debian = parse_tools("tool getent /usr/bin/getent\ntool nc /bin/nc\nnc_z\ntool nslookup /x\nend")
    assert P.choose_methods(debian) == ("getent", "nc-z")
    bash_only = parse_tools("tool getent /usr/bin/getent\ntool bash /bin/bash\nend")
    assert P.choose_methods(bash_only) == ("getent", "bash")


@pytest.mark.parametrize(
    "output",
    [
        "end",  # nothing at all
        "tool nc /bin/nc\nend",  # a connector but no resolver
        "tool getent /usr/bin/getent\nend",  # a resolver but no connector
    ],
)
def test_incomplete_tools_choose_nothing(output):
    tools = parse_tools(output)
    assert P.choose_methods(tools) is None
    assert "found:" in P.missing_tools_reason(tools)


def test_python_without_shell_is_enough():
    tools = P.ToolSet({"python3": "python3"}, shell=None)
    assert P.choose_methods(tools) == ("python", "python")
    assert P.missing_tools_reason(P.ToolSet({}, shell=None)) == "no shell (sh) and no python"


# --------------------------------------------------------------------------- the probe command per mode


def kit(resolver, connector, tools=None, timeout_ok=True, shell="sh"):
    toolset = P.ToolSet(tools or {"true": "/bin/true"}, timeout_ok=timeout_ok, shell=shell)
    return P.ProbeKit("c" * 64, "shop-tests", "test_container", toolset, resolver, connector)


PYTHON_KIT = kit("python", "python", {"python3": "/usr/bin/python3"}, shell=None)
BUSYBOX_KIT = kit("nslookup", "nc-e")


def test_python_probe_command_names_the_mode_and_passes_everything_as_arguments():
    assert P.probe_command(PYTHON_KIT, P.RESOLVE, "payments", 2) == [
        "/usr/bin/python3",
        "-c",
        P.PY_PROBE,
        "resolve",
        "2",
        "payments",
    ]
    assert P.probe_command(PYTHON_KIT, P.CONNECT, "172.18.0.3", 2, 8080) == [
        "/usr/bin/python3",
        "-c",
        P.PY_PROBE,
        "connect",
        "2",
        "172.18.0.3",
        "8080",
    ]
    assert P.probe_command(PYTHON_KIT, P.RESOLVE_CONNECT, "payments", 2.5, 8080, ["172.18.0.2", "172.18.0.3"])[3:] == [
        "resolve+connect",
        "2.5",
        "payments",
        "8080",
        "172.18.0.2",
        "172.18.0.3",
    ]


def test_sh_probe_is_one_template_whose_mode_chooses_the_steps():
    scripts = {}
    for mode, port, allowed, args in (
        (P.RESOLVE, None, (), ["argus", "payments"]),
        (P.CONNECT, 8080, (), ["argus", "172.18.0.3", "8080"]),
        (P.RESOLVE_CONNECT, 8080, ["172.18.0.3"], ["argus", "payments", "8080", "172.18.0.3"]),
    ):
        cmd = P.probe_command(BUSYBOX_KIT, mode, "payments" if mode != P.CONNECT else "172.18.0.3", 2, port, allowed)
        assert cmd[:2] == ["sh", "-c"] and cmd[3:] == args  # names never inside the script text
        scripts[mode] = cmd[2]
        assert cmd[2].splitlines()[1].startswith(f"m={mode};")
    # the same script but for the mode line; each step written once, bounded by `timeout`
    bodies = {"\n".join(line for line in s.splitlines() if not line.startswith("m=")) for s in scripts.values()}
    assert len(bodies) == 1
    (body,) = bodies
    assert body.count('timeout 3 nslookup "$h"') == 1
    assert body.count('timeout 3 nc -w 2 "$a" "$p" -e /bin/true') == 1
    assert body.count("ARGUS-DNS") == 1 and body.count("ARGUS-PICK") == 1 and body.count("ARGUS-RC") == 1
    without_timeout = P.probe_command(kit("getent", "nc-z", timeout_ok=False), P.RESOLVE_CONNECT, "db", 7.4, 5432)[2]
    assert 'r=$(getent hosts "$h" 2>&1)' in without_timeout and 'nc -z -w 7 "$a" "$p";' in without_timeout


@pytest.mark.parametrize("mode, port", [(P.CONNECT, None), (P.RESOLVE_CONNECT, None), ("ping", 80)])
def test_probe_command_rejects_a_mode_without_its_port(mode, port):
    with pytest.raises(ValueError):
        P.probe_command(BUSYBOX_KIT, mode, "payments", 2, port)


# --------------------------------------------------------------------------- the scripts, run


@pytest.fixture
def listener():
    """A local TCP port that accepts, and one that refuses."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    yield server.getsockname()[1], closed.getsockname()[1]
    server.close()
    closed.close()


def run(cmd, path=None):
    env = dict(os.environ, PATH=f"{path}{os.pathsep}{os.environ['PATH']}") if path else None
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=env, check=False)
    return done.returncode, done.stdout, done.stderr


def read(kit_, mode, out):
    """What the verifier reads from a probe's output: (resolution, picked, rest)."""
    dns_out, dns_rc, picked, rest = split_probe_output(out)
    return parse_resolution(kit_.resolver, dns_rc, dns_out, ""), picked, rest


def test_python_probe_each_mode(listener):
    open_port, closed_port = listener
    py = kit("python", "python", {"python3": sys.executable}, shell=None)

    rc, out, _err = run(P.probe_command(py, P.RESOLVE, "localhost", 2))
    assert rc == 0 and out.splitlines() == ["ARGUS-ADDR 127.0.0.1", "ARGUS-DNS 0"]
    assert read(py, P.RESOLVE, out)[0].addresses == ["127.0.0.1"]
    _rc, out, _err = run(P.probe_command(py, P.RESOLVE, "nosuch.invalid", 2))
    assert out.startswith(("ARGUS-NOTFOUND ", "ARGUS-TIMEOUT")) and "ARGUS-DNS" not in out
    assert read(py, P.RESOLVE, out)[0].state == "not_found"

    _rc, out, _err = run(P.probe_command(py, P.CONNECT, "127.0.0.1", 2, open_port))
    assert out.startswith("ARGUS-OPEN ") and parse_connection("python", 0, out, "", 2, 0).state == "open"
    _rc, out, _err = run(P.probe_command(py, P.CONNECT, "127.0.0.1", 2, closed_port))
    assert parse_connection("python", 0, out, "", 2, 0).error == "Connection refused"

    _rc, out, _err = run(P.probe_command(py, P.RESOLVE_CONNECT, "localhost", 2, open_port, ["10.0.0.1", "127.0.0.1"]))
    resolution, picked, rest = read(py, P.RESOLVE_CONNECT, out)
    assert resolution.addresses == ["127.0.0.1"] and picked == "127.0.0.1" and rest.startswith("ARGUS-OPEN ")
    _rc, out, _err = run(P.probe_command(py, P.RESOLVE_CONNECT, "localhost", 2, open_port, ["10.0.0.1"]))
    assert out.splitlines() == ["ARGUS-ADDR 127.0.0.1", "ARGUS-DNS 0"]  # not allowed: never connected to


FAKE_GETENT = """#!/bin/sh
case "$2" in
  svc) echo "127.0.0.1       svc";;
  elsewhere) echo "10.9.9.9        elsewhere";;
  *) exit 2;;
esac
"""


@pytest.mark.skipif(not shutil.which("bash"), reason="needs bash for the /dev/tcp connector")
def test_sh_probe_each_mode(listener, tmp_path):
    open_port, closed_port = listener
    getent = tmp_path / "getent"
    getent.write_text(FAKE_GETENT)
    getent.chmod(0o755)
    sh = kit("getent", "bash", timeout_ok=bool(shutil.which("timeout")))

    def probe(mode, target, port=None, allowed=()):
        return run(P.probe_command(sh, mode, target, 2, port, allowed), path=tmp_path)

    rc, out, _err = probe(P.RESOLVE, "svc")
    assert rc == 0 and out.splitlines() == ["127.0.0.1       svc", "ARGUS-DNS 0"]
    assert read(sh, P.RESOLVE, out)[0].addresses == ["127.0.0.1"]
    _rc, out, _err = probe(P.RESOLVE, "nosuch")
    assert out.splitlines() == ["", "ARGUS-DNS 2"] and read(sh, P.RESOLVE, out)[0].state == "not_found"

    _rc, out, err = probe(P.CONNECT, "127.0.0.1", open_port)
    assert out.startswith("ARGUS-RC 0 ") and parse_connection("bash", 0, out, err, 2, 1.0).state == "open"
    _rc, out, err = probe(P.CONNECT, "127.0.0.1", closed_port)
    refused = parse_connection("bash", 0, out, err, 2, 1.0)
    assert (refused.state, refused.error) == ("closed", "Connection refused")

    _rc, out, _err = probe(P.RESOLVE_CONNECT, "svc", open_port, ["10.0.0.1", "127.0.0.1"])
    resolution, picked, rest = read(sh, P.RESOLVE_CONNECT, out)
    assert resolution.addresses == ["127.0.0.1"] and picked == "127.0.0.1" and rest.startswith("ARGUS-RC 0 ")
    _rc, out, _err = probe(P.RESOLVE_CONNECT, "elsewhere", open_port, ["127.0.0.1"])
    assert out.splitlines() == ["10.9.9.9        elsewhere", "ARGUS-DNS 0"]  # not allowed: never connected to

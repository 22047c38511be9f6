"""Reading the probes' output: resolvers (python, getent, nslookup), connectors, the probe markers."""

from __future__ import annotations

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils.network.parsers import (
    parse_connection,
    parse_resolution,
    split_probe_output,
)
from net_fakes import NSLOOKUP_NX, NSLOOKUP_OK, NSLOOKUP_OLD


def test_parse_resolution_nslookup_formats():
    assert parse_resolution("nslookup", 0, NSLOOKUP_OK, "").addresses == ["172.18.0.3"]
    assert parse_resolution("nslookup", 0, NSLOOKUP_OLD, "").addresses == ["172.18.0.2"]
    missing = parse_resolution("nslookup", 1, NSLOOKUP_NX, "")
    assert missing.state == "not_found"
    assert missing.error == "server can't find nosuch: NXDOMAIN"  # said once, not per query


def test_parse_resolution_getent_python_and_failures():
    ok = parse_resolution("getent", 0, "172.18.0.4      db\nfe80::1 db\n", "")
    assert (ok.state, ok.addresses) == ("resolved", ["172.18.0.4"])
    assert parse_resolution("getent", 2, "", "").state == "not_found"
    assert parse_resolution("python", 0, "ARGUS-ADDR 172.18.0.5 172.18.0.6\n", "").addresses == [
        "172.18.0.5",
        "172.18.0.6",
    ]
    notfound = parse_resolution("python", 0, "ARGUS-NOTFOUND [Errno -2] Name or service not known\n", "")
    assert notfound.state == "not_found" and "not known" in notfound.error
    assert parse_resolution("nslookup", 124, "", "").error == "DNS lookup timed out"
    broken = parse_resolution("getent", 126, "OCI runtime exec failed: ...", "")
    assert broken.state == "error"


def test_parse_connection_shell_and_python():
    opened = parse_connection("nc", 0, "ARGUS-RC 0 100.000100 100.001350\n", "", 5, 80.0)
    assert opened.state == "open" and opened.latency_ms == pytest.approx(1.25, abs=0.01)
    no_clock = parse_connection("nc", 0, "ARGUS-RC 0  \n", "", 5, 42.5)
    assert no_clock.latency_ms == 42.5  # the exec round trip, an upper bound
    refused = parse_connection(
        "nc", 0, "ARGUS-RC 1 1.0 1.1\n", "nc: can't connect to remote host (172.18.0.3): Connection refused\n", 5, 9
    )
    assert (refused.state, refused.error) == ("closed", "Connection refused")
    timed_out = parse_connection("nc-z", 0, "ARGUS-RC 124 1 6\n", "", 5, 6000)
    assert (timed_out.state, timed_out.error) == ("closed", "timed out after 5 s")
    assert parse_connection("python", 0, "ARGUS-OPEN 0.812\n", "", 5, 50).latency_ms == 0.812
    assert parse_connection("python", 0, "ARGUS-CLOSED Connection refused\n", "", 5, 50).state == "closed"
    assert parse_connection("nc", 126, "exec failed", "", 5, 1).state == "error"
    assert parse_connection("nc", 0, "garbage", "", 5, 1).state == "error"


def test_split_probe_output():
    out = NSLOOKUP_OK + "\nARGUS-DNS 0\nARGUS-PICK 172.18.0.3\nARGUS-RC 0 1.0 1.001\n"
    dns_out, dns_rc, picked, rest = split_probe_output(out)
    assert parse_resolution("nslookup", dns_rc, dns_out, "").addresses == ["172.18.0.3"]
    assert (dns_rc, picked, rest) == (0, "172.18.0.3", "ARGUS-RC 0 1.0 1.001\n")
    assert split_probe_output(NSLOOKUP_NX + "\nARGUS-DNS 1\n")[1:3] == (1, None)
    assert split_probe_output("ARGUS-NOTFOUND [Errno -2] Name or service not known\n")[2] is None


def test_plain_nc_killed_by_timeout_is_inconclusive_not_unreachable():
    plain = parse_connection("nc", 0, "ARGUS-RC 143 1 4\n", "Terminated\n", 3, 3000)
    assert plain.state == "error" and "inconclusive" in plain.error
    with_e = parse_connection("nc-e", 0, "ARGUS-RC 1 1 3\n", "nc: timed out\n", 2, 2000)
    assert (with_e.state, with_e.error) == ("closed", "timed out")

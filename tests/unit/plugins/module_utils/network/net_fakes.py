"""Fakes shared by the network unit tests: resolver output samples, a network with its containers,
and a fake of the SDK's APIClient whose execs are answered by a handler (a busybox-like one below).
"""

from __future__ import annotations

import itertools

from ansible_collections.argusai.resilience.plugins.module_utils.docker_client import ImageNotFound, NotFound
from ansible_collections.argusai.resilience.plugins.module_utils.events import EventLog
from ansible_collections.argusai.resilience.plugins.module_utils.network.options import VerifyOptions, parse_targets
from ansible_collections.argusai.resilience.plugins.module_utils.network.probe_scripts import DETECT_SCRIPT
from ansible_collections.argusai.resilience.plugins.module_utils.network.verifier import NetworkVerifier

NSLOOKUP_OK = """Server:\t\t127.0.0.11
Address:\t127.0.0.11:53

Non-authoritative answer:
Name:\tpayments
Address: 172.18.0.3

Non-authoritative answer:
"""
NSLOOKUP_OLD = """Server:    127.0.0.11
Address 1: 127.0.0.11

Name:      api
Address 1: 172.18.0.2 e2e_api_1.e2e
"""
NSLOOKUP_NX = """Server:\t\t127.0.0.11
Address:\t127.0.0.11:53

** server can't find nosuch: NXDOMAIN

** server can't find nosuch: NXDOMAIN

"""

NETWORK = {
    "Name": "e2e-net",
    "Id": "f" * 64,
    "Driver": "bridge",
    "IPAM": {"Config": [{"Subnet": "172.18.0.0/16"}]},
    "Containers": {
        "a" * 64: {"Name": "shop-api", "IPv4Address": "172.18.0.2/16"},
        "b" * 64: {"Name": "shop-payments", "IPv4Address": "172.18.0.3/16"},
        "c" * 64: {"Name": "shop-tests", "IPv4Address": "172.18.0.4/16"},
    },
}


def container_inspect(cid, name, aliases, networks=("e2e-net",), running=True):
    return {
        "Id": cid,
        "Name": "/" + name,
        "State": {"Running": running, "Status": "running" if running else "exited"},
        "NetworkSettings": {"Networks": {net: {"Aliases": list(aliases) + [cid[:12]]} for net in networks}},
    }


CONTAINERS = {
    "a" * 64: container_inspect("a" * 64, "shop-api", ["api"]),
    "b" * 64: container_inspect("b" * 64, "shop-payments", ["payments"]),
    "c" * 64: container_inspect("c" * 64, "shop-tests", []),
}


class NotFoundError(NotFound):
    pass


class FakeAPI:
    """Enough of docker.APIClient: inspect, exec_* driven by ``handler(container, cmd) -> (rc, out, err)``."""

    timeout = 60  # the API request timeout, as docker.APIClient has it

    def __init__(self, handler, containers=None, network=None, images=()):
        self.handler = handler
        self.containers = dict(containers or CONTAINERS)
        self.network = network or NETWORK
        self.images = set(images)
        self.execs = {}
        self.exec_log = []
        self.created = []
        self.removed = []
        self.ids = itertools.count()

    def inspect_network(self, name):
        if name not in (self.network["Name"], self.network["Id"]):
            raise NotFoundError("network not found")
        return self.network

    def inspect_container(self, name):
        for cid, data in self.containers.items():
            if name in (cid, cid[:12], data["Name"].lstrip("/")):
                return data
        raise NotFoundError("no such container")

    def exec_create(self, container, cmd, stdout=True, stderr=True):
        exec_id = f"exec{next(self.ids)}"
        self.execs[exec_id] = self.handler(container, cmd)
        self.exec_log.append((container, cmd))
        return {"Id": exec_id}

    def exec_start(self, exec_id, demux=False):
        _rc, out, err = self.execs[exec_id]
        return out.encode(), err.encode()

    def exec_inspect(self, exec_id):
        return {"ExitCode": self.execs[exec_id][0]}

    def inspect_image(self, image):
        if image not in self.images:
            raise ImageNotFound("no such image")
        return {"Id": image}

    def create_host_config(self, **kwargs):
        return kwargs

    def create_container(self, image, **kwargs):
        self.created.append((image, kwargs))
        cid = "d" * 64
        return {"Id": cid}

    def start(self, cid):
        pass

    def remove_container(self, cid, force=False):
        self.removed.append(cid)


class FakeClient:
    def __init__(self, api):
        self.api = api


BUSYBOX_DETECT = "tool nslookup /bin/nslookup\ntool nc /bin/nc\nnc_e\ntool true /bin/true\nclock\nend\n"


def sh_probe_mode(cmd):
    """The mode of the sh probe (probe_scripts.SH_PROBE) that ``cmd`` runs; None for another exec."""
    if len(cmd) > 2 and cmd[:2] == ["sh", "-c"] and cmd[2].startswith("set -f\nm="):
        return cmd[2].split("\n")[1].split(";")[0][len("m=") :]
    return None


def busybox_handler(dns=None, ports=None, detect=BUSYBOX_DETECT):
    """A busybox-like container: nslookup + nc. ``dns`` name -> ip; ``ports`` (ip, port) -> open?

    Simulates the sh probe: in resolve+connect mode it connects only to an answer listed as allowed.
    """
    dns = dns or {"payments": "172.18.0.3", "api": "172.18.0.2"}
    ports = ports if ports is not None else {("172.18.0.3", 8080): True}

    def lookup(name):
        if name in dns:
            return 0, NSLOOKUP_OK.replace("payments", name).replace("172.18.0.3", dns[name])
        return 1, NSLOOKUP_NX.replace("nosuch", name)

    def connect(address, port):
        if ports.get((address, port)):
            return "ARGUS-RC 0 10.000000 10.000900\n", ""
        return "ARGUS-RC 1 10.0 10.1\n", f"nc: can't connect to remote host ({address}): Connection refused\n"

    def handler(container, cmd):
        script = cmd[2] if len(cmd) > 2 else ""
        if script == DETECT_SCRIPT:
            return 0, detect, ""
        if sh_probe_mode(cmd) == "resolve":  # argus host
            rc, text = lookup(cmd[4])
            return 0, f"{text}\nARGUS-DNS {rc}\n", ""
        if sh_probe_mode(cmd) == "connect":  # argus address port
            return (0, *connect(cmd[4], int(cmd[5])))
        if sh_probe_mode(cmd) == "resolve+connect":  # argus host port allowed...
            host, port, allowed = cmd[4], int(cmd[5]), cmd[6:]
            assert "nslookup" in script and "-e /bin/true" in script
            rc, text = lookup(host)
            out = f"{text}\nARGUS-DNS {rc}\n"
            picked = dns.get(host) if rc == 0 and dns.get(host) in allowed else None
            if picked is None:
                return 0, out, ""
            conn_out, conn_err = connect(picked, port)
            return 0, out + f"ARGUS-PICK {picked}\n" + conn_out, conn_err
        raise AssertionError(f"unexpected exec {cmd}")

    return handler


def verifier(api, targets, wait_seconds=0, **options):
    """A NetworkVerifier on ``api`` whose clock advances half a second per reading; (verifier, sleeps)."""
    clock = itertools.count(0, 0.5)
    opts = VerifyOptions(
        project="shop",
        container="shop-tests",
        network=options.pop("network", "e2e-net"),
        targets=parse_targets(targets),
        probe_timeout=2,
        wait_seconds=wait_seconds,
        **options,
    )
    sleeps = []
    return NetworkVerifier(FakeClient(api), opts, EventLog("shop", "r1"), lambda: next(clock), sleeps.append), sleeps

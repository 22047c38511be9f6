"""A fake Docker API for the helper container of the machine checks (the real one: tests/integration).

Fixtures (no helper module: see tests/unit/plugins/module_utils/ports/conftest.py):
``helper_api(**kwargs)`` makes a :class:`FakeHelperApi`: ``tables`` is the text the helper's
``cat /proc/net/...`` prints, ``disks`` maps a mounted source path to (total, free) KiB for its
``df -Pk``; ``images`` are present, ``exit_code``/``stderr`` end the helper, ``hang`` makes its
wait time out, ``refuse``/``down`` make the create fail with a 400 / a refused connection,
``fail_start`` the start with a 500.
"""

from __future__ import annotations

import pytest
import requests
from docker.errors import APIError, ImageNotFound

TCP = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0 100 0 0 10 0
   1: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1002 1 0 100 0 0 10 0
   2: 0100007F:1F93 0100007F:9C40 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0
   3: 0100007F:9C40 0100007F:1F94 01 00000000:00000000 00:00000000 00000000     0        0 1003 1 0
"""
TCP6 = """  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1F92 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000   33        0 2001 1 0 100 0 0 10 0
   1: 0000000000000000FFFF00000500000A:1F95 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000    7        0 2002 1 0 100 0 0 10 0
"""
UDP = """   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  100: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000   104        0 3001 2 0 0
"""
TABLES = f"@@ tcp\n{TCP}@@ udp\n{UDP}@@ tcp6\n{TCP6}"


def api_error(status: int, message: str, cls=APIError) -> APIError:
    response = requests.Response()
    response.status_code = status
    return cls(f"{status} Error", response=response, explanation=message)


class FakeHelperApi:
    """Answers the requests MachineHelper makes; records what it created and removed."""

    def __init__(
        self,
        tables=TABLES,
        disks=None,
        images=("busybox:latest",),
        exit_code=0,
        stderr=b"",
        hang=False,
        refuse=False,
        fail_start=False,
        down=False,
    ):
        self.tables = tables
        self.disks = disks or {}
        self.images = images
        self.exit_code = exit_code
        self.stderr = stderr
        self.hang = hang
        self.refuse = refuse
        self.fail_start = fail_start
        self.down = down
        self.timeout = 60
        self.created: list[dict] = []
        self.removed: list[str] = []

    def inspect_image(self, image):
        if image not in self.images:
            raise api_error(404, f"No such image: {image}", ImageNotFound)
        return {"Id": "sha256:img"}

    def create_host_config(self, **kwargs):
        return dict(kwargs)

    def create_container(self, image, **kwargs):
        if self.down:
            raise requests.exceptions.ConnectionError("connection refused")
        if self.refuse:
            raise api_error(400, "invalid mount config for type bind: bind source path does not exist: /nope")
        self.created.append(dict(kwargs, image=image))
        return {"Id": "c0ffee"}

    def start(self, container_id):
        if self.fail_start:
            raise api_error(500, "runc create failed: error setting rlimit type 7: operation not permitted")

    def wait(self, container_id, timeout=None):
        if self.hang:
            raise requests.exceptions.ReadTimeout("read timed out")
        return {"StatusCode": self.exit_code}

    def logs(self, container_id, stdout=True, stderr=True):
        if not stdout:
            return self.stderr
        script = self.created[-1]["command"][0]
        if "df -Pk" in script:
            lines = []
            for mount in self.created[-1]["host_config"]["mounts"]:
                total, free = self.disks[mount["Source"]]
                lines += [
                    f"@@ {mount['Target']}",
                    "Filesystem           1024-blocks    Used Available Capacity Mounted on",
                ]
                lines.append(f"/dev/long name  {total} {total - free} {free}  10% {mount['Target']}")
            return ("\n".join(lines) + "\n").encode()
        return self.tables.encode()

    def remove_container(self, name, force=False):
        self.removed.append(name)


@pytest.fixture
def helper_api():
    return FakeHelperApi


@pytest.fixture
def proc_net():
    """The socket tables the fake helper prints, by table, and all of them as the helper prints them."""
    return {"tcp": TCP, "tcp6": TCP6, "udp": UDP, "helper_output": TABLES}


@pytest.fixture
def podman_version():
    """GET /version of Debian's Podman 4.3 (its Docker-compatible API)."""
    return {
        "Platform": {"Name": "linux/amd64/debian-12"},
        "Components": [
            {"Name": "Podman Engine", "Version": "4.3.1", "Details": {"APIVersion": "4.3.1"}},
            {"Name": "Conmon", "Version": "conmon version 2.1.6, commit: unknown"},
        ],
        "Version": "4.3.1",
        "ApiVersion": "1.41",
    }

"""A second Docker host for the integration tests: its own dockerd on a "machine" of its own.

:class:`RemoteHost` makes a :class:`netns_dockerd.PrivateDockerd` the daemon of another machine,
reachable the two ways a real one is:

* a **network namespace** ``argus-remote<slot>`` joined to this machine by a veth pair
  (``10.217.<slot>.1`` here, ``10.217.<slot>.2`` there). Its dockerd also listens on
  ``tcp://10.217.<slot>.2:2375`` (no TLS: that address exists only between the two ends): a daemon
  on another machine for modules that run here. Ports it publishes, and sockets its processes
  bind, live there, not here;
* a **mount namespace** of its own (held by :attr:`RemoteHost.holder`): a private ``/run`` where
  ``/run/docker.sock`` is ITS daemon, so a module running there finds it at the default address
  as on any Docker host, and a 64 MiB tmpfs at ``<root>/disk`` that only that machine sees (a disk
  the tests can tell apart from this machine's);
* **SSH**: Debian's ``sshd`` (scripts/ensure_sshd.sh installs it) started in both namespaces on
  ``10.217.<slot>.2:22`` with a host key and config of its own, key-only root login with a
  generated key and a known_hosts entry, so Ansible manages it as inventory host ``remote1``
  (:meth:`RemoteHost.inventory`) with a **bare Python** (:func:`bare_python`: a venv of Debian's
  python3 with the Docker SDK and what it needs, nothing else: no PyYAML, no psutil, no Ansible).

The rest of the file system is shared (the same /tmp, /root and checkout). Slots 0-7 let test
sessions run side by side (a flock each). :meth:`RemoteHost.stop` removes everything: the daemon
and its containers, sshd and its sessions, every process in the machine's mount namespace, both
namespaces, the veth pair and the root directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.metadata
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docker
import pytest
import yaml
from netns_dockerd import Busy, PrivateDockerd, run

REPO_ROOT = Path(__file__).resolve().parents[2]
ROOT_BASE = Path(os.environ.get("ARGUS_REMOTE_ROOT", "/tmp"))
PYTHON_CACHE = REPO_ROOT / "build" / "remote-python"
SLOTS = 8
API_PORT = 2375
DISK_SIZE_MIB = 64
INVENTORY_NAME = "remote1"
START_TIMEOUT = 30.0

_HOLD = """
import signal, socket, sys
port, protocol = int(sys.argv[1]), sys.argv[2]
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM)
sock.bind(("0.0.0.0", port))
if protocol == "tcp":
    sock.listen()
print("ready", flush=True)
signal.pause()
"""
_SSHD_CONFIG = """\
ListenAddress {address}
Port 22
HostKey {ssh}/host_ed25519
PidFile {ssh}/sshd.pid
AuthorizedKeysFile {ssh}/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
X11Forwarding no
PrintMotd no
Subsystem sftp internal-sftp
"""


def _deadline_wait(what: str, ready, timeout: float = START_TIMEOUT, detail=lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready within {timeout:.0f} s {detail()}")
        time.sleep(0.05)


def _checked(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    out = run(cmd, **kwargs)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {out.returncode}: {out.stderr.strip()}")
    return out


# --------------------------------------------------------------------- the bare Python


def bare_python() -> Path:
    """The interpreter of a venv holding the Docker SDK (this suite's version) and nothing else.

    Built once from Debian's ``/usr/bin/python3`` (else the base of this Python) under
    build/remote-python/ and reused; pip installs into it from outside, so the venv has no pip.
    """
    base = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys._base_executable
    version = _checked([base, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]).stdout.strip()
    sdk = importlib.metadata.version("docker")
    target = PYTHON_CACHE / f"py{version}-docker{sdk}"
    python = target / "bin" / "python"
    if python.exists() and sdk_only(python):
        return python
    PYTHON_CACHE.mkdir(parents=True, exist_ok=True)
    with open(PYTHON_CACHE / ".lock", "w") as lock:
        # another session may be building the same venv: wait for it, within a deadline
        _deadline_wait("the bare Python's build lock", lambda: _try_lock(lock), timeout=300)
        if python.exists() and sdk_only(python):
            return python
        building = target.with_name(f"{target.name}.{os.getpid()}")
        shutil.rmtree(building, ignore_errors=True)
        _checked([base, "-m", "venv", "--without-pip", str(building)])
        pip = [sys.executable, "-m", "pip", "--python", str(building / "bin" / "python"), "install"]
        _checked([*pip, "--quiet", "--disable-pip-version-check", f"docker=={sdk}"], timeout=300)
        shutil.rmtree(target, ignore_errors=True)
        building.rename(target)
    if not sdk_only(python):
        raise RuntimeError(f"{python} is not a Python with only the Docker SDK")
    return python


def _try_lock(handle) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def sdk_only(python: Path) -> bool:
    """The Docker SDK imports; PyYAML, psutil and Ansible are not there."""
    probe = (
        "import importlib.util as u, docker, sys; sys.exit(any(u.find_spec(m) for m in ('yaml', 'psutil', 'ansible')))"
    )
    return run([str(python), "-c", probe]).returncode == 0


# --------------------------------------------------------------------- the host


@dataclass
class RemoteHost:
    """A started remote host; :meth:`start` makes one, :meth:`stop` removes it.

    ``address`` is the machine's address (``docker_host``: its daemon over TCP, for modules that run
    here), ``local_address`` this machine's end of the link, ``disk`` a 64 MiB tmpfs that only the
    remote machine sees (here: an empty directory of /tmp), ``key`` and ``known_hosts`` what an SSH
    client needs.
    """

    slot: int
    daemon: PrivateDockerd
    python: Path
    holder: subprocess.Popen | None = None
    sshd: subprocess.Popen | None = None
    mount_ns: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    name: str = INVENTORY_NAME

    def __post_init__(self) -> None:
        self.address = f"10.217.{self.slot}.2"
        self.local_address = f"10.217.{self.slot}.1"
        self.docker_host = f"tcp://{self.address}:{API_PORT}"
        self.root = self.daemon.root
        self.disk = self.root / "disk"
        self.ssh_dir = self.root / "ssh"
        self.key = self.ssh_dir / "id_ed25519"
        self.known_hosts = self.ssh_dir / "known_hosts"
        self.ssh_options = [
            *("-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "StrictHostKeyChecking=yes"),
            *("-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"),
        ]
        self.links = (f"argr{self.slot}h", f"argr{self.slot}n")

    # ------------------------------------------------------------------ use
    def enter(self, cmd: list[str]) -> list[str]:
        """``cmd`` run on the remote machine: in its mount and network namespaces."""
        assert self.holder is not None, "not started"
        return ["nsenter", f"--target={self.holder.pid}", "--mount", "--net", *cmd]

    def client(self, timeout: float = 30) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.docker_host, timeout=timeout, version="auto")

    def ssh(self, command: str, timeout: float = 30) -> subprocess.CompletedProcess:
        """``command`` run over SSH as root on the remote machine."""
        cmd = ["ssh", "-i", str(self.key), *self.ssh_options, f"root@{self.address}", command]
        return run(cmd, timeout=timeout)

    @contextlib.contextmanager
    def hold_port(self, port: int, protocol: str = "tcp", timeout: float = 10) -> Iterator[int]:
        """A process on the remote machine binds ``port`` on 0.0.0.0 (and listens, for tcp) meanwhile."""
        proc = subprocess.Popen(
            self.enter([sys.executable, "-c", _HOLD, str(port), protocol]),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            ready, _writable, _errors = select.select([proc.stdout], [], [], timeout)
            line = proc.stdout.readline() if ready else ""
            if line.strip() != "ready":
                raise RuntimeError(f"holding {port}/{protocol} there failed: {line} {proc.stderr.read()}")
            yield proc.pid
        finally:
            proc.kill()
            proc.communicate(timeout=10)

    def inventory(self, path: Path, localhost: bool = True) -> Path:
        """An inventory with ``remote1`` (SSH, the bare Python) and, with ``localhost``, this machine."""
        hosts: dict[str, dict] = {}
        if localhost:
            hosts["localhost"] = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
        hosts[self.name] = {
            "ansible_host": self.address,
            "ansible_user": "root",
            "ansible_ssh_private_key_file": str(self.key),
            "ansible_ssh_common_args": " ".join(self.ssh_options),
            "ansible_python_interpreter": str(self.python),
        }
        path.write_text(yaml.safe_dump({"all": {"hosts": hosts}}, sort_keys=False))
        return path

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def start(cls, image: str, source: docker.DockerClient) -> RemoteHost:
        """Start a remote host on the first free slot, with ``image`` copied to its daemon from ``source``."""
        began = time.monotonic()
        if not os.access("/usr/sbin/sshd", os.X_OK):
            _checked(["bash", str(REPO_ROOT / "scripts" / "ensure_sshd.sh")], timeout=600)
        python = bare_python()
        timings = {"bare_python": time.monotonic() - began}
        for slot in range(SLOTS):
            daemon = PrivateDockerd(
                root=ROOT_BASE / f"argus-remote{slot}",
                netns=f"argus-remote{slot}",
                bip="10.215.0.1/24",
                address_pool="base=10.216.0.0/16,size=24",
                start_timeout=START_TIMEOUT,
            )
            try:
                daemon.prepare()
            except Busy:
                continue
            host = cls(slot, daemon, python, timings=timings)
            try:
                host._start(image, source)
            except BaseException:
                host.stop()
                raise
            host.timings["total"] = time.monotonic() - began
            return host
        raise RuntimeError(f"all {SLOTS} remote-host slots are taken by other test sessions")

    def _start(self, image: str, source: docker.DockerClient) -> None:
        step = time.monotonic()
        self._link()
        self._machine()
        self.daemon.enter = self.enter([])
        self.daemon.extra_args = (f"--host={self.docker_host}", "--tls=false")
        self.timings["namespaces"] = time.monotonic() - step
        self.timings["dockerd"] = self.daemon.start()
        # the machine's own /run/docker.sock: its daemon, at the default address
        _checked(
            self.enter(["sh", "-c", f": > /run/docker.sock && mount --bind {self.daemon.socket} /run/docker.sock"])
        )
        step = time.monotonic()
        self._copy_image(image, source)
        self.timings["image"] = time.monotonic() - step
        step = time.monotonic()
        self._sshd()
        self.timings["sshd"] = time.monotonic() - step

    def _copy_image(self, image: str, source: docker.DockerClient) -> None:
        """``docker save | docker load`` through the SDK (the source may be Podman, which names it localhost/...)."""
        data = b"".join(source.images.get(image).save(named=True))
        with contextlib.closing(self.client(timeout=120)) as target:
            (loaded,) = target.images.load(data)
            repository, _colon, tag = image.rpartition(":")
            loaded.tag(repository, tag)

    def _link(self) -> None:
        here, there = self.links
        run(["ip", "link", "delete", here])  # left by a run that died
        _checked(["ip", "link", "add", here, "type", "veth", "peer", "name", there])
        _checked(["ip", "link", "set", there, "netns", self.daemon.netns])
        _checked(["ip", "addr", "add", f"{self.local_address}/30", "dev", here])
        _checked(["ip", "link", "set", here, "up"])
        _checked(["ip", "-n", self.daemon.netns, "addr", "add", f"{self.address}/30", "dev", there])
        _checked(["ip", "-n", self.daemon.netns, "link", "set", there, "up"])

    def _machine(self) -> None:
        """The mount namespace: held by a process whose command line names the root (so leftovers are found)."""
        self.holder = subprocess.Popen(
            [
                *self.daemon.in_netns(["unshare", "--mount", "--propagation", "slave"]),
                sys.executable,
                "-c",
                "import signal; signal.pause()",
                str(self.root / "machine"),
            ],
            start_new_session=True,
        )
        own = os.readlink("/proc/self/ns/mnt")

        def entered() -> bool:
            # only once unshare exec'd the holder is the namespace made private (--propagation slave):
            # a mount made there before that would show up on this machine
            with contextlib.suppress(OSError):
                argv0 = Path(f"/proc/{self.holder.pid}/cmdline").read_bytes().split(b"\0")[0]
                self.mount_ns = os.readlink(f"/proc/{self.holder.pid}/ns/mnt")
                return argv0 == sys.executable.encode() and self.mount_ns != own
            return False

        _deadline_wait("the remote machine's mount namespace", entered)
        self.disk.mkdir(parents=True, exist_ok=True)
        _checked(
            self.enter(
                [
                    "sh",
                    "-c",
                    "mount -t tmpfs -o mode=0755,size=16m argus-remote-run /run && mkdir -m 0755 /run/sshd && "
                    f"mount -t tmpfs -o size={DISK_SIZE_MIB}m argus-remote-disk {self.disk}",
                ]
            )
        )

    def _sshd(self) -> None:
        self.ssh_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        for key in ("host_ed25519", "id_ed25519"):
            _checked(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"argus-{key}", "-f", str(self.ssh_dir / key)]
            )
        shutil.copy(self.ssh_dir / "id_ed25519.pub", self.ssh_dir / "authorized_keys")
        host_key = (self.ssh_dir / "host_ed25519.pub").read_text().split()[:2]
        self.known_hosts.write_text(f"{self.address} {' '.join(host_key)}\n")
        config = self.ssh_dir / "sshd_config"
        config.write_text(_SSHD_CONFIG.format(address=self.address, ssh=self.ssh_dir))
        log = open(self.root / "sshd.log", "ab")  # noqa: SIM115 - sshd owns it for its lifetime
        self.sshd = subprocess.Popen(
            self.enter(["/usr/sbin/sshd", "-D", "-e", "-f", str(config)]),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

        def answers() -> bool:
            if self.sshd.poll() is not None:
                raise RuntimeError(f"sshd exited with {self.sshd.returncode}: {self._log('sshd.log')}")
            with contextlib.suppress(OSError), socket.create_connection((self.address, 22), timeout=1) as conn:
                return conn.recv(4).startswith(b"SSH-")
            return False

        _deadline_wait("sshd", answers, detail=lambda: self._log("sshd.log"))

    def _log(self, name: str) -> str:
        with contextlib.suppress(OSError):
            return (self.root / name).read_text(errors="replace")[-2000:]
        return ""

    def stop(self) -> None:
        """Remove everything :meth:`start` made (also after a failed start)."""
        try:
            if self.sshd is not None and self.sshd.poll() is None:
                self.sshd.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.sshd.wait(timeout=10)
            self.daemon.stop()  # containers, dockerd, processes naming the root (the holder), the netns
            self._kill_machine()
            if self.holder is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.holder.wait(timeout=10)
        finally:
            run(["ip", "link", "delete", self.links[0]])
            shutil.rmtree(self.root, ignore_errors=True)

    def _kill_machine(self) -> None:
        """Every process left in the machine's mount namespace (SSH sessions): only we put any there."""
        if not self.mount_ns:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = self._machine_pids()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            with contextlib.suppress(RuntimeError):
                _deadline_wait("the machine's processes to end", lambda: not self._machine_pids(), timeout=5)

    def _machine_pids(self) -> list[int]:
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if os.readlink(entry / "ns" / "mnt") == self.mount_ns:
                        pids.append(int(entry.name))
        return pids


# --------------------------------------------------------------------- the fixture (conftest.py imports it)


@pytest.fixture(scope="session")
def remote_host(docker_client, test_image) -> Iterator[RemoteHost]:
    """A started :class:`RemoteHost` with the test image; FAILS (never skips) when it cannot start."""
    if os.geteuid() != 0:
        pytest.fail("the remote host needs root (network and mount namespaces, a second dockerd)", pytrace=False)
    try:
        host = RemoteHost.start(test_image, docker_client)
    except Exception as exc:
        pytest.fail(f"the remote host did not start: {exc}", pytrace=False)
    yield host
    host.stop()

"""A private Docker daemon in its own network namespace: the second "machine" of the test suites.

:class:`PrivateDockerd` runs a SECOND ``dockerd`` that shares nothing mutable with the machine's
main daemon. The reliability suite (tests/chaos) kills, freezes and restarts it mid-setup; the
remote-host fixtures (tests/integration/remote_host.py) make it the daemon of another machine.

* its own API socket, ``--data-root``, ``--exec-root``, ``--pidfile`` and managed containerd
  (under the exec root), all below one directory (``root``);
* its own **network namespace** (``ip netns add <netns>``; only ``lo`` inside unless the caller
  adds a link). Two dockerds in one namespace fight over iptables: at start-up dockerd's bridge
  driver removes and rebuilds the ``DOCKER`` / ``DOCKER-ISOLATION-*`` chains, which would wipe the
  main daemon's port forwarding, and with ``--iptables=false`` the host's ``FORWARD DROP`` policy
  (``bridge-nf-call-iptables=1``) drops traffic between containers of the same user-defined
  network. In its own namespace the private daemon has its own empty iptables, its own bridges
  (``bip``, networks from ``address_pool``) and no route anywhere: its containers can reach each
  other and nothing else;
* ``--live-restore``, so a restart after ``kill -9`` reattaches to running containers instead of
  waiting 10 s per container that ignores SIGTERM.

``enter`` says how to enter its namespaces (default: ``nsenter --net=<netns>``; the remote host
enters a mount namespace of its own too) and ``extra_args`` adds dockerd flags (a TCP listener).

Only processes this object started are ever signalled (dockerd by its Popen handle; containerd,
shims and anything else started with the root directory in its command line, found by that path,
which no other process has).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker

MAIN_DOCKER_HOST = "unix:///var/run/docker.sock"


class Busy(RuntimeError):
    """Another run holds this daemon's root directory."""


def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)


@dataclass
class PrivateDockerd:
    """A private ``dockerd`` in its own network namespace. Call :meth:`start`, then :meth:`stop`."""

    root: Path = Path(os.environ.get("ARGUS_CHAOS_ROOT", "/tmp/argus-chaos"))
    netns: str = os.environ.get("ARGUS_CHAOS_NETNS", "argus-chaos")
    bip: str = "10.213.0.1/24"
    address_pool: str = "base=10.214.0.0/16,size=24"
    start_timeout: float = 60.0
    enter: list[str] | None = None  # how to enter its namespaces (default: nsenter --net=<netns>)
    extra_args: tuple[str, ...] = ()
    proc: subprocess.Popen | None = field(default=None, repr=False)
    starts: int = 0
    _lock_fd: int | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ paths
    def __post_init__(self) -> None:
        """Its paths, all below ``root`` (and the namespace's under /run/netns)."""
        self.socket = self.root / "docker.sock"
        self.docker_host = f"unix://{self.socket}"
        self.data_root = self.root / "data"
        self.exec_root = self.root / "exec"
        self.pidfile = self.root / "docker.pid"
        self.log_path = self.root / "dockerd.log"
        self.netns_path = Path("/run/netns") / self.netns

    def in_netns(self, cmd: list[str]) -> list[str]:
        """``cmd`` run inside the daemon's network namespace (where its published ports live)."""
        return [*(self.enter or ["nsenter", f"--net={self.netns_path}"]), *cmd]

    def env(self) -> dict[str, str]:
        """Environment entries that point the docker CLI, the SDK and the modules at this daemon."""
        return {"DOCKER_HOST": self.docker_host}

    def client(self, timeout: float = 30) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.docker_host, timeout=timeout, version="auto")

    # ------------------------------------------------------------- lifecycle
    def start(self) -> float:
        """Start (or restart) the daemon; return the seconds until it answered a ping."""
        if self._lock_fd is None:
            self.prepare()
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError("private dockerd is already running")
        # Left behind by kill -9. dockerd trusts a stale containerd pidfile and then waits in vain
        # for that containerd's socket, so drop it when no containerd of ours runs.
        self.pidfile.unlink(missing_ok=True)
        if not self.own_pids(names=("containerd",)):
            (self.exec_root / "containerd" / "containerd.pid").unlink(missing_ok=True)
        cmd = self.in_netns(
            [
                "dockerd",
                f"--host={self.docker_host}",
                f"--data-root={self.data_root}",
                f"--exec-root={self.exec_root}",
                f"--pidfile={self.pidfile}",
                f"--bip={self.bip}",
                f"--default-address-pool={self.address_pool}",
                "--iptables=true",  # the namespace's own, empty iptables
                "--ip-masq=false",  # nothing leaves the namespace anyway
                "--live-restore",
                "--storage-driver=overlay2",
                "--log-level=warn",
                *self.extra_args,
            ]
        )
        log = open(self.log_path, "ab")  # noqa: SIM115 - the daemon owns it for its lifetime
        began = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.starts += 1
        self.wait_ready(began)
        return time.monotonic() - began

    def wait_ready(self, began: float | None = None) -> None:
        began = time.monotonic() if began is None else began
        last: Exception | None = None
        while time.monotonic() - began < self.start_timeout:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"private dockerd exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with contextlib.closing(docker.APIClient(base_url=self.docker_host, timeout=2)) as api:
                    api.ping()
                    return
            except Exception as exc:  # not up yet
                last = exc
                time.sleep(0.2)
        raise RuntimeError(f"private dockerd did not answer within {self.start_timeout}s ({last}):\n{self.log_tail()}")

    def kill9(self) -> None:
        """``kill -9`` the daemon and its managed containerd; the shims and containers live on.

        With ``--live-restore`` a lone containerd survives dockerd but dies or wedges on its next
        log line (its stdout was dockerd's pipe), so the crash takes both, as a host crash of the
        engine would; the next :meth:`start` reattaches to the running containers.
        """
        assert self.proc is not None, "not started"
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        for pid in self.own_pids(names=("containerd",)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while self.own_pids(names=("containerd",)) and time.monotonic() < deadline:
            time.sleep(0.05)

    def freeze(self) -> None:
        """SIGSTOP: the socket accepts connections but nothing answers (a hung daemon)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def is_running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def restart(self) -> float:
        if self.is_running():
            self.kill9()
        return self.start()

    def stop(self) -> None:
        """Remove everything in the daemon, stop it, unmount, delete its directory and namespace."""
        try:
            if self.is_running():
                with contextlib.suppress(Exception):
                    self.thaw()
                    self.wipe()
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=10)
            self._kill_leftovers()
            self._unmount_all()
            shutil.rmtree(self.root, ignore_errors=True)
            if self.netns_path.exists():
                run(["ip", "netns", "delete", self.netns])
        finally:
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None

    def wipe(self) -> None:
        """Remove every container, network and volume of the PRIVATE daemon (all of them are ours)."""
        with contextlib.closing(self.client()) as client:
            for container in client.containers.list(all=True):
                with contextlib.suppress(Exception):
                    container.remove(force=True, v=True)
            for network in client.networks.list():
                if network.name not in ("bridge", "host", "none"):
                    with contextlib.suppress(Exception):
                        network.remove()
            with contextlib.suppress(Exception):
                client.volumes.prune()  # the private daemon's volumes only

    def load_image(self, image: str) -> None:
        """Copy ``image`` from the main daemon into this one (``docker save | docker load``)."""
        save = subprocess.Popen(["docker", "-H", MAIN_DOCKER_HOST, "save", image], stdout=subprocess.PIPE)
        load = run(["docker", "-H", self.docker_host, "load"], stdin=save.stdout)
        save.stdout.close()
        save.wait(timeout=120)
        if save.returncode != 0 or load.returncode != 0:
            raise RuntimeError(f"could not load {image} into the private daemon: {load.stderr}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # ---------------------------------------------------------------- helpers
    def prepare(self) -> None:
        """Lock the root directory (:class:`Busy` when another run has it), clean up after a run that
        died without :meth:`stop`, create the directory and the network namespace."""
        self.root.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.root.parent / f".{self.root.name}.lock"
        lock_fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(lock_fd)
            raise Busy(f"another run holds {lock_path}") from exc
        self._lock_fd = lock_fd
        # A previous run that died without stop(): clean its daemon up (found by OUR paths only).
        self._kill_leftovers()
        self._unmount_all()
        shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir(parents=True)
        if not self.netns_path.exists():
            out = run(["ip", "netns", "add", self.netns])
            if out.returncode != 0:
                raise RuntimeError(f"ip netns add {self.netns}: {out.stderr}")
        run(["ip", "netns", "exec", self.netns, "ip", "link", "set", "lo", "up"])

    def own_pids(self, names: tuple[str, ...] = ()) -> list[int]:
        """Processes whose command line names this daemon's root directory (started by us)."""
        marker = str(self.root) + "/"
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if not argv or not argv[0]:
                continue
            if names and Path(argv[0].decode(errors="replace")).name not in names:
                continue
            if any(marker in part.decode(errors="replace") for part in argv):
                pids.append(int(entry.name))
        return pids

    def _kill_leftovers(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = self.own_pids()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + 5
            while self.own_pids() and time.monotonic() < deadline:
                time.sleep(0.1)

    def _unmount_all(self) -> None:
        prefix = str(self.root) + "/"
        mounts = []
        with contextlib.suppress(OSError), open("/proc/mounts") as fh:
            for line in fh:
                target = line.split()[1].replace("\\040", " ")
                if target.startswith(prefix) or target == str(self.root):
                    mounts.append(target)
        for target in sorted(mounts, key=len, reverse=True):
            run(["umount", "-l", target])

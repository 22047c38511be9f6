"""A private Docker daemon for fault injection, and the measurement log of the reliability suite.

:class:`PrivateDockerd` runs a SECOND ``dockerd`` that shares nothing mutable with the machine's
main daemon, so the suite can ``kill -9`` it, freeze it and restart it in the middle of a setup:

* its own API socket, ``--data-root``, ``--exec-root``, ``--pidfile`` and managed containerd
  (under the exec root), all below one directory (default ``/tmp/argus-chaos``);
* its own **network namespace** (``ip netns add argus-chaos``; only ``lo`` inside). Two dockerds
  in one namespace fight over iptables: at start-up dockerd's bridge driver removes and rebuilds
  the ``DOCKER`` / ``DOCKER-ISOLATION-*`` chains, which would wipe the main daemon's port
  forwarding, and with ``--iptables=false`` the host's ``FORWARD DROP`` policy
  (``bridge-nf-call-iptables=1``) drops traffic between containers of the same user-defined
  network. In its own namespace the private daemon has its own empty iptables, its own bridges
  (``--bip 10.213.0.1/24``, networks from ``10.214.0.0/16``) and no route anywhere: its
  containers can reach each other and nothing else;
* ``--live-restore``, so a restart after ``kill -9`` reattaches to running containers instead of
  waiting 10 s per container that ignores SIGTERM.

Host ports published by the private daemon are bound inside its namespace, not on the host, so
scenarios about host ports (port races) use the main daemon with unique project names.

Only processes this object started are ever signalled (dockerd by its Popen handle; containerd
and shims found by the private exec-root path in their command line, which no other process has).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
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
TEST_IMAGE = "argusai/testbox:latest"  # as tests/integration/conftest.py
TRACEBACK = "Traceback (most recent call last)"


def _run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)


@dataclass
class PrivateDockerd:
    """A private ``dockerd`` in its own network namespace. Call :meth:`start`, then :meth:`stop`."""

    root: Path = Path(os.environ.get("ARGUS_CHAOS_ROOT", "/tmp/argus-chaos"))
    netns: str = os.environ.get("ARGUS_CHAOS_NETNS", "argus-chaos")
    bip: str = "10.213.0.1/24"
    address_pool: str = "base=10.214.0.0/16,size=24"
    start_timeout: float = 60.0
    proc: subprocess.Popen | None = field(default=None, repr=False)
    starts: int = 0
    _lock_fd: int | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ paths
    @property
    def socket(self) -> Path:
        return self.root / "docker.sock"

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket}"

    @property
    def data_root(self) -> Path:
        return self.root / "data"

    @property
    def exec_root(self) -> Path:
        return self.root / "exec"

    @property
    def pidfile(self) -> Path:
        return self.root / "docker.pid"

    @property
    def log_path(self) -> Path:
        return self.root / "dockerd.log"

    @property
    def netns_path(self) -> Path:
        return Path("/run/netns") / self.netns

    def in_netns(self, cmd: list[str]) -> list[str]:
        """``cmd`` run inside the daemon's network namespace (where its published ports live)."""
        return ["nsenter", f"--net={self.netns_path}", *cmd]

    def env(self) -> dict[str, str]:
        """Environment entries that point the docker CLI, the SDK and the modules at this daemon."""
        return {"DOCKER_HOST": self.docker_host}

    def client(self, timeout: float = 30) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.docker_host, timeout=timeout, version="auto")

    # ------------------------------------------------------------- lifecycle
    def start(self) -> float:
        """Start (or restart) the daemon; return the seconds until it answered a ping."""
        if self.starts == 0:
            self._prepare()
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError("private dockerd is already running")
        # Left behind by kill -9. dockerd trusts a stale containerd pidfile and then waits in vain
        # for that containerd's socket, so drop it when no containerd of ours runs.
        self.pidfile.unlink(missing_ok=True)
        if not self._own_pids(names=("containerd",)):
            (self.exec_root / "containerd" / "containerd.pid").unlink(missing_ok=True)
        cmd = [
            "nsenter",
            f"--net={self.netns_path}",
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
        ]
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
        for pid in self._own_pids(names=("containerd",)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while self._own_pids(names=("containerd",)) and time.monotonic() < deadline:
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
                _run(["ip", "netns", "delete", self.netns])
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
        load = _run(["docker", "-H", self.docker_host, "load"], stdin=save.stdout)
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
    def _prepare(self) -> None:
        self.root.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.root.parent / f".{self.root.name}.lock"
        self._lock_fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise RuntimeError(f"another chaos run holds {lock_path}") from exc
        # A previous run that died without stop(): clean its daemon up (found by OUR paths only).
        self._kill_leftovers()
        self._unmount_all()
        shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir(parents=True)
        if not self.netns_path.exists():
            out = _run(["ip", "netns", "add", self.netns])
            if out.returncode != 0:
                raise RuntimeError(f"ip netns add {self.netns}: {out.stderr}")
        _run(["ip", "netns", "exec", self.netns, "ip", "link", "set", "lo", "up"])

    def _own_pids(self, names: tuple[str, ...] = ()) -> list[int]:
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
            pids = self._own_pids()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + 5
            while self._own_pids() and time.monotonic() < deadline:
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
            _run(["umount", "-l", target])


# --------------------------------------------------------------------- measurements
@dataclass
class Measurement:
    """One row of docs/reliability.md."""

    scenario: str  # stable id, e.g. "daemon_loss.kill9_mid_setup"
    fault: str  # what was injected
    behaviour: str  # what the collection did
    seconds: float  # how long it took (the relevant interval, described in `measured`)
    measured: str = ""  # what `seconds` measures
    details: dict[str, Any] = field(default_factory=dict)
    test: str = ""
    outcome: str = "unknown"  # passed / failed


class Recorder:
    """Collects measurements during the session and merges them into a JSON file at the end."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows: list[Measurement] = []
        self.current_test = ""
        self.outcomes: dict[str, str] = {}
        self.machine = f"{os.cpu_count()} vCPU, Docker Engine (private dockerd) {_engine_version()}"

    def record(self, scenario: str, fault: str, behaviour: str, seconds: float, measured: str = "", **details: Any):
        """One row. Tests record a row after asserting what it states, so it passed, unless
        ``problems`` (soft failures collected instead of raised) is non-empty."""
        row = Measurement(scenario, fault, behaviour, round(float(seconds), 3), measured, details, self.current_test)
        row.outcome = "failed" if details.get("problems") else "passed"
        self.rows.append(row)
        return row

    def set_outcome(self, test: str, outcome: str) -> None:
        self.outcomes[test] = outcome

    def save(self) -> None:
        if not self.rows:
            return
        existing: dict[str, Any] = {}
        if self.path.exists():
            try:
                existing = {r["scenario"]: r for r in json.loads(self.path.read_text()).get("rows", [])}
            except (ValueError, AttributeError, TypeError):
                existing = {}
        fresh = {row.scenario for row in self.rows}
        for row in existing.values():
            # a test that failed this time before recording must not keep an old "passed" row
            if row["scenario"] not in fresh and self.outcomes.get(row.get("test")) == "failed":
                row["outcome"] = "failed"
                row["behaviour"] = "FAILED before measuring in the last run: " + row["behaviour"].split(": ", 1)[-1]
        for row in self.rows:
            existing[row.scenario] = row.__dict__
        payload = {
            "generated_by": "tests/chaos (make chaos)",
            "machine": self.machine,
            "updated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "rows": sorted(existing.values(), key=lambda r: r["scenario"]),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")


def _engine_version() -> str:
    out = _run(["dockerd", "--version"])
    return out.stdout.split(",")[0].replace("Docker version", "").strip() if out.returncode == 0 else "?"


# --------------------------------------------------------------------- helpers for the tests
def assert_no_traceback(*texts: str) -> None:
    for text in texts:
        assert TRACEBACK not in (text or ""), text[-4000:]


def count_resources(client) -> dict[str, int]:
    return {
        "containers": len(client.api.containers(all=True)),
        "networks": len(client.networks.list()),
        "volumes": len(client.volumes.list()),
    }


def inventory_of(client) -> set[tuple[str, str]]:
    """(type, id) of every container, network and volume: to prove nothing foreign was removed."""
    # the raw list: containers.list() inspects each one and races with auto-removed helpers
    items = {("container", c["Id"]) for c in client.api.containers(all=True)}
    items |= {("network", n.id) for n in client.networks.list()}
    items |= {("volume", v.name) for v in client.volumes.list()}
    return items


# --------------------------------------------------------------------- e2e projects
HEALTHY_HTTPD = ["httpd", "-f", "-p", "8080"]
NC_HEALTHCHECK = {"test": "nc -w 1 127.0.0.1 8080 </dev/null", "interval": 0.5, "timeout": 1, "retries": 30}


def service(name: str, command: list[str] | str | None = None, ports: list | None = None, **extra: Any) -> dict:
    """A small httpd service of the test image (healthy when port 8080 accepts)."""
    spec = {
        "name": name,
        "image": TEST_IMAGE,
        "command": command or HEALTHY_HTTPD,
        "ports": ports if ports is not None else [8080],
        "healthcheck": dict(NC_HEALTHCHECK),
    }
    spec.update(extra)
    return spec


def e2e_config(
    project: str,
    services: list[dict] | None = None,
    test: bool = True,
    resilience: dict | None = None,
    **sections: Any,
) -> dict[str, Any]:
    """An e2e.yaml document (as a dict) with fast, test-friendly resilience settings."""
    res: dict[str, Any] = {
        "preflight": {"disk_threshold_gb": 0.1},
        "container": {
            "max_restarts": 2,
            "backoff_initial_ms": 100,
            "backoff_max_ms": 400,
            "stable_seconds": 1,
            "startup_timeout": 20,
        },
        "network": {"wait_seconds": 5},
    }
    for key, value in (resilience or {}).items():
        res[key] = {**res.get(key, {}), **value} if isinstance(value, dict) else value
    cfg: dict[str, Any] = {
        "project": project,
        "services": services if services is not None else [service(f"{project}-api")],
        "resilience": res,
    }
    if test:
        cfg["test"] = {"name": f"{project}-tests", "image": TEST_IMAGE, "command": "sleep 3600"}
    cfg.update(sections)
    return cfg


def project_resources(client, project: str) -> list[dict[str, str]]:
    """Every container, network and volume labeled for ``project``: type, name, run id, managed."""
    flt = {"label": f"argusai.project={project}"}
    rows = []
    for c in client.api.containers(all=True, filters=flt):  # raw: no inspect race with auto-removed helpers
        rows.append({"type": "container", "name": c["Names"][0].lstrip("/"), **_label_info(c.get("Labels") or {})})
    for n in client.networks.list(filters=flt):
        rows.append({"type": "network", "name": n.name, **_label_info(n.attrs.get("Labels") or {})})
    for v in client.volumes.list(filters=flt):
        rows.append({"type": "volume", "name": v.name, **_label_info(v.attrs.get("Labels") or {})})
    return rows


def _label_info(labels: dict) -> dict[str, str]:
    return {"run_id": labels.get("argusai.run-id", ""), "managed": labels.get("argusai.managed", "")}

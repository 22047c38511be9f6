"""The reliability suite's harness: the private daemon, the measurement log, helpers for the tests.

:class:`PrivateDockerd` (tests/integration/netns_dockerd.py, shared with the remote-host fixtures)
runs a SECOND ``dockerd`` in its own network namespace, sharing nothing mutable with the machine's
main daemon, so the suite can ``kill -9`` it, freeze it and restart it in the middle of a setup.
Here it lives below ``/tmp/argus-chaos`` (``ARGUS_CHAOS_ROOT``) in the namespace ``argus-chaos``
(``ARGUS_CHAOS_NETNS``), with bridges from ``10.213.0.1/24`` and ``10.214.0.0/16``.

Host ports published by the private daemon are bound inside its namespace, not on the host, so
scenarios about host ports (port races) use the main daemon with unique project names.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from netns_dockerd import MAIN_DOCKER_HOST, PrivateDockerd, run  # noqa: E402,F401  # pylint: disable=unused-import

TEST_IMAGE = "argusai/testbox:latest"  # as tests/integration/conftest.py
TRACEBACK = "Traceback (most recent call last)"


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
    out = run(["dockerd", "--version"])
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
        "container_name": name,  # the chaos scenarios name containers themselves
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
        cfg["test"] = {
            "name": "tests",
            "container_name": f"{project}-tests",
            "image": TEST_IMAGE,
            "command": "sleep 3600",
        }
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

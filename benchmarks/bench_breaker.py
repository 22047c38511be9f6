"""Wall time of a task refused by an open circuit breaker vs a task that reaches a dead daemon.

Run: ``.venv/bin/python benchmarks/bench_breaker.py [--pairs N]``

What is timed: per task, from ``v2_playbook_on_task_start`` to ``v2_runner_on_failed`` as
ansible-playbook's main process sees them (worker fork, action plugin, module if sent, result
queue), recorded by a small timing callback next to ``argusai.resilience.argus_events``; process
start-up is not in the figures. Tasks alternate in the same playbook run (refused, dead, refused,
dead, ...) so both see the same machine load:

* refused    - argus_preflight of a project whose breaker is open: CIRCUIT_OPEN, module not sent
* refused    - the baseline it replaces, two ways the Docker host can be dead:
  - refused connection  (``tcp://127.0.0.1:<closed port>``: the fastest possible failure)
  - hung daemon         (a loopback socket that accepts and never answers: fails at daemon_timeout)

Prints the figures and the ratios; never asserts (the target for a refusal is < 50 ms).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import machine

REPO = Path(__file__).resolve().parents[1]
PLAYBOOK_BIN = REPO / ".venv" / "bin" / "ansible-playbook"
TIMING_CALLBACK = """
import json, os, time
from ansible.plugins.callback import CallbackBase

class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timing"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.start = None
        self.rows = []

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.start = (task.get_name(), time.perf_counter())

    def _done(self, result):
        name, started = self.start
        error = (result._result.get("error") or {}).get("code")
        self.rows.append({"task": name, "seconds": time.perf_counter() - started, "code": error})

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._done(result)

    def v2_runner_on_ok(self, result):
        self._done(result)

    def v2_playbook_on_stats(self, stats):
        with open(os.environ["BENCH_TIMING_OUT"], "w") as handle:
            json.dump(self.rows, handle)
"""


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(tmp: Path, tasks: list[dict], name: str) -> list[dict]:
    import yaml

    play = [{"name": name, "hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    path = tmp / f"{name}.yml"
    path.write_text(yaml.safe_dump(play, sort_keys=False))
    out = tmp / f"{name}.json"
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(REPO / "build" / "collections"),
        ANSIBLE_CACHE_PLUGIN_CONNECTION=str(tmp / "facts"),
        ANSIBLE_CALLBACK_PLUGINS=str(tmp / "callbacks"),
        ANSIBLE_CALLBACKS_ENABLED="argusai.resilience.argus_events,bench_timing",
        ARGUS_EVENTS_PATH=str(tmp / "events.jsonl"),
        ARGUS_EVENTS_SUMMARY="false",
        BENCH_TIMING_OUT=str(out),
    )
    proc = subprocess.run([str(PLAYBOOK_BIN), str(path)], env=env, capture_output=True, text=True, check=False)
    if not out.exists():
        sys.exit(f"benchmark play {name} broke:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(out.read_text())


def preflight(name: str, project: str, docker_host: str, timeout: float) -> dict:
    args = {
        "project": project,
        "docker_host": docker_host,
        "daemon_timeout": timeout,
        "timeout": max(1, int(timeout)),
        "skip_disk_check": True,
        "skip_orphan_check": True,
    }
    return {"name": name, "argusai.resilience.argus_preflight": args, "ignore_errors": True}


def figures(rows: list[dict], prefix: str, code: str) -> list[float]:
    picked = [row for row in rows if row["task"].startswith(prefix)]
    bad = [row for row in picked if row["code"] != code]
    if bad:
        sys.exit(f"{prefix}: expected {code}, got {bad[:2]}")
    return [row["seconds"] * 1000 for row in picked]


def describe(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return f"median {statistics.median(values):8.1f} ms   mean {statistics.fmean(values):8.1f} ms   p95 {p95:8.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--pairs", type=int, default=15, help="refused/dead pairs per baseline (default 15)")
    parser.add_argument("--hung-pairs", type=int, default=4, help="pairs against the hung daemon (default 4)")
    parser.add_argument("--daemon-timeout", type=float, default=2.0, help="daemon_timeout for the hung daemon")
    options = parser.parse_args()
    print(machine())

    with tempfile.TemporaryDirectory(prefix="bench-breaker-") as name:
        tmp = Path(name)
        (tmp / "callbacks").mkdir()
        (tmp / "callbacks" / "bench_timing.py").write_text(TIMING_CALLBACK)
        dead = f"tcp://127.0.0.1:{closed_port()}"
        hung = socket.socket()  # accepts connections (backlog) and never answers
        hung.bind(("127.0.0.1", 0))
        hung.listen(64)
        hung_host = f"tcp://127.0.0.1:{hung.getsockname()[1]}"

        # Open the breaker of project "bench-open" (5 consecutive DOCKER_UNAVAILABLE).
        run(tmp, [preflight(f"open {i}", "bench-open", dead, 1) for i in range(5)], "open-the-breaker")

        tasks = []
        for i in range(options.pairs):
            tasks.append(preflight(f"refused {i}", "bench-open", dead, 1))
            # a fresh project per task: its breaker never opens, every task reaches the dead address
            tasks.append(preflight(f"dead {i}", f"bench-dead-{i}", dead, 1))
        for i in range(options.hung_pairs):
            tasks.append(preflight(f"refused-h {i}", "bench-open", hung_host, options.daemon_timeout))
            tasks.append(preflight(f"hung {i}", f"bench-hung-{i}", hung_host, options.daemon_timeout))
        rows = run(tmp, tasks, "measure")
        hung.close()

    refused = figures(rows, "refused", "CIRCUIT_OPEN")
    dead_ms = figures(rows, "dead", "DOCKER_UNAVAILABLE")
    hung_ms = figures(rows, "hung", "DOCKER_UNAVAILABLE")
    print("Per-task wall time (task start -> result, main process), tasks alternating in one run")
    for label, values in (
        ("refused by the open breaker", refused),
        ("dead daemon, refused conn.", dead_ms),
        (f"hung daemon (timeout {options.daemon_timeout:g}s)", hung_ms),
    ):
        print(f"  {label:<30} n={len(values):3d}  {describe(values)}")
    print(
        f"Ratio (median): dead/refused = {statistics.median(dead_ms) / statistics.median(refused):.1f}x, "
        f"hung/refused = {statistics.median(hung_ms) / statistics.median(refused):.1f}x"
    )
    median = statistics.median(refused)
    print(
        f"FIGURE breaker refusal: {median:8.1f} ms   anchor: the goal itself, 50 ms   "
        f"(a task reaching a dead daemon: {statistics.median(dead_ms):.0f} ms)   "
        f"goal <= 50 ms   {'met' if median <= 50 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()

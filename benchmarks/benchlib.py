"""What the benchmarks share: the machine they ran on, Ansible's environment, the figure lines.

Not a benchmark itself (``make bench`` runs ``benchmarks/bench_*.py``).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
# The fact cache of the benchmark's own runs (breakers, remembered config files), removed when it
# exits: never the checkout's .cache/facts, where a failed round could open a developer's breaker.
_FACTS = tempfile.TemporaryDirectory(prefix="argus-bench-facts-")


def ansible_env(**extra: str) -> dict[str, str]:
    """The environment of an ``ansible``/``ansible-playbook`` run of this checkout (no colours)."""
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
            "ANSIBLE_COLLECTIONS_PATH": str(ROOT / "build" / "collections"),
            "ANSIBLE_CACHE_PLUGIN_CONNECTION": _FACTS.name,
            "ANSIBLE_NOCOLOR": "1",
            "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        }
    )
    env.update(extra)
    return env


def machine() -> str:
    """nproc, memory, Docker and ansible-core versions: the line every benchmark prints first."""
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    docker = subprocess.run(
        ["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True, check=False
    ).stdout.strip()
    try:
        from ansible.release import __version__ as ansible_core
    except ImportError:  # pragma: no cover - the venv has it
        ansible_core = "?"
    load = os.getloadavg()[0]
    return (
        f"machine: nproc {os.cpu_count()}, memory {memory_gib:.1f} GiB, Docker {docker or '?'}, "
        f"ansible-core {ansible_core}, Python {sys.version.split()[0]}, load average {load:.1f} at start"
    )


def figure(
    name: str,
    ours: list[float],
    anchor_name: str,
    anchor: list[float],
    goal: float,
    centre: Callable[[list[float]], float] = statistics.median,
) -> bool:
    """Print one goal line: our figure and the anchor's (seconds in, ms out; the median unless
    ``centre`` says otherwise), the ratio and whether the goal is met."""
    ours_ms, anchor_ms = centre(ours) * 1000, centre(anchor) * 1000
    ratio = ours_ms / anchor_ms if anchor_ms else float("inf")
    met = ratio <= goal
    print(
        f"FIGURE {name}: {ours_ms:8.0f} ms   anchor {anchor_name}: {anchor_ms:8.0f} ms   "
        f"ratio {ratio:5.2f}x   goal <= {goal:g}x   {'met' if met else 'NOT met'}",
        flush=True,
    )
    return met

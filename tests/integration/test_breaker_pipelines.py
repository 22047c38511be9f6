"""The circuit breaker where pipelines run: ansible-runner, and two controllers sharing Redis.

ansible-runner (PyPI ``ansible-runner``, the engine under AWX): ``ansible-runner run`` sets
``ANSIBLE_CACHE_PLUGIN=jsonfile`` with a connection inside ``artifacts/<ident>/`` of that one run,
after applying ``env/envvars``. The tests run it twice per private data directory: by default the
second run has forgotten the breaker the first one opened (and the callback says so); with the
documented recipe (``fact_cache: <absolute dir>`` in ``env/settings``) the second run refuses.

Shared Redis: a real ``redis-server`` (Debian's, installed by scripts/ensure_pipeline_tools.sh) is
started here on a free loopback port and stopped after. Two controllers, each with its own HOME,
TMPDIR, ansible.cfg, inventory and events file, use it as their fact cache through
community.general's ``redis`` cache plugin (extracted by the same script); Redis is the only thing
they share. A breaker opened on one refuses on the other, is reset from either and closed by a
probe from the other.

"Not sent" is proven as in test_circuit_breaker.py: every preflight runs through an interpreter
wrapper that counts module executions, and a refused result has no report and no preflight events.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import COLLECTIONS_PATH, REPO_ROOT, VENV_BIN
from test_circuit_breaker import CIRCUIT, FAST, PREFLIGHT, Runner, assert_not_sent, assert_sent, closed_port

pytestmark = pytest.mark.integration

ENSURE_TOOLS = REPO_ROOT / "scripts" / "ensure_pipeline_tools.sh"
PIPELINE_COLLECTIONS = REPO_ROOT / "build" / "pipeline-collections"
THRESHOLD = {"failure_threshold": 2}
FORGOTTEN = "argus_events: ansible-runner keeps facts in"
RUN_TIMEOUT = 180


@pytest.fixture(scope="session")
def pipeline_tools() -> None:
    """redis-server, community.general and (in this test Python) ansible-runner + redis, or FAIL."""
    proc = subprocess.run(
        ["bash", str(ENSURE_TOOLS), sys.executable], capture_output=True, text=True, timeout=900, check=False
    )
    if proc.returncode != 0:
        pytest.fail(f"{ENSURE_TOOLS.name} failed (rc={proc.returncode}):\n{proc.stdout}{proc.stderr}", pytrace=False)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without the dev loop's Ansible and callback settings, the venv first on PATH."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ANSIBLE_", "ARGUS_"))}
    env.update(
        {"PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}", "ANSIBLE_NOCOLOR": "1", "PYTHONUNBUFFERED": "1"}
    )
    env.update(extra)
    return env


def counted_inventory(host: str, counter: Runner) -> str:
    """A one-host inventory: local connection, the breaker threshold, and the counting interpreter
    of ``counter`` (test_circuit_breaker's Runner, used here only for it) for the preflights."""
    host_vars = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    group_vars = {"counting_python": str(counter.interpreter), "argus_circuit_breaker": THRESHOLD}
    return yaml.safe_dump({"all": {"hosts": {host: host_vars}, "vars": group_vars}})


def preflight(name: str, project: str, docker_host: str | None = None) -> dict[str, Any]:
    """A preflight task run through the host's counting interpreter (the inventory's ``counting_python``)."""
    args = {"project": project, **FAST, **({"docker_host": docker_host} if docker_host else {})}
    counted = {"ansible_python_interpreter": "{{ counting_python }}"}
    return {"name": name, PREFLIGHT: args, "register": name, "ignore_errors": True, "vars": counted}


def status(project: str, register: str) -> dict[str, Any]:
    return {"name": register, CIRCUIT: {"project": project}, "register": register}


def reset(project: str, register: str) -> dict[str, Any]:
    return {"name": register, CIRCUIT: {"project": project, "state": "reset"}, "register": register}


def results_play(hosts: str, tasks: list[dict[str, Any]], out: Path) -> list[dict[str, Any]]:
    """A play running ``tasks`` and writing every registered result to ``out`` as JSON."""
    names = [task["register"] for task in tasks]
    collect = "{{ {" + ", ".join(f"'{n}': {n} | default(None)" for n in names) + "} | to_json }}"
    write = {
        "name": "write the results",
        "ansible.builtin.copy": {"content": collect, "dest": str(out), "mode": "0600"},
    }
    return [{"name": "breaker", "hosts": hosts, "gather_facts": False, "tasks": [*tasks, write]}]


def read_results(out: Path, proc: subprocess.CompletedProcess) -> dict[str, Any]:
    if not out.exists():
        pytest.fail(f"the play broke (rc={proc.returncode})\n{proc.stdout}\n{proc.stderr}", pytrace=False)
    return json.loads(out.read_text())


# -- ansible-runner ----------------------------------------------------------------------------


class RunnerJob:
    """A private data directory run with ``ansible-runner run`` several times, like a CI job."""

    def __init__(self, tmp_path: Path, settings: dict[str, Any] | None) -> None:
        self.tmp = tmp_path
        self.pdd = tmp_path / "pdd"
        self.counter = Runner(tmp_path)
        self.dead = f"unix://{tmp_path / 'dead.sock'}"
        self.runs = 0
        for sub in ("project", "inventory", "env"):
            (self.pdd / sub).mkdir(parents=True)
        # The project's ansible.cfg, as users write it; its fact cache is what the runner replaces.
        (self.pdd / "project" / "ansible.cfg").write_text(
            "[defaults]\n"
            f"collections_path = {COLLECTIONS_PATH}\n"
            "callbacks_enabled = argusai.resilience.argus_events\n"
            "fact_caching = jsonfile\n"
            f"fact_caching_connection = {tmp_path / 'cfg-facts'}\n"
            "fact_caching_timeout = 0\n"
            "[callback_argus_events]\n"
            f"events_path = {tmp_path / 'events.jsonl'}\n"
        )
        (self.pdd / "inventory" / "hosts.yml").write_text(counted_inventory("localhost", self.counter))
        if settings:
            (self.pdd / "env" / "settings").write_text(yaml.safe_dump(settings))

    def run(self, tasks: list[dict[str, Any]]) -> tuple[dict[str, Any], subprocess.CompletedProcess]:
        self.runs += 1
        out = self.tmp / f"results-{self.runs}.json"
        playbook = f"run{self.runs}.yml"
        (self.pdd / "project" / playbook).write_text(yaml.safe_dump(results_play("all", tasks, out), sort_keys=False))
        proc = subprocess.run(
            [str(VENV_BIN / "ansible-runner"), "run", str(self.pdd), "-p", playbook],
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
        return read_results(out, proc), proc

    def run_caches(self) -> list[Path]:
        """The per-run fact cache directories the runner made."""
        return sorted((self.pdd / "artifacts").glob("*/fact_cache"))


def test_runner_default_fact_cache_forgets_the_breaker_and_says_so(pipeline_tools, tmp_path):
    job = RunnerJob(tmp_path, settings=None)
    project = f"rn-{secrets.token_hex(4)}"

    results, proc = job.run([preflight("dead1", project, job.dead), preflight("dead2", project, job.dead)])
    assert results["dead2"]["argus_circuit"]["state"] == "open", results["dead2"]
    assert FORGOTTEN in proc.stdout, proc.stdout
    assert len(job.run_caches()) == 1 and list(job.run_caches()[0].iterdir()), "the run's cache held the breaker"
    assert not (tmp_path / "cfg-facts").exists(), "the runner replaced the project's fact cache"

    results, proc = job.run([preflight("live", project), status(project, "st")])
    assert_sent(results["live"])
    assert results["st"]["current"]["state"] == "closed" and results["st"]["current"]["failure_count"] == 0
    assert job.counter.module_runs() == 3
    assert len(job.run_caches()) == 2


def test_runner_with_fact_cache_setting_remembers_the_breaker_across_runs(pipeline_tools, tmp_path):
    facts = tmp_path / "argus-facts"
    job = RunnerJob(tmp_path, settings={"fact_cache": str(facts)})
    project = f"rn-{secrets.token_hex(4)}"

    # Run 1: two infrastructure failures open the breaker; the fact lands in the persistent directory.
    results, proc = job.run([preflight("dead1", project, job.dead), preflight("dead2", project, job.dead)])
    assert results["dead2"]["argus_circuit"]["state"] == "open", results["dead2"]
    assert FORGOTTEN not in proc.stdout
    assert any("argus_circuit" in path.read_text() for path in facts.iterdir())
    assert job.counter.module_runs() == 2

    # Run 2, a new ansible-runner process against the live daemon: refused, nothing sent.
    results, _unused = job.run([preflight("live", project), status(project, "st")])
    assert_not_sent(results["live"])
    history = results["live"]["error"]["details"]["failure_history"]
    assert [entry["task"] for entry in history] == ["dead1", "dead2"]
    assert results["st"]["current"]["state"] == "open"
    assert job.counter.module_runs() == 2

    # Run 3: reset, then a good probe closes it.
    results, _unused = job.run([reset(project, "rs"), preflight("probe", project), status(project, "st")])
    assert results["rs"]["current"]["state"] == "half-open"
    assert_sent(results["probe"])
    assert results["st"]["current"]["state"] == "closed"
    assert job.counter.module_runs() == 3


# -- two controllers, one Redis -----------------------------------------------------------------


@pytest.fixture
def redis_port(pipeline_tools, tmp_path) -> int:
    """A private redis-server on a free loopback port (no persistence), stopped afterwards."""
    import redis

    workdir = tmp_path / "redis"
    workdir.mkdir()
    for _attempt in range(3):  # the free port may be taken between the probe and the bind
        port = closed_port()
        server = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
            + ["--dir", str(workdir), "--logfile", str(workdir / "redis.log")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while server.poll() is None and time.monotonic() < deadline:
            try:
                if redis.Redis(host="127.0.0.1", port=port, socket_timeout=1).ping():
                    break
            except redis.exceptions.ConnectionError:
                time.sleep(0.1)
        if server.poll() is None and time.monotonic() < deadline:
            break
        server.kill()
        server.wait(timeout=10)
    else:
        log = (workdir / "redis.log").read_text() if (workdir / "redis.log").exists() else ""
        pytest.fail(f"redis-server did not answer on a free loopback port:\n{log}", pytrace=False)
    yield port
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


class Controller:
    """One Ansible controller: its own HOME, TMPDIR, ansible.cfg, inventory, events and module counter."""

    def __init__(self, root: Path, tmpdir: Path, redis_port: int, prefix: str) -> None:
        self.root = root
        self.tmpdir = tmpdir
        (root / "home").mkdir(parents=True)
        self.counter = Runner(root)
        self.dead = f"unix://{root / 'dead.sock'}"
        self.runs = 0
        # Both inventories name the Docker host alike: the breaker is keyed by host and project.
        (root / "inventory.yml").write_text(counted_inventory("dockerhost", self.counter))
        (root / "ansible.cfg").write_text(
            "[defaults]\n"
            f"inventory = {root / 'inventory.yml'}\n"
            f"collections_path = {COLLECTIONS_PATH}:{PIPELINE_COLLECTIONS}\n"
            "callbacks_enabled = argusai.resilience.argus_events\n"
            "retry_files_enabled = False\n"
            "fact_caching = community.general.redis\n"
            f"fact_caching_connection = 127.0.0.1:{redis_port}:0\n"
            f"fact_caching_prefix = {prefix}\n"
            "fact_caching_timeout = 0\n"
            "[callback_argus_events]\n"
            f"events_path = {root / 'events.jsonl'}\n"
        )

    def env(self) -> dict[str, str]:
        return clean_env(
            HOME=str(self.root / "home"), TMPDIR=str(self.tmpdir), ANSIBLE_CONFIG=str(self.root / "ansible.cfg")
        )

    def run(self, tasks: list[dict[str, Any]]) -> dict[str, Any]:
        self.runs += 1
        out = self.root / f"results-{self.runs}.json"
        playbook = self.root / f"play-{self.runs}.yml"
        playbook.write_text(yaml.safe_dump(results_play("dockerhost", tasks, out), sort_keys=False))
        proc = self.playbook(str(playbook))
        return read_results(out, proc)

    def playbook(self, playbook: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(VENV_BIN / "ansible-playbook"), playbook, *args],
            cwd=str(self.root),
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )


@pytest.fixture
def short_tmpdirs():
    """Two TMPDIRs under /tmp: ansible-core 2.21 binds a unix socket in TMPDIR, whose path must stay
    short (108 bytes), which one below pytest's tmp_path may not."""
    dirs = [Path(tempfile.mkdtemp(prefix=f"argus-{name}-", dir="/tmp")) for name in ("a", "b")]
    yield dirs
    for directory in dirs:
        shutil.rmtree(directory, ignore_errors=True)


def test_two_controllers_share_one_breaker_through_redis(redis_port, short_tmpdirs, tmp_path):
    import redis

    prefix = f"argus-it-{secrets.token_hex(4)}:"
    a = Controller(tmp_path / "controller-a", short_tmpdirs[0], redis_port, prefix)
    b = Controller(tmp_path / "controller-b", short_tmpdirs[1], redis_port, prefix)
    project = f"rd-{secrets.token_hex(4)}"

    # A opens the breaker: two infrastructure failures (a dead Docker socket), threshold 2.
    results = a.run([preflight("a_dead1", project, a.dead), preflight("a_dead2", project, a.dead)])
    assert results["a_dead2"]["argus_circuit"]["state"] == "open", results["a_dead2"]
    assert a.counter.module_runs() == 2
    cache = redis.Redis(host="127.0.0.1", port=redis_port)
    keys = cache.keys(f"{prefix}*")
    assert len(keys) == 1 and b"argus_circuit" in cache.get(keys[0]), keys

    # B, which shares nothing with A but Redis, refuses without sending the module, then resets.
    results = b.run([preflight("b_live", project), reset(project, "b_reset")])
    assert_not_sent(results["b_live"])
    assert [e["task"] for e in results["b_live"]["error"]["details"]["failure_history"]] == ["a_dead1", "a_dead2"]
    assert b.counter.module_runs() == 0
    assert (results["b_reset"]["previous"]["state"], results["b_reset"]["current"]["state"]) == ("open", "half-open")

    # A sees B's reset; its good probe closes the breaker.
    results = a.run([status(project, "a_sees"), preflight("a_probe", project)])
    assert results["a_sees"]["current"]["state"] == "half-open"
    assert_sent(results["a_probe"])
    assert results["a_probe"]["argus_circuit"]["state"] == "closed"

    # The other way round: B opens it, A refuses and resets with the collection's playbook, B probes.
    results = b.run(
        [status(project, "b_sees"), preflight("b_dead1", project, b.dead), preflight("b_dead2", project, b.dead)]
    )
    assert results["b_sees"]["current"]["state"] == "closed"
    assert results["b_dead2"]["argus_circuit"]["state"] == "open"
    results = a.run([preflight("a_live", project)])
    assert_not_sent(results["a_live"])
    assert a.counter.module_runs() == 3
    proc = a.playbook(
        "argusai.resilience.reset_circuit", "-e", f"argus_project={project}", "-e", "argus_hosts=dockerhost"
    )
    assert proc.returncode == 0 and "now half-open" in proc.stdout, proc.stdout + proc.stderr
    results = b.run([preflight("b_probe", project), status(project, "b_after")])
    assert_sent(results["b_probe"])
    assert results["b_after"]["current"]["state"] == "closed"
    assert (a.counter.module_runs(), b.counter.module_runs()) == (3, 3)

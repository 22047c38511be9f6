"""Fixtures of the reliability (chaos) suite: a private dockerd, ansible runners, measurements.

Run with ``make chaos`` (or ``.venv/bin/python -m pytest tests/chaos``). Needs root (``ip netns``,
a second ``dockerd``) and the main Docker Engine with the test image (``make docker``).

Fixtures
    private_dockerd  (session)  :class:`harness.PrivateDockerd`, started, test image loaded, wiped
                                and removed at the end. Tests may kill -9 / freeze / restart it;
                                the fixture restarts it for the next test if a test left it down.
    private_client   (function) docker.DockerClient on the private daemon (daemon is up)
    main_client      (session)  docker.DockerClient on the main daemon
    recorder         (session)  :class:`harness.Recorder`; rows are merged into
                                docs/reliability.json at the end (``make reliability-doc`` renders)
    chaos_project    (function) factory ``chaos_project(tag) -> name`` of unique valid project names;
                                every project handed out is removed from BOTH daemons afterwards
    ansible          (function) :class:`AnsibleRunner` with a per-test fact cache and events file
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import docker
import pytest
import yaml

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from harness import MAIN_DOCKER_HOST, TEST_IMAGE, PrivateDockerd, Recorder  # noqa: E402

# The shared integration helpers (execute_playbook / remove_project_resources / TEST_IMAGE),
# loaded under a distinct module name so both conftests can coexist.
_spec = importlib.util.spec_from_file_location("argus_it_conftest", REPO_ROOT / "tests" / "integration" / "conftest.py")
it = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(it)

assert it.TEST_IMAGE == TEST_IMAGE
MEASUREMENTS = Path(os.environ.get("ARGUS_RELIABILITY_JSON", REPO_ROOT / "docs" / "reliability.json"))
PLAYBOOKS = REPO_ROOT / "playbooks"

_RECORDER = Recorder(MEASUREMENTS)


# ----------------------------------------------------------------------------- hooks
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    _RECORDER.current_test = item.nodeid
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" or (report.when == "setup" and report.failed):
        _RECORDER.set_outcome(item.nodeid, "passed" if report.passed else "failed")


def pytest_sessionfinish(session, exitstatus):
    _RECORDER.save()


# -------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def recorder() -> Recorder:
    return _RECORDER


@pytest.fixture(scope="session")
def main_client():
    client = docker.DockerClient(base_url=MAIN_DOCKER_HOST, timeout=60, version="auto")
    try:
        client.ping()
        client.images.get(TEST_IMAGE)
    except Exception as exc:
        pytest.fail(f"main Docker Engine or {TEST_IMAGE} missing ({exc}); run `make docker`", pytrace=False)
    yield client
    client.close()


@pytest.fixture(scope="session")
def _private_daemon(main_client):
    if os.geteuid() != 0:
        pytest.fail("the chaos suite needs root (ip netns, a private dockerd)", pytrace=False)
    daemon = PrivateDockerd()
    try:
        daemon.start()
        daemon.load_image(TEST_IMAGE)
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture
def private_dockerd(_private_daemon) -> PrivateDockerd:
    """The private daemon, up. Whatever a test did to it (killed, frozen), it is up again after."""
    if not _private_daemon.is_running():
        _private_daemon.start()
    yield _private_daemon
    if _private_daemon.is_running():
        try:
            _private_daemon.thaw()
        except Exception:
            pass
    else:
        _private_daemon.start()


@pytest.fixture
def private_client(private_dockerd):
    client = private_dockerd.client()
    yield client
    client.close()


@pytest.fixture
def chaos_project(_private_daemon):
    """``chaos_project(tag) -> name``; removes every resource of those projects afterwards.

    Every scenario runs on the private daemon, so that is where the cleanup looks (the main
    daemon is shared with other suites and is never touched by this one).
    """
    names: list[str] = []

    def make(tag: str = "p") -> str:
        name = f"chaos-{tag}-{secrets.token_hex(3)}"
        names.append(name)
        return name

    yield make
    if not _private_daemon.is_running():
        _private_daemon.start()
    _private_daemon.thaw()
    private = _private_daemon.client(timeout=120)
    try:
        problems = [p for name in names for p in it.remove_project_resources(private, name)]
    finally:
        private.close()
    if problems:
        pytest.fail(f"cleanup left resources: {problems}", pytrace=False)


class AnsibleRunner:
    """Runs playbooks and single module tasks with this test's fact cache and events file."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.facts_dir = workdir / "facts"
        self.facts_dir.mkdir(parents=True, exist_ok=True)
        self.events_path = workdir / "events.jsonl"
        self._n = 0

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {"ARGUS_EVENTS_PATH": str(self.events_path)}
        env.update(extra or {})
        return env

    def full_env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return it.ansible_env(self.env(extra), self.facts_dir)

    def command(self, playbook: str | os.PathLike, extra_vars: dict[str, Any] | None = None) -> list[str]:
        cmd = [it._ansible_playbook(), str(playbook)]
        if extra_vars:
            cmd += ["-e", json.dumps(extra_vars)]
        return cmd

    def playbook(self, playbook, extra_vars=None, env=None, timeout: float = 300, args=None, prefix=None):
        """Run ansible-playbook to the end; CompletedProcess (``prefix`` as for :meth:`spawn`)."""
        if prefix is None:
            return it.execute_playbook(
                playbook, extra_vars, self.env(env), facts_dir=self.facts_dir, timeout=timeout, args=args
            )
        cmd = prefix(self.command(playbook, extra_vars) + list(args or []))
        return subprocess.run(
            cmd,
            cwd=str(REPO_ROOT),
            env=self.full_env(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def spawn(self, playbook, extra_vars=None, env=None, log: Path | None = None, prefix=None) -> subprocess.Popen:
        """Start ansible-playbook in the background (own process group, so it can be killed whole).

        ``prefix`` wraps the command, e.g. ``private_dockerd.in_netns`` to run it in the private
        daemon's network namespace.
        """
        out = open(log or (self.workdir / f"spawn-{self._next()}.log"), "w")  # noqa: SIM115
        cmd = self.command(playbook, extra_vars)
        with out:
            return subprocess.Popen(
                prefix(cmd) if prefix else cmd,
                cwd=str(REPO_ROOT),
                env=self.full_env(env),
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )

    def tasks(self, tasks: list[dict[str, Any]], env=None, timeout: float = 300, play_vars=None):
        """Run tasks in one play on localhost; return (CompletedProcess, {registered name: result}).

        A final task writes every ``register``-ed variable as JSON, so give failing tasks
        ``ignore_errors: true`` to get their results back; results is None if the play broke.
        """
        n = self._next()
        result_file = self.workdir / f"results-{n}.json"
        registered = [t["register"] for t in tasks if "register" in t]
        play = [
            {
                "name": "chaos",
                "hosts": "localhost",
                "gather_facts": False,
                "vars": dict(play_vars or {}),
                "tasks": list(tasks)
                + [
                    {
                        "name": "write the results",
                        "ansible.builtin.copy": {
                            "content": "{{ {"
                            + ", ".join(f"'{r}': ({r} | default(None))" for r in registered)
                            + "} | to_json }}",
                            "dest": str(result_file),
                            "mode": "0600",
                        },
                        "check_mode": False,
                    }
                ],
            }
        ]
        path = self.workdir / f"play-{n}.yml"
        path.write_text(yaml.safe_dump(play, sort_keys=False))
        proc = self.playbook(path, env=env, timeout=timeout)
        results = json.loads(result_file.read_text()) if result_file.exists() else None
        return proc, results

    # ------------------------------------------------------------- the argus_setup role
    def write_config(self, config: dict[str, Any], name: str | None = None) -> Path:
        path = self.workdir / (name or f"e2e-{self._next()}.yaml")
        path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
        return path

    def setup_play(self, outcome: Path) -> Path:
        """A playbook around the argus_setup role that writes {ok, result, error, msg} to ``outcome``."""
        record = (
            "{{ {'ok': %s, 'result': argus_setup_result | default(none), "
            "'error': argus_setup_error | default(none), "
            "'failed_task': (ansible_failed_task.name | default(none)), "
            "'msg': (ansible_failed_result.msg | default(''))} | to_json }}"
        )
        play = [
            {
                "name": "chaos setup",
                "hosts": "localhost",
                "gather_facts": False,
                "tasks": [
                    {
                        "block": [
                            {
                                "name": "setup",
                                "ansible.builtin.include_role": {"name": "argusai.resilience.argus_setup"},
                            },
                            {
                                "name": "record success",
                                "ansible.builtin.copy": {"content": record % "true", "dest": str(outcome)},
                            },
                        ],
                        "rescue": [
                            {
                                "name": "record failure",
                                "ansible.builtin.copy": {"content": record % "false", "dest": str(outcome)},
                            },
                            {"name": "setup failed", "ansible.builtin.fail": {"msg": "setup failed"}},
                        ],
                    }
                ],
            }
        ]
        path = self.workdir / f"setup-play-{self._next()}.yml"
        path.write_text(yaml.safe_dump(play, sort_keys=False))
        return path

    def setup_args(self, config: dict[str, Any] | Path, extra_vars: dict[str, Any] | None = None):
        config_path = config if isinstance(config, Path) else self.write_config(config)
        outcome = self.workdir / f"outcome-{self._next()}.json"
        outcome.unlink(missing_ok=True)
        return self.setup_play(outcome), {"argus_config_file": str(config_path), **(extra_vars or {})}, outcome

    def setup(self, config, extra_vars=None, env=None, timeout: float = 300):
        """Run the argus_setup role; return (CompletedProcess, outcome dict or None)."""
        play, variables, outcome = self.setup_args(config, extra_vars)
        proc = self.playbook(play, variables, env=env, timeout=timeout)
        return proc, (json.loads(outcome.read_text()) if outcome.exists() else None)

    def spawn_setup(self, config, extra_vars=None, env=None):
        """Start the argus_setup role in the background; return (Popen, outcome path, log path)."""
        play, variables, outcome = self.setup_args(config, extra_vars)
        log = self.workdir / f"spawn-{self._next()}.log"
        return self.spawn(play, variables, env=env, log=log), outcome, log

    def events(self) -> list[dict[str, Any]]:
        if not self.events_path.exists():
            return []
        return [json.loads(line) for line in self.events_path.read_text().splitlines() if line.strip()]

    def _next(self) -> int:
        self._n += 1
        return self._n


@pytest.fixture
def ansible(tmp_path) -> AnsibleRunner:
    return AnsibleRunner(tmp_path / "ansible")

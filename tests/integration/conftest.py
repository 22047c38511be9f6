"""Shared fixtures for the integration tests: a real Docker Engine and real ``ansible-playbook``.

Nothing here is a test double. ``make integration`` starts Docker (scripts/ensure_docker.sh) and
builds the test image (scripts/ensure_test_image.sh) before pytest runs; when the daemon is not
reachable the tests FAIL (they never skip), so a broken CI environment cannot pass silently.

Fixtures
    docker_client   (session)  docker.DockerClient, pinged
    test_image      (session)  TEST_IMAGE, asserted to exist locally
    unique_project  (function) fresh project name ``it-<hex>``; teardown removes every container,
                               network and volume labeled ``argusai.project=<name>`` (only those)
    run_module      (function) run_module(module_fqcn, args, check=False, extra_env=None, **kw) -> dict
                               see :func:`execute_module` (facts cache per test)
    run_playbook    (function) run_playbook(path, extra_vars=None, env=None, **kw) -> CompletedProcess
                               see :func:`execute_playbook` (facts cache per test)
    remote_host     (session)  remote_host.RemoteHost: a second Docker host (its dockerd over TCP, and
                               inventory host remote1 over SSH with a bare Python); removed at the end
    remote_project  (function) like unique_project, cleaned up on the remote host's daemon

The plain functions :func:`execute_module` and :func:`execute_playbook` do the same without
fixtures (``from conftest import execute_module``).

Runtime: ``ARGUS_RUNTIME=podman`` (``make integration-podman``) points DOCKER_HOST, and so every
fixture, module and playbook, at Podman's Docker API on ``ARGUS_PODMAN_SOCK`` (default
/run/argus-podman.sock, started by scripts/ensure_podman.sh); ``docker_client`` then fails unless
Podman answers. What cannot hold on Podman yet is marked there by podman_pending.py.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from podman_pending import mark_podman_pending

# Single source of truth for the test image name; scripts/ensure_test_image.sh reads it from here.
TEST_IMAGE = "argusai/testbox:latest"

REPO_ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_CFG = REPO_ROOT / "ansible.cfg"
COLLECTIONS_PATH = REPO_ROOT / "build" / "collections"
VENV_BIN = Path(sys.executable).parent  # pytest runs from the venv: its ansible-playbook is next to python
PROJECT_LABEL = "argusai.project"
DEFAULT_PLAYBOOK_TIMEOUT = 600

RUNTIME = os.environ.get("ARGUS_RUNTIME") or "docker"
if RUNTIME not in ("docker", "podman"):
    raise pytest.UsageError(f"ARGUS_RUNTIME={RUNTIME!r}: expected docker or podman")
if RUNTIME == "podman":
    os.environ["DOCKER_HOST"] = "unix://" + (os.environ.get("ARGUS_PODMAN_SOCK") or "/run/argus-podman.sock")
# Rootful Podman runs healthchecks from systemd timers, through systemd's private socket; without it
# (CI containers, scripts/ensure_podman.sh) they never run and the guard runs them through exec.
PODMAN_RUNS_HEALTHCHECKS = RUNTIME == "podman" and Path("/run/systemd/private").exists()


def pytest_collection_modifyitems(config, items):
    if RUNTIME == "podman":
        mark_podman_pending(items)


def _ansible_playbook() -> str:
    candidate = VENV_BIN / "ansible-playbook"
    if candidate.exists():
        return str(candidate)
    return str(REPO_ROOT / ".venv" / "bin" / "ansible-playbook")


def ansible_env(extra_env: dict[str, str] | None = None, facts_dir: str | os.PathLike | None = None) -> dict[str, str]:
    """Environment for ansible-playbook: the repo ansible.cfg and collection, no colour."""
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_CONFIG": str(ANSIBLE_CFG),
            "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS_PATH),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "PYTHONUNBUFFERED": "1",
            "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        }
    )
    if facts_dir is not None:
        # Keep circuit-breaker state (facts cache) out of the developer's .cache/facts.
        env["ANSIBLE_CACHE_PLUGIN_CONNECTION"] = str(facts_dir)
    if extra_env:
        env.update({k: str(v) for k, v in extra_env.items()})
    return env


def execute_playbook(
    path: str | os.PathLike,
    extra_vars: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    *,
    check: bool = False,
    args: list[str] | None = None,
    facts_dir: str | os.PathLike | None = None,
    timeout: float = DEFAULT_PLAYBOOK_TIMEOUT,
) -> subprocess.CompletedProcess:
    """Run ``ansible-playbook <path>`` with the repo ansible.cfg; never raises on a failed play.

    ``extra_vars`` is passed as one JSON ``-e``; ``env`` is merged over the ansible environment.
    Returns the CompletedProcess (text stdout/stderr, ``returncode``).
    """
    cmd = [_ansible_playbook(), str(path)]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    if check:
        cmd.append("--check")
    cmd += list(args or [])
    return subprocess.run(
        cmd,
        cwd=str(REPO_ROOT),
        env=ansible_env(env, facts_dir),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def execute_module(
    module_fqcn: str,
    args: dict[str, Any] | None = None,
    check: bool = False,
    extra_env: dict[str, str] | None = None,
    *,
    facts_dir: str | os.PathLike | None = None,
    workdir: str | os.PathLike | None = None,
    task_vars: dict[str, Any] | None = None,
    timeout: float = DEFAULT_PLAYBOOK_TIMEOUT,
) -> dict[str, Any]:
    """Run one module task on localhost through real ``ansible-playbook``; return its result.

    The one-task play registers the result with ``ignore_errors: true`` and a second task writes
    it as JSON, so a failed module still comes back as a dict (``failed: true``, ``msg``,
    ``error``...). The returned dict also carries ``_stdout``, ``_stderr`` and ``_rc`` of the
    ansible-playbook run. If the play itself broke (syntax error, unknown module, unreachable)
    the test fails with ansible's output.

    Values in ``args`` are templated by Ansible like any task argument: do not pass ``{{ }}``
    unless you mean it.
    """
    own_tmp = None
    if workdir is None:
        own_tmp = tempfile.TemporaryDirectory(prefix="argus-it-")
        workdir = own_tmp.name
    try:
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        result_file = workdir / "result.json"
        if result_file.exists():
            result_file.unlink()
        play = [
            {
                "name": f"run {module_fqcn}",
                "hosts": "localhost",
                "gather_facts": False,
                "vars": dict(task_vars or {}),
                "tasks": [
                    {
                        "name": module_fqcn,
                        module_fqcn: dict(args or {}),
                        "register": "argus_it_result",
                        "ignore_errors": True,
                    },
                    {
                        "name": "write the result",
                        "ansible.builtin.copy": {
                            "content": "{{ argus_it_result | to_json }}",
                            "dest": str(result_file),
                            "mode": "0600",
                        },
                        "check_mode": False,
                        "no_log": True,
                    },
                ],
            }
        ]
        playbook = workdir / "playbook.yml"
        playbook.write_text(yaml.safe_dump(play, sort_keys=False))
        proc = execute_playbook(playbook, env=extra_env, check=check, facts_dir=facts_dir, timeout=timeout)
        if not result_file.exists():
            pytest.fail(
                f"ansible-playbook did not produce a result for {module_fqcn} (rc={proc.returncode})\n"
                f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}",
                pytrace=False,
            )
        result = json.loads(result_file.read_text())
        result["_stdout"] = proc.stdout
        result["_stderr"] = proc.stderr
        result["_rc"] = proc.returncode
        return result
    finally:
        if own_tmp is not None:
            own_tmp.cleanup()


def remove_project_resources(client, project: str) -> list[str]:
    """Remove every container, network and volume labeled argusai.project=<project>.

    Returns a list of problems (empty when all went). Only resources carrying that exact label
    are touched.
    """
    problems: list[str] = []
    filters = {"label": f"{PROJECT_LABEL}={project}"}
    for container in client.containers.list(all=True, filters=filters):
        try:
            container.remove(force=True, v=True)
        except Exception as exc:  # best-effort teardown, reported below
            problems.append(f"container {container.name}: {exc}")
    for network in client.networks.list(filters=filters):
        try:
            network.reload()
            for attached in network.attrs.get("Containers") or {}:
                try:
                    network.disconnect(attached, force=True)
                except Exception:
                    pass
            network.remove()
        except Exception as exc:
            problems.append(f"network {network.name}: {exc}")
    for volume in client.volumes.list(filters=filters):
        try:
            volume.remove(force=True)
        except Exception as exc:
            problems.append(f"volume {volume.name}: {exc}")
    return problems


@pytest.fixture(scope="session")
def docker_client():
    """A pinged docker.DockerClient. FAILS (never skips) when the daemon is unreachable."""
    try:
        import docker
    except ImportError as exc:  # pragma: no cover - the venv always has it
        pytest.fail(f"the Docker SDK for Python is not installed ({exc}); run `make venv`", pytrace=False)
    try:
        client = docker.from_env(timeout=60)
        client.ping()
        engine = [c.get("Name", "") for c in client.version().get("Components") or []]
    except Exception as exc:
        how = (
            "`make podman` (scripts/ensure_podman.sh) or set ARGUS_PODMAN_SOCK"
            if RUNTIME == "podman"
            else "`make docker` (scripts/ensure_docker.sh) or start Docker / set DOCKER_HOST"
        )
        pytest.fail(
            f"{RUNTIME} engine unreachable at {os.environ.get('DOCKER_HOST', 'the default socket')} "
            f"({type(exc).__name__}: {exc}). Integration tests need a real daemon: run {how}.",
            pytrace=False,
        )
    if RUNTIME == "podman" and not any("Podman" in name for name in engine):
        pytest.fail(f"ARGUS_RUNTIME=podman but {os.environ['DOCKER_HOST']} answers as {engine}", pytrace=False)
    yield client
    client.close()


@pytest.fixture(scope="session")
def test_image(docker_client) -> str:
    """The local test image name; fails if it has not been built (`make docker`)."""
    import docker

    try:
        docker_client.images.get(TEST_IMAGE)
    except docker.errors.ImageNotFound:
        pytest.fail(
            f"test image {TEST_IMAGE} is missing: run `make docker` (scripts/ensure_test_image.sh)",
            pytrace=False,
        )
    return TEST_IMAGE


@pytest.fixture
def unique_project(docker_client):
    """A fresh valid project name ``it-<hex>``; its labeled Docker resources are removed afterwards."""
    project = f"it-{secrets.token_hex(5)}"
    yield project
    problems = remove_project_resources(docker_client, project)
    if problems:
        pytest.fail(f"teardown of project {project} left resources behind: {problems}", pytrace=False)


@pytest.fixture
def argus_facts_dir(tmp_path) -> Path:
    """Per-test fact cache directory (where the circuit breaker persists)."""
    path = tmp_path / "facts"
    path.mkdir()
    return path


@pytest.fixture
def run_module(tmp_path, argus_facts_dir):
    """``run_module(module_fqcn, args, check=False, extra_env=None, **kw) -> dict``.

    Same as :func:`execute_module`, with the facts cache in this test's tmp dir
    (so breaker state persists across calls within one test only).
    """
    counter = iter(range(1_000_000))

    def _run(module_fqcn, args=None, check=False, extra_env=None, **kwargs):
        kwargs.setdefault("facts_dir", argus_facts_dir)
        kwargs.setdefault("workdir", tmp_path / f"run-{next(counter)}")
        return execute_module(module_fqcn, args, check, extra_env, **kwargs)

    return _run


@pytest.fixture
def run_playbook(argus_facts_dir):
    """``run_playbook(path, extra_vars=None, env=None, **kw) -> CompletedProcess`` (facts cache per test)."""

    def _run(path, extra_vars=None, env=None, **kwargs):
        kwargs.setdefault("facts_dir", argus_facts_dir)
        return execute_playbook(path, extra_vars, env, **kwargs)

    return _run


# the session fixture, defined with the host
from remote_host import remote_host  # noqa: E402,F401  # pylint: disable=unused-import


@pytest.fixture
def remote_project(remote_host):  # noqa: F811 - the fixture imported above
    """A fresh valid project name; what the remote host's daemon holds of it is removed afterwards."""
    project = f"it-{secrets.token_hex(5)}"
    yield project
    client = remote_host.client()
    try:
        problems = remove_project_resources(client, project)
    finally:
        client.close()
    if problems:
        pytest.fail(f"teardown of project {project} on the remote host left: {problems}", pytrace=False)

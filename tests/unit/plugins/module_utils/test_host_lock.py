"""host_lock: mutual exclusion across processes, a wait bounded by its deadline, a private dir."""

from __future__ import annotations

import multiprocessing
import os
import time

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils.host_lock import host_lock, private_dir


def _hold(directory: str, ready, release) -> None:
    with host_lock(directory, "x", 5):
        ready.set()
        release.wait(30)


@pytest.fixture
def holder(tmp_path):
    """Another process holding lock "x" of tmp_path until ``release`` is set."""
    ready, release = multiprocessing.Event(), multiprocessing.Event()
    process = multiprocessing.Process(target=_hold, args=(str(tmp_path), ready, release))
    process.start()
    assert ready.wait(10)
    yield release, process
    release.set()
    process.join(10)


def test_a_lock_never_released_ends_the_wait_at_its_deadline(tmp_path, holder):
    started = time.monotonic()
    with pytest.raises(TimeoutError), host_lock(str(tmp_path), "x", 0.3):
        pass
    assert 0.3 <= time.monotonic() - started < 1.5


def test_the_lock_is_free_again_when_its_holder_leaves(tmp_path, holder):
    release, process = holder
    release.set()
    process.join(10)
    with host_lock(str(tmp_path), "x", 1):
        pass


def test_other_names_do_not_wait(tmp_path):
    with host_lock(str(tmp_path), "a", 1), host_lock(str(tmp_path), "b", 0.1):
        pass


def test_a_symlinked_state_dir_is_refused(tmp_path):
    target = tmp_path / "real"
    target.mkdir()
    link = tmp_path / "link"
    os.symlink(target, link)
    with pytest.raises(OSError):
        private_dir(str(link))
    with pytest.raises(OSError), host_lock(str(link), "x", 1):
        pass

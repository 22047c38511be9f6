# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one host-wide lock: an exclusive ``flock`` on a file in a private state directory.

``flock`` locks belong to open file descriptions, so threads, processes and separate
``ansible-playbook`` runs on one host all exclude each other, and a process that dies releases
its lock with its descriptors. The wait is bounded: the deadline is fixed when the call starts.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import time
from collections.abc import Iterator

POLL_SECONDS = 0.05


def private_dir(directory: str) -> str:
    """Create ``directory`` (mode 0700) and check it is a real directory owned by this user.

    Raises OSError otherwise: a directory another user controls could be used to steal or block
    the lock.
    """
    os.makedirs(directory, mode=0o700, exist_ok=True)
    info = os.lstat(directory)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        raise OSError(errno.EPERM, f"{directory} is not a directory owned by uid {os.geteuid()}")
    return directory


@contextlib.contextmanager
def host_lock(directory: str, name: str, timeout: float) -> Iterator[None]:
    """Hold the lock ``<directory>/<name>.lock`` for the body.

    Waits at most ``timeout`` seconds (from the call) and then raises TimeoutError; raises
    OSError when the lock file cannot be made. Closing the descriptor releases the lock.
    """
    import fcntl  # POSIX only; imported here so that the module imports anywhere

    deadline = time.monotonic() + timeout
    fd = os.open(os.path.join(private_dir(directory), f"{name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{name}.lock in {directory} still held after {timeout:g}s") from None
                time.sleep(min(POLL_SECONDS, remaining))
        yield
    finally:
        os.close(fd)

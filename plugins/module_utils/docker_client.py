# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that imports the Docker SDK: the client factory and the SDK's error classes.

Every other file takes ``docker``, ``APIError``, ``NotFound`` and ``ImageNotFound`` from here.
Without the SDK the error classes are stand-ins that nothing raises, so that the cores import
anywhere; the modules report the missing SDK with ``missing_required_lib``.
"""

from __future__ import annotations

import os
import traceback
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.deadline import Deadline
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError, classify, root_cause_message

try:
    import docker
    from docker.errors import APIError, ImageNotFound, NotFound  # pylint: disable=unused-import  # re-exported

    HAS_DOCKER = True
    DOCKER_IMPORT_ERROR = None
except ImportError:  # reported by the modules with missing_required_lib
    docker = None
    HAS_DOCKER = False
    DOCKER_IMPORT_ERROR = traceback.format_exc()

    class APIError(Exception):  # type: ignore[no-redef]
        """Stand-in: never raised without the SDK."""

        def is_client_error(self) -> bool:
            return False

    class NotFound(APIError):  # type: ignore[no-redef]
        """Stand-in: never raised without the SDK."""

    class ImageNotFound(NotFound):  # type: ignore[no-redef]
        """Stand-in: never raised without the SDK."""


DEFAULT_SOCKET = "unix:///var/run/docker.sock"
DEFAULT_TIMEOUT = 60


def candidate_hosts(docker_host: str | None = None) -> list[str]:
    """Where to look for the daemon, in order: the option, DOCKER_HOST, then the local sockets."""
    if docker_host:
        return [docker_host]
    if os.environ.get("DOCKER_HOST"):
        return [os.environ["DOCKER_HOST"]]
    hosts = [DEFAULT_SOCKET]
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
    if runtime_dir:  # rootless Docker
        hosts.append(f"unix://{runtime_dir}/docker.sock")
    return hosts


def connect(docker_host: str | None = None, timeout: float = DEFAULT_TIMEOUT, connect_timeout: float | None = None):
    """Return a connected ``docker.DockerClient``.

    The first request (API version negotiation) doubles as the liveness probe. All the candidate
    hosts together get ``connect_timeout`` (default ``timeout``), a deadline fixed when the call
    starts; later requests get ``timeout`` each. When no host answers, raises DOCKER_UNAVAILABLE
    whose details list each attempt with its root cause (socket_missing, permission_denied,
    connection_refused, timeout, api_version, ...).
    """
    if not HAS_DOCKER:
        raise RuntimeError("the docker SDK is not installed")
    deadline = Deadline(connect_timeout or timeout)
    attempts: list[dict[str, Any]] = []
    for host in candidate_hosts(docker_host):
        if deadline.expired():  # an earlier host used the whole time
            attempts.append({"docker_host": host, "cause": "timeout", "error": "not tried: no time left"})
            continue
        try:
            client = docker.DockerClient(base_url=host, timeout=deadline.remaining(), version="auto")
        except Exception as exc:  # every failure is classified and reported per attempt
            code, cause = classify(exc)
            attempts.append({"docker_host": host, "cause": cause, "error": root_cause_message(exc)})
            if code != "DOCKER_UNAVAILABLE":
                raise ArgusError(code, f"Docker at {host}: {root_cause_message(exc)}", {"attempts": attempts}) from exc
            continue
        client.api.timeout = timeout
        return client
    summary = "; ".join(f"{a['docker_host']}: {a['cause']} ({a['error']})" for a in attempts)
    raise ArgusError(
        "DOCKER_UNAVAILABLE",
        f"Docker daemon unreachable: {summary}",
        {"attempts": attempts, "cause": attempts[-1]["cause"] if attempts else "no_host"},
    )

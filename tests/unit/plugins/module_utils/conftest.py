"""A fake Docker daemon for the lock and lease unit tests (the real engine: tests/integration).

``fake_daemon(podman=False)`` keeps volumes the way the engines do: Docker answers the create of an
existing name with the existing volume, Podman with 409 Conflict. Its clock (``now``, what
``info()["SystemTime"]`` and a new volume's ``CreatedAt`` say) only moves with ``advance()``.
``FakeClient(daemon)`` is a docker.DockerClient stand-in whose ``api`` is the daemon.
"""

from __future__ import annotations

import copy
import threading
from datetime import datetime, timedelta, timezone

import pytest
import requests
from docker.errors import APIError, NotFound

START = datetime(2026, 11, 25, 12, 0, 0, tzinfo=timezone.utc)


def _error(status: int, message: str, cls=APIError) -> APIError:
    response = requests.Response()
    response.status_code = status
    return cls(f"{status} Client Error", response=response, explanation=message)


class FakeDaemon:
    def __init__(self, podman: bool = False, containers=(), now: datetime = START) -> None:
        self.podman = podman  # True: 409 for an existing name; "crossed": 500, as when two creates cross
        self.now = now
        self.volume_store: dict[str, dict] = {}
        self.container_list = list(containers)
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self.on_create = None  # called with the name before a create is answered (races)

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def info(self) -> dict:
        return {"SystemTime": self.now.isoformat().replace("+00:00", "Z")}

    def containers(self, all=False, filters=None):  # noqa: A002 - the SDK's name
        return list(self.container_list)

    def networks(self, filters=None):
        return []

    def create_volume(self, name, driver=None, driver_opts=None, labels=None):
        if self.on_create is not None:
            self.on_create(name)
        with self._lock:
            self.calls.append(("create", name))
            if name in self.volume_store:
                if self.podman:
                    status = 500 if self.podman == "crossed" else 409
                    raise _error(status, f"volume with name {name} already exists: volume already exists")
                return copy.deepcopy(self.volume_store[name])
            self.volume_store[name] = {
                "Name": name,
                "Driver": driver or "local",
                "Labels": dict(labels or {}),
                "CreatedAt": self.now.strftime("%Y-%m-%dT%H:%M:%SZ"),  # seconds, as Docker gives it
            }
            return copy.deepcopy(self.volume_store[name])

    def inspect_volume(self, name):
        with self._lock:
            if name not in self.volume_store:
                raise _error(404, f"get {name}: no such volume", NotFound)
            return copy.deepcopy(self.volume_store[name])

    def remove_volume(self, name, force=False):
        with self._lock:
            self.calls.append(("remove", name))
            if self.volume_store.pop(name, None) is None:
                raise _error(404, f"get {name}: no such volume", NotFound)

    def volumes(self, filters=None):
        wanted = [item.partition("=") for item in (filters or {}).get("label", [])]
        with self._lock:
            found = [
                copy.deepcopy(volume)
                for volume in self.volume_store.values()
                if all(
                    key in volume["Labels"] and (not eq or volume["Labels"][key] == value) for key, eq, value in wanted
                )
            ]
        return {"Volumes": found or None, "Warnings": None}  # Docker says null, not [], for none

    def put_volume(self, name, labels, created: datetime | None = None) -> None:
        """A volume made outside the code under test (a crashed run's lease, a user's volume)."""
        self.volume_store[name] = {
            "Name": name,
            "Driver": "local",
            "Labels": dict(labels),
            "CreatedAt": (created or self.now).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


class FakeClient:
    def __init__(self, api) -> None:
        self.api = api


@pytest.fixture(name="fake_daemon")
def _fake_daemon():
    """``fake_daemon(podman=False, containers=(), now=START)`` -> FakeDaemon."""
    return FakeDaemon


@pytest.fixture(name="fake_docker")
def _fake_docker():
    """``fake_docker(daemon)`` -> a client whose ``api`` is the daemon."""
    return FakeClient


@pytest.fixture(name="daemon")
def _daemon():
    """A fake Docker daemon with no containers."""
    return FakeDaemon()


@pytest.fixture(name="client")
def _client(daemon):
    """A client of ``daemon``."""
    return FakeClient(daemon)

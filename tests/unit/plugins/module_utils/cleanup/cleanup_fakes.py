"""Fakes shared by the cleanup unit tests: a scripted fake of the SDK's APIClient (the cleaner and
the orphan inventory) and ``unittest.mock`` clients for the one-run scope (SDK mocked).
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from unittest import mock

import requests
from ansible_collections.argusai.resilience.plugins.module_utils import labels as L
from docker.errors import APIError

PROJECT = "shop"
START = datetime(2026, 11, 25, 12, 0, 0, 500000, tzinfo=timezone.utc)  # daemon and local clock at start
OLD = "2026-11-25T11:00:00.000Z"


def api_error(status: int, explanation: str, cls=APIError) -> APIError:
    response = requests.Response()
    response.status_code = status
    return cls(f"{status} Client Error", response=response, explanation=explanation)


def managed(run_id="old", created_at=OLD, project=PROJECT, **extra):
    labels = {"argusai.managed": "true", "argusai.project": project, "argusai.run-id": run_id}
    if created_at is not None:
        labels["argusai.created-at"] = created_at
    labels.update(extra)
    return labels


def container(cid, labels, created=START - timedelta(hours=1)):
    created_s = int(created.timestamp()) if isinstance(created, datetime) else created
    return {"Id": cid, "Names": [f"/{cid}"], "Labels": labels, "Created": created_s}


def network(nid, labels, created="2026-11-25T11:00:00.123456789Z"):
    return {"Id": nid, "Name": nid, "Labels": labels, "Created": created}


def volume(name, labels, created="2026-11-25T11:00:00Z"):
    return {"Name": name, "Labels": labels, "CreatedAt": created}


class FakeAPI:
    """Records removals in order; ``failures`` maps an id to the exception its removal raises."""

    def __init__(self, containers=(), networks=(), volumes=(), failures=None, system_time=START):
        self._containers = list(containers)
        self._networks = list(networks)
        self._volumes = list(volumes)
        self.failures = dict(failures or {})
        self.system_time = system_time
        self.calls: list[tuple] = []
        self.lock = threading.Lock()
        self.inspect_container_answers: dict[str, list] = {}
        self.network_attachments: dict[str, dict] = {}
        self.disconnects: list = []

    def _record(self, *call):
        with self.lock:
            self.calls.append(call)

    def info(self):
        return {"SystemTime": self.system_time.isoformat().replace("+00:00", "Z")}

    def containers(self, all=False, filters=None):  # noqa: A002 - the SDK's name
        assert all is True
        assert filters == {"label": ["argusai.managed=true", f"argusai.project={PROJECT}"]}
        return self._containers

    def networks(self, filters=None):
        return self._networks

    def volumes(self, filters=None):
        return {"Volumes": self._volumes}

    def _maybe_fail(self, rid):
        failure = self.failures.get(rid)
        if failure is not None:
            raise failure

    def remove_container(self, cid, v=False, force=False):
        self._record("container", cid, {"v": v, "force": force})
        self._maybe_fail(cid)

    def remove_network(self, nid):
        self._record("network", nid)
        self._maybe_fail(nid)

    def remove_volume(self, name, force=False):
        self._record("volume", name, {"force": force})
        self._maybe_fail(name)

    def inspect_container(self, cid):
        self._record("inspect_container", cid)
        answers = self.inspect_container_answers.get(cid, [])
        answer = answers.pop(0) if len(answers) > 1 else (answers[0] if answers else {})
        if isinstance(answer, Exception):
            raise answer
        return answer

    def inspect_network(self, nid):
        return {"Containers": self.network_attachments.get(nid, {})}

    def disconnect_container_from_network(self, *args, **kwargs):  # must never be called
        self.disconnects.append(args)


class FakeClient:
    def __init__(self, api):
        self.api = api


# -- one run's resources (mocked client) ------------------------------------------------------


def run_labels(project="p", run_id="r1", managed="true"):
    return {L.MANAGED: managed, L.PROJECT: project, L.RUN_ID: run_id, L.CREATED_AT: "2026-11-25T10:00:00.000Z"}


def run_container(name, run_id="r1", state="running", ports=(), **kw):
    return {
        "Id": f"id-{name}",
        "Names": [f"/{name}"],
        "Image": "img",
        "State": state,
        "Status": "Up",
        "Labels": kw.get("labels") or run_labels(run_id=run_id),
        "Ports": list(ports),
        "Created": 1,
    }


def client_with(containers=(), networks=(), volumes=()):
    client = mock.Mock()
    client.api.containers.return_value = list(containers)
    client.api.networks.return_value = list(networks)
    client.api.volumes.return_value = {"Volumes": list(volumes)}
    client.api.inspect_network.return_value = {"Containers": {}}  # nothing attached any more
    return client

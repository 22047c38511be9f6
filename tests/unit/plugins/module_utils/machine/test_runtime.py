"""Which runtime answers, from GET /version as Docker Engine and Podman give it."""

from __future__ import annotations

from ansible_collections.argusai.resilience.plugins.module_utils.machine.runtime import runtime_of

DEBIAN_DOCKER = {
    "Platform": {"Name": ""},
    "Components": [
        {"Name": "Engine", "Version": "20.10.24+dfsg1", "Details": {"ApiVersion": "1.41"}},
        {"Name": "containerd", "Version": "1.6.20~ds1"},
    ],
    "Version": "20.10.24+dfsg1",
}
DOCKER_CE = {
    "Platform": {"Name": "Docker Engine - Community"},
    "Components": [{"Name": "Engine", "Version": "27.3.1"}],
    "Version": "27.3.1",
}


def test_docker_engine():
    assert runtime_of(DEBIAN_DOCKER) == {
        "runtime": "docker",
        "runtime_name": "Docker Engine",
        "runtime_version": "20.10.24+dfsg1",
        "platform": None,
    }
    assert runtime_of(DOCKER_CE)["platform"] == "Docker Engine - Community"


def test_podman(podman_version):
    assert runtime_of(podman_version) == {
        "runtime": "podman",
        "runtime_name": "Podman",
        "runtime_version": "4.3.1",
        "platform": "linux/amd64/debian-12",
    }


def test_sparse_answers():
    assert runtime_of({"Version": "19.03"})["runtime_version"] == "19.03"
    assert runtime_of(None) == {
        "runtime": "docker",
        "runtime_name": "Docker Engine",
        "runtime_version": None,
        "platform": None,
    }

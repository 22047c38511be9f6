"""The harness itself: the private daemon is isolated, killable and restartable."""

from __future__ import annotations

import subprocess
import time
from contextlib import closing

import docker
import pytest
from harness import MAIN_DOCKER_HOST, TEST_IMAGE


def test_private_daemon_is_separate_and_survives_kill9(private_dockerd, private_client, main_client, recorder):
    assert private_dockerd.docker_host != MAIN_DOCKER_HOST
    info = private_client.info()
    assert info["DockerRootDir"] == str(private_dockerd.data_root)
    assert private_client.images.get(TEST_IMAGE)

    net = private_client.networks.create("chaos-harness-net", labels={"chaos.harness": "1"})
    private_client.containers.run(
        TEST_IMAGE, ["httpd", "-f", "-p", "8080"], name="chaos-harness-srv", network=net.name, detach=True
    )
    try:
        # containers of the private daemon reach each other by name (its own iptables, own bridge)
        out = private_client.containers.run(
            TEST_IMAGE,
            ["sh", "-c", "nc -w 3 chaos-harness-srv 8080 </dev/null && echo OPEN"],
            network=net.name,
            remove=True,
        )
        assert b"OPEN" in out
        # its bridge lives in its own namespace, not on the host
        host_links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
        assert f"br-{net.id[:12]}" not in host_links

        began = time.monotonic()
        private_dockerd.kill9()
        with pytest.raises(docker.errors.DockerException):
            docker.APIClient(base_url=private_dockerd.docker_host, timeout=3).version()
        refused_after = time.monotonic() - began
        main_client.ping()  # the main daemon never noticed

        restart_s = private_dockerd.start()
        with closing(private_dockerd.client()) as again:
            assert again.containers.get("chaos-harness-srv").status == "running"  # live-restore
        recorder.record(
            "harness.kill9_restart",
            "private dockerd kill -9, then restart (live-restore)",
            "API refused at once while down; main daemon unaffected; containers kept running",
            restart_s,
            "restart until the API answered",
            refused_after_s=round(refused_after, 3),
        )
        # the host's iptables (shared with the main daemon) hold nothing of the private daemon
        host_rules = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout
        for marker in (f"br-{net.id[:12]}", "10.213.", "10.214."):
            assert marker not in host_rules, marker
    finally:
        with closing(private_dockerd.client()) as c:
            c.containers.get("chaos-harness-srv").remove(force=True)
            c.networks.get(net.id).remove()

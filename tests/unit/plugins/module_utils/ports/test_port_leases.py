"""Port leases in the daemon, through the resolver and the release hooks, on a fake daemon (Docker's
and Podman's answers); the real engine: tests/integration/test_daemon_state.py."""

from __future__ import annotations

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError
from ansible_collections.argusai.resilience.plugins.module_utils.ports import leases
from ansible_collections.argusai.resilience.plugins.module_utils.ports.leases import Owner, lease_name


@pytest.fixture
def run_of(client, resolver):
    """``run_of(project, run_id, **kwargs)``: a resolver of that run on the fake daemon."""

    def make(project="p", run_id="r1", **kwargs):
        return resolver(client=client, owner=Owner(project, run_id), **kwargs)

    return make


def lease_names(daemon):
    return sorted(name for name in daemon.volume_store if name.startswith("argusai-lease-"))


def test_a_lease_blocks_other_runs_and_names_its_holder(daemon, run_of):
    assert run_of("p", "r1").resolve([{"name": "api", "port": 8080}]).ports == {"api": 8080}
    assert lease_names(daemon) == ["argusai-lease-tcp-8080"]
    labels = daemon.volume_store["argusai-lease-tcp-8080"]["Labels"]
    assert labels["argusai.managed"] == "true" and labels["argusai.project"] == "p"
    assert labels["argusai.run-id"] == "r1" and labels["argusai.service"] == "api"
    assert labels["argusai.created-at"] and labels["argusai.lock"] == "port"
    other = run_of("q", "r9").resolve([{"name": "web", "port": 8080}])
    assert other.ports == {"web": 8081}
    holder = other.mappings[0].occupied_by
    assert holder.to_dict() == {
        "type": "lease",
        "project": "p",
        "run_id": "r1",
        "service": "api",
        "expires_in": holder.expires_in,
    }
    assert 298 <= holder.expires_in <= 301
    assert "run r1 of project p" in holder.describe()


def test_a_renamed_service_of_the_same_run_keeps_its_port(daemon, run_of):
    run_of("p", "r1").resolve([{"name": "old-8080", "port": 8080}])
    assert run_of("p", "r1").resolve([{"name": "new-8080", "port": 8080}], strategy="fail").ports == {"new-8080": 8080}
    assert lease_names(daemon) == ["argusai-lease-tcp-8080"]  # still the first one's
    # another run of the same project is another owner
    assert run_of("p", "r2").resolve([{"name": "new-8080", "port": 8080}]).ports == {"new-8080": 8081}


def test_a_conflict_caused_only_by_a_lease_is_retryable_with_retry_after(daemon, run_of):
    run_of("p", "r1").resolve([{"name": "old-8080", "port": 8080}])
    daemon.advance(100)
    with pytest.raises(ArgusError) as info:
        run_of("p", "r2").resolve([{"name": "new-8080", "port": 8080}], strategy="fail")
    error = info.value.to_dict()
    assert error["code"] == "PORT_CONFLICT" and error["retryable"] is True
    assert 199 <= error["details"]["retry_after_seconds"] <= 201
    assert error["details"]["occupied_by"]["type"] == "lease"
    assert "run r1 of project p" in error["message"] and "retry" in error["message"]
    assert lease_names(daemon) == ["argusai-lease-tcp-8080"]  # the failed resolution took nothing


def test_a_conflict_with_a_process_too_is_not_retryable(daemon, run_of, fake_probe):
    run_of("p", "r1").resolve([{"name": "a", "port": 8080}])
    with pytest.raises(ArgusError) as info:
        run_of("p", "r2", probe=fake_probe(held={9000})).resolve(
            [{"name": "a", "port": 8080}, {"name": "b", "port": 9000}], strategy="fail"
        )
    error = info.value.to_dict()
    assert error["retryable"] is False and "retry_after_seconds" not in error["details"]


def test_a_crashed_runs_lease_expires_is_ignored_and_swept(daemon, run_of):
    run_of("p", "crashed").resolve([{"name": "api", "port": 8080}])
    daemon.advance(leases.DEFAULT_LEASE_SECONDS + 2)
    result = run_of("q", "r1").resolve([{"name": "web", "port": 8080}, {"name": "db", "port": 5432}])
    assert result.ports == {"web": 8080, "db": 5432}
    assert daemon.volume_store["argusai-lease-tcp-8080"]["Labels"]["argusai.run-id"] == "r1"
    # an expired lease on a port nobody asked for is removed as well
    run_of("p", "crashed").resolve([{"name": "x", "port": 7000}])
    daemon.advance(leases.DEFAULT_LEASE_SECONDS + 2)
    run_of("q", "r2", lease=False).resolve([{"name": "y", "port": 6000}])  # check mode sweeps nothing
    assert "argusai-lease-tcp-7000" in daemon.volume_store
    run_of("q", "r2").resolve([{"name": "y", "port": 6000}])
    assert "argusai-lease-tcp-7000" not in daemon.volume_store


def test_check_mode_and_failed_resolutions_take_no_lease(daemon, run_of, fake_probe):
    run_of(lease=False).resolve([{"name": "a", "port": 8080}])
    assert lease_names(daemon) == []
    with pytest.raises(ArgusError):
        run_of(probe=fake_probe(held={9000})).resolve(
            [{"name": "a", "port": 8080}, {"name": "b", "port": 9000}], strategy="fail"
        )
    with pytest.raises(ArgusError):
        run_of(probe=fake_probe(held={7000, 7001}), max_attempts=2).resolve(
            [{"name": "a", "port": 8080}, {"name": "b", "port": 7000}]
        )
    assert lease_names(daemon) == []


@pytest.mark.parametrize("podman", [False, True, "crossed"])
def test_a_lease_taken_between_listing_and_taking_moves_the_scan_on(fake_daemon, fake_docker, resolver, podman):
    daemon = fake_daemon(podman=podman)
    client = fake_docker(daemon)

    def rival(name):  # another controller takes 8080 right after our listing
        if name == "argusai-lease-tcp-8080" and name not in daemon.volume_store:
            daemon.on_create = None
            resolver(client=client, owner=Owner("rival", "r0")).resolve([{"name": "x", "port": 8080}])

    daemon.on_create = rival
    result = resolver(client=client, owner=Owner("p", "r1")).resolve([{"name": "api", "port": 8080}])
    assert result.ports == {"api": 8081}
    assert result.mappings[0].occupied_by.project == "rival"
    assert daemon.volume_store["argusai-lease-tcp-8080"]["Labels"]["argusai.project"] == "rival"


def test_without_a_project_every_lease_blocks(daemon, client, resolver):
    assert resolver(client=client).resolve([{"name": "a", "port": 8080}]).ports == {"a": 8080}
    assert resolver(client=client).resolve([{"name": "a", "port": 8080}]).ports == {"a": 8081}
    assert "argusai.project" not in daemon.volume_store["argusai-lease-tcp-8080"]["Labels"]


def test_without_a_run_id_the_project_owns_its_leases(daemon, run_of):
    run_of("p", None).resolve([{"name": "old", "port": 8080}])
    assert run_of("p", None).resolve([{"name": "new", "port": 8080}]).ports == {"new": 8080}
    assert run_of("p", "r1").resolve([{"name": "new", "port": 8080}]).ports == {"new": 8081}


def test_an_exclusive_owner_is_blocked_by_its_own_runs_leases(daemon, client, run_of, resolver):
    run_of("p", None).resolve([{"name": "a", "port": 8080}])
    exclusive = resolver(client=client, owner=Owner("p", None, exclusive=True))
    assert exclusive.resolve([{"name": "b", "port": 8080}]).ports == {"b": 8081}


def test_a_foreign_volume_named_like_a_lease_blocks_and_is_never_removed(daemon, run_of):
    daemon.put_volume("argusai-lease-tcp-8080", {"owner": "someone"})
    daemon.advance(10_000)
    result = run_of().resolve([{"name": "a", "port": 8080}])
    assert result.ports == {"a": 8081}
    assert daemon.volume_store["argusai-lease-tcp-8080"]["Labels"] == {"owner": "someone"}
    assert leases.release_leases(run_of().client, [("tcp", 8080)]) == 0
    assert "argusai-lease-tcp-8080" in daemon.volume_store


def test_leases_that_cannot_be_listed_or_taken_give_a_warning(daemon, client, resolver):
    def refuse(name):
        raise leases.daemon_lock.APIError("500 Server Error: disk full")

    daemon.on_create = refuse
    result = resolver(client=client, owner=Owner("p", "r1")).resolve([{"name": "a", "port": 8080}])
    assert result.ports == {"a": 8080}
    assert len(result.warnings) == 1 and "disk full" in result.warnings[0]


# -- the hooks that end a lease with what it protects -----------------------------------------


def test_publishing_supersedes_every_lease_of_the_port(daemon, client, run_of):
    run_of("p", "r1").resolve([{"name": "a", "port": 8080}, {"name": "b", "port": 9000, "protocol": "udp"}])
    run_of("q", "r1").resolve([{"name": "c", "port": 7000}])

    class Container:
        attrs = {"NetworkSettings": {"Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}], "53/udp": None}}}

    leases.supersede(client, Container())
    assert lease_names(daemon) == ["argusai-lease-tcp-7000", "argusai-lease-udp-9000"]


def test_state_absent_releases_the_projects_leases_of_the_containers_ports(daemon, client, run_of):
    run_of("p", "r1").resolve([{"name": "a", "port": 8080}, {"name": "b", "port": 8081}])
    run_of("q", "r1").resolve([{"name": "c", "port": 9000}])

    class Port:
        def __init__(self, host_port, protocol="tcp"):
            self.host_port, self.protocol = host_port, protocol

    leases.release_for_container(client, "p", [Port(8080), Port(None), Port(9000)])
    assert lease_names(daemon) == ["argusai-lease-tcp-8081", "argusai-lease-tcp-9000"]  # q's is not p's


def test_cleanups_release_the_leases_of_the_runs_they_end(daemon, client, run_of):
    run_of("p", "old").resolve([{"name": "a", "port": 8000}])
    run_of("p", None).resolve([{"name": "b", "port": 8001}])
    run_of("q", "old").resolve([{"name": "c", "port": 8002}])
    daemon.advance(5)
    started = daemon.now  # CreatedAt has seconds only: a lease of the same second is kept
    run_of("p", "same-second").resolve([{"name": "s", "port": 8005}])
    daemon.advance(5)
    run_of("p", "racing").resolve([{"name": "d", "port": 8003}])  # after the cleanup started
    run_of("p", "cur").resolve([{"name": "e", "port": 8004}])
    # the orphan cleanup of run cur: other runs of p, taken before it started
    assert leases.release_runs(client, "p", lambda run: run != "cur", started) == 2
    assert lease_names(daemon) == [lease_name("tcp", port) for port in (8002, 8003, 8004, 8005)]
    # the teardown of run cur: its own, however new
    assert leases.release_runs(client, "p", lambda run: run == "cur") == 1
    assert lease_names(daemon) == [lease_name("tcp", port) for port in (8002, 8003, 8005)]

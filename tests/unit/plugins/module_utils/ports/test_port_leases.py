"""Host-wide leases through the resolver: they keep resolutions apart, expire, and never fail one."""

from __future__ import annotations

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError
from ansible_collections.argusai.resilience.plugins.module_utils.ports.leases import ReservationStore


def test_lease_blocks_other_resolutions_until_it_expires(store, resolver):
    first = resolver(reservations=store).resolve([{"name": "a", "port": 8080}])
    second = resolver(reservations=store).resolve([{"name": "b", "port": 8080}])
    assert (first.ports["a"], second.ports["b"]) == (8080, 8081)
    assert second.mappings[0].occupied_by.type == "reservation"
    assert second.mappings[0].occupied_by.service == "a"
    store.clock_state["now"] += 61
    third = resolver(reservations=store).resolve([{"name": "c", "port": 8080}])
    assert third.ports["c"] == 8080


def test_lease_of_same_owner_does_not_block(store, resolver):
    resolver(reservations=store, owner_prefix="shop").resolve([{"name": "api", "port": 8080}])
    again = resolver(reservations=store, owner_prefix="shop").resolve([{"name": "api", "port": 8080}])
    other = resolver(reservations=store, owner_prefix="shop").resolve([{"name": "web", "port": 8080}])
    assert again.ports == {"api": 8080} and other.ports == {"web": 8081}


def test_no_lease_written_in_check_mode_or_on_failure(store, fake_probe, resolver):
    resolver(reservations=store, lease=False).resolve([{"name": "a", "port": 8080}])
    with pytest.raises(ArgusError):
        resolver(fake_probe(held={9000}), reservations=store).resolve(
            [{"name": "a", "port": 8080}, {"name": "b", "port": 9000}], strategy="fail"
        )
    assert resolver(reservations=store).resolve([{"name": "c", "port": 8080}]).ports == {"c": 8080}


def test_corrupt_lease_file_counts_as_empty(store, resolver):
    import os

    os.makedirs(store.directory, exist_ok=True)
    with open(store.data_path, "w") as handle:
        handle.write("{not json")
    assert resolver(reservations=store).resolve([{"name": "a", "port": 8080}]).ports == {"a": 8080}
    with open(store.data_path) as handle:
        assert "tcp/8080" in handle.read()


def test_unusable_lease_dir_degrades_with_a_warning(tmp_path, resolver):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)  # a symlinked state dir is refused (it could point anywhere)
    result = resolver(reservations=ReservationStore(str(link))).resolve([{"name": "a", "port": 8080}])
    assert result.ports == {"a": 8080}
    assert len(result.warnings) == 1 and "leases disabled" in result.warnings[0]
    assert not (real / "reservations.json").exists()


def test_lease_save_failure_is_a_warning(store, monkeypatch, resolver):
    def broken(entries):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "_save", broken)
    result = resolver(reservations=store).resolve([{"name": "a", "port": 8080}])
    assert result.ports == {"a": 8080}
    assert "No space left" in result.warnings[0]


def test_failure_inside_the_session_still_releases_the_lock(store, fake_probe, resolver):
    with pytest.raises(ArgusError):
        resolver(fake_probe(held={8080}), reservations=store, max_attempts=1).resolve([{"name": "a", "port": 8080}])
    assert resolver(reservations=store).resolve([{"name": "b", "port": 9000}]).ports == {"b": 9000}

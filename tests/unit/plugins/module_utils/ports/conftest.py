"""Fakes the port tests share: a probe, a Docker client, a lease store and resolvers using them.

Fixtures, not a helper module: without ``__init__.py`` files in tests/, a helper module would be
importable only under pytest's default import mode.
"""

from __future__ import annotations

import errno
from unittest import mock

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils.ports.holders import Holder
from ansible_collections.argusai.resilience.plugins.module_utils.ports.leases import ReservationStore
from ansible_collections.argusai.resilience.plugins.module_utils.ports.resolver import PortResolver


class FakeProbe:
    """Ports in ``held`` refuse the bind; records every probed port."""

    def __init__(self, held=(), err=errno.EADDRINUSE):
        self.held = set(held)
        self.err = err
        self.probed: list[int] = []

    def __call__(self, port, protocol, targets):
        self.probed.append(port)
        return self.err if port in self.held else None


def fake_client(containers=()):
    client = mock.Mock()
    client.api.containers.return_value = list(containers)
    return client


def container(name, cid, *bindings):
    return {
        "Id": cid,
        "Names": [f"/{name}"],
        "Ports": [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": p, "Type": t} for p, t in bindings]
        + [{"PrivatePort": 9000, "Type": "tcp"}],  # exposed, not published
    }


@pytest.fixture
def store(tmp_path):
    clock = {"now": 1000.0}
    s = ReservationStore(str(tmp_path / "state"), lease_seconds=60, clock=lambda: clock["now"])
    s.clock_state = clock
    return s


def resolver(probe=None, holder=None, **kwargs):
    kwargs.setdefault("reservations", None)
    return PortResolver(
        probe=probe or FakeProbe(),
        holder_lookup=holder or (lambda held, proto: {p: Holder("process", pid=42, process="nginx") for p in held}),
        **kwargs,
    )


@pytest.fixture(name="fake_probe")
def _fake_probe():
    """The FakeProbe class: ``fake_probe(held={8080})``."""
    return FakeProbe


@pytest.fixture(name="fake_client")
def _fake_client():
    return fake_client


@pytest.fixture(name="container")
def _container():
    return container


@pytest.fixture(name="resolver")
def _resolver():
    """``resolver(probe=None, holder=None, **kwargs)``: a PortResolver without leases by default."""
    return resolver

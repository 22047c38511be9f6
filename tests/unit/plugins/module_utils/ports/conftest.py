"""Fakes the port tests share: a probe, a Docker client and resolvers using them (the fake daemon
that keeps leases is ``fake_daemon`` of tests/unit/plugins/module_utils/conftest.py).

Fixtures, not a helper module: without ``__init__.py`` files in tests/, a helper module would be
importable only under pytest's default import mode.
"""

from __future__ import annotations

import errno
from unittest import mock

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils.ports.holders import Holder
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


def container(name, cid, *bindings):
    return {
        "Id": cid,
        "Names": [f"/{name}"],
        "Ports": [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": p, "Type": t} for p, t in bindings]
        + [{"PrivatePort": 9000, "Type": "tcp"}],  # exposed, not published
    }


def resolver(probe=None, holder=None, **kwargs):
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
def _fake_client(fake_daemon):
    """``fake_client(containers=())``: a mocked client whose ``api`` records every call and passes it
    on to a fake daemon (``client.daemon``) that lists ``containers`` and keeps lease volumes."""

    def make(containers=()):
        client = mock.Mock()
        client.daemon = fake_daemon(containers=containers)
        client.api = mock.Mock(wraps=client.daemon)
        return client

    return make


@pytest.fixture(name="container")
def _container():
    return container


@pytest.fixture(name="resolver")
def _resolver():
    """``resolver(probe=None, holder=None, **kwargs)``: a PortResolver; leases only with a ``client``."""
    return resolver

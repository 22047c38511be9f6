"""RunTeardown (plugins/module_utils/cleanup/teardown.py): one run removed with the cleaner's logic (SDK mocked)."""

from __future__ import annotations

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils.cleanup.cleaner import CleanupOptions
from ansible_collections.argusai.resilience.plugins.module_utils.cleanup.teardown import RunTeardown
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError
from ansible_collections.argusai.resilience.plugins.module_utils.events import EventLog
from cleanup_fakes import client_with, run_container, run_labels


def test_run_teardown_removes_the_run_with_the_cleaners_logic():
    client = client_with(
        containers=[run_container("a"), run_container("b", run_id="r2")],
        networks=[{"Id": "n1", "Name": "net", "Labels": run_labels()}],
    )
    teardown = RunTeardown(client, CleanupOptions(project="p", run_id="r1"), EventLog("p", "r1"))
    result = teardown.clean()
    assert [r["name"] for r in result["removed"]] == ["a", "net"]
    client.api.remove_container.assert_called_once_with("id-a", v=True, force=True)
    client.api.remove_network.assert_called_once_with("n1")
    assert teardown.error_for(result) is None


def test_run_teardown_error_names_the_run():
    client = client_with(containers=[run_container("a")])
    client.api.remove_container.side_effect = RuntimeError("boom")
    teardown = RunTeardown(client, CleanupOptions(project="p", run_id="r1"), EventLog("p", "r1"))
    error = teardown.error_for(teardown.clean())
    assert error.code == "CLEANUP_FAILED" and "resources of run r1 of project p" in error.message


def test_run_teardown_needs_a_run_id():
    teardown = RunTeardown(client_with(), CleanupOptions(project="p"), EventLog("p", None))
    with pytest.raises(ArgusError):
        teardown.detect()

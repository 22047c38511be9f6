"""The cleaner's wait for another remover: one deadline per cleanup, fixed by the first wait (issue 14)."""

from __future__ import annotations

from ansible_collections.argusai.resilience.plugins.module_utils.cleanup import cleaner as oc
from ansible_collections.argusai.resilience.plugins.module_utils.events import EventLog
from cleanup_fakes import PROJECT, FakeAPI, FakeClient, api_error, container, managed


def test_containers_another_remover_never_finishes_share_one_wait():
    """Eight containers stuck in another remover's removal: 1 s of waiting in all, not 1 s each."""
    ids = [f"c{i}" for i in range(8)]
    api = FakeAPI(
        containers=[container(cid, managed()) for cid in ids],
        failures={cid: api_error(409, f"removal of container {cid} is already in progress") for cid in ids},
    )
    for cid in ids:
        api.inspect_container_answers[cid] = [{"Id": cid}]  # never gone
    now = [0.0]  # seconds on a fake monotonic clock that only sleeping moves
    cleaner = oc.OrphanCleaner(
        FakeClient(api),
        oc.CleanupOptions(PROJECT, "cur", ("containers",), workers=1, in_progress_wait=1.0),
        EventLog(PROJECT, "cur"),
        sleep=lambda seconds: now.append(now.pop() + seconds),
        monotonic=lambda: now[0],
    )
    result = cleaner.clean()
    assert sorted(entry["name"] for entry in result["failed"]) == ids
    assert {entry["error"]["details"]["cause"] for entry in result["failed"]} == {"removal_in_progress"}
    assert 1.0 <= now[0] <= 1.0 + 1e-9  # the last poll is cut to the deadline

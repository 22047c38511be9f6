"""A network verification ends within its documented bound whatever the targets do (issue 14).

The bound (docs/network.md): ``wait_seconds``, plus, per round of workers, the one attempt that
may start just before the deadline. These targets never give a final answer: the retry loop must
stop at a deadline fixed before the first probe, not one that moves with the attempts.
"""

from __future__ import annotations

import itertools
import math
import time

import pytest
from ansible_collections.argusai.resilience.plugins.module_utils.events import EventLog
from ansible_collections.argusai.resilience.plugins.module_utils.network.options import VerifyOptions, parse_targets
from ansible_collections.argusai.resilience.plugins.module_utils.network.verifier import NetworkVerifier
from net_fakes import BUSYBOX_DETECT, NSLOOKUP_OK, FakeAPI, FakeClient, sh_probe_mode

EXEC_SECONDS = 0.1  # what one probe exec takes here
ANSWERS = {
    "refused": ("ARGUS-RC 1 10.0 10.1\n", "nc: can't connect to remote host (172.18.0.3): Connection refused\n"),
    "reset": ("ARGUS-RC 1 10.0 10.1\n", "nc: can't connect to remote host (172.18.0.3): Connection reset by peer\n"),
    "timed_out": ("ARGUS-RC 124 10.0 12.0\n", ""),
    "garbled": ("???\n", ""),  # a connector output nobody can read: inconclusive, retried
}


def never_final(answers):
    """A busybox-like test container whose every probe of payments:8080 gets the next of ``answers``."""
    answer = itertools.cycle(answers)

    def handler(container, cmd):
        if sh_probe_mode(cmd) is None:
            return 0, BUSYBOX_DETECT, ""
        time.sleep(EXEC_SECONDS)
        out, err = ANSWERS[next(answer)]
        return 0, f"{NSLOOKUP_OK}\nARGUS-DNS 0\nARGUS-PICK 172.18.0.3\n{out}", err

    return handler


def run(handler, targets, wait_seconds, max_workers=10):
    options = VerifyOptions(
        project="shop",
        container="shop-tests",
        network="e2e-net",
        targets=parse_targets(targets),
        probe_timeout=1,
        wait_seconds=wait_seconds,
        max_workers=max_workers,
    )
    verifier = NetworkVerifier(FakeClient(FakeAPI(handler)), options, EventLog("shop", "r1"))
    started = time.monotonic()
    report = verifier.run()
    return report, time.monotonic() - started


def bound(wait_seconds, targets, workers):
    """wait_seconds + one last attempt (one exec here) per round of workers + the tool detection."""
    return wait_seconds + math.ceil(targets / workers) * EXEC_SECONDS + 0.3


@pytest.mark.parametrize(
    "answers",
    [["refused"], ["reset"], ["timed_out"], ["garbled"], ["refused", "reset", "timed_out", "garbled"]],
    ids=["refuses", "accepts_then_resets", "hangs", "inconclusive", "flaps"],
)
def test_a_target_that_never_answers_ends_within_the_bound(answers):
    report, elapsed = run(never_final(answers), [{"name": "payments", "host": "payments", "port": 8080}], 1.0)
    (result,) = report["results"]
    assert result["reachable"] is not True and result["attempts"] >= 3  # it was retried ...
    assert elapsed <= bound(1.0, 1, 10), elapsed  # ... and no longer than the deadline allows


def test_targets_queued_behind_the_workers_get_one_attempt_and_no_more_time():
    targets = [{"name": f"svc{i}", "host": "payments", "port": 8080} for i in range(6)]
    report, elapsed = run(never_final(["refused"]), targets, 0.5, max_workers=2)
    attempts = [result["attempts"] for result in report["results"]]
    assert min(attempts[:2]) >= 2 and attempts[2:] == [1, 1, 1, 1]
    assert elapsed <= bound(0.5, 6, 2), elapsed

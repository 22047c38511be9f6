"""forgotten_after_run: which pipeline set-ups drop the breakers when the run ends.

The environments are the ones ansible-runner 2.4 and AWX make: the runner sets
``AWX_ISOLATED_DATA_DIR`` to the run's artifact directory and, by default, points the jsonfile
cache inside it (tests/integration/test_breaker_pipelines.py runs the real runner); AWX adds
``JOB_ID`` and ``INVENTORY_ID`` to every job and sets no cache without "Use Fact Cache".
"""

from __future__ import annotations

import pytest
from ansible_collections.argusai.resilience.plugins.plugin_utils.breaker_store import forgotten_after_run

RUN = "/srv/job/artifacts/7f3c"
RUNNER = {"AWX_ISOLATED_DATA_DIR": RUN}
AWX = {"AWX_ISOLATED_DATA_DIR": RUN, "JOB_ID": "42", "INVENTORY_ID": "3"}


@pytest.mark.parametrize("plugin", ["jsonfile", "ansible.builtin.jsonfile"])
def test_runner_per_run_cache_is_named_with_the_fix(plugin):
    reason = forgotten_after_run(plugin, f"{RUN}/fact_cache", RUNNER)
    assert reason is not None
    assert f"{RUN}/fact_cache" in reason
    assert "fact_cache: /an/absolute/directory" in reason and "env/settings" in reason


def test_runner_containerized_cache_counts_too():
    run = "/runner/artifacts/7f3c"
    assert forgotten_after_run("jsonfile", f"{run}/fact_cache", {"AWX_ISOLATED_DATA_DIR": run})


@pytest.mark.parametrize(
    ("plugin", "connection", "environ"),
    [
        ("jsonfile", "/var/lib/argus/facts", RUNNER),  # the recipe: env/settings fact_cache elsewhere
        ("jsonfile", "/srv/job/artifacts/7f3c-other/fact_cache", RUNNER),  # a sibling path, not inside
        ("community.general.redis", "127.0.0.1:6379:0", RUNNER),  # runner API with another cache type
        ("jsonfile", f"{RUN}/fact_cache", {}),  # not under a runner at all
        ("memory", None, {}),  # plain ansible-playbook: its own choice, documented
        ("jsonfile", f"{RUN}/fact_cache", AWX),  # AWX with Use Fact Cache: AWX keeps the facts
        ("community.general.redis", "redis:6379:0", AWX),  # AWX job with a shared cache of its own
    ],
)
def test_caches_that_may_keep_breakers_are_not_reported(plugin, connection, environ):
    assert forgotten_after_run(plugin, connection, environ) is None


@pytest.mark.parametrize("plugin", ["memory", "ansible.builtin.memory"])
def test_awx_job_without_fact_cache_is_reported(plugin):
    reason = forgotten_after_run(plugin, None, AWX)
    assert reason is not None and "Use Fact Cache" in reason

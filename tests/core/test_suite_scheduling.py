"""How ``make test`` splits the suite over its workers (tests/conftest.py): pure logic, no server."""

from __future__ import annotations

from tests.conftest import CHAOS_RUNS, CLUSTER_RUNS, scope_of, scope_rank

HEAVY_CHAOS = "tests/chaos/test_worker_kills.py::test_producer_sigkilled_repeatedly"
FAILOVER = "tests/cluster/test_redis_failover.py::test_a_killed_primary_is_failed_over_and_every_mention_is_replied_once"
LIGHT_CHAOS = (
    "tests/chaos/test_regressions.py::test_the_first_post_attempt_is_recorded_and_bounds_reconciliation"
)


def test_the_cluster_failovers_are_a_unit_of_their_own_beside_the_chaos_runs() -> None:
    assert scope_of(HEAVY_CHAOS) == CHAOS_RUNS
    assert scope_of(FAILOVER) == CLUSTER_RUNS != CHAOS_RUNS
    # Handed out first and second: two workers take them at the start of a run.
    assert (scope_rank(CHAOS_RUNS), scope_rank(CLUSTER_RUNS)) == (0, 1)


def test_the_light_chaos_files_go_with_the_stack_heavy_folders_not_last() -> None:
    light = scope_of(LIGHT_CHAOS)
    assert light == "tests/chaos/test_regressions.py"
    assert scope_rank(light) == scope_rank("tests/e2e/test_console_browser.py")
    assert scope_rank(light) < scope_rank("tests/core/test_lifecycle.py")

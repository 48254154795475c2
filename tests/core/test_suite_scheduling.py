"""How ``make test`` splits the suite over its workers (tests/conftest.py): pure logic, no server."""

from __future__ import annotations

from tests.conftest import CHAOS_RUNS, CLUSTER_RUNS, next_scope, scope_of, scope_rank

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


def test_the_dependency_fault_runs_go_with_the_failovers_off_the_chaos_chain() -> None:
    storms = "tests/chaos/test_dependency_faults.py::test_x_429_and_5xx_storms"
    assert scope_of(storms) == CLUSTER_RUNS
    assert scope_of("tests/chaos/test_infrastructure_restarts.py::test_redis_restart") == CHAOS_RUNS


QUEUE = ("tests/e2e/test_skeleton.py", "tests/core/test_models.py", "tests/core/test_logs.py")


def test_a_worker_gets_the_lowest_rank_first_in_xdists_order() -> None:
    assert next_scope([*QUEUE, CLUSTER_RUNS], {}) == CLUSTER_RUNS
    assert next_scope(QUEUE, {"tests/e2e/test_secrets.py": {"t": True}}) == "tests/e2e/test_skeleton.py"


def test_behind_its_last_chaos_run_a_worker_gets_the_smallest_quick_file() -> None:
    last_run_left = {CHAOS_RUNS: {HEAVY_CHAOS: False, "tests/chaos/test_worker_kills.py::other": True}}
    assert next_scope(QUEUE, last_run_left) == "tests/core/test_logs.py"
    all_done = {CHAOS_RUNS: {HEAVY_CHAOS: True}}
    assert next_scope(QUEUE, all_done) == "tests/e2e/test_skeleton.py"

"""Shared fixtures. Integration tests use the real Kafka and Redis that
scripts/services.py runs, with their own key prefix and topic names, and clean up."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from roastbot.kafka_wiring import delete_topics, ensure_topics
from roastbot.keys import RedisKeys
from roastbot.redis_conn import RedisClient, connect_redis
from roastbot.settings import SANDBOX_X_CREDENTIALS, Settings

HOME = Path(__file__).resolve().parent.parent
# A stack a developer runs from this checkout (`make up` writes var/run/stack.env) must not
# configure the tests; tests that play an operator beside a stack point at its file themselves.
os.environ["ROASTBOT_STACK_ENV"] = os.devnull


# The chaos files that load the machine: they run together on one worker, one after another.
# tests/chaos/test_audit.py (pure logic) and test_regressions.py (one in-process pipeline) load
# nothing and go to any worker like other files.
CHAOS_RUNS = "tests/chaos"
_LIGHT_CHAOS_FILES = ("tests/chaos/test_audit.py", "tests/chaos/test_regressions.py")
# The order in which whole files are handed out: the chaos runs first (the longest unit), then
# the folders whose files start stacks, brokers and browsers, the quick unit files last, so the
# last minutes of a run are spread over every worker instead of one worker finishing a long
# end-to-end file alone (xdist's own order, by test count, put the slowest files last).
# The cluster tests are one unit of their own, handed out second: on a worker of their own
# beside the chaos runs, one after another (collection order), so one private cluster at a
# time and one failover at a time. Queued behind the chaos runs they made that worker's chain
# about 500 s of a 543 s run; beside them they overlap it instead (measured in the commit).
CLUSTER_RUNS = "tests/cluster"
# The dependency-fault runs (X and LLM storms, about 90 s; no broker or Redis goes down) go
# with the failovers: behind the chaos runs they made that chain about 340 s, the run's
# critical path with five workers; beside them both chains stay under the other workers' load.
_FAULT_FILES_WITH_THE_FAILOVERS = ("tests/chaos/test_dependency_faults.py",)
_FOLDER_ORDER = (CHAOS_RUNS, CLUSTER_RUNS, "tests/e2e", "tests/infra", "tests/integration", "tests/console")


def scope_of(nodeid: str) -> str:
    module = nodeid.split("::", 1)[0]
    if module in _FAULT_FILES_WITH_THE_FAILOVERS:
        return CLUSTER_RUNS
    if module.startswith(CHAOS_RUNS + "/") and module not in _LIGHT_CHAOS_FILES:
        return CHAOS_RUNS
    if module.startswith(CLUSTER_RUNS + "/"):
        return CLUSTER_RUNS
    return module


def scope_rank(scope: str) -> int:
    if scope == CHAOS_RUNS:
        return 0
    # The light chaos files go with the stack-heavy folders: test_regressions.py runs its
    # in-process pipelines for about 50 s, and handed out with the quick unit files it could
    # end a run alone on one worker while the others were done.
    if scope.startswith(CHAOS_RUNS + "/"):
        return _FOLDER_ORDER.index("tests/e2e")
    for rank, folder in enumerate(_FOLDER_ORDER[1:], start=1):
        if scope == folder or scope.startswith(folder + "/"):
            return rank
    return len(_FOLDER_ORDER)


def chaos_runs_left(assigned: dict[str, dict[str, bool]]) -> int:
    """Chaos runs handed to one worker and not yet done (``assigned``: scope -> test -> done)."""
    return sum(not done for done in assigned.get(CHAOS_RUNS, {}).values())


def next_scope(queue: Iterable[str], assigned: dict[str, dict[str, bool]]) -> str:
    """The file (or unit) to hand a worker next, from ``queue`` in xdist's order (most tests
    first): the lowest rank. But behind its last chaos run a worker gets the highest rank's
    smallest file, whatever is quickest: it runs after the run's longest chain."""
    ordered = list(queue)
    if chaos_runs_left(assigned):
        return max(reversed(ordered), key=scope_rank)
    return min(ordered, key=scope_rank)


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """How ``make test`` splits the suite over its pytest-xdist workers: the chaos runs go
    whole to one worker, one test after another (each loads the machine on its own and judges
    recovery by deadlines), and that worker takes no other file until they are done; every
    other file goes whole to a free worker, so a module-scoped stack (the console in Chromium)
    starts once. (``--dist loadgroup`` would say this with markers, but xdist 3.8 cannot
    rename node ids under pytest 9.)"""
    from xdist.scheduler import LoadScopeScheduling

    class ChaosApart(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid)

        def _assign_work_unit(self, node: object) -> None:
            self.workqueue.move_to_end(
                next_scope(self.workqueue, self.assigned_work.get(node, {})), last=False
            )
            super()._assign_work_unit(node)

        def _reschedule(self, node: object) -> None:
            # xdist queues the next file once two tests are left; behind two chaos runs it
            # would wait minutes while other workers idle. But a worker runs a test only once
            # it holds the one after it (xdist's WorkerInteractor.run_one_test), so the last
            # chaos run needs a file behind it: held back too, it waited, never started, until
            # every other file was handed out (CI20: minutes of an idle worker).
            if self.workqueue and chaos_runs_left(self.assigned_work.get(node, {})) > 1:
                return
            super()._reschedule(node)

    return ChaosApart(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Chaos runs (the cluster failovers too) time out at 600 s, past their own deadlines
    (wait_all_final allows up to 300 s after the load): a run that stalls fails naming the
    mentions left and their states, not with pytest-timeout's stack from inside the wait
    (CI21, where the suite's 300 s default fired first)."""
    for item in items:
        if item.get_closest_marker("chaos") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(600))


@pytest.fixture(scope="session")
def infrastructure() -> None:
    """Kafka and Redis are up (idempotent: starts nothing when they already run)."""
    subprocess.run([sys.executable, str(HOME / "scripts" / "services.py"), "up"], check=True, cwd=HOME)


def make_test_settings(**overrides: object) -> Settings:
    tag = uuid.uuid4().hex[:10]
    values: dict[str, object] = {
        "redis_key_prefix": f"test-{tag}",
        "kafka_topic_mentions": f"test-{tag}-mentions",
        "kafka_topic_dlq": f"test-{tag}-dlq",
        "kafka_consumer_group": f"test-{tag}-group",
        "kafka_partitions": 3,
        "roaster": "offline",
        "poll_interval_s": 0.5,
        **SANDBOX_X_CREDENTIALS,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def drop_prefix(client: RedisClient, keys: RedisKeys) -> None:
    """Delete every key of one bot (SCAN walks every primary of a cluster)."""
    for key in client.scan_iter(match=keys.every_key, count=1000):
        client.delete(key)


@pytest.fixture
def settings(infrastructure: None) -> Iterator[Settings]:
    """Settings with a private key prefix and private topics, removed afterwards."""
    current = make_test_settings()
    ensure_topics(current)
    yield current
    drop_prefix(connect_redis(current), RedisKeys.of(current))
    delete_topics(current, [current.kafka_topic_mentions, current.kafka_topic_dlq])


@pytest.fixture
def redis_client(settings: Settings) -> RedisClient:
    return connect_redis(settings)

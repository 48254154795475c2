"""A partition the consumer had paused and then lost or gave away is fetched again when it
comes back, over real Kafka and Redis.

librdkafka keeps a partition's pause flag when the partition leaves the assignment, and the
loop's resume() reaches only the partitions it holds at that moment. A partition paused by a
full read-ahead buffer (or an operator) that is lost or revoked before the resume was still
paused when the group gave it back, and was never fetched again: the broker-restart flake
(consumers idle, holding every partition, hundreds of mentions left in Kafka).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from confluent_kafka import Consumer, ConsumerGroupState, TopicPartition

import roastbot.consumer
from roastbot.kafka_wiring import consumer_lag, make_admin, make_consumer
from roastbot.settings import Settings
from tests.helpers import wait_for
from tests.integration.test_consumer_flow import JOIN_S, STEP_S, Key, build, produce, running

pytestmark = pytest.mark.integration

# The broker's smallest session timeout (group.min.session.timeout.ms); max.poll.interval.ms
# may not be below it. A loop that stops polling this long loses its assignment.
LOSE_AFTER_MS = 6_000


@pytest.fixture
def small_pool(settings: Settings) -> Settings:
    return settings.model_copy(update={"consumer_concurrency": 2})


@pytest.fixture
def quick_to_lose(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loop's consumer leaves its group after LOSE_AFTER_MS without a poll."""

    def consumer(settings: Settings, group_id: str | None = None, **extra: object) -> Consumer:
        timeouts = {"session.timeout.ms": LOSE_AFTER_MS, "max.poll.interval.ms": LOSE_AFTER_MS}
        return make_consumer(settings, group_id, **{**timeouts, **extra})

    monkeypatch.setattr(roastbot.consumer, "make_consumer", consumer)


def group_state(settings: Settings) -> ConsumerGroupState:
    admin = make_admin(settings)
    group = settings.kafka_consumer_group
    return admin.describe_consumer_groups([group])[group].result(timeout=10).state


def everything(partitions: int, per_partition: int) -> set[Key]:
    return {(p, o) for p in range(partitions) for o in range(per_partition)}


Rebalance = Callable[[Consumer, list[TopicPartition]], None]


def recorded(
    on_assign: Rebalance, calls: list[tuple[set[int], bool]], throttled: Callable[[], bool]
) -> Rebalance:
    """``on_assign`` that also records each assignment and whether the buffer was full then."""

    def wrapper(kafka: Consumer, partitions: list[TopicPartition]) -> None:
        calls.append(({tp.partition for tp in partitions}, throttled()))
        on_assign(kafka, partitions)

    return wrapper


def test_partitions_lost_while_the_buffer_is_full_are_fetched_again_when_they_come_back(
    small_pool: Settings, quick_to_lose: None
) -> None:
    settings = small_pool
    partitions = settings.kafka_partitions
    consumer, gate, _offsets = build(settings)
    # The loop stops polling once, long enough for the group to drop it (a broker away for
    # longer than the session timeout has the same effect: the assignment is lost).
    stalled, go_on = threading.Event(), threading.Event()
    original_dispatch = consumer._dispatch

    def dispatch() -> None:
        if stalled.is_set() and not go_on.is_set():
            go_on.wait(60)
        original_dispatch()

    consumer._dispatch = dispatch  # type: ignore[method-assign]
    original_revoke = consumer._on_revoke

    def on_revoke(kafka: Consumer, lost: list[TopicPartition]) -> None:
        gate.open()  # the running handlers finish: the revoke waits for them alone
        original_revoke(kafka, lost)

    consumer._on_revoke = on_revoke  # type: ignore[method-assign]
    assigns: list[tuple[set[int], bool]] = []
    consumer._on_assign = recorded(consumer._on_assign, assigns, lambda: consumer.throttled)  # type: ignore[method-assign]

    with running(consumer, gate):
        produce(settings, [0, 0, 0, 0])
        wait_for(
            lambda: len(gate.started) == 2 and len(consumer.buffered) == 2, JOIN_S, "a full pool and buffer"
        )
        wait_for(lambda: consumer.throttled, STEP_S, "fetching paused at a full buffer")
        before = len(assigns)
        assert set().union(*(numbers for numbers, _ in assigns)) == set(range(partitions))  # all paused

        stalled.set()
        try:
            wait_for(
                lambda: group_state(settings) == ConsumerGroupState.EMPTY, 30, "the group to drop the loop"
            )
        finally:
            go_on.set()
        wait_for(
            lambda: set().union(*(numbers for numbers, _ in assigns[before:])) == set(range(partitions)),
            JOIN_S,
            "every partition to come back",
        )
        # The buffer went with the lost partitions, so the throttle lifted while the loop held
        # none: they came back with no pause of this loop in force, nor any resume to come.
        assert not any(throttled for _, throttled in assigns[before:])

        produce(settings, [p for p in range(partitions) for _ in range(2)])
        wanted = {(0, o) for o in range(6)} | everything(partitions, 2)
        wait_for(lambda: wanted <= set(gate.finished), STEP_S, "every message fetched and handled")
        # The tracker starts afresh after the loss: commits go on to the end.
        wait_for(lambda: all(lag.lag == 0 for lag in consumer_lag(settings)), STEP_S, "commits to the end")


def test_a_partition_revoked_during_an_operators_pause_is_fetched_when_it_comes_back(
    small_pool: Settings,
) -> None:
    # As in the broker-restart chaos test: the consumers start paused, and the first to join
    # gives partitions to the next while the pause is in force.
    settings = small_pool
    partitions = settings.kafka_partitions
    consumer_a, gate_a, _ = build(settings, gate_blocking=False)
    gate_a.control.set_switch("paused", True)
    with running(consumer_a, gate_a):
        wait_for(
            lambda: consumer_a.paused and len(consumer_a.assigned) == partitions, JOIN_S, "A paused, all in"
        )
        consumer_b, gate_b, _ = build(settings, gate_blocking=False)
        with running(consumer_b, gate_b):
            wait_for(lambda: consumer_b.assigned, JOIN_S, "B to take partitions from A")
            moved = set(consumer_b.assigned)
            wait_for(lambda: not consumer_a.assigned & moved, STEP_S, "A to let them go")
            gate_a.control.set_switch("paused", False)
            wait_for(lambda: not consumer_a.paused and not consumer_b.paused, STEP_S, "both to resume")
        wait_for(
            lambda: consumer_a.assigned == set(range(partitions)), JOIN_S, "A to get B's partitions back"
        )

        produce(settings, [p for p in range(partitions) for _ in range(2)])
        wait_for(
            lambda: everything(partitions, 2) <= set(gate_a.finished),
            STEP_S,
            f"A to fetch every partition, the ones back from B ({sorted(moved)}) too",
        )

"""A commit the broker does not answer never stops the consumer's loop, over a real Kafka of
the test's own (frozen with SIGSTOP) and the shared Redis.

The broker-restart stall of CI run 21: a consumer's synchronous commit, sent as the broker
came back, never returned. Its loop stopped polling while it held half the partitions, so
nothing of them was read until max.poll.interval.ms (5 min) threw it out of the group.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer

import roastbot.consumer
from roastbot.kafka_wiring import consumer_config, consumer_lag, delete_topics, ensure_topics
from roastbot.settings import Settings
from scripts import services
from tests.chaos.conftest import private_kafka  # noqa: F401  (a fixture)
from tests.conftest import make_test_settings
from tests.helpers import wait_for
from tests.integration.test_consumer_flow import JOIN_S, STEP_S, build, produce, running

pytestmark = pytest.mark.integration

# Well inside the group's session timeout (10 s), so the broker, woken, does not evict the
# member: what is tested is the loop alone, not a rebalance.
PAUSE_WITHIN_S = 4


class CountedCommits(Consumer):
    """The loop's Kafka consumer, counting commit() calls (the C type's methods cannot be wrapped)."""

    calls = 0

    def commit(self, *args: object, **kwargs: object) -> object:
        type(self).calls += 1
        return super().commit(*args, **kwargs)


@pytest.fixture
def counted_commits(monkeypatch: pytest.MonkeyPatch) -> type[CountedCommits]:
    def consumer(settings: Settings, group_id: str | None = None, **extra: object) -> Consumer:
        return CountedCommits(consumer_config(settings, group_id, **extra))

    CountedCommits.calls = 0
    monkeypatch.setattr(roastbot.consumer, "make_consumer", consumer)
    return CountedCommits


@pytest.fixture
def frozen_broker_settings(private_kafka: services.Config) -> Iterator[Settings]:  # noqa: F811
    current = make_test_settings(
        kafka_bootstrap_servers=private_kafka.bootstrap_servers, kafka_partitions=2, consumer_concurrency=2
    )
    ensure_topics(current)
    yield current
    delete_topics(current, [current.kafka_topic_mentions, current.kafka_topic_dlq])


def test_a_commit_the_frozen_broker_never_answers_does_not_stop_the_loop(
    frozen_broker_settings: Settings,
    private_kafka: services.Config,  # noqa: F811
    counted_commits: type[CountedCommits],
) -> None:
    settings = frozen_broker_settings
    consumer, gate, offsets = build(settings)
    broker = services.inspect("kafka", private_kafka)["kafka"].pid
    assert broker is not None
    produce(settings, [0, 1])
    with running(consumer, gate):
        wait_for(lambda: len(gate.started) == 2, JOIN_S, "both messages started")
        os.kill(broker, signal.SIGSTOP)
        try:
            sent = counted_commits.calls
            gate.open()  # both finish: the loop's next commit goes to a broker that says nothing
            wait_for(lambda: counted_commits.calls > sent, STEP_S, "a commit sent to the frozen broker")
            # The loop still serves its operator: a pause set now is applied while the commit
            # is unanswered (a loop blocked in commit() would apply it only after the freeze).
            consumer.control.set_switch("paused", True)
            wait_for(lambda: consumer.paused, PAUSE_WITHIN_S, "the pause applied")
        finally:
            os.kill(broker, signal.SIGCONT)
        consumer.control.set_switch("paused", False)
        # Once the broker answers, the points it was sent are committed: nothing is redone.
        wait_for(lambda: sum(p.lag for p in consumer_lag(settings)) == 0, JOIN_S, "both offsets committed")
        assert offsets.in_flight() == 0
    assert sorted(gate.finished) == [(0, 0), (1, 0)]

"""make_admin over real Kafka: the admin client of our wiring (its logger, client.id and the
KAFKA_* passthrough) describes a consumer group that has a live member, within a deadline."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import ConsumerGroupState

from roastbot.kafka_wiring import make_admin, make_consumer
from roastbot.settings import Settings
from tests.helpers import wait_for

pytestmark = pytest.mark.integration

JOIN_S = 20  # a fresh consumer joins its group and gets its assignment
DESCRIBE_S = 5.0  # a broker on this machine answers in about 0.1 s


def test_make_admin_describes_a_group_with_a_live_member_within_a_deadline(settings: Settings) -> None:
    partitions = set(range(settings.kafka_partitions))
    consumer = make_consumer(settings)
    consumer.subscribe([settings.kafka_topic_mentions])
    try:
        # The topic is empty: a poll returns nothing, and serves the group's join.
        wait_for(
            lambda: (
                consumer.poll(0.2) is None and {tp.partition for tp in consumer.assignment()} == partitions
            ),
            JOIN_S,
            "the member's assignment",
        )
        admin, group = make_admin(settings), settings.kafka_consumer_group
        started = time.monotonic()
        future = admin.describe_consumer_groups([group], request_timeout=DESCRIBE_S)[group]
        described = future.result(timeout=DESCRIBE_S)
        assert time.monotonic() - started < DESCRIBE_S
        assert described.state == ConsumerGroupState.STABLE
        [member] = described.members
        assert member.client_id == "roastbot"
        assert {tp.partition for tp in member.assignment.topic_partitions} == partitions
    finally:
        consumer.close()

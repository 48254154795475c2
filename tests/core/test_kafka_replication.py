"""Replication settings for our topics and the doctor's under-replication finding (no broker)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from roastbot.kafka_wiring import librdkafka_overrides, new_topic, under_replicated
from tests.conftest import make_test_settings


def test_topics_get_the_configured_replication_and_min_insync_replicas() -> None:
    settings = make_test_settings(kafka_replication_factor=3, kafka_min_insync_replicas=2)
    topic = new_topic(settings, settings.kafka_topic_mentions)
    assert topic.replication_factor == 3
    assert topic.config == {"min.insync.replicas": "2"}
    assert topic.num_partitions == settings.kafka_partitions


def test_without_settings_the_brokers_defaults_apply() -> None:
    settings = make_test_settings(kafka_replication_factor="", kafka_min_insync_replicas="")
    topic = new_topic(settings, settings.kafka_topic_dlq)
    assert topic.replication_factor == -1  # the broker's default.replication.factor
    assert topic.config == {}


def test_more_in_sync_replicas_than_replicas_is_refused() -> None:
    with pytest.raises(ValidationError, match="KAFKA_MIN_INSYNC_REPLICAS=3 exceeds"):
        make_test_settings(kafka_replication_factor=2, kafka_min_insync_replicas=3)


def test_replication_settings_are_not_handed_to_librdkafka() -> None:
    environ = {"KAFKA_REPLICATION_FACTOR": "3", "KAFKA_MIN_INSYNC_REPLICAS": "2", "KAFKA_SASL_USERNAME": "u"}
    assert librdkafka_overrides(environ) == {"sasl.username": "u"}


def test_partitions_with_fewer_in_sync_replicas_than_replicas_are_named() -> None:
    settings = make_test_settings()

    def partition(number: int, replicas: list[int], isrs: list[int]) -> SimpleNamespace:
        return SimpleNamespace(id=number, replicas=replicas, isrs=isrs)

    topics = {
        settings.kafka_topic_mentions: SimpleNamespace(
            partitions={0: partition(0, [1, 2, 3], [1, 2, 3]), 1: partition(1, [1, 2, 3], [2, 3])}
        ),
        settings.kafka_topic_dlq: SimpleNamespace(partitions={0: partition(0, [1, 2, 3], [1])}),
        "someone-elses": SimpleNamespace(partitions={0: partition(0, [1, 2], [1])}),
    }
    assert under_replicated(settings, topics) == [
        f"{settings.kafka_topic_mentions}/1",
        f"{settings.kafka_topic_dlq}/0",
    ]

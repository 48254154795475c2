"""Seeding and reading Kafka the way the workers do (shared by the console and browser tests)."""

from __future__ import annotations

import time

from confluent_kafka import TopicPartition

from roastbot.dead_letters import DeadLetter, LetterSource, dead_letter_headers
from roastbot.kafka_wiring import make_producer, make_reader
from roastbot.settings import Settings


def source(topic: str, partition: int, offset: int) -> LetterSource:
    """Where a dead letter came from, as dead_letter_headers reads it."""
    return LetterSource(None, b"", f"{topic}:{partition}:{offset}")


def produce_dead_letters(settings: Settings, letters: list[tuple[bytes, str, str, int]]) -> None:
    """(value, reason, error, attempts) each, with the headers the consumer writes."""
    producer = make_producer(settings)
    failures: list[object] = []
    for index, (value, reason, error, attempts) in enumerate(letters):
        headers = dead_letter_headers(
            DeadLetter(reason, error, attempts, time.time() - 60),
            source(settings.kafka_topic_mentions, 0, index),
        )
        producer.produce(
            settings.kafka_topic_dlq,
            value=value,
            key=b"k",
            partition=0,
            headers=headers,
            on_delivery=lambda err, _m: failures.append(err) if err else None,
        )
    assert producer.flush(15) == 0 and not failures


def read_topic(settings: Settings, topic: str) -> list[bytes]:
    """Every message value of a topic, all partitions."""
    reader = make_reader(settings)
    try:
        metadata = reader.list_topics(topic, timeout=10).topics[topic]
        values: list[bytes] = []
        for partition in metadata.partitions:
            low, high = reader.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            if high <= low:
                continue
            reader.assign([TopicPartition(topic, partition, low)])
            got: list[bytes] = []
            deadline = time.monotonic() + 10
            while len(got) < high - low and time.monotonic() < deadline:
                for message in reader.consume(num_messages=high - low, timeout=1):
                    if message.error() is None:
                        got.append(message.value())
            values.extend(got)
        return values
    finally:
        reader.close()

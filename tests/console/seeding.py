"""Seeding and reading Kafka the way the workers do (shared by the console and browser tests)."""

from __future__ import annotations

import time

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

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
            low, high = _watermarks(reader, TopicPartition(topic, partition))
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


_NO_LEADER_YET = {
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError._UNKNOWN_PARTITION,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
}


def _watermarks(reader: Consumer, partition: TopicPartition) -> tuple[int, int]:
    """A partition's offsets; a topic made moments ago may not have its leader yet (retriable)."""
    deadline = time.monotonic() + 15
    while True:
        try:
            return reader.get_watermark_offsets(partition, timeout=10)
        except KafkaException as error:
            if error.args[0].code() not in _NO_LEADER_YET or time.monotonic() > deadline:
                raise
            time.sleep(0.2)  # poll again: the broker is electing the leader

"""Seeding and reading Kafka the way the workers do (shared by the console and browser tests)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import redis
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from roastbot.dead_letters import DeadLetter, LetterSource, dead_letter_headers
from roastbot.engagement import EngagementBook
from roastbot.kafka_wiring import make_producer, make_reader
from roastbot.keys import RedisKeys
from roastbot.models import Mention
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


FORGED_ROAST = "[click](http://127.0.0.1:9/phish) **bold** your sourdough"


def seed_results(client: redis.Redis, settings: Settings, now: float | None = None) -> dict[str, int]:
    """Tracked replies through the tracker's own store (roastbot.engagement): two roasters, two
    prompt versions; offline roasts name the subject and earn more; the posts are spread over
    the last 30 hours, each read at both checks, one in four answered by its author. Returns
    the likes at the last check per reply id."""
    now = time.time() if now is None else now
    keys = RedisKeys.of(settings)
    clock = [now]
    book = EngagementBook(client, keys, settings, clock=lambda: clock[0])
    likes: dict[str, int] = {}
    for number in range(24):
        reply_id, mention_id = str(9_000_000 + number), str(1_000_000 + number)
        offline = number % 2 == 0
        roast = (
            f"Roast {number}: your sourdough is flatter than your jokes"
            if offline
            else f"Roast {number}: meh"
        )
        if number == 3:
            roast = FORGED_ROAST
        record = {
            "mention_id": mention_id,
            "author_id": str(500 + number),
            "author": f"author{number}",
            "mention": "roast my sourdough",
            "roast": roast,
            "roaster": "offline" if offline else "together",
            "model": "templates-v1" if offline else "meta-llama/Llama-3.3-70B-Instruct-Turbo",
            "prompt_version": "persona-3" if number % 3 else "persona-2",
            "skeleton": f"food-{number % 4}" if offline else "",
        }
        posted_at = now - 30 * 3600 + number * 3600 * 1.2
        book.track(reply_id, record, posted_at=posted_at)
        final = (12 if offline else 4) + number % 5
        for check, share in enumerate((0.6, 1.0)):
            clock[0] = posted_at + sorted(settings.engagement_checks_s)[check]
            metrics = {
                "like_count": round(final * share),
                "reply_count": number % 3,
                "impression_count": 40 * final,
            }
            book.record({reply_id: metrics}, [reply_id])
        likes[reply_id] = final
        if number % 4 == 0:
            answer = Mention.model_validate(
                {
                    "id": str(2_000_000 + number),
                    "text": "@roastbot ok that hurt",
                    "author_id": record["author_id"],
                    "conversation_id": mention_id,
                    "created_at": datetime.now(UTC).isoformat(),
                    "processed_at": datetime.now(UTC).isoformat(),
                    "referenced_tweet_id": reply_id,
                    "author": {"id": record["author_id"], "username": record["author"]},
                }
            )
            book.note_answer(answer)
    return likes

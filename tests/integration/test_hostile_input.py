"""Hostile and broken input over real Kafka, Redis and the X sandbox over HTTP: one odd tweet
never stops the producer, and every message a consumer cannot use reaches the dead-letter topic
with a reason that says what was wrong."""

from __future__ import annotations

import json

import httpx
import pytest

from roastbot.kafka_wiring import make_producer
from roastbot.models import TEXT_MAX_CHARS
from roastbot.settings import Settings
from tests.console.seeding import read_topic as topic_values
from tests.helpers import wait_for
from tests.integration.conftest import read_topic
from tests.integration.pipeline import consumer_thread, pipeline, producer_thread

pytestmark = pytest.mark.integration

X_LONGEST_POST = 25_000


def mention(x: httpx.Client, text: str, **body: object) -> str:
    answer = x.post("/sandbox/mentions", json={"text": text, **body})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["ids"][0])


def published(settings: Settings) -> dict[str, object]:
    return {m.id: m for _, _, m in read_topic(settings) if m is not None}


def counter(settings: Settings, client: object, name: str) -> int:
    from roastbot.keys import RedisKeys

    return int(client.hget(RedisKeys.of(settings).counters, name) or 0)  # type: ignore[attr-defined]


def test_a_page_mixing_the_longest_post_and_odd_tweets_with_good_ones_keeps_the_producer_polling(
    x: httpx.Client, sandbox_settings: Settings, redis_client: object
) -> None:
    control = sandbox_settings.model_copy(update={"poll_interval_s": 0.5})
    with producer_thread(control) as producer:
        first = mention(x, "roast my first post")
        longest = mention(x, "roast this novel " + "z" * (X_LONGEST_POST - len("roast this novel ")))
        no_author = mention(x, "who wrote me?", served_as={"omit": ["author_id"]})
        text_is_a_number = mention(x, "numbers", served_as={"replace": {"text": 12345}})
        odd_but_usable = mention(
            x,
            "odd but usable",
            served_as={
                "replace": {
                    "created_at": "yesterday-ish",
                    "entities": {"holograms": [{"start": 0, "end": 4}]},
                    "referenced_tweets": "not a list",
                }
            },
        )
        last = mention(x, "roast my last post")
        wanted = {first, longest, odd_but_usable, last}
        found = wait_for(lambda: wanted <= set(published(control)) and published(control), 30, "good ones")
        assert not {no_author, text_is_a_number} & set(found)

        long_message = found[longest]
        assert long_message.text_truncated and len(long_message.text) == TEXT_MAX_CHARS  # type: ignore[attr-defined]
        assert long_message.text.startswith("@roastbot roast this novel zzz")  # type: ignore[attr-defined]
        assert not found[first].text_truncated  # type: ignore[attr-defined]
        assert counter(control, redis_client, "producer_skipped:unusable") == 2
        # since_id moved past the skipped ones too: the next polls do not meet them again.
        polls = counter(control, redis_client, "polls")
        wait_for(lambda: counter(control, redis_client, "polls") >= polls + 3, 15, "three more polls")
        assert counter(control, redis_client, "producer_skipped:unusable") == 2

        later = mention(x, "still listening?")
        wait_for(lambda: later in published(control), 20, "a mention made after the odd page")
        assert producer.last_error == ""


def test_a_long_mention_gets_a_reply_like_any_other(x: httpx.Client, sandbox_settings: Settings) -> None:
    settings = sandbox_settings.model_copy(update={"per_author_limit_per_hour": 0})
    with pipeline(settings, x) as bot:
        long_id = bot.mention("roast my essay about sourdough " + "bread " * 4_000)
        assert bot.final_state(long_id)["state"] == "posted"
        assert len(bot.replies(long_id)) == 1


@pytest.mark.parametrize(
    ("value", "expected_error"),
    [
        (b"null", "not a JSON object: the message is null"),
        (b"[]", "not a JSON object: the message is an array of 0 items"),
        (b'"hello"', "not a JSON object: the message is a string"),
        (
            json.dumps(
                {
                    "id": "1900000000000000009",
                    "text": "hi",
                    "author_id": "42",
                    "conversation_id": "1900000000000000009",
                    "created_at": "2026-11-29T10:00:00Z",
                    "processed_at": "2026-11-29T10:00:01Z",
                    "author": {"id": "42", "username": "![x](http://127.0.0.1:9/track.png)"},
                }
            ).encode(),
            "invalid fields: author.username: String should match pattern",
        ),
    ],
)
def test_a_message_that_is_not_a_mention_is_dead_lettered_with_what_was_wrong(
    sandbox_settings: Settings, value: bytes, expected_error: str
) -> None:
    kafka = make_producer(sandbox_settings)
    kafka.produce(sandbox_settings.kafka_topic_mentions, key=b"k", value=value)
    assert kafka.flush(10) == 0
    with consumer_thread(sandbox_settings):
        wait_for(
            lambda: topic_values(sandbox_settings, sandbox_settings.kafka_topic_dlq), 30, "the dead letter"
        )
    [letter] = dead_letters(sandbox_settings)
    assert letter["dlq.reason"] == "invalid_message"
    assert letter["dlq.error"].startswith(expected_error), letter["dlq.error"]


def dead_letters(settings: Settings) -> list[dict[str, str]]:
    from confluent_kafka import TopicPartition

    from roastbot.kafka_wiring import make_reader

    reader = make_reader(settings)
    topic = settings.kafka_topic_dlq
    found = []
    try:
        for partition in reader.list_topics(topic, timeout=10).topics[topic].partitions:
            low, high = reader.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            if high > low:
                reader.assign([TopicPartition(topic, partition, low)])
                for message in reader.consume(high - low, timeout=10):
                    found.append({k: v.decode() for k, v in message.headers() or []})
    finally:
        reader.close()
    return found

"""Posted replies are tracked with their roast's origin, and an author who answers the bot's
reply is recorded as a started conversation: the whole path over Kafka, Redis and the sandbox."""

from __future__ import annotations

import httpx
import pytest

from roastbot.engagement import ROAST_FIELDS, EngagementBook
from roastbot.roasting.base import PROVENANCE
from roastbot.settings import Settings
from tests.helpers import wait_for
from tests.integration.pipeline import pipeline

pytestmark = pytest.mark.integration


def test_the_roast_record_fields_include_its_provenance() -> None:
    assert set(PROVENANCE) <= set(ROAST_FIELDS)


def test_an_authors_answer_marks_the_roast_as_a_started_conversation(
    x: httpx.Client, sandbox_settings: Settings
) -> None:
    x.post("/sandbox/limits", json={"tier": "unlimited", "time_scale": 100_000}).raise_for_status()
    x.post("/sandbox/engagement", json={"author_reply_rate": 1.0}).raise_for_status()
    settings = sandbox_settings.model_copy(update={"per_author_limit_per_hour": 0})
    with pipeline(settings, x) as bot:
        book = EngagementBook(bot.control.client, bot.keys, settings)
        answered_id = bot.mention("roast my sourdough starter", author={"username": "baker"})
        bot.final_state(answered_id)
        [reply] = bot.replies(answered_id)
        tracked = bot.keys.engagement_post(str(reply["id"]))
        record = wait_for(
            lambda: (r := bot.control.client.hgetall(tracked)).get("answered_by") and r, 30, "the answer"
        )
        answer = bot.final_state(record["answered_by"])  # it went through the consumer like any mention
        # A stranger replying to another reply of ours starts nothing.
        x.post("/sandbox/engagement", json={"author_reply_rate": 0.0}).raise_for_status()
        other_id = bot.mention("roast my bike", author={"username": "cyclist"})
        bot.final_state(other_id)
        [other_reply] = bot.replies(other_id)
        stranger = bot.mention(
            "lol", author={"username": "stranger"}, in_reply_to_tweet_id=str(other_reply["id"])
        )
        bot.final_state(stranger)
    assert record["mention_id"] == answered_id and record["author"] == "baker"
    assert record["roaster"] and record["prompt_version"]  # joined with the roast's origin
    assert record["roast"] == reply["text"]
    assert answer["state"] in {"posted", "skipped"}
    assert not bot.control.client.hexists(bot.keys.engagement_post(str(other_reply["id"])), "answered_by")
    assert bot.counter("conversation_started") == 1
    assert {p["reply_id"] for p in book.posts(0)} >= {str(reply["id"]), str(other_reply["id"])}

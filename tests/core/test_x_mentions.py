"""X's mentions answer becoming messages, one tweet at a time: whatever one tweet holds, the
rest of the page still comes through (pure logic: no server)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from roastbot.models import MAX_MESSAGE_BYTES, TEXT_MAX_CHARS, Mention
from roastbot.x_mentions import MalformedAnswer, parse_mentions_page

FETCHED = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def tweet(tweet_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": tweet_id,
        "text": f"@roastbot roast {tweet_id}",
        "author_id": "42",
        "conversation_id": tweet_id,
        "created_at": "2026-11-30T11:59:00.000Z",
        "edit_history_tweet_ids": [tweet_id],
        **fields,
    }


def answer(*tweets: object, users: list[object] | None = None) -> dict[str, Any]:
    return {
        "data": list(tweets),
        "includes": {
            "users": users if users is not None else [{"id": "42", "name": "A", "username": "alice"}]
        },
        "meta": {"result_count": len(tweets)},
    }


def test_a_well_formed_tweet_becomes_the_message_x_described() -> None:
    page = parse_mentions_page(answer(tweet("101")), FETCHED)
    assert not page.skipped
    [fetched] = page.mentions
    mention = fetched.mention
    assert (mention.id, mention.author_id, mention.conversation_id) == ("101", "42", "101")
    assert mention.created_at == datetime(2026, 11, 30, 11, 59, tzinfo=UTC)
    assert mention.author is not None and mention.author.username == "alice"
    assert not mention.text_truncated and not fetched.is_retweet


def test_a_long_post_is_cut_to_what_a_message_keeps_and_marked_truncated() -> None:
    long_text = "@roastbot " + "x" * 25_000
    page = parse_mentions_page(answer(tweet("102", text=long_text)), FETCHED)
    [fetched] = page.mentions
    mention = fetched.mention
    assert mention.text == long_text[:TEXT_MAX_CHARS] and mention.text_truncated
    assert Mention.from_bytes(mention.to_bytes()) == mention  # a consumer accepts it


def test_a_long_post_of_four_byte_characters_still_fits_a_message() -> None:
    page = parse_mentions_page(answer(tweet("103", text="🔥" * 25_000)), FETCHED)
    mention = page.mentions[0].mention
    assert mention.text_truncated and len(mention.to_bytes()) <= MAX_MESSAGE_BYTES
    assert Mention.from_bytes(mention.to_bytes()).text == mention.text


@pytest.mark.parametrize(
    ("odd", "skipped_id", "reason"),
    [
        (tweet("201", text=None), "201", "text is missing or not a string"),
        (tweet("202", text=["not", "text"]), "202", "text is missing or not a string"),
        ({k: v for k, v in tweet("203").items() if k != "author_id"}, "203", "author_id is missing"),
        (tweet("204", author_id={"id": "42"}), "204", "author_id is missing or not a user id"),
        ({k: v for k, v in tweet("205").items() if k != "id"}, None, "id is missing"),
        (tweet("abc"), None, "id is missing or not a tweet id"),
        ("a bare string", None, "not a JSON object"),
        (None, None, "not a JSON object"),
    ],
)
def test_an_unusable_tweet_is_skipped_with_its_reason_and_the_page_goes_on(
    odd: object, skipped_id: str | None, reason: str
) -> None:
    page = parse_mentions_page(answer(tweet("300"), odd, tweet("301")), FETCHED)
    assert [f.mention.id for f in page.mentions] == ["300", "301"]
    [skipped] = page.skipped
    assert skipped.mention_id == skipped_id and reason in skipped.reason


def test_odd_but_harmless_values_are_tolerated() -> None:
    odd = tweet(
        "401",
        created_at="the day before yesterday",
        conversation_id=12345,
        referenced_tweets="replied_to 7",
        entities={"unknown_kind": [{"start": 0, "end": 3}], "mentions": "everyone"},
        lang=7,
    )
    numeric_id = {**tweet("402"), "id": 402}
    page = parse_mentions_page(answer(odd, numeric_id), FETCHED)
    assert not page.skipped
    first, second = (f.mention for f in page.mentions)
    assert first.created_at == FETCHED  # an unreadable time counts from the fetch
    assert first.conversation_id == "12345" and first.referenced_tweet_id is None
    assert second.id == "402"


def test_an_author_whose_username_x_would_never_allow_is_skipped() -> None:
    users = [{"id": "42", "name": "x", "username": "![x](http://127.0.0.1:9/t.png)"}]
    page = parse_mentions_page({**answer(tweet("501")), "includes": {"users": users}}, FETCHED)
    assert not page.mentions and page.skipped[0].mention_id == "501"
    assert "username" in page.skipped[0].reason


def test_long_names_and_bios_are_bounded_not_refused() -> None:
    users = [{"id": "42", "name": "n" * 5000, "username": "alice", "description": ["not", "a", "bio"]}]
    page = parse_mentions_page(answer(tweet("601"), users=users), FETCHED)
    author = page.mentions[0].mention.author
    assert author is not None and len(author.name) == 100 and author.description == ""


def test_a_referenced_post_longer_than_a_message_keeps_is_cut_and_marked() -> None:
    parent = {"id": "700", "text": "y" * 30_000, "author_id": "43"}
    reply = tweet("701", referenced_tweets=[{"type": "replied_to", "id": "700"}])
    page = parse_mentions_page(
        {
            "data": [reply],
            "includes": {
                "users": [{"id": "42", "username": "alice"}, {"id": "43", "username": "bad name"}],
                "tweets": [parent],
            },
        },
        FETCHED,
    )
    mention = page.mentions[0].mention
    assert mention.referenced_tweet_id == "700" and mention.referenced_text_truncated
    assert len(mention.referenced_text or "") == TEXT_MAX_CHARS
    assert mention.referenced_author_username is None  # not a username X allows: dropped


@pytest.mark.parametrize("body", [[], "page", {"data": {"id": "1"}}])
def test_an_answer_that_is_not_a_mentions_page_is_malformed(body: object) -> None:
    with pytest.raises(MalformedAnswer):
        parse_mentions_page(body, FETCHED)


def test_an_empty_page_has_no_data_key() -> None:
    page = parse_mentions_page({"meta": {"result_count": 0}}, FETCHED)
    assert page.mentions == [] and page.skipped == [] and page.next_token is None


def test_public_metrics_give_the_mention_its_likes_replies_and_its_author_followers() -> None:
    metrics = {"like_count": 7, "reply_count": 2, "retweet_count": 1}
    users = [{"id": "42", "name": "A", "username": "alice", "public_metrics": {"followers_count": 1234}}]
    odd = {"like_count": "many", "reply_count": -1}
    page = parse_mentions_page(
        answer(tweet("101", public_metrics=metrics), tweet("102", public_metrics=odd), users=users), FETCHED
    )
    first, second = (fetched.mention for fetched in page.mentions)
    assert (first.like_count, first.reply_count) == (7, 2)
    assert first.author is not None and first.author.followers_count == 1234
    assert (second.like_count, second.reply_count) == (None, None)  # not counts: unknown

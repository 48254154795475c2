from __future__ import annotations

import json

import pytest

from roastbot.models import MAX_MESSAGE_BYTES, InvalidMessage, Mention

CONTRACT_FIELDS = {
    "id",
    "text",
    "author_id",
    "conversation_id",
    "created_at",
    "processed_at",
    "referenced_tweet_id",
}


def sample() -> dict[str, object]:
    return {
        "id": "1900000000000000001",
        "text": "@roastbot roast me",
        "author_id": "42",
        "conversation_id": "1900000000000000001",
        "created_at": "2026-11-29T10:00:00.000Z",
        "processed_at": "2026-11-29T10:00:01.000Z",
        "referenced_tweet_id": None,
    }


def test_message_keeps_every_contract_field() -> None:
    mention = Mention.from_bytes(json.dumps(sample()).encode())
    assert set(json.loads(mention.to_bytes())) >= CONTRACT_FIELDS


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (json.dumps({**sample(), "id": "abc"}).encode(), "invalid fields: id"),
        (json.dumps({k: v for k, v in sample().items() if k != "text"}).encode(), "invalid fields: text"),
        (b"x" * (MAX_MESSAGE_BYTES + 1), "exceeds"),
    ],
)
def test_unusable_messages_raise_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(InvalidMessage, match=reason):
        Mention.from_bytes(raw)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"null", "not a JSON object: the message is null"),
        (b"[1, 2]", "not a JSON object: the message is an array of 2 items"),
        (b'"@roastbot hi"', "not a JSON object: the message is a string"),
        (b"42", "not a JSON object: the message is a number"),
        (b"true", "not a JSON object: the message is the boolean true"),
    ],
)
def test_json_that_is_not_an_object_says_what_it_is(raw: bytes, reason: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        Mention.from_bytes(raw)
    assert str(caught.value) == reason


def test_every_invalid_field_is_named_with_what_was_wrong() -> None:
    raw = json.dumps({**sample(), "id": "abc", "created_at": "soon"}).encode()
    with pytest.raises(InvalidMessage) as caught:
        Mention.from_bytes(raw)
    reason = str(caught.value)
    assert reason.startswith("invalid fields: id: String should match pattern")
    assert "created_at: Input should be a valid datetime" in reason
    assert "abc" not in reason and "soon" not in reason  # what was wrong, never the value


@pytest.mark.parametrize(
    "username",
    ["![x](http://127.0.0.1:9/track.png)", "<img src=x>", "alice bob", "a" * 16, "http://evil.example"],
)
def test_an_author_username_x_would_never_allow_is_an_invalid_message(username: str) -> None:
    raw = json.dumps({**sample(), "author": {"id": "42", "username": username}}).encode()
    with pytest.raises(InvalidMessage, match=r"invalid fields: author\.username"):
        Mention.from_bytes(raw)


@pytest.mark.parametrize("username", ["alice", "A_1", "x" * 15, ""])
def test_usernames_as_x_allows_them_are_accepted(username: str) -> None:
    raw = json.dumps({**sample(), "author": {"id": "42", "username": username}}).encode()
    assert Mention.from_bytes(raw).author.username == username  # type: ignore[union-attr]


def test_a_dead_letter_never_has_a_blank_reason_or_detail() -> None:
    from roastbot.dead_letters import DeadLetter

    blank = DeadLetter("  ", "", 1, 0.0)
    assert blank.reason == "unknown" and blank.error == "unknown (no detail was given)"
    keyed = DeadLetter("invalid_message", str(KeyError()), 1, 0.0)
    assert keyed.error == "invalid_message (no detail was given)"

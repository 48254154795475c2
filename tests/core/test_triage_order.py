"""The order in which waiting mentions take post slots (pure logic: no server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from roastbot.models import Author, Mention
from roastbot.triage import triage_score

NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def mention(minutes_ago: int, followers: int | None = None, likes: int | None = None) -> Mention:
    created = NOON - timedelta(minutes=minutes_ago)
    return Mention(
        id=str(1000 + minutes_ago),
        text="roast me",
        author_id="42",
        conversation_id=str(1000 + minutes_ago),
        created_at=created,
        processed_at=NOON,
        author=Author(id="42", username="a", followers_count=followers),
        like_count=likes,
        reply_count=None if likes is None else 1,
    )


def best_first(mentions: list[Mention], order: str) -> list[int]:
    ranked = sorted(mentions, key=lambda m: triage_score(m, order), reverse=True)  # type: ignore[arg-type]
    return [int(m.id) - 1000 for m in ranked]


def test_newest_first_by_default() -> None:
    assert best_first([mention(30), mention(5), mention(50)], "newest") == [5, 30, 50]


def test_followers_first_and_the_newer_of_equals() -> None:
    mentions = [mention(5, followers=10), mention(30, followers=5000), mention(50, followers=10)]
    assert best_first(mentions, "followers") == [30, 5, 50]
    assert best_first([mention(5), mention(30, followers=1)], "followers") == [30, 5]  # unknown: 0


def test_engagement_counts_likes_and_replies() -> None:
    mentions = [mention(5, likes=0), mention(30, likes=40), mention(50, likes=3)]
    assert best_first(mentions, "engagement") == [30, 50, 5]

"""The tracker's store over real Redis: the due-schedule per check, deleted replies leaving
it, and storage bounded by TTL and trimming."""

from __future__ import annotations

import pytest
import redis

from roastbot.engagement import EngagementBook
from roastbot.keys import RedisKeys
from roastbot.settings import Settings

pytestmark = pytest.mark.integration
NOW = 1_800_000_000.0


def _book(settings: Settings, redis_client: redis.Redis, clock: list[float]) -> EngagementBook:
    settings = settings.model_copy(
        update={"engagement_checks_s": [86400.0, 3600.0], "engagement_retention_s": 7200.0}
    )
    return EngagementBook(redis_client, RedisKeys.of(settings), settings, clock=lambda: clock[0])


def test_each_check_reschedules_until_the_last(settings: Settings, redis_client: redis.Redis) -> None:
    clock = [NOW]
    book = _book(settings, redis_client, clock)
    book.track("77", {"roast": "r", "roaster": "offline"}, posted_at=NOW)
    assert book.due(NOW + 3599) == [] and book.due(NOW + 3600) == ["77"]  # checks are sorted: +1 h first
    clock[0] = NOW + 3600
    book.record({"77": {"like_count": 3, "reply_count": 1}}, ["77"])
    assert book.due(NOW + 86399) == [] and book.due(NOW + 86400) == ["77"]
    clock[0] = NOW + 86400
    book.record({"77": {"like_count": 9, "reply_count": 2}}, ["77"])
    assert book.due(float("inf")) == []
    [post] = book.posts(0)
    assert [c["like_count"] for c in post["checks"]] == [3, 9] and post["likes"] == "9"


def test_a_deleted_reply_leaves_the_schedule(settings: Settings, redis_client: redis.Redis) -> None:
    book = _book(settings, redis_client, [NOW])
    book.track("78", {"roast": "r"}, posted_at=NOW - 4000)
    book.record({}, ["78"])  # X did not return it
    assert book.due(float("inf")) == []
    assert book.posts(0)[0]["gone"] == "1"


def test_storage_is_bounded_by_ttl_and_trimming(settings: Settings, redis_client: redis.Redis) -> None:
    clock = [NOW]
    book = _book(settings, redis_client, clock)
    keys = RedisKeys.of(settings)
    book.track("9", {"roast": "older"}, posted_at=NOW - 20000)  # its first check too is past retention
    book.track("10", {"roast": "old"}, posted_at=NOW - 7300)  # posted before the 2 h retention
    book.track("11", {"roast": "new"}, posted_at=NOW)
    assert redis_client.zrange(keys.engagement_posts, 0, -1) == ["11"]
    # A due time within the window stays until its read finds the hash gone (record drops it).
    assert redis_client.zrange(keys.engagement_due, 0, -1) == ["10", "11"]
    redis_client.delete(keys.engagement_post("10"))  # as its TTL would
    book.record({}, ["10"])
    assert redis_client.zrange(keys.engagement_due, 0, -1) == ["11"]
    assert 0 < redis_client.ttl(keys.engagement_post("11")) <= 7200

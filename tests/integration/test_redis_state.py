"""Redis-backed pieces against the real Redis: claims, quota reservation, author rules."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from roastbot.keys import RedisKeys
from roastbot.mention_state import ClaimVerdict, LostClaim, MentionStates
from roastbot.models import MentionState
from roastbot.quota import QuotaBook, parse_quota_headers
from roastbot.rules import AuthorRules
from roastbot.settings import Settings

pytestmark = pytest.mark.integration


def states(client: redis.Redis, settings: Settings, owner: str, lease_s: float = 30) -> MentionStates:
    return MentionStates(client, RedisKeys(settings.redis_key_prefix), owner, lease_s)


def test_only_one_worker_claims_a_mention(redis_client: redis.Redis, settings: Settings) -> None:
    first, second = states(redis_client, settings, "w1"), states(redis_client, settings, "w2")
    assert first.claim("100").verdict == ClaimVerdict.CLAIMED
    assert second.claim("100").verdict == ClaimVerdict.BUSY
    first.move("100", MentionState.POSTED, reply_id="9")
    assert second.claim("100").verdict == ClaimVerdict.FINAL


def test_two_threads_of_one_worker_do_not_share_a_claim(
    redis_client: redis.Redis, settings: Settings
) -> None:
    worker = states(redis_client, settings, "w1")
    assert worker.claim("150").verdict == ClaimVerdict.CLAIMED
    verdicts: list[ClaimVerdict] = []
    other_thread = threading.Thread(target=lambda: verdicts.append(worker.claim("150").verdict))
    other_thread.start()
    other_thread.join(10)
    assert verdicts == [ClaimVerdict.BUSY]
    assert worker.claim("150").verdict == ClaimVerdict.CLAIMED  # the holder itself may claim again


def test_expired_lease_is_taken_over_and_the_old_owner_is_refused(
    redis_client: redis.Redis, settings: Settings
) -> None:
    first, second = states(redis_client, settings, "w1", lease_s=0.2), states(redis_client, settings, "w2")
    first.claim("200")
    first.move("200", MentionState.POSTING, roast="hello")
    time.sleep(0.3)  # let the lease run out (the thing under test is expiry itself)
    claim = second.claim("200")
    assert claim.verdict == ClaimVerdict.CLAIMED
    assert claim.previous_state == "posting"  # the new owner knows to reconcile
    with pytest.raises(LostClaim):
        first.move("200", MentionState.POSTED)


def test_dead_letters_are_reclaimed_only_for_replays(redis_client: redis.Redis, settings: Settings) -> None:
    worker = states(redis_client, settings, "w1")
    worker.claim("300")
    worker.move("300", MentionState.DEAD_LETTERED, reason="retries_exhausted")
    assert worker.claim("300").verdict == ClaimVerdict.FINAL
    assert worker.claim("300", reclaim=MentionState.DEAD_LETTERED).verdict == ClaimVerdict.CLAIMED


def test_quota_reservation_never_hands_out_more_than_remaining(
    redis_client: redis.Redis, settings: Settings
) -> None:
    book = QuotaBook(redis_client, RedisKeys(settings.redis_key_prefix))
    reset = int(time.time()) + 60
    book.record(
        "post", {"x-rate-limit-limit": "100", "x-rate-limit-remaining": "3", "x-rate-limit-reset": str(reset)}
    )
    grants = [book.reserve("post") for _ in range(5)]
    assert grants[:3] == [None, None, None]
    assert grants[3:] == [float(reset), float(reset)]
    assert book.blocked_until("post") == float(reset)


def test_quota_after_reset_is_open_again(redis_client: redis.Redis, settings: Settings) -> None:
    book = QuotaBook(redis_client, RedisKeys(settings.redis_key_prefix))
    book.mark_exhausted("mentions", time.time() - 1)
    assert book.blocked_until("mentions") is None
    assert book.reserve("mentions") is None


def test_tightest_of_window_and_daily_limits_wins() -> None:
    headers = {
        "x-rate-limit-limit": "300",
        "x-rate-limit-remaining": "250",
        "x-rate-limit-reset": "1000",
        "x-user-limit-24hour-limit": "100",
        "x-user-limit-24hour-remaining": "0",
        "x-user-limit-24hour-reset": "5000",
    }
    assert parse_quota_headers(headers) == {"limit": 100, "remaining": 0, "reset": 5000}
    assert parse_quota_headers({}) == {}


def test_author_limit_is_per_hour_and_idempotent(redis_client: redis.Redis, settings: Settings) -> None:
    rules = AuthorRules(redis_client, RedisKeys(settings.redis_key_prefix))
    assert rules.reserve_roast("a1", "m1", limit=2)
    assert rules.reserve_roast("a1", "m1", limit=2)  # same mention again: still its slot
    assert rules.reserve_roast("a1", "m2", limit=2)
    assert not rules.reserve_roast("a1", "m3", limit=2)
    assert rules.reserve_roast("a2", "m4", limit=2)


def test_conversation_limit_lets_one_roast_through(redis_client: redis.Redis, settings: Settings) -> None:
    rules = AuthorRules(redis_client, RedisKeys(settings.redis_key_prefix))
    granted = [rules.reserve_conversation("c1", f"m{i}", limit=1, window_s=3600) for i in range(5)]
    assert granted == [True, False, False, False, False]
    assert rules.conversation_replies("c1", 3600) == 1

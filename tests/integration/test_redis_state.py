"""Redis-backed pieces against the real Redis: claims, quota reservation, author rules."""

from __future__ import annotations

import json
import threading
import time

import pytest
import redis

from roastbot.holds import GENERATING, POSTING, Holds
from roastbot.keys import RedisKeys
from roastbot.lifecycle import IllegalTransition, State
from roastbot.mention_store import ClaimVerdict, LostClaim, MentionStore, plant
from roastbot.quota import QuotaBook, parse_quota_headers
from roastbot.redis_conn import connect_redis, redis_round_trips
from roastbot.rules import AuthorRules
from roastbot.settings import Settings
from roastbot.telemetry import Bookkeeping, latency_bucket
from tests.helpers import wait_for

pytestmark = pytest.mark.integration

TO_POSTED = [State.CLAIMED, State.GENERATING, State.READY, State.POSTING, State.POSTED]


def store(client: redis.Redis, settings: Settings, owner: str, lease_s: float = 30) -> MentionStore:
    return MentionStore(client, RedisKeys.of(settings), owner, lease_s)


def test_only_one_worker_claims_a_mention(redis_client: redis.Redis, settings: Settings) -> None:
    first, second = store(redis_client, settings, "w1"), store(redis_client, settings, "w2")
    assert first.claim("100").verdict == ClaimVerdict.CLAIMED
    assert second.claim("100").verdict == ClaimVerdict.BUSY
    plant(first, "100", TO_POSTED, reply_id="9")
    assert second.claim("100").verdict == ClaimVerdict.CLOSED


def test_two_threads_of_one_worker_do_not_share_a_claim(
    redis_client: redis.Redis, settings: Settings
) -> None:
    worker = store(redis_client, settings, "w1")
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
    first, second = store(redis_client, settings, "w1", lease_s=0.2), store(redis_client, settings, "w2")
    plant(first, "200", [State.CLAIMED, State.GENERATING, State.READY, State.POSTING], roast="hello")
    time.sleep(0.3)  # let the lease run out (the thing under test is expiry itself)
    claim = second.claim("200")
    assert claim.verdict == ClaimVerdict.CLAIMED
    assert claim.state == State.POSTING  # the new owner knows to reconcile
    assert claim.record["roast"] == "hello"
    with pytest.raises(LostClaim):
        first.move("200", State.POSTING, State.POSTED)


def test_a_lease_is_measured_on_redis_time_not_on_a_hosts_clock(
    redis_client: redis.Redis, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Consumers on several hosts: one whose clock runs a minute ahead took over claims that
    # were still running when leases were compared against each client's own clock.
    holder, other = store(redis_client, settings, "w1", lease_s=30), store(redis_client, settings, "w2")
    assert holder.claim("250").verdict == ClaimVerdict.CLAIMED
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 60)
    assert other.claim("250").verdict == ClaimVerdict.BUSY


def test_the_keeper_renews_a_claim_while_its_holder_waits_and_stops_when_the_holder_dies(
    redis_client: redis.Redis, settings: Settings
) -> None:
    lease_s = 0.6
    holder, other = store(redis_client, settings, "w1", lease_s), store(redis_client, settings, "w2")
    stop = threading.Event()
    claimed = threading.Event()
    release = threading.Event()

    def hold_while_waiting() -> None:  # a holder waiting for quota, a hold or the LLM
        assert holder.claim("260").verdict == ClaimVerdict.CLAIMED
        with holder.holding("260"):
            claimed.set()
            release.wait(10)

    thread = threading.Thread(target=hold_while_waiting)
    keeper = holder.run_keeper(stop, every_s=lease_s / 4)
    thread.start()
    assert claimed.wait(5)
    waited_until = time.monotonic() + 4 * lease_s
    while time.monotonic() < waited_until:  # four leases long, the claim stays the holder's
        assert other.claim("260").verdict == ClaimVerdict.BUSY
        time.sleep(lease_s / 3)
    stop.set()  # the worker died: nobody renews its claim any more
    keeper.join(5)
    assert wait_for(lambda: other.claim("260").verdict == ClaimVerdict.CLAIMED, 5, "a takeover")
    release.set()
    thread.join(5)


def test_a_move_must_follow_the_table_and_the_state_its_holder_saw(
    redis_client: redis.Redis, settings: Settings
) -> None:
    worker = store(redis_client, settings, "w1")
    worker.claim("270")
    with pytest.raises(IllegalTransition):
        worker.move("270", State.CLAIMED, State.POSTED)  # no edge skips the roast and the POST
    worker.move("270", State.CLAIMED, State.GENERATING)
    with pytest.raises(LostClaim):
        worker.move("270", State.CLAIMED, State.GENERATING)  # the state moved on since
    assert worker.record("270")["state"] == "generating"


def test_a_record_from_before_the_states_were_renamed_goes_on(
    redis_client: redis.Redis, settings: Settings
) -> None:
    worker = store(redis_client, settings, "w1")
    redis_client.hset(
        worker.keys.mention_state("280"), mapping={"state": "queued", "owner": "", "lease_until": 0}
    )
    claim = worker.claim("280")
    assert (claim.verdict, claim.state) == (ClaimVerdict.CLAIMED, State.CLAIMED)
    worker.move("280", State.CLAIMED, State.GENERATING)
    assert worker.record("280")["state"] == "generating"


def test_dead_letters_are_reclaimed_only_for_replays(redis_client: redis.Redis, settings: Settings) -> None:
    worker = store(redis_client, settings, "w1")
    plant(worker, "300", [State.CLAIMED, State.DEAD_LETTERED], reason="retries_exhausted")
    assert worker.claim("300").verdict == ClaimVerdict.CLOSED
    assert worker.claim("300", reopen=State.DEAD_LETTERED).verdict == ClaimVerdict.CLAIMED


def test_quota_reservation_never_hands_out_more_than_remaining(
    redis_client: redis.Redis, settings: Settings
) -> None:
    book = QuotaBook(redis_client, RedisKeys.of(settings))
    reset = int(time.time()) + 60
    book.record(
        "post", {"x-rate-limit-limit": "100", "x-rate-limit-remaining": "3", "x-rate-limit-reset": str(reset)}
    )
    grants = [book.reserve("post") for _ in range(5)]
    assert grants[:3] == [None, None, None]
    assert grants[3:] == [float(reset), float(reset)]
    assert book.blocked_until("post") == float(reset)


def test_quota_after_reset_is_open_again(redis_client: redis.Redis, settings: Settings) -> None:
    book = QuotaBook(redis_client, RedisKeys.of(settings))
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
    rules = AuthorRules(redis_client, RedisKeys.of(settings))
    assert rules.reserve_roast("a1", "m1", limit=2)
    assert rules.reserve_roast("a1", "m1", limit=2)  # same mention again: still its slot
    assert rules.reserve_roast("a1", "m2", limit=2)
    assert not rules.reserve_roast("a1", "m3", limit=2)
    assert rules.reserve_roast("a2", "m4", limit=2)


def test_conversation_limit_lets_one_roast_through(redis_client: redis.Redis, settings: Settings) -> None:
    rules = AuthorRules(redis_client, RedisKeys.of(settings))
    granted = [rules.reserve_conversation("c1", f"m{i}", limit=1, window_s=3600) for i in range(5)]
    assert granted == [True, False, False, False, False]


def test_the_loop_guard_counts_replies_posted_not_reservations(
    redis_client: redis.Redis, settings: Settings
) -> None:
    keys = RedisKeys.of(settings)
    rules, worker = AuthorRules(redis_client, keys), store(redis_client, settings, "w1")
    assert rules.reserve_conversation("c2", "m1", limit=5, window_s=3600)  # a reservation, no reply
    assert worker.conversation_replies("c2", 3600) == 0
    plant(worker, "310", TO_POSTED, reply_id="9310", conversation_id="c2", log_reply="9310")
    assert worker.conversation_replies("c2", 3600) == 1


def test_a_hold_stops_what_its_cause_stops(redis_client: redis.Redis, settings: Settings) -> None:
    holds = Holds(redis_client, RedisKeys.of(settings))
    holds.raise_hold("automation_block", "X said it looks automated")
    holds.raise_hold("automation_block", "a second detail")  # the first detail wins
    assert [(h.code, h.detail) for h in holds.active(POSTING)] == [
        ("automation_block", "X said it looks automated")
    ]
    assert holds.active(GENERATING) == []
    holds.raise_hold("llm_auth", "401", credential="TOGETHER_API_KEY")
    assert [h.code for h in holds.active(GENERATING)] == ["llm_auth"]
    assert [h.code for h in holds.lift()] == ["automation_block", "llm_auth"]
    assert holds.active() == []


def test_round_trips_count_one_per_command_pipeline_and_script_call(settings: Settings) -> None:
    client = connect_redis(settings)
    worker = store(client, settings, "w1")
    worker.claim("rt-0")  # the connection's handshake and the script's first load come first
    # Under the bot's hash tag on a cluster: the pipeline's keys on one node, one round trip.
    absent = f"{RedisKeys.of(settings).head}:absent"
    before = redis_round_trips()
    client.get(absent)
    pipe = client.pipeline(transaction=False)
    for n in range(5):
        pipe.get(f"{absent}:{n}")
    pipe.execute()
    worker.claim("rt-1")
    assert redis_round_trips() - before == 3


def test_a_moves_counters_and_roast_record_are_written_only_with_the_move(
    redis_client: redis.Redis, settings: Settings
) -> None:
    keys = RedisKeys.of(settings)
    first, second = store(redis_client, settings, "w1"), store(redis_client, settings, "w2")
    book = Bookkeeping(("posted",), latency_s=1.5, roast={"mention_id": "bk-1", "status": "posted"})
    plant(first, "bk-1", TO_POSTED[:-1])
    with pytest.raises(LostClaim):
        second.move("bk-1", State.POSTING, State.POSTED, book=book, reply_id="9")
    assert redis_client.hget(keys.counters, "posted") is None
    assert redis_client.llen(keys.recent_roasts) == 0
    first.move("bk-1", State.POSTING, State.POSTED, book=book, reply_id="9")
    minute = book.keys(keys)[1]
    assert redis_client.hget(keys.counters, "posted") == "1"
    assert redis_client.hget(minute, "posted") == "1"
    assert redis_client.hget(book.keys(keys)[2], latency_bucket(1.5)) == "1"
    assert [json.loads(r)["mention_id"] for r in redis_client.lrange(keys.recent_roasts, 0, -1)] == ["bk-1"]

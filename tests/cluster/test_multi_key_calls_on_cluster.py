"""Every call that can name several keys in one request runs on the Redis Cluster: each Lua
script and each MULTI pipeline of roastbot/ and app/, once, with its real keys.

A Redis Cluster refuses a script or a MULTI whose keys hash to different slots (CROSSSLOT);
a plain pipeline (transaction=False) is split by the client per node and cannot be refused,
and a one-key command cannot cross slots at all. So these are the calls to prove. The first
test finds them in the source (``register_script``/``load_script``, ``pipeline(transaction=True)``)
and fails when one is not in ``EXERCISED`` below: a new script or MULTI gets its line here.
The whole stack (producer, consumers, their plain pipelines and one-key scripts) runs on the
cluster in test_redis_failover.py.
"""

from __future__ import annotations

import ast
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from roastbot import dlq_admin
from roastbot.author_memory import AuthorMemory
from roastbot.control import Control
from roastbot.engagement import EngagementBook
from roastbot.kafka_wiring import make_producer
from roastbot.keys import RedisKeys
from roastbot.lifecycle import State
from roastbot.mention_store import ClaimVerdict, MentionStore
from roastbot.models import Mention
from roastbot.quota import QuotaBook
from roastbot.redis_conn import RedisClient
from roastbot.rules import AuthorRules
from roastbot.settings import Settings
from roastbot.signin import SessionTokens, SignInGuard
from roastbot.since_id import SinceId
from roastbot.spend import SpendLedger
from roastbot.telemetry import Bookkeeping
from roastbot.triage import QuotaTriage

pytestmark = pytest.mark.cluster_ci

HOME = Path(__file__).resolve().parents[2]
SOURCES = ("roastbot", "app")

# module:function of every script registration and MULTI pipeline -> how many there are.
# Each one is exercised below (test_..._run_on_the_cluster), one-key ones included.
EXERCISED = Counter(
    {
        "roastbot/mention_store.py:__init__": 2,  # transition, renew
        "roastbot/batch.py:__init__": 1,  # a step's operations in one call: the claim's, below
        "roastbot/rules.py:__init__": 1,  # the author's and the conversation's slots
        "roastbot/quota.py:__init__": 3,  # reserve, record, give_back
        "roastbot/spend.py:__init__": 1,  # the day's total and the budget hold
        "roastbot/spend.py:set_cap_for_today": 1,
        "roastbot/triage.py:__init__": 1,
        "roastbot/signin.py:__init__": 1,  # the client's and the global failure counts
        "roastbot/signin.py:revoke": 1,
        "roastbot/dlq_admin.py:replay": 1,  # the click's records and index
        "roastbot/dlq_admin.py:discard": 1,
        "roastbot/engagement.py:track": 1,
        "roastbot/engagement.py:record": 1,
        "roastbot/author_memory.py:remember": 1,
        "roastbot/control.py:request_fetch_now": 1,
        "roastbot/since_id.py:__init__": 1,  # one key
        "roastbot/producer.py:__init__": 2,  # the lease, one key: run by every stack on the cluster
    }
)


def multi_key_sites() -> Counter[str]:
    """module:function of each register_script/load_script call and pipeline(transaction=True)."""
    found: Counter[str] = Counter()
    for package in SOURCES:
        for path in sorted((HOME / package).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            for function in ast.walk(tree):
                if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                if function.name == "load_script":  # the helper itself
                    continue
                for call in ast.walk(function):
                    if isinstance(call, ast.Call) and _is_multi_key(call):
                        found[f"{path.relative_to(HOME)}:{function.name}"] += 1
    return found


def _is_multi_key(call: ast.Call) -> bool:
    name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
    if name in ("register_script", "load_script"):
        return True
    return name == "pipeline" and any(
        k.arg == "transaction" and isinstance(k.value, ast.Constant) and k.value.value is True
        for k in call.keywords
    )


def test_every_script_and_multi_in_the_source_is_exercised_here() -> None:
    found = multi_key_sites()
    assert sum(found.values()) >= 20, found  # the scan finds them (a broken walk finds none)
    assert found == EXERCISED, (
        f"not exercised here: {dict(found - EXERCISED)}; gone from the source: {dict(EXERCISED - found)}"
    )


def _mention(number: int, author: str = "501", conversation: str = "900") -> Mention:
    now = datetime.now(UTC)
    return Mention(
        id=str(number),
        text=f"roast me {number}",
        author_id=author,
        conversation_id=conversation,
        created_at=now,
        processed_at=now,
    )


def test_the_stores_scripts_run_on_the_cluster(settings: Settings, redis_client: RedisClient) -> None:
    keys = RedisKeys.of(settings)
    store = MentionStore(redis_client, keys, "w1")
    # claim with its counters (3 keys), the transition with the bookkeeping keys (8), renew (2).
    assert store.claim("101", count="delivered").verdict == ClaimVerdict.CLAIMED
    assert store.claim("102").verdict == ClaimVerdict.CLAIMED
    store.move(
        "101",
        State.CLAIMED,
        State.SKIPPED,
        conversation_id="900",
        book=Bookkeeping(counts=("skipped",), latency_s=1.0),
        reason="a test",
    )
    assert store.record("101")["state"] == "skipped"
    with store.holding("102"), store.holding("103"):
        assert store.claim("103").verdict == ClaimVerdict.CLAIMED
        assert store.renew_held() == []
    store.release("102", State.CLAIMED)

    rules = AuthorRules(redis_client, keys)
    assert rules.reserve(_mention(104), conversation_limit=1, window_s=60, author_limit=5) == ""
    assert rules.reserve(_mention(105), conversation_limit=1, window_s=60, author_limit=5) == (
        "conversation_limit"
    )
    assert rules.reserve_roast("502", "106", limit=1)
    assert rules.reserve_conversation("901", "107", limit=1, window_s=60)

    quota = QuotaBook(redis_client, keys)
    reset = int(time.time()) + 900
    quota.record(
        "post", {"x-rate-limit-limit": "100", "x-rate-limit-remaining": "5", "x-rate-limit-reset": str(reset)}
    )
    slot = quota.take("post", leaving="104")
    assert slot.wait_until is None
    quota.give_back("post", slot)
    assert quota.snapshot("post").remaining == 5

    triage = QuotaTriage(redis_client, keys, order="newest", max_reply_delay_s=3600, max_age_s=3600)
    assert triage.admit(_mention(108)).in_time

    SinceId(settings, redis_client, keys).advance("108")
    assert redis_client.get(keys.since_id) == "108"


def test_the_ledgers_and_the_consoles_calls_run_on_the_cluster(
    settings: Settings, redis_client: RedisClient
) -> None:
    keys = RedisKeys.of(settings)
    spend = SpendLedger(redis_client, keys, settings)
    spend.settle(spend.reserve_post("a roast"))
    spend.set_cap_for_today(5.0)
    assert spend.today().cap_usd == 5.0

    guard = SignInGuard(redis_client, keys)
    guard.failed("10.0.0.1")
    assert guard.wait_s("10.0.0.1") >= 0
    tokens = SessionTokens(redis_client, keys, "a console password")
    token, session = tokens.issue("op", 60)
    tokens.revoke(session)
    assert tokens.verify(token) is None

    Control(redis_client, keys).request_fetch_now()
    assert redis_client.llen(keys.fetch_now) == 1

    AuthorMemory(redis_client, keys).remember("501", "a roast", "skeleton")
    assert AuthorMemory(redis_client, keys).history("501").texts == ("a roast",)

    book = EngagementBook(redis_client, keys, settings)
    book.track("7001", {"author_id": "501"}, posted_at=time.time() - 3600)
    book.record({"7001": {"like_count": 3}}, ["7001"])
    assert redis_client.hget(keys.engagement_post("7001"), "likes") == "3"

    mention = _mention(109)
    letter = dlq_admin.DeadLetterMessage(
        topic=settings.kafka_topic_dlq,
        partition=0,
        offset=7,
        timestamp=None,
        key=b"900",
        value=mention.to_bytes(),
    )
    producer = make_producer(settings)
    outcomes = dlq_admin.replay(redis_client, keys, producer, settings, [letter], "op", "click-1")
    assert [outcome.status for outcome in outcomes] == ["sent"]
    again = dlq_admin.replay(redis_client, keys, producer, settings, [letter], "op", "click-1")
    assert [outcome.status for outcome in again] == ["already_replayed_by_this_click"]
    assert dlq_admin.discard(redis_client, keys, [letter.coordinates]) == 1
    assert dlq_admin.discarded(redis_client, keys) == {letter.coordinates}

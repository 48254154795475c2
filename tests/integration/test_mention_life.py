"""A mention's life over real Kafka, Redis and HTTP: the approval path's outcomes, decisions that
survive a SIGKILL, bugs that do not hold a partition, outages, revoked credentials."""

from __future__ import annotations

import fnmatch
import inspect
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
from streamlit import config as streamlit_config

from roastbot import dlq_admin
from roastbot.approvals import ApprovalQueue, Decision
from roastbot.control import Control
from roastbot.dead_letters import DeadLetter, LetterSource, dead_letter_headers
from roastbot.holds import Holds
from roastbot.kafka_wiring import consumer_lag, make_producer
from roastbot.keys import RedisKeys
from roastbot.redis_conn import connect_redis
from roastbot.roasting import RoastDraft, RoastRequest
from roastbot.roasting.offline import OfflineRoaster
from roastbot.settings import Settings
from roastbot.worker import EXIT_INFRASTRUCTURE
from tests.console import conftest as console
from tests.helpers import CuttableProxy, wait_for
from tests.integration.conftest import read_topic
from tests.integration.pipeline import Pipeline, consumer_thread, pipeline, producer_thread

pytestmark = pytest.mark.integration


def dead_letters(settings: Settings) -> list[dict[str, str]]:
    """The headers of every message on the dead-letter topic."""
    from confluent_kafka import TopicPartition

    from roastbot.kafka_wiring import make_reader

    reader = make_reader(settings)
    topic, found = settings.kafka_topic_dlq, []
    try:
        for partition in reader.list_topics(topic, timeout=10).topics[topic].partitions:
            low, high = reader.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            if high > low:
                reader.assign([TopicPartition(topic, partition, low)])
                for message in reader.consume(high - low, timeout=10):
                    found.append({k: (v or b"").decode() for k, v in message.headers() or []})
    finally:
        reader.close()
    return found


def parked(bot: Pipeline, approvals: ApprovalQueue, mention_id: str) -> None:
    wait_for(lambda: [p.mention.id for p in approvals.pending()] == [mention_id], 30, "the roast parked")


# --- the approval path survives a SIGKILL (its outcomes: test_runner.py) -------------------


def test_a_decision_whose_consumer_was_killed_before_it_posted_is_applied_once_after_restart(
    x: httpx.Client,
    sandbox_settings: Settings,
    spawn_worker: Callable[..., subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    # The decision was popped and the pending roast deleted before the POST: a SIGKILL in
    # between lost the mention for good (its Kafka offset was committed when it was parked).
    client, keys = connect_redis(sandbox_settings), RedisKeys.of(sandbox_settings)
    approvals, holds = ApprovalQueue(client, keys), Holds(client, keys)
    Control(client, keys).set_switch("approval_mode", True)
    lease = {"CLAIM_LEASE_S": "2"}  # a dead consumer's claims and decisions come back after 2 s
    with producer_thread(sandbox_settings):
        first = spawn_worker("consumer", tmp_path / "consumer_first.log", **lease)
        mention_id = x.post("/sandbox/mentions", json={"text": "approve me, then die"}).json()["ids"][0]
        wait_for(lambda: [p.mention.id for p in approvals.pending()] == [mention_id], 60, "the roast parked")
        # The decision's POST waits behind a hold: the consumer has taken it, and has not posted.
        holds.raise_hold("automation_block", "raised by the test: the approved roast waits for a POST slot")
        text = "Approved by an operator, posted once despite a SIGKILL."
        assert approvals.decide(mention_id, Decision.APPROVE, text=text, actor="op")
        wait_for(lambda: approvals.pending() == [], 30, "the consumer to take the decision")
        first.kill()
        first.wait(10)
        assert not x.get(f"/sandbox/tweets/{mention_id}/replies").json()["replies"]
        spawn_worker("consumer", tmp_path / "consumer_second.log", **lease)
        holds.lift()
        bot = Pipeline(sandbox_settings, x, keys, Control(client, keys))
        state = bot.final_state(mention_id, timeout_s=60)
        assert state["state"] == "posted", state
        assert [r["text"] for r in bot.replies(mention_id)] == [text]
    assert x.get("/sandbox/stats").json()["tweets_with_multiple_bot_replies"] == 0


# --- a bug on one message does not hold its partition ---------------------------------------


class BuggyRoaster:
    """The offline roaster, but for mentions that say "poison": there our own code fails."""

    name = "offline"

    def __init__(self) -> None:
        self.inner = OfflineRoaster(seed=3)

    def roast(self, request: RoastRequest) -> RoastDraft:
        if "poison" in request.text:
            return self.inner.roast(request.text)  # type: ignore[arg-type]  # the bug: a str, not a request
        return self.inner.roast(request)


def test_a_message_our_code_fails_on_every_time_is_dead_lettered_and_its_partition_moves_on(
    x: httpx.Client, sandbox_settings: Settings
) -> None:
    # Any exception used to be retried forever: commits stopped at the bad offset.
    settings = sandbox_settings.model_copy(
        update={"consumer_bug_attempts": 2, "per_conversation_limit": 0, "per_author_limit_per_hour": 0}
    )
    thread = x.post("/sandbox/tweets", json={"text": "one thread: one key, one partition"}).json()["id"]
    with pipeline(settings, x, roaster=BuggyRoaster()) as bot:
        ask = {"in_reply_to_tweet_id": thread}
        poison = bot.mention("roast this poison pill", **ask)
        later = [
            bot.mention(f"roast me after the pill, take {n}", **ask, author={"username": f"l{n}"})
            for n in range(2)
        ]
        state = bot.final_state(poison, timeout_s=60)
        assert state["state"] == "dead_lettered" and state["reason"].startswith("bug:"), state
        assert [bot.final_state(m)["state"] for m in later] == ["posted", "posted"]
        wait_for(lambda: sum(p.lag for p in consumer_lag(settings)) == 0, 30, "commits past the bad offset")
    [letter] = dead_letters(settings)
    assert letter["dlq.reason"] == state["reason"] == f"bug:{letter['dlq.error'].split(':')[0]}"
    assert letter["dlq.attempts"] == "2"
    assert "(at " in letter["dlq.error"] and ".py:" in letter["dlq.error"]  # the traceback's last frame
    assert not bot.replies(poison)


# --- outages: restart in-process, and a named exit code when that cannot help ---------------


def test_a_consumer_that_loses_redis_for_good_restarts_then_exits_with_its_code(
    x: httpx.Client,
    sandbox_settings: Settings,
    redis_proxy: CuttableProxy,
    spawn_worker: Callable[..., subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    # The loop's shutdown set the process-wide stop event: no in-process restart ever happened,
    # and the worker either ran on doing nothing or exited 0, which Supervisor does not report.
    # (A Redis that does not answer at start is refused before the loop: see test_worker_startup.)
    log = tmp_path / "consumer.log"
    through_proxy = _redis_behind(redis_proxy, sandbox_settings)
    x.post("/sandbox/faults", json={"latency_ms": 1500, "endpoints": ["post"]})  # a handler at its POST
    client, keys = connect_redis(sandbox_settings), RedisKeys.of(sandbox_settings)
    bot = Pipeline(sandbox_settings, x, keys, Control(client, keys))
    with producer_thread(sandbox_settings):
        consumer = spawn_worker(
            "consumer",
            log,
            REDIS_URL=through_proxy.redis_url,
            WORKER_MAX_RESTARTS="1",
            CONSUMER_OUTAGE_PATIENCE_S="1",
        )
        mention_id = bot.mention("roast me before Redis goes away for good")
        wait_for(lambda: bot.state(mention_id).get("state") == "posting", 60, "the handler at its POST")
        redis_proxy.cut()
        try:
            code = consumer.wait(timeout=90)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the consumer neither recovered nor exited:\n{log.read_text()[-2000:]}")
    text = log.read_text()
    assert code == EXIT_INFRASTRUCTURE, text[-2000:]
    assert "restart 1 of 1" in text and "giving up after 1 restarts" in text


def _redis_behind(proxy: CuttableProxy, settings: Settings, **update: object) -> Settings:
    return settings.model_copy(update={"redis_url": proxy.url_for(settings.redis_url), **update})


@pytest.fixture
def redis_proxy(sandbox_settings: Settings) -> Iterator[CuttableProxy]:
    url = urlparse(sandbox_settings.redis_url)
    with CuttableProxy(url.hostname or "127.0.0.1", url.port or 6379) as proxy:
        yield proxy


def test_an_outage_longer_than_the_patience_restarts_the_loop_in_process(
    x: httpx.Client, sandbox_settings: Settings, redis_proxy: CuttableProxy
) -> None:
    through_proxy = _redis_behind(
        redis_proxy,
        sandbox_settings,
        consumer_outage_patience_s=1.0,
        worker_max_restarts=100,
        claim_lease_s=3.0,
    )
    x.post(
        "/sandbox/faults", json={"latency_ms": 1500, "endpoints": ["post"]}
    )  # the handler sits in its POST
    client, keys = connect_redis(sandbox_settings), RedisKeys.of(sandbox_settings)
    bot = Pipeline(sandbox_settings, x, keys, Control(client, keys))
    with producer_thread(sandbox_settings), consumer_thread(through_proxy) as consumer:
        mention_id = bot.mention("roast me through a Redis outage")
        wait_for(lambda: bot.state(mention_id).get("state") == "posting", 30, "the handler at its POST")
        redis_proxy.cut()
        wait_for(lambda: len(consumer.loops) >= 2, 30, "the loop restarted in-process")
        redis_proxy.restore()
        state = bot.final_state(mention_id, timeout_s=60)
        assert consumer.exit_code is None  # the worker goes on
    assert state["state"] == "posted", state
    assert len(bot.replies(mention_id)) == 1


# --- revoked credentials hold everyone: no dead letter per mention --------------------------


def console_banners(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The Overview's red banners, rendered by the console for these settings."""
    for name, value in console.settings_env(settings).items():
        monkeypatch.setenv(name, value)
    previous = streamlit_config.get_option("server.address")
    streamlit_config.set_option("server.address", "127.0.0.1")
    try:
        return [e.value for e in console.open_page().error]
    finally:
        streamlit_config.set_option("server.address", previous)


def test_a_revoked_x_token_holds_posting_names_the_credential_and_dead_letters_nothing(
    x: httpx.Client, sandbox_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A 401 was Permanent: with a revoked token every mention was dead-lettered one by one.
    with pipeline(sandbox_settings, x) as bot:
        # Revoked once the producer knows the bot (it reads mentions with the app's bearer token).
        x.post("/sandbox/credentials", json={"user_token_revoked": True})
        holds = Holds(bot.control.client, bot.keys)
        ids = [
            bot.mention(f"roast me while the token is revoked {n}", author={"username": f"r{n}"})
            for n in range(3)
        ]
        [hold] = wait_for(holds.active, 30, "the hold")
        assert hold.code == "unauthorized" and "X_ACCESS_TOKEN" in hold.credential, hold
        wait_for(
            lambda: all(bot.state(i).get("state") == "claimed" for i in ids), 30, "every mention waiting"
        )
        banner = next(b for b in console_banners(sandbox_settings, monkeypatch) if "on hold" in b)
        assert "X_ACCESS_TOKEN and X_ACCESS_TOKEN_SECRET" in banner and "401" in banner
        assert bot.counter("dead_lettered") == 0
        x.post("/sandbox/credentials", json={"user_token_revoked": False})  # the operator's new token
        holds.lift()
        assert [bot.final_state(i)["state"] for i in ids] == ["posted"] * 3
    assert bot.counter("dead_lettered") == 0
    assert read_topic(sandbox_settings, sandbox_settings.kafka_topic_dlq) == []


def test_a_refused_llm_key_holds_generation_and_dead_letters_nothing(
    x: httpx.Client, llm: httpx.Client, together_settings: Settings
) -> None:
    key = together_settings.together_api_key.get_secret_value()
    with pipeline(together_settings, x) as bot:
        llm.post("/sandbox/keys", json={"revoked": [key]})  # the LLM answers 401 to our key now
        holds = Holds(bot.control.client, bot.keys)
        ids = [
            bot.mention(f"roast me while the key is bad {n}", author={"username": f"k{n}"}) for n in range(2)
        ]
        [hold] = wait_for(holds.active, 30, "the hold")
        assert (hold.code, hold.stops, hold.credential) == ("llm_auth", "generating", "TOGETHER_API_KEY")
        wait_for(lambda: all(bot.state(i).get("state") == "generating" for i in ids), 30, "both waiting")
        assert bot.counter("dead_lettered") == 0
        llm.post("/sandbox/keys", json={"revoked": []})  # the operator's new key
        holds.lift()
        assert [bot.final_state(i)["state"] for i in ids] == ["posted", "posted"]
    assert bot.counter("dead_lettered") == 0


# --- one key schema ------------------------------------------------------------------------


def schema_globs(keys: RedisKeys) -> list[str]:
    """A glob for every key RedisKeys names (a parameter matches anything)."""
    globs = []
    for name, member in inspect.getmembers(type(keys)):
        if name.startswith("_") or name == "prefix":
            continue
        if isinstance(member, property):
            globs.append(getattr(keys, name))
        elif inspect.isfunction(member):
            globs.append(getattr(keys, name)("*"))
    return globs


def test_every_key_the_bot_writes_is_named_in_the_key_schema(
    x: httpx.Client, sandbox_settings: Settings
) -> None:
    # Approvals' decisions and the console's replay index and discards built their own names.
    kafka = make_producer(sandbox_settings)
    kafka.produce(sandbox_settings.kafka_topic_mentions, key=b"k", value=b"{not json")  # a dead letter
    kafka.flush(10)
    with pipeline(sandbox_settings, x) as bot:
        client, keys = bot.control.client, bot.keys
        bot.control.set_switch("approval_mode", True)
        approvals = ApprovalQueue(client, keys)
        approved, rejected = bot.mention("approve me"), bot.mention("reject me", author={"username": "other"})
        wait_for(lambda: len(approvals.pending()) == 2, 30, "two parked roasts")
        assert approvals.decide(approved, Decision.APPROVE, actor="op")
        assert approvals.decide(rejected, Decision.REJECT, actor="op")
        assert bot.final_state(approved)["state"] == "posted"
        assert bot.final_state(rejected)["state"] == "skipped"
        original = next(m for _, _, m in read_topic(sandbox_settings) if m and m.id == rejected)
        letter = DeadLetter("retries_exhausted", "a dead letter to replay", 6, time.time())
        kafka.produce(
            sandbox_settings.kafka_topic_dlq,
            value=original.to_bytes(),
            headers=dead_letter_headers(letter, LetterSource(None, b"", "mentions:0:0")),
        )
        kafka.flush(10)
        letters = wait_for(
            lambda: len(found := dlq_admin.browse(sandbox_settings)) == 2 and found, 30, "2 letters"
        )
        replayable = [letter for letter in letters if letter.mention_or_none()]
        outcomes = dlq_admin.replay(client, keys, kafka, sandbox_settings, replayable, "op", "click-1")
        assert [o.status for o in outcomes] == ["sent"]
        dlq_admin.discard(
            client, keys, [letter.coordinates for letter in letters if not letter.mention_or_none()]
        )
        Holds(client, keys).raise_hold("automation_block", "a hold, to name its key")
        written = sorted(client.scan_iter(match=keys.every_key, count=1000))
    globs = schema_globs(keys)
    unnamed = [key for key in written if not any(fnmatch.fnmatchcase(key, glob) for glob in globs)]
    assert unnamed == [], f"keys written without a name in roastbot/keys.py: {unnamed}"
    assert len(written) > 15  # the scenario did write keys

"""How fast does each console page render over a day of history, and how much Redis does it take?

    .venv/bin/python bench/console_render.py [--roasts 100000] [--dead-letters 300] [--keep]

Seeds, under a private key prefix and private topics on the dev Kafka and Redis
(`scripts/services.py up`): 100,000 roasts' worth of history (totals, minute counters and
latency histograms over 24 h, one state hash per mention, the capped recent list, author
and conversation windows, the producer's seen set), heartbeats, an audit stream, opt-out
and block lists, pending approvals and some dead letters. Then renders every page with
AppTest (a fresh session and empty caches each time, after one warm-up render for the
imports) and prints a table; then measures keys with Redis' MEMORY USAGE and extrapolates
to 1 million processed mentions from the key schema's TTLs and caps. Cleans up.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

HOME = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HOME))

import streamlit as st  # noqa: E402
from streamlit import config as streamlit_config  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from roastbot.control import Control  # noqa: E402
from roastbot.dead_letters import DeadLetter, LetterSource, dead_letter_headers  # noqa: E402
from roastbot.kafka_wiring import delete_topics, ensure_topics, make_producer  # noqa: E402
from roastbot.keys import (  # noqa: E402
    AUDIT_STREAM_CAP,
    MENTION_STATE_TTL_S,
    MINUTE_BUCKET_TTL_S,
    RECENT_ROASTS_CAP,
    RedisKeys,
)
from roastbot.lifecycle import State  # noqa: E402
from roastbot.mention_store import MentionStore, plant  # noqa: E402
from roastbot.models import Author, Mention  # noqa: E402
from roastbot.producer import SEEN_CAP, SEEN_WINDOW_S  # noqa: E402
from roastbot.redis_conn import RedisClient, connect_redis  # noqa: E402
from roastbot.rules import AUTHOR_WINDOW_S  # noqa: E402
from roastbot.settings import SANDBOX_X_CREDENTIALS, Settings  # noqa: E402
from roastbot.telemetry import Telemetry, epoch_minute, latency_bucket  # noqa: E402

PAGES = {
    "Overview": None,
    "Roasts": "views/roasts.py",
    "Dead letters": "views/dead_letters.py",
    "Approvals": "views/approvals.py",
    "Controls": "views/controls.py",
    "Processes": "views/processes.py",
}
TARGET_S = 2.0
ROAST = "Your sourdough starter has more ambition than your commit history, and it is mostly flour."
MENTION_TEXT = "@roastbot roast my sourdough, it has been three days and it still looks sad"


def bench_settings() -> Settings:
    tag = uuid.uuid4().hex[:8]
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        redis_key_prefix=f"bench-console-{tag}",
        kafka_topic_mentions=f"bench-console-{tag}-mentions",
        kafka_topic_dlq=f"bench-console-{tag}-dlq",
        kafka_consumer_group=f"bench-console-{tag}-group",
        kafka_partitions=6,
        roaster="offline",
        x_api_base_url="http://127.0.0.1:8700",
        supervisor_url="http://127.0.0.1:1/RPC2",  # Supervisor absent: that page renders its explanation
        **SANDBOX_X_CREDENTIALS,
    )


def mention(mention_id: int, author_id: int) -> Mention:
    now = datetime.now(UTC)
    return Mention(
        id=str(mention_id),
        text=MENTION_TEXT,
        author_id=str(author_id),
        conversation_id=str(mention_id),
        created_at=now,
        processed_at=now,
        author=Author(id=str(author_id), username=f"user{author_id}", name="A Person"),
    )


def state_template(client: RedisClient, keys: RedisKeys) -> dict[str, str]:
    """A posted mention's state hash exactly as the consumer leaves it (through the core API)."""
    states = MentionStore(client, keys, "consumer-bench-host-12345")
    path = [State.CLAIMED, State.GENERATING, State.READY, State.POSTING, State.POSTED]
    plant(states, "1", path, stamp=("posting_at",), reply_id="1999999999999999999", roast=ROAST)
    fields = client.hgetall(keys.mention_state("1"))
    client.delete(keys.mention_state("1"))
    return fields


def seed(client: RedisClient, settings: Settings, roasts: int, dead_letters: int) -> None:
    keys = RedisKeys.of(settings)
    now = time.time()
    current = epoch_minute(now)
    minutes = 24 * 60
    per_minute = roasts / minutes
    rng = random.Random(7)
    template = state_template(client, keys)
    pipe = client.pipeline(transaction=False)
    totals: dict[str, int] = {}
    mention_id = 1_900_000_000_000_000_000
    for offset in range(minutes):
        minute = current - minutes + 1 + offset
        count = int(per_minute) + (1 if rng.random() < per_minute % 1 else 0)
        bucket = {
            "published": count,
            "consumed": count,
            "roasted": count,
            "posted": int(count * 0.9),
            "skipped:author_limit": count - int(count * 0.9),
        }
        if rng.random() < 0.1:
            bucket["failed:roast_transient"] = rng.randint(1, 3)
        for name, value in bucket.items():
            totals[name] = totals.get(name, 0) + value
        pipe.hset(keys.minute_counters(minute), mapping=bucket)
        pipe.expire(keys.minute_counters(minute), MINUTE_BUCKET_TTL_S)
        histogram: dict[str, int] = {}
        for _ in range(int(count * 0.9)):
            bound = latency_bucket(rng.lognormvariate(1.2, 0.6))
            histogram[bound] = histogram.get(bound, 0) + 1
        if histogram:
            pipe.hset(keys.minute_latency(minute), mapping=histogram)
            pipe.expire(keys.minute_latency(minute), MINUTE_BUCKET_TTL_S)
        for _ in range(count):
            mention_id += rng.randint(1, 1000)
            stamp = now - (minutes - offset) * 60
            fields = {**template, "updated_at": stamp, "finished_at": stamp, "first_seen": stamp - 3}
            pipe.hset(keys.mention_state(str(mention_id)), mapping=fields)
            pipe.expire(keys.mention_state(str(mention_id)), MENTION_STATE_TTL_S)
            if (
                offset >= minutes - 60
            ):  # the last hour: author and conversation windows, as the consumer keeps them
                author = rng.randint(1, 20_000)
                pipe.zadd(keys.author_roasts(str(author)), {str(mention_id): stamp})
                pipe.expire(keys.author_roasts(str(author)), AUTHOR_WINDOW_S)
                pipe.zadd(keys.conversation_roasts(str(mention_id)), {str(mention_id): stamp})
                pipe.expire(keys.conversation_roasts(str(mention_id)), int(settings.conversation_window_s))
            if stamp > now - SEEN_WINDOW_S:
                pipe.zadd(keys.seen_mentions, {str(mention_id): stamp})
            if len(pipe) > 5000:
                pipe.execute()
    pipe.hset(keys.counters, mapping=totals)
    pipe.execute()

    # The capped recent list: what Telemetry.record_roast leaves after `roasts` records.
    telemetry = Telemetry(client, keys, "consumer", worker_id="consumer-bench-1")
    for index in range(RECENT_ROASTS_CAP):
        record = {
            "mention_id": str(mention_id - index),
            "author_id": str(index % 500),
            "author": f"user{index % 500}",
            "mention": MENTION_TEXT,
            "roast": ROAST,
            "status": "posted" if index % 10 else "skipped",
            "reason": "" if index % 10 else "author_limit",
            "at": now - index,
            "worker": telemetry.worker_id,
            "reply_id": str(1_999_000_000_000_000_000 + index),
            "latency_s": round(rng.lognormvariate(1.2, 0.6), 3),
            "roaster": "offline",
            "model": "offline-templates",
        }
        pipe.lpush(keys.recent_roasts, json.dumps(record))
    pipe.ltrim(keys.recent_roasts, 0, RECENT_ROASTS_CAP - 1)
    pipe.execute()

    for n in range(4):
        Telemetry(client, keys, "consumer", worker_id=f"consumer-bench-{n}").heartbeat(300, status="running")
    Telemetry(client, keys, "producer", worker_id="producer-bench").heartbeat(300, status="idle", leader=1)
    control = Control(client, keys)
    for n in range(AUDIT_STREAM_CAP // 10):
        control.audit("bench", "set:paused", "ok", value=bool(n % 2))
    pipe.sadd(keys.opt_out, *[str(n) for n in range(10_000)])
    pipe.sadd(keys.block_list, *[f"spammer{n}" for n in range(1_000)])
    pipe.execute()
    parker = MentionStore(client, keys, "consumer-bench-host-12345")
    for n in range(50):
        parked = mention(1_800_000_000_000_000_000 + n, n)
        path = [State.CLAIMED, State.GENERATING, State.READY, State.PENDING_APPROVAL]
        plant(parker, parked.id, path, mention=parked.model_dump_json(), roast=ROAST, roaster="offline")

    producer = make_producer(settings)
    for n in range(dead_letters):
        letter = DeadLetter("retries_exhausted" if n % 3 else "permanent:forbidden", "gave up", 6, now - 600)

        source = LetterSource(None, b"", f"{settings.kafka_topic_mentions}:{n % 6}:{n}")
        producer.produce(
            settings.kafka_topic_dlq,
            value=mention(1_700_000_000_000_000_000 + n, n).to_bytes(),
            headers=dead_letter_headers(letter, source),
        )
    producer.flush(30)


def render_times(settings: Settings, rounds: int) -> dict[str, list[float]]:
    env = {
        "REDIS_URL": settings.redis_url,
        "REDIS_KEY_PREFIX": settings.redis_key_prefix,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "KAFKA_TOPIC_MENTIONS": settings.kafka_topic_mentions,
        "KAFKA_TOPIC_DLQ": settings.kafka_topic_dlq,
        "KAFKA_CONSUMER_GROUP": settings.kafka_consumer_group,
        "X_API_BASE_URL": settings.x_api_base_url,
        "SUPERVISOR_URL": settings.supervisor_url,
        "CONSOLE_PASSWORD": "",
        "ROASTER": "offline",
    }
    os.environ.update(env)
    streamlit_config.set_option("server.address", "127.0.0.1")
    entry = str(HOME / "app" / "main.py")
    AppTest.from_file(entry, default_timeout=60).run()  # warm-up: imports, not data
    times: dict[str, list[float]] = {name: [] for name in [*PAGES, "Overview 24 h"]}
    for _ in range(rounds):
        for name, page in PAGES.items():
            st.cache_data.clear()
            app = AppTest.from_file(entry, default_timeout=60)
            started = time.perf_counter()
            if page is None:
                app.run()
            else:
                # The router must run once before switching; time only the page's own render.
                app.run()
                st.cache_data.clear()
                started = time.perf_counter()
                app.switch_page(page).run()
            times[name].append(time.perf_counter() - started)
            if app.exception:
                raise RuntimeError(f"{name}: {app.exception[0].value}")
            if page is None:  # the widest chart window: 1,440 minutes of counters and histograms
                st.cache_data.clear()
                started = time.perf_counter()
                app.selectbox(key="overview_window").set_value("24 h").run()
                times["Overview 24 h"].append(time.perf_counter() - started)
    return times


def memory_report(client: RedisClient, settings: Settings, roasts: int) -> list[tuple[str, int, str, float]]:
    """(what, bytes per unit, how many live for 1M mentions, MB) from MEMORY USAGE samples."""
    keys = RedisKeys.of(settings)

    def usage(key: str) -> int:
        return int(client.memory_usage(key, samples=0) or 0)

    state_keys = [
        k
        for _, k in zip(range(200), client.scan_iter(match=keys.mention_state("*"), count=1000), strict=False)
    ]
    per_state = statistics.mean(usage(k) for k in state_keys)
    minute_keys = [keys.minute_counters(epoch_minute() - n) for n in range(1, 60)]
    per_minute = statistics.mean(usage(k) for k in minute_keys) + statistics.mean(
        usage(keys.minute_latency(epoch_minute() - n)) for n in range(1, 60)
    )
    authors = [
        k
        for _, k in zip(range(200), client.scan_iter(match=keys.author_roasts("*"), count=1000), strict=False)
    ]
    per_author = statistics.mean(usage(k) for k in authors) if authors else 0
    conversations = [
        k
        for _, k in zip(
            range(200), client.scan_iter(match=keys.conversation_roasts("*"), count=1000), strict=False
        )
    ]
    per_conversation = statistics.mean(usage(k) for k in conversations) if conversations else 0
    seen_members = client.zcard(keys.seen_mentions)
    per_seen = usage(keys.seen_mentions) / max(1, seen_members)
    audit_entries = client.xlen(keys.audit)
    per_audit = usage(keys.audit) / max(1, audit_entries)
    recent = usage(keys.recent_roasts)

    # 1M mentions: the worst case is all of them within the 7-day state TTL. The windows hold
    # at most an hour's mentions; at 1M per week that is ~6,000 an hour (1M per day: ~42,000).
    per_hour = 1_000_000 / (7 * 24)
    rows = [
        ("mention state hash (TTL 7 d)", per_state, "1,000,000", per_state * 1_000_000),
        ("minute counters + latency (TTL 25 h)", per_minute, "1,500 minutes", per_minute * 1500),
        ("author windows (1 h)", per_author, f"<= {per_hour:,.0f} authors", per_author * per_hour),
        ("conversation windows (1 h)", per_conversation, f"<= {per_hour:,.0f}", per_conversation * per_hour),
        (
            "producer seen set (6 h, cap 200k)",
            per_seen,
            f"<= {min(SEEN_CAP, per_hour * 6):,.0f}",
            per_seen * min(SEEN_CAP, per_hour * 6),
        ),
        ("recent roasts list (cap 1,000)", recent, "1", recent),
        ("audit stream (cap 10,000)", per_audit, f"{AUDIT_STREAM_CAP:,}", per_audit * AUDIT_STREAM_CAP),
    ]
    return [(what, round(unit), count, total / 1e6) for what, unit, count, total in rows]


def cleanup(client: RedisClient, settings: Settings) -> None:
    pipe = client.pipeline(transaction=False)
    for key in client.scan_iter(match=RedisKeys.of(settings).every_key, count=5000):
        pipe.delete(key)
        if len(pipe) > 5000:
            pipe.execute()
    pipe.execute()
    delete_topics(settings, [settings.kafka_topic_mentions, settings.kafka_topic_dlq])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--roasts", type=int, default=100_000)
    parser.add_argument("--dead-letters", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="leave the seeded data (prints the prefix)")
    args = parser.parse_args()
    settings = bench_settings()
    client = connect_redis(settings)
    ensure_topics(settings)
    try:
        started = time.perf_counter()
        seed(client, settings, args.roasts, args.dead_letters)
        print(
            f"seeded {args.roasts:,} roasts of history under {settings.redis_key_prefix} "
            f"in {time.perf_counter() - started:.1f} s ({client.dbsize():,} keys in the db)"
        )
        times = render_times(settings, args.rounds)
        print(
            f"\n{'page':<14}{'first':>9}{'median':>9}{'max':>9}  (s, {args.rounds} fresh sessions; target < {TARGET_S} s)"
        )
        worst = 0.0
        for name, values in times.items():
            worst = max(worst, max(values))
            print(f"{name:<14}{values[0]:>9.3f}{statistics.median(values):>9.3f}{max(values):>9.3f}")
        print(
            f"\n{'Redis memory for 1M processed mentions':<40}{'bytes/unit':>11}  {'live units':<18}{'MB':>8}"
        )
        rows = memory_report(client, settings, args.roasts)
        for what, unit, count, megabytes in rows:
            print(f"{what:<40}{unit:>11}  {count:<18}{megabytes:>8.1f}")
        print(f"{'total':<40}{'':>11}  {'':<18}{sum(r[3] for r in rows):>8.1f}")
        return 0 if worst < TARGET_S else 1
    finally:
        if args.keep:
            print(f"kept: prefix {settings.redis_key_prefix}")
        else:
            cleanup(client, settings)


if __name__ == "__main__":
    sys.exit(main())

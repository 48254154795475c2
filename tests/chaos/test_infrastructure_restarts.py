"""The Kafka broker and Redis restarted under a run of mentions (private instances: the dev
ones on 9092 and 6379 are everyone's)."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from bench.stacks import isolated_stack
from roastbot.control import Control
from scripts import services
from tests.chaos.support import CHAOS_MENTIONS, BackgroundLoad, audit, wait_all_final, wait_until_recovered
from tests.helpers import wait_for

pytestmark = pytest.mark.chaos


def test_kafka_broker_restart(tmp_path: Path, chaos_seed: int, private_kafka: services.Config) -> None:
    rng = random.Random(chaos_seed)
    first, second = CHAOS_MENTIONS * 3 // 4, CHAOS_MENTIONS - CHAOS_MENTIONS * 3 // 4
    with isolated_stack(
        2, var_root=tmp_path, quiet=True, kafka_bootstrap=private_kafka.bootstrap_servers
    ) as stack:
        client = stack.redis()
        control = Control(client, stack.keys)
        # The consumers wait (an operator's pause) while the first mentions are published, so
        # there is a backlog in Kafka however fast they are...
        control.set_switch("paused", True)
        early = BackgroundLoad(stack, first, rate_per_s=200, seed=chaos_seed).start()
        ids = early.wait()
        wait_for(
            lambda: int(client.hget(stack.keys.counters, "published") or 0) >= first,
            60,
            "the producer to publish the first mentions",
        )
        # ...and the broker goes while they work through it: at a random point of their
        # progress, not of a clock (on a quiet machine two consumers drain the backlog in a few
        # seconds, so a pause of a second could land after the last of it).
        kill_after = rng.randint(first // 20, first // 4)
        control.set_switch("paused", False)
        wait_for(
            lambda: int(client.hget(stack.keys.counters, "posted") or 0) >= kill_after,
            120,
            f"the consumers to post {kill_after} of the backlog",
        )
        # ...and mentions keep coming while it is away: the producer cannot publish them. At
        # 20/s they stay well inside the 800 most recent that X lets the producer read.
        late = BackgroundLoad(stack, second, rate_per_s=20, seed=chaos_seed + 1).start()
        broker = services.inspect("kafka", private_kafka)["kafka"].pid
        down_at = time.time()
        assert services.down("kafka", private_kafka)
        services.up("kafka", private_kafka)
        up_at = time.time()
        ids += late.wait()
        wait_all_final(stack, ids, timeout_s=300)
        wait_until_recovered(stack)
        ledger = audit(stack, ids)
    assert services.inspect("kafka", private_kafka)["kafka"].pid != broker
    assert ledger.by_final_label()["posted"] > CHAOS_MENTIONS * 0.9, dict(ledger.by_final_label())
    # The outage was felt on both sides (or the test proved nothing): mentions that arrived
    # while the broker was away, and consumers with work left when it went. librdkafka
    # prefetches, so that work may sit in their fetch queues rather than in the broker; what
    # they finish after the broker went down, they commit across the outage.
    during = [o for o in ledger.outcomes if o.created_at and down_at < o.created_at < up_at]
    assert len(during) > 20, f"{len(during)} mentions arrived in the {up_at - down_at:.0f}s outage"
    backlog = [o for o in ledger.outcomes[:first] if o.finished_at and o.finished_at > down_at]
    assert len(backlog) > first // 2, f"only {len(backlog)} of {first} were left when the broker went"


def test_redis_restart(tmp_path: Path, chaos_seed: int, private_redis: services.Config) -> None:
    rng = random.Random(chaos_seed)
    # 1,400 by default (35 s at 40/s): the two restarts are over within 20 s of pacing plus
    # their stops and starts, while mentions still arrive (asserted); more mentions after the
    # second restart add drain time, not evidence.
    mentions = CHAOS_MENTIONS * 7 // 10
    with isolated_stack(2, var_root=tmp_path, quiet=True, redis_url=private_redis.redis_url) as stack:
        # 40/s: a producer that needs twenty seconds to recover from an outage on a loaded
        # machine still finds every mention inside the 800 most recent that X serves.
        load = BackgroundLoad(stack, mentions, rate_per_s=40, seed=chaos_seed).start()
        for _ in range(2):
            time.sleep(rng.uniform(3, 6))  # pacing: restarts at random points of the run
            assert services.down("redis", private_redis)
            time.sleep(rng.uniform(2, 4))  # the outage: longer than the Redis client's own retries
            services.up("redis", private_redis)
        assert load.running, "the restarts should land while mentions still arrive"
        ids = load.wait()
        wait_all_final(stack, ids, timeout_s=240)
        wait_until_recovered(stack)
        ledger = audit(stack, ids)
        logs = " ".join(
            path.read_text(errors="replace") for path in (stack.config.var_dir / "log").glob("*.log")
        )
    assert ledger.by_final_label()["posted"] > mentions * 0.9, dict(ledger.by_final_label())
    # The workers met the outage (or the test proved nothing).
    assert "Connection refused" in logs

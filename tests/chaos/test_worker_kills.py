"""Workers SIGKILLed at random moments during a run of mentions; Supervisor brings them back."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from bench.stacks import isolated_stack
from tests.chaos.support import (
    CHAOS_MENTIONS,
    BackgroundLoad,
    Killer,
    audit,
    wait_all_final,
    wait_until_recovered,
)
from tests.helpers import wait_for

pytestmark = pytest.mark.chaos


def test_consumers_sigkilled_20_times_at_random_moments(
    tmp_path: Path, chaos_seed: int, infrastructure: None
) -> None:
    rng = random.Random(chaos_seed)
    # Three quarters of the chaos volume (1,500 by default, 50 s at 30/s): the twenty kills
    # take about 30 s of pacing plus the waits for a RUNNING consumer, so they land while
    # mentions still arrive or wait in Kafka (asserted: mentions finished after the last
    # kill); mentions past the kills add drain time, not evidence.
    mentions = CHAOS_MENTIONS * 3 // 4
    with isolated_stack(3, var_root=tmp_path, quiet=True) as stack:
        load = BackgroundLoad(stack, mentions, rate_per_s=30, seed=chaos_seed).start()
        killer = Killer(stack)
        for _ in range(20):
            time.sleep(rng.uniform(0.5, 2.5))  # pacing between kills
            killer.kill_one("consumer", rng.choice)
        last_kill_at = time.time()
        ids = load.wait()
        wait_all_final(stack, ids, timeout_s=240)
        wait_until_recovered(stack, killer)
        ledger = audit(stack, ids)
    assert sum(killer.kills.values()) == 20
    assert len(killer.kills) > 1, "every kill hit the same consumer"
    finished_later = [o for o in ledger.outcomes if o.finished_at and o.finished_at > last_kill_at]
    assert finished_later, "the consumers had finished everything before the last kill"
    assert ledger.by_final_label()["posted"] > mentions * 0.9, dict(ledger.by_final_label())


def test_producer_sigkilled_repeatedly(tmp_path: Path, chaos_seed: int, infrastructure: None) -> None:
    rng = random.Random(chaos_seed)
    with isolated_stack(2, var_root=tmp_path, quiet=True) as stack:
        # 30/s: a producer down for fifteen seconds leaves 450 mentions, inside X's 800, and the
        # load (about 67 s) lasts long enough for five kills with their restarts on a loaded
        # machine (each restart: a new process, its imports, the lease, its first poll). Each kill
        # waits until the restarted producer polls (its "polls" counter moved; since_id moves
        # only when mentions came): kills back to back would keep it down past X's reach, a
        # loss no client can avoid (the producer reports it as producer_error:possible_gap).
        load = BackgroundLoad(stack, CHAOS_MENTIONS, rate_per_s=30, seed=chaos_seed).start()
        killer = Killer(stack)
        client = stack.redis()

        def polls() -> int:
            return int(client.hget(stack.keys.counters, "polls") or 0)

        before = 0
        for _ in range(5):
            wait_for(lambda b=before: polls() > b, 60, "a poll after the restart")
            time.sleep(rng.uniform(0.5, 2.0))  # a random moment of the running producer
            killer.kill_one("producer", rng.choice)
            before = polls()  # the killed producer counts no more
        assert load.running, "the kills should land while mentions still arrive"
        ids = load.wait()
        wait_all_final(stack, ids, timeout_s=240)
        wait_until_recovered(stack, killer)
        ledger = audit(stack, ids)
        counters = stack.redis().hgetall(stack.keys.counters)
    assert killer.kills == {"producer": 5}
    assert "producer_error:possible_gap" not in counters
    assert ledger.by_final_label()["posted"] > CHAOS_MENTIONS * 0.9, dict(ledger.by_final_label())
    # Every mention reached Kafka: the consumers read each of them. (Not the "published"
    # counter: a SIGKILL between a flush and its count loses the count, not the mention.)
    assert int(counters.get("consumed", 0)) >= len(ids)

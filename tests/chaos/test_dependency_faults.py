"""X and the LLM misbehaving under a run of mentions (half of CHAOS_MENTIONS, 1,000 by default):
429 and 5xx storms, hanging completions.

Half the chaos volume: neither fault depends on how many mentions there are, only on the
faults meeting mentions in every stage (polled, roasted, posted), which the assertions check
(storms during the load, timeouts counted per mention), and every mention costs drain time
under the fault."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from bench.stacks import isolated_stack
from tests.chaos.support import CHAOS_MENTIONS, BackgroundLoad, audit, wait_all_final, wait_until_recovered

pytestmark = pytest.mark.chaos
MENTIONS = CHAOS_MENTIONS // 2


def test_x_429_and_5xx_storms(tmp_path: Path, chaos_seed: int, infrastructure: None) -> None:
    rng = random.Random(chaos_seed)
    with isolated_stack(2, var_root=tmp_path, quiet=True) as stack, stack.x() as x:
        # 50/s: the load lasts as long as 2,000 at 100/s did (about 20 s, at least two storm
        # cycles, asserted below), and a storm of 2.5 s leaves 125 mentions, far inside X's 800.
        load = BackgroundLoad(stack, MENTIONS, rate_per_s=50, seed=chaos_seed).start()
        storms = 0
        while load.running:
            # Pacing: a 429 storm on every endpoint, calm, a 5xx storm, calm. Each storm is short
            # enough for the mentions arriving meanwhile (50/s) to stay inside the 800 most
            # recent that X lets the producer read; longer ones lose mentions by X's design.
            x.post("/sandbox/faults", json={"rate_limit_storm_s": rng.uniform(1, 2.5)}).raise_for_status()
            time.sleep(rng.uniform(3, 5))
            x.post("/sandbox/faults", json={"error_rate": rng.uniform(0.3, 0.6)}).raise_for_status()
            time.sleep(rng.uniform(1, 2.5))
            x.delete("/sandbox/faults").raise_for_status()
            time.sleep(rng.uniform(2, 4))
            storms += 1
        ids = load.wait()
        wait_all_final(stack, ids, timeout_s=240)
        wait_until_recovered(stack)
        ledger = audit(stack, ids)
        stats = x.get("/sandbox/stats").json()
    assert storms >= 2
    assert stats["rate_limited_responses"] > 0 and stats["server_errors_served"] > 0, stats
    assert ledger.by_final_label()["posted"] > MENTIONS * 0.9, dict(ledger.by_final_label())


def test_llm_timeouts(tmp_path: Path, chaos_seed: int, infrastructure: None) -> None:
    with (
        isolated_stack(2, var_root=tmp_path, quiet=True, ROASTER="together", LLM_TIMEOUT_S="1") as stack,
        stack.llm() as llm,
    ):
        # A third of completions hang past the roaster's 1 s timeout.
        llm.post("/sandbox/faults", json={"timeout_rate": 0.3, "hang_s": 5}).raise_for_status()
        load = BackgroundLoad(stack, MENTIONS, rate_per_s=100, seed=chaos_seed).start()
        ids = load.wait()
        wait_all_final(stack, ids, timeout_s=240)
        wait_until_recovered(stack)
        ledger = audit(stack, ids)
        fake = llm.get("/sandbox/stats").json()
    assert fake["by_outcome"].get("outcome:timeout", 0) > MENTIONS * 0.2, fake
    assert ledger.by_final_label()["posted"] > MENTIONS * 0.9, dict(ledger.by_final_label())

"""The bench's wait for final states (bench/ledger.py FinalCount), over real Redis."""

from __future__ import annotations

from typing import Any

from bench.ledger import FinalCount
from roastbot.keys import RedisKeys
from roastbot.redis_conn import RedisClient
from roastbot.settings import Settings


class _CountingClient:
    """The Redis client, counting the HGETs its pipelines send."""

    def __init__(self, client: RedisClient) -> None:
        self.client = client
        self.hgets = 0

    def pipeline(self, **kwargs: Any) -> Any:
        pipe = self.client.pipeline(**kwargs)
        original = pipe.hget

        def hget(*args: Any) -> Any:
            self.hgets += 1
            return original(*args)

        pipe.hget = hget
        return pipe


def test_counts_final_states_and_asks_again_only_about_the_others(
    settings: Settings, redis_client: RedisClient
) -> None:
    keys = RedisKeys.of(settings)
    ids = [str(n) for n in range(1, 2_501)]  # more than one pipeline of 1,000
    for mention_id, state in (("1", "posted"), ("2", "skipped"), ("3", "generating")):
        redis_client.hset(keys.mention_state(mention_id), "state", state)
    client = _CountingClient(redis_client)
    count = FinalCount(client, keys, ids)  # type: ignore[arg-type]

    assert count() == 2
    assert client.hgets == 2_500

    redis_client.hset(keys.mention_state("3"), "state", "dead_lettered")
    redis_client.hset(keys.mention_state("2500"), "state", "posted")
    assert count() == 4
    assert client.hgets == 2_500 + 2_498  # the two already final are not asked about again

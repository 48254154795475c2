"""200 mentions through 2 consumer processes under supervisord: each replied exactly once.

200, not more: the property is exactly one reply per mention while two processes share the
partitions (both must take part, asserted), which 200 spread over 3 partitions and 97
authors exercise as well as 500 did; throughput itself is measured in bench/, not here."""

from __future__ import annotations

from pathlib import Path

import pytest

from roastbot.keys import RedisKeys
from roastbot.redis_conn import connect_redis
from tests.helpers import wait_for
from tests.stack_fixture import running_stack

pytestmark = pytest.mark.e2e

MENTIONS = 200
SUBJECTS = [
    "sourdough",
    "standing desk",
    "crypto wallet",
    "gym selfie",
    "vinyl collection",
    "#rustlang rewrite",
]


def test_200_mentions_two_consumers_each_replied_exactly_once(tmp_path: Path) -> None:
    with running_stack(tmp_path, consumers=2, PER_AUTHOR_LIMIT_PER_HOUR="0") as stack:
        ids: list[str] = []
        for n in range(MENTIONS):
            body = {"text": f"roast my {SUBJECTS[n % 6]} #{n}", "author": {"username": f"user{n % 97}"}}
            ids += stack.x.post("/sandbox/mentions", json=body).json()["ids"]
        client = connect_redis(stack.settings)
        keys = RedisKeys.of(stack.settings)

        def finished() -> bool:
            pipe = client.pipeline(transaction=False)
            for mention_id in ids:
                pipe.hget(keys.mention_state(mention_id), "state")
            return all(state in {"posted", "skipped", "dead_lettered"} for state in pipe.execute())

        wait_for(finished, 180, f"{MENTIONS} final states", every_s=1.0)
        stats = stack.x.get("/sandbox/stats").json()
        pipe = client.pipeline(transaction=False)
        for mention_id in ids:
            pipe.hgetall(keys.mention_state(mention_id))
        states = pipe.execute()
        workers = {s.get("owner") or "" for s in states} | {
            w for w in client.zrange(keys.workers, 0, -1) if w.startswith("consumer")
        }
    posted = [s for s in states if s["state"] == "posted"]
    assert len(posted) == MENTIONS, {s.get("reason") for s in states if s["state"] != "posted"}
    assert stats["replies_posted"] == MENTIONS
    assert stats["tweets_with_multiple_bot_replies"] == 0
    assert len({s["reply_id"] for s in posted}) == MENTIONS
    assert len([w for w in workers if w.startswith("consumer")]) == 2  # both processes took part

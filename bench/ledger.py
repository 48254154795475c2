"""Where every injected mention ended: its Redis state hash next to the sandbox's own record.

The sandbox is the witness: it says which bot replies a mention really got and when
(X's millisecond ``created_at``). The state hash says what the bot believes. A mention
is accounted for when the two agree on exactly one final state: replied once, skipped
with a reason (no reply, but for an opt-out confirmation), or dead-lettered.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import httpx

from roastbot.keys import RedisKeys
from roastbot.redis_conn import RedisClient

FINAL_STATES = frozenset({"posted", "skipped", "dead_lettered"})
# Skips that answer the author on purpose (the reply id is kept in the state hash).
SKIPS_WITH_REPLY = frozenset({"opted_out:confirmed"})


def parse_x_time(value: str) -> float:
    """X's ``2026-11-02T10:00:00.123Z`` as Unix seconds."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True)
class MentionOutcome:
    mention_id: str
    created_at: float | None  # from the sandbox; None when it does not know the mention
    state: str  # the state hash's state, "" when there is no hash
    reason: str
    state_reply_id: str
    finished_at: float | None
    bot_replies: tuple[tuple[str, float], ...]  # (reply id, created_at) per live bot reply

    @property
    def problem(self) -> str | None:
        """Why this mention is not in exactly one consistent final state (None when it is)."""
        replies = [reply_id for reply_id, _ in self.bot_replies]
        if len(replies) > 1:
            return "replied_more_than_once"
        if self.state not in FINAL_STATES:
            return f"no_final_state:{self.state or 'none'}"
        if self.state != "posted" and not self.reason:
            return f"{self.state}_without_reason"
        if self.state == "posted":
            if not replies:
                return "posted_but_no_reply_on_x"
            if self.state_reply_id != replies[0]:
                return "posted_with_another_reply_id"
            return None
        if self.state == "skipped" and self.reason in SKIPS_WITH_REPLY:
            return None if replies == [self.state_reply_id] else "confirmation_reply_mismatch"
        if replies:
            return f"replied_but_{self.state}"
        return None

    @property
    def latency_s(self) -> float | None:
        """Mention to reply, both as X timestamps them."""
        if self.state != "posted" or len(self.bot_replies) != 1 or self.created_at is None:
            return None
        return self.bot_replies[0][1] - self.created_at

    @property
    def final_label(self) -> str:
        if self.state == "skipped":
            return f"skipped:{self.reason.split(':')[0]}"
        if self.state == "dead_lettered":
            return f"dead_lettered:{self.reason.split(':')[0]}"
        return self.state or "none"


@dataclass
class Ledger:
    outcomes: list[MentionOutcome]

    def problems(self) -> dict[str, list[str]]:
        """Problem name -> the mention ids that have it."""
        found: dict[str, list[str]] = {}
        for outcome in self.outcomes:
            problem = outcome.problem
            if problem is not None:
                found.setdefault(problem, []).append(outcome.mention_id)
        return found

    def by_final_label(self) -> Counter[str]:
        return Counter(outcome.final_label for outcome in self.outcomes)

    @property
    def replied(self) -> list[MentionOutcome]:
        return [o for o in self.outcomes if o.state == "posted" and o.bot_replies]

    @property
    def lost(self) -> list[str]:
        """Injected mentions with neither a final state nor a reply."""
        return [o.mention_id for o in self.outcomes if o.state not in FINAL_STATES and not o.bot_replies]

    @property
    def duplicated(self) -> list[str]:
        return [o.mention_id for o in self.outcomes if len(o.bot_replies) > 1]

    def latencies_s(self) -> list[float]:
        return sorted(latency for o in self.outcomes if (latency := o.latency_s) is not None)

    def reply_times(self) -> list[float]:
        return sorted(created for o in self.outcomes for _, created in o.bot_replies)

    def finish_times(self) -> list[float]:
        return sorted(o.finished_at for o in self.outcomes if o.finished_at is not None)

    def describe_problems(self, limit: int = 5) -> str:
        by_id = {o.mention_id: o for o in self.outcomes}
        lines = []
        for problem, ids in sorted(self.problems().items()):
            examples = "; ".join(
                f"{i} state={by_id[i].state!r} reason={by_id[i].reason!r} replies={len(by_id[i].bot_replies)}"
                for i in ids[:limit]
            )
            lines.append(f"{problem}: {len(ids)} (e.g. {examples})")
        return "\n".join(lines)


def read_states(client: RedisClient, keys: RedisKeys, mention_ids: list[str]) -> list[dict[str, str]]:
    states: list[dict[str, str]] = []
    for start in range(0, len(mention_ids), 500):
        pipe = client.pipeline(transaction=False)
        for mention_id in mention_ids[start : start + 500]:
            pipe.hgetall(keys.mention_state(mention_id))
        states.extend(pipe.execute())
    return states


def read_tweets(sandbox_url: str, mention_ids: Iterable[str], threads: int = 4) -> list[dict | None]:
    """The sandbox's view of each mention (its created_at and replies); None for unknown ids."""
    with httpx.Client(base_url=sandbox_url, timeout=30) as client:

        def view(mention_id: str) -> dict | None:
            for _ in range(5):
                try:
                    response = client.get(f"/sandbox/tweets/{mention_id}")
                except httpx.HTTPError:
                    continue
                if response.status_code == 404:
                    return None
                response.raise_for_status()
                return response.json()
            raise RuntimeError(f"the sandbox did not answer about tweet {mention_id}")

        with ThreadPoolExecutor(max_workers=threads) as pool:
            return list(pool.map(view, mention_ids))


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def build_outcome(mention_id: str, state: dict[str, str], view: dict | None) -> MentionOutcome:
    replies: tuple[tuple[str, float], ...] = ()
    created_at = None
    if view is not None:
        created_at = parse_x_time(view["tweet"]["created_at"])
        replies = tuple(
            (reply["id"], parse_x_time(reply["created_at"])) for reply in view["replies"] if reply["by_bot"]
        )
    return MentionOutcome(
        mention_id=mention_id,
        created_at=created_at,
        state=state.get("state", ""),
        reason=state.get("reason", ""),
        state_reply_id=state.get("reply_id", ""),
        finished_at=_float(state.get("finished_at")),
        bot_replies=replies,
    )


def collect(client: RedisClient, keys: RedisKeys, sandbox_url: str, mention_ids: list[str]) -> Ledger:
    states = read_states(client, keys, mention_ids)
    views = read_tweets(sandbox_url, mention_ids)
    return Ledger([build_outcome(m, s, v) for m, s, v in zip(mention_ids, states, views, strict=True)])


class FinalCount:
    """How many of the mentions have a final state, asking Redis each time only about those that
    had none at the last count: no mention leaves a final state while a bench waits (none is
    replayed), and asking for all 10,000 every second took CPU from the stack it measured (138
    HGETs per mention in the burst)."""

    def __init__(self, client: RedisClient, keys: RedisKeys, mention_ids: list[str]) -> None:
        self._client, self._keys = client, keys
        self._waiting = list(mention_ids)
        self._final = 0

    def __call__(self) -> int:
        still_waiting: list[str] = []
        for start in range(0, len(self._waiting), 1000):
            chunk = self._waiting[start : start + 1000]
            pipe = self._client.pipeline(transaction=False)
            for mention_id in chunk:
                pipe.hget(self._keys.mention_state(mention_id), "state")
            states = pipe.execute()
            still_waiting += [m for m, state in zip(chunk, states, strict=True) if state not in FINAL_STATES]
        self._final += len(self._waiting) - len(still_waiting)
        self._waiting = still_waiting
        return self._final


def count_final(client: RedisClient, keys: RedisKeys, mention_ids: list[str]) -> int:
    """How many of the mentions have a final state in Redis (cheap: one field each)."""
    done = 0
    for start in range(0, len(mention_ids), 1000):
        pipe = client.pipeline(transaction=False)
        for mention_id in mention_ids[start : start + 1000]:
            pipe.hget(keys.mention_state(mention_id), "state")
        done += sum(1 for state in pipe.execute() if state in FINAL_STATES)
    return done

"""Synthetic users mentioning the bot at a steady rate, as asyncio background jobs."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sandbox.x_api.state import Sandbox
from sandbox.x_api.texts import MentionTexts, SyntheticMention

log = logging.getLogger(__name__)


@dataclass
class TrafficJob:
    id: str
    rate_per_s: float
    duration_s: float
    seed: int | None
    target: int
    started_at: float
    created: int = 0
    state: str = "running"  # running, done, cancelled, failed
    by_category: Counter[str] = field(default_factory=Counter)
    mention_ids: list[str] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "job_id": self.id,
            "state": self.state,
            "rate_per_s": self.rate_per_s,
            "duration_s": self.duration_s,
            "seed": self.seed,
            "target": self.target,
            "created": self.created,
            "by_category": dict(sorted(self.by_category.items())),
            "first_id": self.mention_ids[0] if self.mention_ids else None,
            "last_id": self.mention_ids[-1] if self.mention_ids else None,
            "started_at": self.started_at,
        }


def emit(sandbox: Sandbox, mention: SyntheticMention) -> str:
    """Put one synthetic mention (and, for "roast this", its target tweet) in the store."""
    parent_id = None
    if mention.target is not None:
        victim, victim_text = mention.target
        parent = sandbox.create_tweet(
            victim_text, victim.username, victim.name, victim.description, category="roast_target"
        )
        parent_id = parent.id
    author = mention.author
    tweet = sandbox.create_mention(
        mention.text,
        author.username,
        author.name,
        author.description,
        in_reply_to_tweet_id=parent_id,
        lang=mention.lang,
        category=mention.category,
    )
    return tweet.id


class Traffic:
    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox
        self._jobs: dict[str, TrafficJob] = {}
        self._numbers = itertools.count(1)

    def start(self, rate_per_s: float, duration_s: float, seed: int | None = None) -> TrafficJob:
        """Begin a job on the running event loop; returns at once."""
        job = TrafficJob(
            id=f"traffic-{next(self._numbers)}",
            rate_per_s=rate_per_s,
            duration_s=duration_s,
            seed=seed,
            target=max(round(rate_per_s * duration_s), 1),
            started_at=time.time(),
        )
        self._jobs[job.id] = job
        job.task = asyncio.get_running_loop().create_task(self._run(job))
        return job

    async def _run(self, job: TrafficJob) -> None:
        texts = MentionTexts(self._sandbox.config.bot_username, job.seed)
        begun = time.monotonic()
        try:
            while job.created < job.target:
                # Schedule by absolute times so slow wake-ups catch up instead of drifting.
                due = min(int((time.monotonic() - begun) * job.rate_per_s) + 1, job.target)
                while job.created < due:
                    mention = texts.next()
                    job.mention_ids.append(emit(self._sandbox, mention))
                    job.by_category[mention.category] += 1
                    job.created += 1
                if job.created < job.target:
                    next_at = begun + job.created / job.rate_per_s
                    await asyncio.sleep(max(next_at - time.monotonic(), 0))
            job.state = "done"
        except asyncio.CancelledError:
            job.state = "cancelled"
            raise
        except Exception:
            job.state = "failed"
            log.exception("traffic job %s failed", job.id)

    def describe(self) -> dict[str, Any]:
        return {"jobs": [job.describe() for job in self._jobs.values()]}

    def cancel_all(self) -> None:
        for job in self._jobs.values():
            if job.task is not None and not job.task.done():
                job.task.cancel()

    def forget(self) -> None:
        self.cancel_all()
        self._jobs.clear()

"""Engagement the sandbox grows on the bot's replies: likes, reposts, impressions, replies.

Everything is decided when the reply is posted, from the sandbox's seed and the two texts
(so a run with the same seed and roasts sees the same counts), and unfolds with *simulated*
time since posting (real seconds times the limiter's time scale): counts approach their
final value over the first hours, as real posts do. A roast that names what the mention is
about (one of its longer words) earns more. With ``author_reply_rate`` set, some authors
answer the bot: the answer is a real tweet, created once its simulated delay has passed,
that mentions the bot and replies to its reply, so it reaches the bot as a new mention.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import re
from dataclasses import dataclass, field

from sandbox.x_api.store import Tweet

GROWTH_TAU_S = 2 * 3600.0  # simulated seconds: about 63 % of the final count after 2 h
AUTHOR_REPLY_DELAY_S = (5 * 60.0, 50 * 60.0)  # simulated: the author answers within the hour
_WORD = re.compile(r"[^\W\d_]{4,}", re.UNICODE)
# Words of the request itself, not of what it is about.
_REQUEST_WORDS = frozenset(
    {"roast", "roasts", "this", "that", "with", "what", "please", "about", "your", "from", "have"}
)
AUTHOR_ANSWERS = (
    "ok that one hurt",
    "rude. accurate, but rude",
    "I came here for this and I regret nothing",
    "my {subject} deserved better",
    "lol fair",
)


def _dice(seed: int, *parts: str) -> float:
    """A number in [0, 1) fixed by the seed and the texts."""
    digest = hashlib.sha256("\x1f".join((str(seed), *parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def subject_words(mention_text: str) -> set[str]:
    """The mention's longer words (no handles): what a roast that is on topic names."""
    without_handles = re.sub(r"@\w+", " ", mention_text)
    return {word.lower() for word in _WORD.findall(without_handles)} - _REQUEST_WORDS


def names_subject(roast: str, mention_text: str) -> bool:
    return bool(subject_words(mention_text) & {word.lower() for word in _WORD.findall(roast)})


@dataclass(frozen=True)
class Growth:
    """Final counts of one reply; ``at`` gives them after some simulated seconds."""

    likes: int
    reposts: int
    quotes: int
    bookmarks: int
    impressions: int

    @classmethod
    def of(cls, seed: int, roast: str, mention_text: str) -> Growth:
        boost = 3.0 if names_subject(roast, mention_text) else 1.0
        likes = int(boost * (2 + 18 * _dice(seed, "likes", roast)))
        return cls(
            likes=likes,
            reposts=int(likes * 0.2 * _dice(seed, "reposts", roast)),
            quotes=int(likes * 0.05 * _dice(seed, "quotes", roast) + 0.5 * (boost > 1)),
            bookmarks=int(likes * 0.1 * _dice(seed, "bookmarks", roast)),
            impressions=int(likes * (40 + 60 * _dice(seed, "impressions", roast))),
        )

    def at(self, simulated_s: float) -> dict[str, int]:
        share = 1.0 - math.exp(-max(0.0, simulated_s) / GROWTH_TAU_S)
        return {
            "like_count": round(self.likes * share),
            "retweet_count": round(self.reposts * share),
            "quote_count": round(self.quotes * share),
            "bookmark_count": round(self.bookmarks * share),
            "impression_count": round(self.impressions * share),
        }


@dataclass(order=True)
class _PendingAnswer:
    due_at: float  # real seconds
    reply_id: str = field(compare=False)
    text: str = field(compare=False)


@dataclass
class Engagement:
    """Growth of every bot reply and the authors' answers still to come."""

    seed: int = 0
    author_reply_rate: float = 0.0
    growth: dict[str, Growth] = field(default_factory=dict)
    _pending: list[_PendingAnswer] = field(default_factory=list)

    def on_reply(self, reply: Tweet, mention: Tweet, now: float, time_scale: float) -> None:
        """The bot replied to ``mention``: fix the reply's engagement (and the author's answer)."""
        self.growth[reply.id] = Growth.of(self.seed, reply.text, mention.text)
        if _dice(self.seed, "answers", reply.text) >= self.author_reply_rate:
            return
        low, high = AUTHOR_REPLY_DELAY_S
        delay_s = low + (high - low) * _dice(self.seed, "delay", reply.text)
        words = sorted(subject_words(mention.text)) or ["post"]
        template = AUTHOR_ANSWERS[int(_dice(self.seed, "answer", reply.text) * len(AUTHOR_ANSWERS))]
        text = template.format(subject=words[int(_dice(self.seed, "word", reply.text) * len(words))])
        heapq.heappush(self._pending, _PendingAnswer(now + delay_s / time_scale, reply.id, text))

    def due_answers(self, now: float) -> list[tuple[str, str]]:
        """(reply id, text) of the authors' answers whose time has come, each once."""
        due = []
        while self._pending and self._pending[0].due_at <= now:
            answer = heapq.heappop(self._pending)
            due.append((answer.reply_id, answer.text))
        return due

    def metrics(self, tweet: Tweet, now: float, time_scale: float) -> dict[str, int] | None:
        """The grown counts of a bot reply (None: not a reply the sandbox grows)."""
        growth = self.growth.get(tweet.id)
        if growth is None:
            return None
        return growth.at((now - tweet.created_at.timestamp()) * time_scale)

    def clear(self) -> None:
        self.growth.clear()
        self._pending.clear()

"""Mentions for a load run: varied, roastable texts by distinct authors, injected at a pace.

Each mention goes in through the sandbox's control API (POST /sandbox/mentions), one
request per mention so every one has its own author and text: the bot's per-author
limit and X's duplicate-content rule then shape nothing, and every id is known.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Made-up names from harmless syllables, so that roasts quoting a word from the mention
# differ (X refuses a duplicate text, and the bot regenerates only a few times).
ONSETS = _words("b br d f g gl k l m n p pl r s sn t tr v z")
VOWELS = _words("a e i o u")
# Only made-up names besides words the roaster never quotes ("roast", "my", "please"),
# so whatever word a roast picks, it is this mention's own.
FORMS = (
    "roast my {a} {b} {c}",
    "{a} {b} {c}: roast me please",
    "roast my {a}, my {b} and my {c}",
)


def made_up_name(rng: random.Random) -> str:
    syllables = "".join(rng.choice(ONSETS) + rng.choice(VOWELS) for _ in range(3))
    return (syllables + rng.choice(("n", "l", "x", "s", "")))[:12]


def mention_text(rng: random.Random) -> str:
    return rng.choice(FORMS).format(a=made_up_name(rng), b=made_up_name(rng), c=made_up_name(rng))


@dataclass
class Injection:
    """The mentions a run put in, with when each was sent (monotonic clock)."""

    ids: list[str] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0
    failures: int = 0

    @property
    def duration_s(self) -> float:
        return max(self.finished - self.started, 1e-9)

    @property
    def rate_per_s(self) -> float:
        return len(self.ids) / self.duration_s


class Injector:
    """Puts mentions into the sandbox from a few threads (one keep-alive client each), one
    request a mention, or ``batch_size`` mentions a request (POST /sandbox/mentions/batch):
    at one request a mention the sandbox spent more CPU taking them than serving the bot, and
    a burst was as fast as its injector (about 160/s here)."""

    def __init__(
        self, sandbox_url: str, seed: int = 1, threads: int = 4, run_tag: str = "b", batch_size: int = 1
    ) -> None:
        self.sandbox_url = sandbox_url
        self.batch_size = max(1, batch_size)
        self.rng = random.Random(seed)
        self.threads = threads
        self.run_tag = re.sub(r"[^A-Za-z0-9_]", "", run_tag)[:8] or "b"
        self._number = 0
        self._lock = threading.Lock()
        self._local = threading.local()
        self._clients: list[httpx.Client] = []

    def _client(self) -> httpx.Client:
        client = getattr(self._local, "client", None)
        if client is None:
            client = httpx.Client(base_url=self.sandbox_url, timeout=30)
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def _next_body(self) -> dict[str, object]:
        with self._lock:
            self._number += 1
            number = self._number
            text = mention_text(self.rng)
        username = f"{self.run_tag}_{number}"[:15]
        return {"text": text, "author": {"username": username, "name": f"Bench {number}"}}

    def _send(self, size: int) -> list[str | None]:
        """``size`` new mentions; their ids, None for each the sandbox never took."""
        bodies = [self._next_body() for _ in range(size)]
        path, payload = (
            ("/sandbox/mentions", bodies[0])
            if size == 1
            else ("/sandbox/mentions/batch", {"mentions": bodies})
        )
        for _ in range(5):  # the sandbox is busy serving the bot too: a lost request is retried
            try:
                response = self._client().post(path, json=payload)
            except httpx.TransportError:
                # A batch whose answer was lost may have been taken: sending it again could
                # make each of its mentions twice, which would count as the bot's duplicates.
                if size > 1:
                    return [None] * size
                time.sleep(0.2)
                continue
            if response.status_code >= 500:
                time.sleep(0.2)
                continue
            response.raise_for_status()  # a refused body is the bench's bug: stop at once
            return list(response.json()["ids"])
        return [None] * size

    def inject(
        self,
        count: int,
        rate_per_s: float | None,
        on_progress: Callable[[int], None] | None = None,
        schedule: list[float] | None = None,
    ) -> Injection:
        """``count`` mentions, paced at ``rate_per_s`` (None: as fast as the sandbox takes them),
        or each at its own offset from the start (``schedule``, seconds, ascending)."""
        injection = Injection(started=time.monotonic())
        results: list[tuple[int, str | None]] = []
        results_lock = threading.Lock()
        # A schedule puts each mention at its own moment: one a request, then.
        size = 1 if schedule else self.batch_size

        def send(first: int) -> None:
            at = schedule[first] if schedule else first / rate_per_s if rate_per_s else None
            if at is not None:
                # Absolute schedule: a slow request is caught up on, never drifts the pace.
                delay = injection.started + at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            mention_ids = self._send(min(size, count - first))
            with results_lock:
                results.extend(enumerate(mention_ids, start=first))
                done = len(results)
            if on_progress is not None:
                on_progress(done)

        with ThreadPoolExecutor(max_workers=self.threads) as pool:
            list(pool.map(send, range(0, count, size)))
        injection.finished = time.monotonic()
        ordered = sorted(results)
        injection.ids = [mention_id for _, mention_id in ordered if mention_id is not None]
        injection.failures = sum(1 for _, mention_id in ordered if mention_id is None)
        return injection

    def close(self) -> None:
        for client in self._clients:
            client.close()

"""The one store of a mention's life in Redis: claims, transitions, posted texts, approvals.

A claim is a lease owned by one handler thread of one worker (two copies of a mention, as
a producer restart republishes, may be in flight in one process at once). Leases are kept
on Redis's clock (``TIME`` inside the scripts), never compared across hosts' clocks, and a
keeper thread renews every lease its process holds while the holder waits (quota, a hold,
the LLM): a lease runs out only when its worker is gone. Every transition is checked
against the table in ``roastbot.lifecycle`` here and, atomically with the holder and the
state it was seen in, in ``lua/transition.lua``. The ``posting`` state is written *before*
the POST to X, so a worker that dies between the POST and the bookkeeping leaves a trace the
next holder reconciles with X before posting anything again.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum

import redis

from roastbot.approvals import ApprovalQueue
from roastbot.batch import Batch, Op, command, load_script, passed
from roastbot.keys import MENTION_STATE_TTL_S, MINUTE_BUCKET_TTL_S, RedisKeys
from roastbot.lifecycle import (
    FINAL_STATES,
    LEGACY_NAMES,
    PARKED_STATES,
    WAITING_STATES,
    IllegalTransition,
    State,
    closed_to,
    is_move,
    parse_state,
)
from roastbot.redis_conn import RedisClient
from roastbot.telemetry import Bookkeeping

log = logging.getLogger(__name__)

CLAIM_LEASE_S = 15.0


class ClaimVerdict(StrEnum):
    CLAIMED = "held"  # now this holder's
    CLOSED = "closed"  # final, or parked and not reopened by this trigger
    BUSY = "busy"  # another holder's lease is running


@dataclass(frozen=True)
class Claim:
    verdict: ClaimVerdict
    state: State
    since_update_s: float
    """Redis time since the record last changed (how long ago a dead holder was last seen)."""
    record: dict[str, str]
    reads: list[object] = field(default_factory=list)
    """The answers of the ops read with the claim (empty unless it was claimed)."""


@dataclass(frozen=True)
class Moved:
    """A move with ops of its own: ``done`` unless a guard refused it; the answers of the
    guards and of the ops after the move (None for those that did not run)."""

    done: bool
    guards: list[object]
    after: list[object]


class LostClaim(Exception):
    """Another worker took the mention over (our lease ran out)."""


def _encode(value: object) -> str:
    return json.dumps(value) if isinstance(value, list | dict) else str(value)


class MentionStore:
    def __init__(
        self, client: RedisClient, keys: RedisKeys, worker_id: str, lease_s: float = CLAIM_LEASE_S
    ) -> None:
        self.client = client
        self.keys = keys
        self.worker_id = worker_id
        self.lease_ms = max(1, int(lease_s * 1000))
        self.approvals = ApprovalQueue(client, keys, worker_id)
        self._batch = Batch(client)
        self._transition = load_script(client, "transition")
        self._renew = load_script(client, "renew")
        self._held: dict[str, str] = {}  # mention id -> holder, renewed by the keeper
        self._held_lock = threading.Lock()

    @property
    def owner(self) -> str:
        """The claim holder: this worker's thread. A mention is handled start to end in one
        thread, and handler threads of one process share the worker id; with the worker id
        alone, a second copy of a mention in flight would pass as the holder and post again."""
        return f"{self.worker_id}/{threading.get_ident()}"

    # --- claims ------------------------------------------------------------------------
    def claim(
        self,
        mention_id: str,
        reopen: State | None = None,
        create: bool = True,
        count: str = "",
        reads: Sequence[Op] = (),
    ) -> Claim:
        """Hold the mention unless it is final or parked; ``reopen`` opens one of those
        states to this claim (a replayed dead letter, a decided approval). Without
        ``create`` a mention with no record is closed to the claim. ``count`` names an event
        counted in the same round trip, whatever the verdict; ``reads`` run in it too, once
        the mention is held (the first step's reads: its answers are the claim's ``reads``)."""
        closed = " ".join(sorted(closed_to(reopen)))
        first_state = State.CLAIMED.value if create else ""
        keys = [self.keys.mention_state(mention_id)]
        args: list[object] = [self.owner, self.lease_ms, MENTION_STATE_TTL_S, first_state, closed]
        if count:
            keys.extend(Bookkeeping().keys(self.keys)[:2])  # the totals and this minute's counters
            args.extend([count, MINUTE_BUCKET_TTL_S])
        claim, *answers = self._batch.run(
            [Op("claim", tuple(keys), tuple(args), gate=ClaimVerdict.CLAIMED), *reads]
        )
        verdict, state, since_ms, flat = claim  # type: ignore[misc]
        record = dict(zip(flat[::2], flat[1::2], strict=True))
        if verdict == ClaimVerdict.CLAIMED and state in LEGACY_NAMES:
            self._rename(mention_id, state, LEGACY_NAMES[state])
            record["state"] = LEGACY_NAMES[state].value
        held = verdict == ClaimVerdict.CLAIMED
        return Claim(
            ClaimVerdict(verdict), parse_state(state), int(since_ms) / 1000, record, answers if held else []
        )

    def _rename(self, mention_id: str, old: str, state: State) -> None:
        """A record written before a state was renamed gets the new name (under our claim)."""
        args = [self.owner, old, state.value, self.lease_ms, 0, 0, "", mention_id, "", 0, "", "", 0]
        self._transition(keys=self._transition_keys(mention_id), args=args)

    def move(
        self,
        mention_id: str,
        source: State,
        target: State,
        *,
        conversation_id: str = "",
        log_reply: str = "",
        reply_window_s: float = 3600.0,
        stamp: tuple[str, ...] = (),
        book: Bookkeeping | None = None,
        first: Sequence[Op] = (),
        guards: Sequence[Op] = (),
        after: Sequence[Op] = (),
        **fields: object,
    ) -> Moved:
        """Move a mention we hold along one edge of the table, setting ``fields``;
        ``stamp`` names fields set to Redis's time where absent, ``log_reply`` records a
        reply in the conversation's log (the loop guard), ``book`` the counters of the state
        entered. In the move's round trip too: ``first`` (the bookkeeping of what happened
        already, written even when the move is not), ``guards`` (ops, gates among them: one
        that refuses stops the move, ``done`` False), ``after`` once the move is written (the
        writes that go with it, the next step's reads). LostClaim if we no longer hold it."""
        if not is_move(source, target):
            raise IllegalTransition(f"{source} -> {target} is not an edge of the mention's life")
        parking = target in PARKED_STATES
        finished = target in FINAL_STATES
        index = "park" if parking else "unpark" if source in PARKED_STATES else ""
        args: list[object] = [
            self.owner,
            source.value,
            target.value,
            self.lease_ms,
            int(parking or finished),
            int(finished),
            index,
            mention_id,
            log_reply,
            reply_window_s,
            int(target in WAITING_STATES),
            book.encoded() if book else "",
            len(fields),
        ]
        for name, value in fields.items():
            args.extend([name, _encode(value)])
        args.extend(stamp)
        keys = self._transition_keys(mention_id, conversation_id)
        if book:
            keys.extend(book.keys(self.keys))
        transition = Op("transition", tuple(keys), tuple(args), gate="1")
        if not first and not guards and not after:
            self._check_written(mention_id, self._transition(keys=keys, args=args))
            return Moved(True, [], [])
        # Held, checked before the guards: their writes are made only for a mention we hold.
        held = Op("held", (self.keys.mention_state(mention_id),), (self.owner, source.value), gate="1")
        answers = self._batch.run([*first, held, *guards, transition, *after])[len(first) :]
        self._check_written(mention_id, answers[0])
        guarded = answers[1 : 1 + len(guards)]
        done = all(passed(op, answer) for op, answer in zip(guards, guarded, strict=True))
        if done:
            self._check_written(mention_id, answers[1 + len(guards)])
        return Moved(done, guarded, answers[2 + len(guards) :])

    @staticmethod
    def _check_written(mention_id: str, written: object) -> None:
        answer = written if isinstance(written, list) else [0]
        state, holder = [*answer, "", ""][1:3]
        if not int(answer[0]):
            raise LostClaim(f"{mention_id}: now {state or 'unknown'}, held by {holder or 'nobody'}")

    def release(self, mention_id: str, state: State) -> None:
        """Hand an unfinished mention back (shutdown); its state stays for the next holder."""
        args = [self.owner, state.value, state.value, 0, 1, 0, "", mention_id, "", 0, "", "", 0]
        self._transition(keys=self._transition_keys(mention_id), args=args)

    def _transition_keys(self, mention_id: str, conversation_id: str = "") -> list[str]:
        """Every key the transition script may touch, named here (one bot's keys share one
        prefix: with a Redis Cluster hash tag in it, one slot)."""
        return [
            self.keys.mention_state(mention_id),
            self.keys.pending_approvals,
            self.keys.conversation_replies(conversation_id),
            self.keys.post_waiting,
        ]

    def run_ops(self, ops: Sequence[Op]) -> list[object]:
        """Ops in one round trip (``roastbot.batch``)."""
        return self._batch.run(ops)

    def record(self, mention_id: str) -> dict[str, str]:
        return self.client.hgetall(self.keys.mention_state(mention_id))

    @contextmanager
    def holding(self, mention_id: str) -> Iterator[None]:
        """Keep this thread's claim on a mention renewed while the block runs."""
        owner = self.owner
        with self._held_lock:
            self._held[mention_id] = owner
        try:
            yield
        finally:
            with self._held_lock:
                if self._held.get(mention_id) == owner:
                    del self._held[mention_id]

    def renew_held(self) -> list[str]:
        """One heartbeat for every claim this process holds; returns the ones it lost."""
        with self._held_lock:
            held = list(self._held.items())
        if not held:
            return []
        keys = [self.keys.mention_state(mention_id) for mention_id, _ in held]
        lost = self._renew(keys=keys, args=[self.lease_ms, *(owner for _, owner in held)])
        return [held[int(position) - 1][0] for position in lost]

    def run_keeper(self, stop: threading.Event, every_s: float | None = None) -> threading.Thread:
        """Start the heartbeat of this process's claims (and of the decisions it works on)."""
        interval = every_s if every_s is not None else self.lease_ms / 3000

        def beat() -> None:
            while not stop.wait(interval):
                try:
                    for mention_id in self.renew_held():
                        log.warning("mention %s: claim lost to another worker", mention_id)
                    self.approvals.keep_alive()
                except redis.RedisError as error:  # the holders' own calls will report it
                    log.warning("could not renew claims: %s", error)

        thread = threading.Thread(target=beat, name="claim-keeper", daemon=True)
        thread.start()
        return thread

    # --- what the bot posted -----------------------------------------------------------
    POSTED_WINDOW_S = 24 * 3600
    POSTED_CAP = 100_000

    @staticmethod
    def digest(text: str) -> str:
        return hashlib.sha1(" ".join(text.lower().split()).encode()).hexdigest()[:20]

    def text_claim_ops(self, text: str) -> list[Op]:
        """``claim_text`` as ops, the first a gate: it stops a batch when the text was posted or
        reserved lately (a move guarded by it keeps a text no other mention has)."""
        now = time.time()
        key = self.keys.posted_digests
        return [
            Op("ZADD", (key,), ("NX", now, self.digest(text)), gate="1"),
            command("ZREMRANGEBYSCORE", key, args=[0, now - self.POSTED_WINDOW_S]),
            command("ZREMRANGEBYRANK", key, args=[0, -self.POSTED_CAP - 1]),
        ]

    def claim_text(self, text: str) -> bool:
        """Reserve a text for one post; False when it was posted or reserved lately (X refuses
        the account's duplicates). Atomic: two consumers never pick the same text at once."""
        added, *_ = self._batch.run(self.text_claim_ops(text))
        return bool(added)

    def conversation_replies(self, conversation_id: str, window_s: float) -> int:
        """The bot's replies posted in a conversation within the window (the loop guard)."""
        key = self.keys.conversation_replies(conversation_id)
        return int(self.client.zcount(key, time.time() - window_s, "+inf"))


def plant(
    store: MentionStore, mention_id: str, path: list[State], stamp: tuple[str, ...] = (), **fields: object
) -> None:
    """Walk a mention along ``path`` (claimed first) as a worker would, the last move with
    ``fields``: for tests and the console's benchmark. Every step is an edge of the table."""
    store.claim(mention_id)
    for source, target in itertools.pairwise(path):
        last = target == path[-1]
        store.move(mention_id, source, target, stamp=stamp if last else (), **(fields if last else {}))

"""The one Redis key schema. Every key the bot reads or writes is named here.

All keys live under one prefix (``REDIS_KEY_PREFIX``) so tests and several bots can
share a Redis without touching each other. Per-mention and per-minute keys expire,
so memory stays bounded however many mentions go through. ``_key`` is the one place a
name is built. On a Redis Cluster (``REDIS_CLUSTER=true``) the prefix is written as a hash
tag, ``{roastbot}:mention:1``, so every key of one bot lands in one slot and each Lua script,
MULTI and multi-key command stays legal there (no ``CROSSSLOT``). On a single Redis the
names stay untagged, ``roastbot:mention:1``, as they always were: an upgrade must not rename
since_id or the mention states (the bot would reply twice).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from roastbot.settings import Settings

MINUTE_BUCKET_TTL_S = 25 * 3600  # charts show at most 24 h
MENTION_STATE_TTL_S = 7 * 24 * 3600  # longer than any retry or reconciliation
RECENT_ROASTS_CAP = 1000
AUTHOR_MEMORY_WINDOW_S = 30 * 24 * 3600  # the bot never repeats a roast or skeleton to an author within it
AUTHOR_MEMORY_CAP = 50  # roasts kept per author: more than anyone gets in the window under the hourly limit
AUDIT_STREAM_CAP = 10_000
SPEND_DAY_TTL_S = 62 * 24 * 3600  # this month and the last, for the month's projection
SPEND_READ_IDS_TTL_S = 26 * 3600  # X de-duplicates reads within a UTC day
ENGAGEMENT_POSTS_CAP = 50_000  # tracked replies indexed at most (5 days at X's 100 posts per 15 min)


@dataclass(frozen=True)
class RedisKeys:
    """Key names under one prefix."""

    prefix: str = "roastbot"
    hash_tag: bool = False
    """Cluster mode: the prefix in braces, one slot for every key of this bot."""

    @classmethod
    def of(cls, settings: Settings) -> RedisKeys:
        """The keys of the configured bot (tagged when REDIS_CLUSTER is on)."""
        return cls(settings.redis_key_prefix, hash_tag=settings.redis_cluster)

    @property
    def head(self) -> str:
        """What every key starts with: the prefix, or ``{prefix}`` in cluster mode."""
        return "{" + self.prefix + "}" if self.hash_tag else self.prefix

    def _key(self, *parts: str) -> str:
        return ":".join((self.head, *parts))

    @property
    def every_key(self) -> str:
        """SCAN MATCH pattern of all this bot's keys (braces are not special in a pattern)."""
        return self._key("*")

    # --- producer -------------------------------------------------------------------
    @property
    def since_id(self) -> str:
        """Newest mention id whose batch Kafka acknowledged."""
        return self._key("producer", "since_id")

    @property
    def producer_lease(self) -> str:
        """Leader lease: the value is the leader's worker id, the TTL its lease."""
        return self._key("producer", "lease")

    @property
    def seen_mentions(self) -> str:
        """Sorted set id -> first-seen time, trimmed to a short window."""
        return self._key("producer", "seen")

    @property
    def fetch_now(self) -> str:
        """List the producer blocks on; a push wakes it for an immediate poll."""
        return self._key("commands", "fetch_now")

    # --- consumer -------------------------------------------------------------------
    def mention_state(self, mention_id: str) -> str:
        """Hash: state, reason, reply_id, roast, owner, lease_until (Redis time), updated_at..."""
        return self._key("mention", mention_id)

    def author_roasts(self, author_id: str) -> str:
        """Sorted set of roast times for one author (per-author hourly limit)."""
        return self._key("author", author_id, "roasts")

    def author_roast_memory(self, author_id: str) -> str:
        """Sorted set JSON {text, skeleton} -> time of the roasts one author got lately (capped,
        expires after the memory window)."""
        return self._key("author", author_id, "memory")

    def conversation_roasts(self, conversation_id: str) -> str:
        """Sorted set of mentions holding a roast slot in one conversation (per-conversation limit)."""
        return self._key("conversation", conversation_id, "roasts")

    def conversation_replies(self, conversation_id: str) -> str:
        """Sorted set reply id -> time of the bot's replies posted in one conversation (loop guard)."""
        return self._key("conversation", conversation_id, "replies")

    @property
    def holds(self) -> str:
        """Hash cause -> JSON hold (X flagged the account, a credential was refused...)."""
        return self._key("holds")

    @property
    def recent_roasts(self) -> str:
        """Capped list of JSON roast records, newest first."""
        return self._key("roasts", "recent")

    @property
    def posted_digests(self) -> str:
        """Sorted set digest -> time of roasts posted recently (X refuses duplicate text)."""
        return self._key("roasts", "posted_digests")

    @property
    def pending_approvals(self) -> str:
        """Sorted set mention id -> parked time of roasts waiting for an operator (oldest first);
        each roast and its mention live in the mention's state hash."""
        return self._key("approvals", "waiting")

    @property
    def post_waiting(self) -> str:
        """Sorted set mention id -> triage score (higher: posted sooner) of mentions that passed
        quota triage and wait for a post slot (states generating and ready, and posting once
        the budget handed a slot back); the score and created_at live in its state hash too."""
        return self._key("triage", "waiting")

    @property
    def approval_decisions(self) -> str:
        """Stream of operators' decisions, read by the consumers' group (XREADGROUP, XACK)."""
        return self._key("approvals", "decisions")

    @property
    def opt_out(self) -> str:
        return self._key("authors", "opt_out")

    @property
    def block_list(self) -> str:
        return self._key("authors", "blocked")

    # --- runtime control (the console writes, workers read) -------------------------
    @property
    def runtime(self) -> str:
        """Hash of run-time overrides: paused, poll_interval_s, dry_run, approval_mode, ..."""
        return self._key("runtime")

    @property
    def audit(self) -> str:
        """Stream of operator actions."""
        return self._key("audit")

    def signin_failures(self, scope: str) -> str:
        """Hash failures, blocked_until for one sign-in scope ("client:<address>" or "global");
        expires once no failure came for a while."""
        return self._key("console", "signin", scope)

    @property
    def console_session_key(self) -> str:
        """Random server-side half of the key that signs console session cookies."""
        return self._key("console", "session_key")

    @property
    def revoked_console_sessions(self) -> str:
        """Sorted set session nonce -> expiry of signed-out session cookies."""
        return self._key("console", "revoked_sessions")

    @property
    def replayed_dead_letters(self) -> str:
        """Hash dead letter coordinates -> JSON replay record."""
        return self._key("dlq", "replayed")

    @property
    def replayed_dead_letters_index(self) -> str:
        """Sorted set coordinates -> replay time, to cap the replay records."""
        return self._key("dlq", "replayed", "index")

    @property
    def discarded_dead_letters(self) -> str:
        """Sorted set coordinates -> discard time (hidden in the console)."""
        return self._key("dlq", "replayed", "discarded")

    # --- observability --------------------------------------------------------------
    def heartbeat(self, worker_id: str) -> str:
        """Hash with a TTL: a worker is alive while it exists."""
        return self._key("heartbeat", worker_id)

    @property
    def workers(self) -> str:
        """Sorted set worker id -> last heartbeat time (to list stale workers too)."""
        return self._key("workers")

    @property
    def counters(self) -> str:
        """Hash counter name -> total since the beginning."""
        return self._key("counters")

    def minute_counters(self, minute: int) -> str:
        """Hash counter name -> count within one minute (epoch minutes); expires."""
        return self._key("minute", str(minute))

    def minute_latency(self, minute: int) -> str:
        """Hash histogram bucket -> count of mention-to-reply latencies in one minute."""
        return self._key("latency", str(minute))

    def quota(self, endpoint: str) -> str:
        """Hash limit, remaining, reset, seen_at for one X endpoint."""
        return self._key("quota", endpoint)

    @property
    def quota_endpoints(self) -> str:
        return self._key("quota", "endpoints")

    # --- spend ------------------------------------------------------------------------
    def spend_day(self, day: str) -> str:
        """Hash for one UTC day (YYYY-MM-DD): total and per-item micro-dollars, counts, the
        operator's cap for the day, and whether the cap was reached; expires."""
        return self._key("spend", "day", day)

    def spend_minute(self, minute: int) -> str:
        """Hash item -> micro-dollars spent within one minute (epoch minutes); expires."""
        return self._key("spend", "minute", str(minute))

    def spend_read_ids(self, day: str) -> str:
        """Set of post ids already billed as read on one UTC day (X bills each once a day)."""
        return self._key("spend", "read_ids", day)

    # --- engagement (roastbot.engagement) ----------------------------------------------
    def engagement_post(self, reply_id: str) -> str:
        """Hash for one posted reply: its roast record (mention, roaster, model, prompt version,
        skeleton), posted_at, metrics per check, whether the author answered; expires."""
        return self._key("engagement", "post", reply_id)

    @property
    def engagement_posts(self) -> str:
        """Sorted set reply id -> posted time, trimmed to ENGAGEMENT_RETENTION_S (Results page)."""
        return self._key("engagement", "posts")

    @property
    def engagement_due(self) -> str:
        """Sorted set reply id -> when its next metrics read is due (removed after the last)."""
        return self._key("engagement", "due")

    @property
    def budget_hold(self) -> str:
        """JSON hold record while the daily budget is spent; expires at the next UTC midnight."""
        return self._key("holds", "daily_budget")

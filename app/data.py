"""Every read the console makes and every command it sends: the one data module.

Reads are cached briefly (``st.cache_data`` with a short TTL, keyed by the settings'
fingerprint so two bots or two tests never share an entry); connections are cached with
``st.cache_resource`` and opened lazily, never at import. Commands are never cached: each
one is written to the audit stream with who, what and the result, then clears the reads
it made stale so the operator sees the effect on the next render.

A service that cannot be reached raises ``Unavailable`` (which service, what happened,
what to do); pages explain it instead of showing a stack trace. No message carries a
secret: every detail passes through ``redact``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import pandas as pd
import redis
import streamlit as st
from confluent_kafka import KafkaException
from pydantic import ValidationError

from roastbot import dlq_admin
from roastbot.approvals import ApprovalQueue, Decision, PendingRoast
from roastbot.control import Control, RuntimeSwitches
from roastbot.holds import Hold, Holds
from roastbot.kafka_wiring import PartitionLag, consumer_lag, make_producer
from roastbot.keys import RedisKeys
from roastbot.quota import QuotaBook, QuotaSnapshot
from roastbot.settings import Settings, describe_validation_error
from roastbot.supervisor_rpc import Program, SupervisorClient, SupervisorRefused, SupervisorUnavailable
from roastbot.telemetry import LATENCY_BUCKETS_S, epoch_minute

FAST_TTL_S = 2  # Redis reads: cheap, and operators expect to see a click's effect
SLOW_TTL_S = 5  # Kafka and Supervisor reads open connections
KPI_WINDOW_MIN = 5
LAG_HISTORY_SAMPLES = 24 * 360  # one sample per 10 s for 24 h
LAG_SAMPLE_EVERY_S = 10.0
STALE_WORKERS_SHOWN_S = 3600  # dead workers stay listed as stale for an hour
AUTHOR_LIST_SHOWN = 500
AUDIT_SHOWN = 200

REDIS_REMEDY = "Start it with `make up` (or `.venv/bin/python scripts/services.py up`), then check REDIS_URL."
KAFKA_REMEDY = (
    "Start it with `make up` (or `.venv/bin/python scripts/services.py up`), "
    "then check KAFKA_BOOTSTRAP_SERVERS."
)
SUPERVISOR_REMEDY = (
    "Start the stack with `make up` (`make status` shows it); check SUPERVISOR_URL, "
    "SUPERVISOR_USER and SUPERVISOR_PASSWORD."
)


class Unavailable(Exception):
    """A service the console needs did not answer."""

    def __init__(self, service: str, detail: str, remedy: str) -> None:
        super().__init__(f"{service} is unreachable: {detail}")
        self.service = service
        self.detail = detail
        self.remedy = remedy


class Refused(Exception):
    """A command that was not carried out, with the reason for the operator."""


class ConfigProblem(Exception):
    """The environment does not make valid settings (the message names the variables)."""


# --- settings ----------------------------------------------------------------------------
def load_console_settings() -> Settings:
    """The settings from the environment and ``.env``, read on every run (cheap, never stale)."""
    try:
        return Settings()
    except ValidationError as error:
        raise ConfigProblem(describe_validation_error(error)) from None


def _fingerprint(settings: Settings) -> str:
    """Cache key: every setting, secrets hashed (two configurations never share a cache entry)."""
    values = settings.model_dump(mode="json")
    for name, value in settings.model_dump().items():
        if hasattr(value, "get_secret_value"):
            values[name] = hashlib.sha256(value.get_secret_value().encode()).hexdigest()[:16]
    return json.dumps(values, sort_keys=True)


def redact(text: str, settings: Settings) -> str:
    """The text with every configured secret (the Redis URL's password among them) masked."""
    for secret in settings.secret_values():
        if len(secret) >= 3:
            text = text.replace(secret, "•••")
    return text


def _cached(ttl: float) -> Callable[[Callable[..., Any]], Any]:
    return st.cache_data(ttl=ttl, show_spinner=False, hash_funcs={Settings: _fingerprint}, max_entries=256)


# --- connections -------------------------------------------------------------------------
@st.cache_resource(show_spinner=False)
def _redis_client(url: str) -> redis.Redis:
    # The console fails fast (no retry loop): a page explains an outage instead of hanging.
    return redis.Redis.from_url(url, decode_responses=True, socket_timeout=3.0, socket_connect_timeout=2.0)


def _redis(settings: Settings) -> tuple[redis.Redis, RedisKeys]:
    return _redis_client(settings.redis_url), RedisKeys(settings.redis_key_prefix)


@contextlib.contextmanager
def _redis_errors(settings: Settings) -> Iterator[None]:
    try:
        yield
    except redis.RedisError as error:
        raise Unavailable("Redis", redact(str(error), settings), REDIS_REMEDY) from None


def _kafka_reachable(settings: Settings, timeout_s: float = 1.0) -> None:
    """Fail in milliseconds when no bootstrap server accepts a connection (librdkafka would wait)."""
    problems = []
    for server in settings.kafka_bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=timeout_s):
                return
        except (OSError, ValueError) as error:
            problems.append(f"{server.strip()}: {error}")
    raise Unavailable("Kafka", redact("; ".join(problems), settings), KAFKA_REMEDY)


@contextlib.contextmanager
def _kafka_errors(settings: Settings) -> Iterator[None]:
    _kafka_reachable(settings)
    try:
        yield
    except (KafkaException, dlq_admin.DeadLetterBrowseError) as error:
        raise Unavailable("Kafka", redact(str(error), settings), KAFKA_REMEDY) from None


@st.cache_resource(show_spinner=False, hash_funcs={Settings: _fingerprint})
def _kafka_producer(settings: Settings) -> Any:
    return make_producer(settings)


def supervisor_address(settings: Settings) -> str:
    """SUPERVISOR_URL without any credentials in it."""
    parsed = urlparse(settings.supervisor_url)
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.hostname}{port}{parsed.path}"


def _supervisor(settings: Settings) -> SupervisorClient:
    return SupervisorClient(
        settings.supervisor_url,
        settings.supervisor_user,
        settings.supervisor_password.get_secret_value(),
        timeout_s=3.0,
    )


# --- overview ----------------------------------------------------------------------------
@_cached(FAST_TTL_S)
def holds(settings: Settings) -> list[Hold]:
    """The global holds in force (what stopped posting or generating, and why), oldest first."""
    client, keys = _redis(settings)
    with _redis_errors(settings):
        return Holds(client, keys).active()


@dataclass(frozen=True)
class Heartbeat:
    worker_id: str
    fields: dict[str, str]
    last_beat: float
    alive: bool  # the heartbeat hash still exists (renewed within its TTL)


@_cached(FAST_TTL_S)
def heartbeats(settings: Settings) -> list[Heartbeat]:
    """Workers that beat within the last hour; dead ones come back with ``alive=False``."""
    client, keys = _redis(settings)
    now = time.time()
    with _redis_errors(settings):
        members = client.zrangebyscore(keys.workers, now - STALE_WORKERS_SHOWN_S, "+inf", withscores=True)
        pipe = client.pipeline(transaction=False)
        for worker_id, _score in members:
            pipe.hgetall(keys.heartbeat(worker_id))
        found = pipe.execute()
    return [
        Heartbeat(worker_id, fields, float(fields.get("last_beat") or score), bool(fields))
        for (worker_id, score), fields in zip(members, found, strict=True)
    ]


@_cached(FAST_TTL_S)
def processes(settings: Settings) -> list[Program]:
    """Supervisor's programs."""
    try:
        return _supervisor(settings).programs()
    except SupervisorUnavailable as error:
        raise Unavailable("Supervisor", redact(str(error), settings), SUPERVISOR_REMEDY) from None


WORKER_PROGRAMS = ("producer", "consumer")


def worker_board(beats: Sequence[Heartbeat], programs: Sequence[Program] | None) -> pd.DataFrame:
    """One row per worker: running, paused, stale or stopped, from heartbeats and Supervisor."""
    now = time.time()
    by_pid = {p.pid: p for p in programs or [] if p.pid}
    rows: list[dict[str, Any]] = []
    matched: set[str] = set()
    for beat in sorted(beats, key=lambda b: b.worker_id):
        fields = beat.fields
        program = by_pid.get(int(fields.get("pid") or 0)) if beat.alive else None
        # Worker ids end in the pid (telemetry.make_worker_id): a stale beat still names its process.
        program = program or next(
            (p for p in programs or [] if p.pid and beat.worker_id.endswith(f"-{p.pid}")), None
        )
        if program is not None:
            matched.add(program.name)
        if beat.alive:
            state = "paused" if fields.get("status") == "paused" else "running"
        elif program is not None and not program.running:
            state = "stopped"
        else:
            state = "stale"
        rows.append(
            {
                "worker": beat.worker_id,
                "role": fields.get("role") or beat.worker_id.split("-", 1)[0],
                "state": state,
                "status": fields.get("status", ""),
                "program": program.name if program else "",
                "supervisor": program.state if program else "",
                "last beat (s ago)": round(now - beat.last_beat, 1),
                "leader": fields.get("leader", ""),
                "partitions": fields.get("partitions", ""),
                "in flight": fields.get("in_flight", ""),
                "read ahead": fields.get("buffered", ""),
                "last error": fields.get("last_error", ""),
            }
        )
    for program in programs or []:
        if program.name in matched:
            continue
        state = "running" if program.running else "stopped"
        if program.running and program.group in WORKER_PROGRAMS:
            state = "stale"  # running but silent: no heartbeat from this pid
        rows.append(
            {
                "worker": program.name,
                "role": program.group,
                "state": state,
                "status": program.description,
                "program": program.name,
                "supervisor": program.state,
                "last beat (s ago)": None,
                "leader": "",
                "partitions": "",
                "in flight": "",
                "read ahead": "",
                "last error": program.spawn_error,
            }
        )
    return pd.DataFrame(rows)


def percentile_from_buckets(counts: dict[str, int], quantile: float) -> float | None:
    """Quantile of a latency histogram (Prometheus' histogram_quantile: linear within a bucket)."""
    bounds = [*LATENCY_BUCKETS_S, float("inf")]
    per_bound = [int(counts.get(str(b) if b != float("inf") else "inf", 0)) for b in bounds]
    total = sum(per_bound)
    if total == 0:
        return None
    rank = quantile * total
    cumulative = 0
    lower = 0.0
    for bound, count in zip(bounds, per_bound, strict=True):
        if count and cumulative + count >= rank:
            if bound == float("inf"):
                return lower  # beyond the last finite bound: report that bound
            return lower + (bound - lower) * (rank - cumulative) / count
        cumulative += count
        lower = bound if bound != float("inf") else lower
    return lower


def _minute_range(minutes: int, now: float | None = None) -> list[int]:
    current = epoch_minute(now)
    return list(range(current - minutes + 1, current + 1))


def _read_minutes(
    settings: Settings, minutes: list[int]
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    client, keys = _redis(settings)
    with _redis_errors(settings):
        pipe = client.pipeline(transaction=False)
        for minute in minutes:
            pipe.hgetall(keys.minute_counters(minute))
        for minute in minutes:
            pipe.hgetall(keys.minute_latency(minute))
        found = pipe.execute()
    return found[: len(minutes)], found[len(minutes) :]


def _is_error(counter: str) -> bool:
    return counter.startswith(("failed:", "producer_error:"))


@dataclass(frozen=True)
class Kpis:
    mentions_in: int
    replies_out: int
    errors: int
    p50_s: float | None
    p95_s: float | None
    dead_lettered: int
    skipped: int


@_cached(FAST_TTL_S)
def kpis(settings: Settings, minutes: int = KPI_WINDOW_MIN) -> Kpis:
    """Totals over the last ``minutes`` (the current minute included)."""
    counters, latencies = _read_minutes(settings, _minute_range(minutes))
    totals: dict[str, int] = {}
    for bucket in counters:
        for name, value in bucket.items():
            totals[name] = totals.get(name, 0) + int(value)
    histogram: dict[str, int] = {}
    for bucket in latencies:
        for bound, value in bucket.items():
            histogram[bound] = histogram.get(bound, 0) + int(value)
    return Kpis(
        mentions_in=totals.get("published", 0),
        replies_out=totals.get("posted", 0),
        errors=sum(v for k, v in totals.items() if _is_error(k)),
        p50_s=percentile_from_buckets(histogram, 0.5),
        p95_s=percentile_from_buckets(histogram, 0.95),
        dead_lettered=totals.get("dead_lettered", 0),
        skipped=sum(v for k, v in totals.items() if k.startswith("skipped:")),
    )


@dataclass(frozen=True)
class Timeline:
    throughput: pd.DataFrame  # minute, series (in|out), count
    errors: pd.DataFrame  # minute, kind, count
    latency: pd.DataFrame  # minute, percentile, seconds


@_cached(FAST_TTL_S)
def timeline(settings: Settings, window_minutes: int) -> Timeline:
    """Per-minute series over the window (at most 24 h: minute buckets expire after 25 h);
    the last point is the current, unfinished minute."""
    minutes = _minute_range(min(window_minutes, 24 * 60))
    counters, latencies = _read_minutes(settings, minutes)
    stamps = pd.to_datetime([m * 60 for m in minutes], unit="s", utc=True)
    throughput, errors, latency = [], [], []
    for stamp, bucket, histogram in zip(stamps, counters, latencies, strict=True):
        throughput.append(
            {"minute": stamp, "series": "mentions in", "count": int(bucket.get("published", 0))}
        )
        throughput.append({"minute": stamp, "series": "replies out", "count": int(bucket.get("posted", 0))})
        for name, value in bucket.items():
            if _is_error(name):
                errors.append({"minute": stamp, "kind": name, "count": int(value)})
        counts = {k: int(v) for k, v in histogram.items()}
        for label, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
            value = percentile_from_buckets(counts, q)
            if value is not None:
                latency.append({"minute": stamp, "percentile": label, "seconds": value})
    return Timeline(
        pd.DataFrame(throughput, columns=["minute", "series", "count"]),
        pd.DataFrame(errors, columns=["minute", "kind", "count"]),
        pd.DataFrame(latency, columns=["minute", "percentile", "seconds"]),
    )


class _LagHistory:
    """Lag samples this console process took (Redis keeps no lag history)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.samples: deque[tuple[float, int, int]] = deque(maxlen=LAG_HISTORY_SAMPLES * 8)
        self.last_sample = 0.0

    def add(self, lags: Sequence[PartitionLag]) -> None:
        now = time.time()
        with self.lock:
            if now - self.last_sample < LAG_SAMPLE_EVERY_S:
                return
            self.last_sample = now
            self.samples.extend((now, lag.partition, lag.lag) for lag in lags)

    def frame(self, since: float) -> pd.DataFrame:
        with self.lock:
            rows = [s for s in self.samples if s[0] >= since]
        frame = pd.DataFrame(rows, columns=["at", "partition", "lag"])
        frame["at"] = pd.to_datetime(frame["at"], unit="s", utc=True)
        frame["partition"] = frame["partition"].astype(str)
        return frame


@st.cache_resource(show_spinner=False)
def _lag_history(topic: str, group: str) -> _LagHistory:
    return _LagHistory()


@_cached(SLOW_TTL_S)
def lag(settings: Settings) -> list[PartitionLag]:
    """The consumer group's lag per partition of the mentions topic (sampled for the chart)."""
    with _kafka_errors(settings):
        lags = consumer_lag(settings, timeout_s=3.0)
    _lag_history(settings.kafka_topic_mentions, settings.kafka_consumer_group).add(lags)
    return lags


def lag_history(settings: Settings, window_minutes: int) -> pd.DataFrame:
    """Lag samples of this console process within the window: at, partition, lag."""
    history = _lag_history(settings.kafka_topic_mentions, settings.kafka_consumer_group)
    return history.frame(time.time() - window_minutes * 60)


@_cached(FAST_TTL_S)
def quota(settings: Settings, endpoint: str) -> QuotaSnapshot:
    """What X last said about an endpoint's quota ("post" or "mentions")."""
    client, keys = _redis(settings)
    with _redis_errors(settings):
        return QuotaBook(client, keys).snapshot(endpoint)


# --- roasts ------------------------------------------------------------------------------
PROVENANCE_COLUMNS = ("roaster", "model", "prompt_version", "skeleton")
"""How each roast was written (roastbot.roasting.base.PROVENANCE; not imported: the console
does not load the roasters and their SDKs)."""
ROAST_COLUMNS = [
    "at",
    "status",
    "author",
    "mention",
    "roast",
    "reason",
    "roaster",
    "model",
    "prompt_version",
    "skeleton",
    "latency_s",
    "mention_id",
    "reply_id",
    "author_id",
    "worker",
]


@_cached(FAST_TTL_S)
def recent_roasts(settings: Settings) -> pd.DataFrame:
    """The capped list of recent roast records, newest first."""
    client, keys = _redis(settings)
    with _redis_errors(settings):
        raw = client.lrange(keys.recent_roasts, 0, -1)
    records = []
    for item in raw:
        with contextlib.suppress(ValueError, TypeError):
            records.append(json.loads(item))
    frame = pd.DataFrame.from_records(records)
    for column in ROAST_COLUMNS:
        if column not in frame:
            frame[column] = None
    frame = frame[ROAST_COLUMNS]
    frame["at"] = pd.to_datetime(pd.to_numeric(frame["at"], errors="coerce"), unit="s", utc=True)
    for column in ("reply_id", "mention_id", "author_id"):
        frame[column] = frame[column].fillna("").astype(str)
    for column in ("status", "author", "mention", "roast", "reason", *PROVENANCE_COLUMNS, "worker"):
        frame[column] = frame[column].fillna("").astype(str)
    frame["latency_s"] = pd.to_numeric(frame["latency_s"], errors="coerce")
    return frame


def tweet_url(settings: Settings, tweet_id: str) -> str:
    """Where an operator sees a tweet: X, or the sandbox's view ("" for anything but a tweet id)."""
    if not tweet_id.isdigit() or not tweet_id.isascii():
        return ""
    if settings.sandbox_mode:
        return f"{settings.x_api_base_url}/sandbox/tweets/{tweet_id}?format=html"
    return f"https://x.com/i/web/status/{tweet_id}"


@_cached(FAST_TTL_S)
def mention_state(settings: Settings, mention_id: str) -> dict[str, str]:
    """The mention's state hash (state, reason, attempts, reply_id, roast, owner, ...)."""
    client, keys = _redis(settings)
    with _redis_errors(settings):
        return client.hgetall(keys.mention_state(mention_id))


# --- dead letters ------------------------------------------------------------------------
@_cached(SLOW_TTL_S)
def dead_letters(settings: Settings) -> list[dlq_admin.DeadLetterMessage]:
    """The newest dead letters of every partition, newest first (hidden ones included)."""
    with _kafka_errors(settings):
        return dlq_admin.browse(settings, per_partition=500, timeout_s=5.0)


@dataclass(frozen=True)
class DeadLetterMarks:
    discarded: set[str]
    replays: dict[str, dict[str, Any]]


@_cached(FAST_TTL_S)
def dead_letter_marks(settings: Settings, names: tuple[str, ...]) -> DeadLetterMarks:
    """Which of these dead letters were discarded or replayed (with the latest replay)."""
    client, keys = _redis(settings)
    with _redis_errors(settings):
        return DeadLetterMarks(
            dlq_admin.discarded(client, keys), dlq_admin.replay_records(client, keys, list(names))
        )


@_cached(FAST_TTL_S)
def replays(settings: Settings, limit: int = 200) -> list[dlq_admin.ReplayRecord]:
    """The newest replays and what became of each mention since."""
    client, keys = _redis(settings)
    with _redis_errors(settings):
        return dlq_admin.replay_history(client, keys, limit)


# --- approvals, controls -----------------------------------------------------------------
@dataclass(frozen=True)
class PendingApprovals:
    total: int
    oldest: list[PendingRoast]  # oldest first


@_cached(FAST_TTL_S)
def pending_approvals(settings: Settings, shown: int = 200) -> PendingApprovals:
    client, keys = _redis(settings)
    with _redis_errors(settings):
        queue = ApprovalQueue(client, keys)
        return PendingApprovals(queue.count(), queue.pending(shown))


@_cached(FAST_TTL_S)
def switches(settings: Settings) -> RuntimeSwitches:
    """The run-time overrides in Redis (None: the configured setting applies)."""
    client, keys = _redis(settings)
    with _redis_errors(settings):
        return Control(client, keys).switches()


@dataclass(frozen=True)
class AuthorList:
    total: int
    members: list[str]  # at most AUTHOR_LIST_SHOWN, sorted


@_cached(FAST_TTL_S)
def author_list(settings: Settings, which: str, search: str = "") -> AuthorList:
    """The opt-out or block list ("opt_out" | "block_list"): its size and a bounded, searchable page."""
    client, keys = _redis(settings)
    key = keys.opt_out if which == "opt_out" else keys.block_list
    pattern = f"*{search.strip().lower()}*" if search.strip() else "*"
    members: list[str] = []
    with _redis_errors(settings):
        total = int(client.scard(key))
        for member in client.sscan_iter(key, match=pattern, count=1000):
            members.append(member)
            if len(members) >= AUTHOR_LIST_SHOWN:
                break
    return AuthorList(total, sorted(members))


@_cached(FAST_TTL_S)
def audit_log(settings: Settings, limit: int = AUDIT_SHOWN) -> pd.DataFrame:
    """The newest operator actions: when, who, what, result, details."""
    client, keys = _redis(settings)
    with _redis_errors(settings):
        entries = client.xrevrange(keys.audit, count=limit)
    rows = [
        {
            "when": pd.to_datetime(int(entry_id.split("-")[0]), unit="ms", utc=True),
            "who": fields.get("actor", ""),
            "what": fields.get("action", ""),
            "result": fields.get("result", ""),
            "details": fields.get("details", ""),
        }
        for entry_id, fields in entries
    ]
    return pd.DataFrame(rows, columns=["when", "who", "what", "result", "details"])


def log_tail(settings: Settings, program: str, length: int = 16_000) -> str:
    """The end of a program's log, secrets masked."""
    try:
        return redact(_supervisor(settings).log_tail(program, length), settings)
    except SupervisorUnavailable as error:
        raise Unavailable("Supervisor", redact(str(error), settings), SUPERVISOR_REMEDY) from None
    except SupervisorRefused as refused:
        return f"(no log: {refused})"


# --- commands (never cached; each audited) -----------------------------------------------
@dataclass(frozen=True)
class CommandResult:
    ok: bool
    message: str


def _clear_reads(*reads: Any) -> None:
    for read in reads:
        read.clear()


def _command(
    settings: Settings,
    actor: str,
    action: str,
    perform: Callable[[], str],
    stale: Sequence[Any] = (),
    **details: object,
) -> CommandResult:
    """Run one operator action and audit it (who, what, result); never raises."""
    client, keys = _redis(settings)
    try:
        message = perform()
        result = CommandResult(True, message)
    except Unavailable as error:
        result = CommandResult(False, f"{error.service} is unreachable: {error.detail}. {error.remedy}")
    except redis.RedisError as error:
        detail = redact(str(error), settings)
        result = CommandResult(False, f"Redis is unreachable: {detail}. {REDIS_REMEDY}")
    except SupervisorUnavailable as error:
        detail = redact(str(error), settings)
        result = CommandResult(False, f"Supervisor is unreachable: {detail}. {SUPERVISOR_REMEDY}")
    except SupervisorRefused as refused:
        result = CommandResult(False, f"Supervisor refused: {redact(str(refused), settings)}")
    except Refused as refused:
        result = CommandResult(False, str(refused))
    try:
        Control(client, keys).audit(
            actor or "operator", action, "ok" if result.ok else f"failed: {result.message}", **details
        )
    except redis.RedisError:
        if result.ok:
            result = CommandResult(True, result.message + " (not audited: Redis is unreachable)")
    _clear_reads(audit_log, *stale)
    return result


def fetch_now(settings: Settings, actor: str) -> CommandResult:
    client, keys = _redis(settings)

    def perform() -> str:
        Control(client, keys).request_fetch_now()
        return "Asked the producer to poll X now."

    return _command(settings, actor, "fetch_now", perform)


def set_switch(
    settings: Settings, actor: str, name: str, value: str | float | int | bool | None
) -> CommandResult:
    """Set a run-time switch (None removes the override: the configured setting applies)."""
    client, keys = _redis(settings)

    def perform() -> str:
        Control(client, keys).set_switch(name, value)
        if name == "paused":
            return "Consumers paused." if value else "Consumers resumed."
        if value is None:
            return f"{name} is back to the configured setting."
        return f"{name} set to {value}."

    return _command(settings, actor, f"set:{name}", perform, stale=[switches], value=value)


def lift_hold(settings: Settings, actor: str) -> CommandResult:
    client, keys = _redis(settings)

    def perform() -> str:
        lifted = Holds(client, keys).lift()
        return f"Hold lifted (was: {', '.join(h.code for h in lifted) if lifted else 'not set'})."

    return _command(settings, actor, "lift_posting_hold", perform, stale=[holds])


def change_author_list(settings: Settings, actor: str, which: str, member: str, add: bool) -> CommandResult:
    """Add to or remove from the opt-out or block list (usernames are stored lower-case)."""
    client, keys = _redis(settings)
    key = keys.opt_out if which == "opt_out" else keys.block_list
    member = member.strip().lstrip("@")
    if which == "block_list":
        member = member.lower()

    def perform() -> str:
        changed = client.sadd(key, member) if add else client.srem(key, member)
        verb = "added to" if add else "removed from"
        return f"{member} {verb} the {which.replace('_', ' ')}" + ("" if changed else " (no change)")

    if not member:
        return CommandResult(False, "Enter an author id or username.")
    return _command(
        settings, actor, f"{'add' if add else 'remove'}:{which}", perform, stale=[author_list], member=member
    )


def decide(
    settings: Settings, actor: str, mention_id: str, decision: Decision, text: str = ""
) -> CommandResult:
    """Queue an approval decision for the consumers (approve, edited approve, reject)."""
    client, keys = _redis(settings)

    def perform() -> str:
        if not ApprovalQueue(client, keys).decide(mention_id, decision, text, actor):
            raise Refused(f"Mention {mention_id} is no longer pending.")
        return f"{decision.value}d mention {mention_id}" + (" with an edit" if text else "")

    return _command(
        settings,
        actor,
        f"approval:{decision.value}",
        perform,
        stale=[pending_approvals],
        mention_id=mention_id,
        edited=bool(text),
    )


def replay_dead_letters(
    settings: Settings, actor: str, letters: Sequence[dlq_admin.DeadLetterMessage], click_id: str
) -> tuple[CommandResult, list[dlq_admin.ReplayOutcome]]:
    """Publish dead letters back to the mentions topic, each at most once for this click."""
    client, keys = _redis(settings)
    outcomes: list[dlq_admin.ReplayOutcome] = []

    def perform() -> str:
        _kafka_reachable(settings)
        outcomes.extend(
            dlq_admin.replay(client, keys, _kafka_producer(settings), settings, letters, actor, click_id)
        )
        sent = sum(o.status == "sent" for o in outcomes)
        return f"Replayed {sent} of {len(outcomes)} dead letters."

    result = _command(
        settings,
        actor,
        "replay_dead_letters",
        perform,
        stale=[replays, dead_letter_marks],
        count=len(letters),
        click_id=click_id,
        letters=[letter.coordinates for letter in letters][:50],
    )
    failed = [o for o in outcomes if o.status in {"failed", "not_replayable"}]
    if result.ok and failed:
        result = CommandResult(False, result.message + f" {len(failed)} failed: {failed[0].detail}")
    return result, outcomes


def discard_dead_letters(settings: Settings, actor: str, names: Sequence[str]) -> CommandResult:
    client, keys = _redis(settings)

    def perform() -> str:
        return f"Hid {dlq_admin.discard(client, keys, names)} dead letters."

    return _command(
        settings, actor, "discard_dead_letters", perform, stale=[dead_letter_marks], letters=list(names)[:50]
    )


def process_action(settings: Settings, actor: str, program: str, action: str) -> CommandResult:
    """start | stop | restart one Supervisor process (``group:name``) or a group (``group:*``)."""
    supervisor = _supervisor(settings)
    if action not in {"start", "stop", "restart"}:
        raise ValueError(action)

    def perform() -> str:
        if program.endswith(":*"):
            getattr(supervisor, f"{action}_group")(program[:-2])
        else:
            getattr(supervisor, action)(program)
        return f"{action} {program}: done"

    return _command(settings, actor, f"process:{action}", perform, stale=[processes], program=program)

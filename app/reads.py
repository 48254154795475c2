"""Every read the console makes, cached briefly (``app.caching``) and shaped by
``app.view_models``; an unreachable service raises ``connections.Unavailable``."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence

import pandas as pd
import streamlit as st

from app.caching import FAST_TTL_S, SLOW_TTL_S, cached
from app.connections import (
    SUPERVISOR_REMEDY,
    Unavailable,
    console_redis,
    kafka_errors,
    redis_errors,
    supervisor,
)
from app.redaction import redact
from app.view_models import (
    AuthorList,
    DeadLetterMarks,
    Heartbeat,
    Kpis,
    PendingApprovals,
    Timeline,
    audit_frame,
    kpis_from,
    roast_frame,
    timeline_from,
)
from roastbot import dlq_admin
from roastbot.approvals import ApprovalQueue
from roastbot.control import Control, RuntimeSwitches
from roastbot.holds import Hold, Holds
from roastbot.kafka_wiring import PartitionLag, consumer_lag
from roastbot.quota import QuotaBook, QuotaSnapshot
from roastbot.settings import Settings
from roastbot.supervisor_rpc import Program, SupervisorRefused, SupervisorUnavailable
from roastbot.telemetry import epoch_minute

KPI_WINDOW_MIN = 5
LAG_HISTORY_SAMPLES = 24 * 360  # one sample per 10 s for 24 h
LAG_SAMPLE_EVERY_S = 10.0
STALE_WORKERS_SHOWN_S = 3600  # dead workers stay listed as stale for an hour
AUTHOR_LIST_SHOWN = 500
AUDIT_SHOWN = 200


# --- overview ----------------------------------------------------------------------------
@cached(FAST_TTL_S)
def holds(settings: Settings) -> list[Hold]:
    """The global holds in force (what stopped posting or generating, and why), oldest first."""
    client, keys = console_redis(settings)
    with redis_errors(settings):
        return Holds(client, keys).active()


@cached(FAST_TTL_S)
def heartbeats(settings: Settings) -> list[Heartbeat]:
    """Workers that beat within the last hour; dead ones come back with ``alive=False``."""
    client, keys = console_redis(settings)
    now = time.time()
    with redis_errors(settings):
        members = client.zrangebyscore(keys.workers, now - STALE_WORKERS_SHOWN_S, "+inf", withscores=True)
        pipe = client.pipeline(transaction=False)
        for worker_id, _score in members:
            pipe.hgetall(keys.heartbeat(worker_id))
        found = pipe.execute()
    return [
        Heartbeat(worker_id, fields, float(fields.get("last_beat") or score), bool(fields))
        for (worker_id, score), fields in zip(members, found, strict=True)
    ]


@cached(FAST_TTL_S)
def processes(settings: Settings) -> list[Program]:
    """Supervisor's programs."""
    try:
        return supervisor(settings).programs()
    except SupervisorUnavailable as error:
        raise Unavailable("Supervisor", redact(str(error), settings), SUPERVISOR_REMEDY) from None


def _minute_range(minutes: int, now: float | None = None) -> list[int]:
    current = epoch_minute(now)
    return list(range(current - minutes + 1, current + 1))


def _read_minutes(
    settings: Settings, minutes: list[int]
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    client, keys = console_redis(settings)
    with redis_errors(settings):
        pipe = client.pipeline(transaction=False)
        for minute in minutes:
            pipe.hgetall(keys.minute_counters(minute))
        for minute in minutes:
            pipe.hgetall(keys.minute_latency(minute))
        found = pipe.execute()
    return found[: len(minutes)], found[len(minutes) :]


@cached(FAST_TTL_S)
def kpis(settings: Settings, minutes: int = KPI_WINDOW_MIN) -> Kpis:
    """Totals over the last ``minutes`` (the current minute included)."""
    return kpis_from(*_read_minutes(settings, _minute_range(minutes)))


@cached(FAST_TTL_S)
def timeline(settings: Settings, window_minutes: int) -> Timeline:
    """Per-minute series over the window (at most 24 h: minute buckets expire after 25 h);
    the last point is the current, unfinished minute."""
    minutes = _minute_range(min(window_minutes, 24 * 60))
    return timeline_from(minutes, *_read_minutes(settings, minutes))


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


@cached(SLOW_TTL_S)
def lag(settings: Settings) -> list[PartitionLag]:
    """The consumer group's lag per partition of the mentions topic (sampled for the chart)."""
    with kafka_errors(settings):
        lags = consumer_lag(settings, timeout_s=3.0)
    _lag_history(settings.kafka_topic_mentions, settings.kafka_consumer_group).add(lags)
    return lags


def lag_history(settings: Settings, window_minutes: int) -> pd.DataFrame:
    """Lag samples of this console process within the window: at, partition, lag."""
    history = _lag_history(settings.kafka_topic_mentions, settings.kafka_consumer_group)
    return history.frame(time.time() - window_minutes * 60)


@cached(FAST_TTL_S)
def quota(settings: Settings, endpoint: str) -> QuotaSnapshot:
    """What X last said about an endpoint's quota ("post" or "mentions")."""
    client, keys = console_redis(settings)
    with redis_errors(settings):
        return QuotaBook(client, keys).snapshot(endpoint)


# --- roasts ------------------------------------------------------------------------------
@cached(FAST_TTL_S)
def recent_roasts(settings: Settings) -> pd.DataFrame:
    """The capped list of recent roast records, newest first."""
    client, keys = console_redis(settings)
    with redis_errors(settings):
        raw = client.lrange(keys.recent_roasts, 0, -1)
    return roast_frame(raw)


@cached(FAST_TTL_S)
def mention_state(settings: Settings, mention_id: str) -> dict[str, str]:
    """The mention's state hash (state, reason, attempts, reply_id, roast, owner, ...)."""
    client, keys = console_redis(settings)
    with redis_errors(settings):
        return client.hgetall(keys.mention_state(mention_id))


# --- dead letters ------------------------------------------------------------------------
@cached(SLOW_TTL_S)
def dead_letters(settings: Settings) -> list[dlq_admin.DeadLetterMessage]:
    """The newest dead letters of every partition, newest first (hidden ones included)."""
    with kafka_errors(settings):
        return dlq_admin.browse(settings, per_partition=500, timeout_s=5.0)


@cached(FAST_TTL_S)
def dead_letter_marks(settings: Settings, names: tuple[str, ...]) -> DeadLetterMarks:
    """Which of these dead letters were discarded or replayed (with the latest replay)."""
    client, keys = console_redis(settings)
    with redis_errors(settings):
        return DeadLetterMarks(
            dlq_admin.discarded(client, keys), dlq_admin.replay_records(client, keys, list(names))
        )


@cached(FAST_TTL_S)
def replays(settings: Settings, limit: int = 200) -> list[dlq_admin.ReplayRecord]:
    """The newest replays and what became of each mention since."""
    client, keys = console_redis(settings)
    with redis_errors(settings):
        return dlq_admin.replay_history(client, keys, limit)


# --- approvals, controls, processes ------------------------------------------------------
@cached(FAST_TTL_S)
def pending_approvals(settings: Settings, shown: int = 200) -> PendingApprovals:
    client, keys = console_redis(settings)
    with redis_errors(settings):
        queue = ApprovalQueue(client, keys)
        return PendingApprovals(queue.count(), queue.pending(shown))


@cached(FAST_TTL_S)
def switches(settings: Settings) -> RuntimeSwitches:
    """The run-time overrides in Redis (None: the configured setting applies)."""
    client, keys = console_redis(settings)
    with redis_errors(settings):
        return Control(client, keys).switches()


@cached(FAST_TTL_S)
def author_list(settings: Settings, which: str, search: str = "") -> AuthorList:
    """The opt-out or block list ("opt_out" | "block_list"): its size and a bounded, searchable page."""
    client, keys = console_redis(settings)
    key = keys.opt_out if which == "opt_out" else keys.block_list
    pattern = f"*{search.strip().lower()}*" if search.strip() else "*"
    members: list[str] = []
    with redis_errors(settings):
        total = int(client.scard(key))
        for member in client.sscan_iter(key, match=pattern, count=1000):
            members.append(member)
            if len(members) >= AUTHOR_LIST_SHOWN:
                break
    return AuthorList(total, sorted(members))


@cached(FAST_TTL_S)
def audit_log(settings: Settings, limit: int = AUDIT_SHOWN) -> pd.DataFrame:
    """The newest operator actions: when, who, what, result, details."""
    client, keys = console_redis(settings)
    with redis_errors(settings):
        return audit_frame(client.xrevrange(keys.audit, count=limit))


def log_tail(settings: Settings, program: str, length: int = 16_000) -> str:
    """The end of a program's log, secrets masked."""
    try:
        return redact(supervisor(settings).log_tail(program, length), settings)
    except SupervisorUnavailable as error:
        raise Unavailable("Supervisor", redact(str(error), settings), SUPERVISOR_REMEDY) from None
    except SupervisorRefused as refused:
        return f"(no log: {refused})"

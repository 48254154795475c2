"""What the pages show, shaped from raw reads: pure functions and frozen records, no I/O
(so each is tested without a server)."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from roastbot.approvals import PendingRoast
from roastbot.settings import Settings
from roastbot.supervisor_rpc import Program
from roastbot.telemetry import LATENCY_BUCKETS_S


@dataclass(frozen=True)
class Heartbeat:
    worker_id: str
    fields: dict[str, str]
    last_beat: float
    alive: bool  # the heartbeat hash still exists (renewed within its TTL)


WORKER_PROGRAMS = ("producer", "tracker", "consumer")


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


def is_error(counter: str) -> bool:
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


def kpis_from(counters: Sequence[dict[str, str]], latencies: Sequence[dict[str, str]]) -> Kpis:
    """Totals over per-minute counter and latency buckets."""
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
        errors=sum(v for k, v in totals.items() if is_error(k)),
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


def timeline_from(
    minutes: Sequence[int], counters: Sequence[dict[str, str]], latencies: Sequence[dict[str, str]]
) -> Timeline:
    """Per-minute series (epoch minutes, with their counter and latency buckets)."""
    stamps = pd.to_datetime([m * 60 for m in minutes], unit="s", utc=True)
    throughput, errors, latency = [], [], []
    for stamp, bucket, histogram in zip(stamps, counters, latencies, strict=True):
        throughput.append(
            {"minute": stamp, "series": "mentions in", "count": int(bucket.get("published", 0))}
        )
        throughput.append({"minute": stamp, "series": "replies out", "count": int(bucket.get("posted", 0))})
        for name, value in bucket.items():
            if is_error(name):
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
    *PROVENANCE_COLUMNS,
    "latency_s",
    "mention_id",
    "reply_id",
    "author_id",
    "worker",
]


def roast_frame(raw: Sequence[str]) -> pd.DataFrame:
    """Roast records (JSON, newest first) as a table; unreadable records are left out."""
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


@dataclass(frozen=True)
class DeadLetterMarks:
    discarded: set[str]
    replays: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class PendingApprovals:
    total: int
    oldest: list[PendingRoast]  # oldest first


@dataclass(frozen=True)
class AuthorList:
    total: int
    members: list[str]  # at most AUTHOR_LIST_SHOWN, sorted


def audit_frame(entries: Sequence[tuple[str, dict[str, str]]]) -> pd.DataFrame:
    """Audit stream entries (newest first) as a table: when, who, what, result, details."""
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

"""What lands, for the Results page: every tracked reply with its metrics at each check
(``roastbot.engagement``), shaped into per-post rows, per-group means with a 95 % interval
and their n, top and bottom roasts, and the share that started a conversation. The read is
cached like every console read; the shaping is pure, so it is tested without Redis."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import pandas as pd

from app.caching import FAST_TTL_S, cached
from app.connections import console_redis, redis_errors
from roastbot.engagement import EngagementBook, check_label
from roastbot.settings import Settings

GROUPS = {"roaster": "Roaster", "model": "Model", "prompt_version": "Prompt version", "skeleton": "Skeleton"}
TEXT_COLUMNS = ("reply_id", "author", "mention", "roast", *GROUPS)
Z_95 = 1.96


@cached(FAST_TTL_S)
def tracked_posts(settings: Settings, since_s: float) -> pd.DataFrame:
    """Replies posted within the last ``since_s`` seconds, newest first (``results_frame``)."""
    client, keys = console_redis(settings)
    with redis_errors(settings):
        rows = EngagementBook(client, keys, settings).posts(time.time() - since_s)
    return results_frame(rows, settings.engagement_checks_s)


def check_labels(checks_s: Sequence[float]) -> list[str]:
    return [check_label(seconds) for seconds in sorted(checks_s)]


def results_frame(rows: Sequence[dict[str, Any]], checks_s: Sequence[float]) -> pd.DataFrame:
    """One row per reply: its roast record, posted time, whether the author answered, and
    likes/replies at each check (``likes +1h``...; missing until that check has run)."""
    labels = check_labels(checks_s)
    records = []
    for row in rows:
        record: dict[str, Any] = {name: str(row.get(name, "")) for name in TEXT_COLUMNS}
        record["posted_at"] = pd.to_datetime(float(row.get("posted_at") or 0), unit="s", utc=True)
        record["answered"] = bool(row.get("answered_by"))
        record["checks_done"] = len(row.get("checks", []))
        for label, check in zip(labels, row.get("checks", []), strict=False):
            record[f"likes {label}"] = int(check.get("like_count", 0))
            record[f"replies {label}"] = int(check.get("reply_count", 0))
        records.append(record)
    columns = [*TEXT_COLUMNS, "posted_at", "answered", "checks_done"]
    columns += [f"{kind} {label}" for label in labels for kind in ("likes", "replies")]
    return pd.DataFrame(records).reindex(columns=columns)


def mean_interval(values: pd.Series) -> tuple[int, float | None, float | None]:
    """n, mean and the half-width of a normal 95 % interval (None with fewer than two values)."""
    clean = values.dropna().astype(float)
    n = len(clean)
    if n == 0:
        return 0, None, None
    mean = float(clean.mean())
    if n < 2:
        return n, mean, None
    return n, mean, Z_95 * float(clean.std(ddof=1)) / math.sqrt(n)


def group_summary(frame: pd.DataFrame, by: str, label: str) -> pd.DataFrame:
    """Per value of ``by``: n measured at the check, mean likes ± 95 %, mean replies, and the
    share of its posts that started a conversation; largest n first."""
    likes, replies = f"likes {label}", f"replies {label}"
    rows = []
    for value, group in frame.groupby(by, dropna=False):
        n, mean, half = mean_interval(group[likes])
        rows.append(
            {
                by: str(value) if str(value) else "(none)",
                "n": n,
                "likes (mean)": mean,
                "± 95 %": half,
                "replies (mean)": mean_interval(group[replies])[1],
                "posts": len(group),
                "conversations": float(group["answered"].mean()) if len(group) else None,
            }
        )
    columns = [by, "n", "likes (mean)", "± 95 %", "replies (mean)", "posts", "conversations"]
    summary = pd.DataFrame(rows, columns=columns).sort_values(
        ["n", "posts"], ascending=False, ignore_index=True
    )
    numbers = ["likes (mean)", "± 95 %", "replies (mean)", "conversations"]
    return summary.astype({name: float for name in numbers})  # None (too few to say) as an empty cell


def ranked(frame: pd.DataFrame, label: str, count: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``count`` best and worst measured roasts by likes at the check (then replies)."""
    measured = frame.dropna(subset=[f"likes {label}"])
    order = [f"likes {label}", f"replies {label}"]
    best = measured.sort_values(order, ascending=False).head(count)
    worst = measured.sort_values(order, ascending=True).head(count)
    return best.reset_index(drop=True), worst.reset_index(drop=True)


def conversation_share(frame: pd.DataFrame) -> tuple[int, int, float | None]:
    """(answered, posts, share) over every tracked reply."""
    posts = len(frame)
    answered = int(frame["answered"].sum()) if posts else 0
    return answered, posts, (answered / posts if posts else None)


def per_post_over_time(frame: pd.DataFrame, labels: Sequence[str], freq: str = "h") -> pd.DataFrame:
    """Mean likes and replies per post at each check, by the hour the posts went out (long form:
    posted, check, metric, per_post, n)."""
    rows = []
    if frame.empty:
        return pd.DataFrame(columns=["posted", "check", "metric", "per_post", "n"])
    buckets = frame.assign(posted=frame["posted_at"].dt.floor(freq))
    for posted, group in buckets.groupby("posted"):
        for label in labels:
            for metric in ("likes", "replies"):
                values = group[f"{metric} {label}"].dropna()
                if len(values):
                    rows.append(
                        {
                            "posted": posted,
                            "check": label,
                            "metric": metric,
                            "per_post": values.mean(),
                            "n": len(values),
                        }
                    )
    return pd.DataFrame(rows, columns=["posted", "check", "metric", "per_post", "n"])

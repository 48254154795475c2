"""The console's data layer as the pages see it: one import (``from app import data``) for
every read, view model and command. Each lives in the module of its concern:

- ``app.connections``: settings, Redis/Kafka/Supervisor connections, ``Unavailable``;
- ``app.caching``: read TTLs keyed by the settings' fingerprint;
- ``app.redaction``: secrets masked in anything shown;
- ``app.reads``: the cached reads;
- ``app.view_models``: what the pages show, shaped from raw reads (pure);
- ``app.commands``: the audited commands (never cached).
"""

from __future__ import annotations

from app.commands import (
    CommandResult,
    Refused,
    change_author_list,
    decide,
    discard_dead_letters,
    fetch_now,
    lift_hold,
    process_action,
    replay_dead_letters,
    set_switch,
)
from app.connections import ConfigProblem, Unavailable, load_console_settings, supervisor_address
from app.reads import (
    audit_log,
    author_list,
    dead_letter_marks,
    dead_letters,
    heartbeats,
    holds,
    kpis,
    lag,
    lag_history,
    log_tail,
    mention_state,
    pending_approvals,
    processes,
    quota,
    recent_roasts,
    replays,
    switches,
    timeline,
)
from app.redaction import redact
from app.view_models import (
    ROAST_COLUMNS,
    AuthorList,
    DeadLetterMarks,
    Heartbeat,
    Kpis,
    PendingApprovals,
    Timeline,
    percentile_from_buckets,
    tweet_url,
    worker_board,
)

__all__ = [
    "ROAST_COLUMNS",
    "AuthorList",
    "CommandResult",
    "ConfigProblem",
    "DeadLetterMarks",
    "Heartbeat",
    "Kpis",
    "PendingApprovals",
    "Refused",
    "Timeline",
    "Unavailable",
    "audit_log",
    "author_list",
    "change_author_list",
    "dead_letter_marks",
    "dead_letters",
    "decide",
    "discard_dead_letters",
    "fetch_now",
    "heartbeats",
    "holds",
    "kpis",
    "lag",
    "lag_history",
    "lift_hold",
    "load_console_settings",
    "log_tail",
    "mention_state",
    "pending_approvals",
    "percentile_from_buckets",
    "process_action",
    "processes",
    "quota",
    "recent_roasts",
    "redact",
    "replay_dead_letters",
    "replays",
    "set_switch",
    "supervisor_address",
    "switches",
    "timeline",
    "tweet_url",
    "worker_board",
]

"""The chaos suite's audit fails when it should: each broken outcome is named, a sound one is not."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.ledger import Ledger, MentionOutcome, build_outcome
from tests.chaos import support

pytestmark = pytest.mark.chaos

MENTION = {"tweet": {"created_at": "2026-11-02T10:00:00.000Z"}, "replies": []}


def reply(reply_id: str, by_bot: bool = True, at: str = "2026-11-02T10:00:01.250Z") -> dict[str, object]:
    return {"id": reply_id, "created_at": at, "by_bot": by_bot}


def outcome(state: dict[str, str], replies: list[dict[str, object]]) -> MentionOutcome:
    return build_outcome("1", state, {**MENTION, "replies": replies})


@pytest.mark.parametrize(
    ("state", "replies", "problem"),
    [
        ({"state": "posted", "reply_id": "9"}, [reply("9")], None),
        ({"state": "posted", "reply_id": "9"}, [reply("9"), reply("8", by_bot=False)], None),
        ({"state": "skipped", "reason": "too_old"}, [], None),
        ({"state": "skipped", "reason": "opted_out:confirmed", "reply_id": "9"}, [reply("9")], None),
        ({"state": "dead_lettered", "reason": "retries_exhausted"}, [], None),
        ({"state": "posted", "reply_id": "9"}, [reply("9"), reply("10")], "replied_more_than_once"),
        ({}, [], "no_final_state:none"),
        ({"state": "posting"}, [], "no_final_state:posting"),
        ({"state": "posted", "reply_id": "9"}, [], "posted_but_no_reply_on_x"),
        ({"state": "skipped"}, [], "skipped_without_reason"),
        ({"state": "dead_lettered", "reason": ""}, [], "dead_lettered_without_reason"),
        ({"state": "posted", "reply_id": "9"}, [reply("10")], "posted_with_another_reply_id"),
        ({"state": "skipped", "reason": "duplicate_content"}, [reply("9")], "replied_but_skipped"),
        ({"state": "dead_lettered", "reason": "x"}, [reply("9")], "replied_but_dead_lettered"),
        (
            {"state": "skipped", "reason": "opted_out:confirmed", "reply_id": "9"},
            [],
            "confirmation_reply_mismatch",
        ),
    ],
)
def test_each_broken_outcome_is_named(state: dict[str, str], replies: list, problem: str | None) -> None:
    assert outcome(state, replies).problem == problem


def test_ledger_counts_lost_duplicated_and_latency() -> None:
    ledger = Ledger(
        [
            outcome({"state": "posted", "reply_id": "9"}, [reply("9")]),
            outcome({"state": "posted", "reply_id": "9"}, [reply("9"), reply("10")]),
            outcome({}, []),
        ]
    )
    assert len(ledger.lost) == 1 and len(ledger.duplicated) == 1
    assert ledger.latencies_s() == [1.25]
    assert set(ledger.problems()) == {"replied_more_than_once", "no_final_state:none"}


def test_supervisor_spawns_are_counted_per_program(tmp_path: Path) -> None:
    log = tmp_path / "supervisord.log"
    log.write_text(
        "2026-11-02 10:00:00,000 INFO spawned: 'consumer_00' with pid 10\n"
        "2026-11-02 10:00:00,001 INFO spawned: 'producer' with pid 11\n"
        "2026-11-02 10:00:05,000 WARN exited: consumer_00 (terminated by SIGKILL; not expected)\n"
        "2026-11-02 10:00:06,000 INFO spawned: 'consumer_00' with pid 12\n"
    )

    class Handle:
        supervisord_log = log

    assert support.spawn_counts(Handle()) == {"consumer_00": 2, "producer": 1}  # type: ignore[arg-type]

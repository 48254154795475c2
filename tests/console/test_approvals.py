"""Approvals: parked roasts with approve, edit-then-approve and reject (Approvals.decide)."""

from __future__ import annotations

import redis

from roastbot.approvals import Approvals, Decision
from roastbot.control import Control
from roastbot.settings import Settings
from tests.console.conftest import keys_of, mention, open_page, texts


def test_pending_roasts_are_approved_edited_or_rejected(console: Settings, redis_client: redis.Redis) -> None:
    keys = keys_of(console)
    approvals = Approvals(redis_client, keys)
    Control(redis_client, keys).set_switch("approval_mode", True)
    approvals.park(mention("3001", "roast my bike"), "Your bike has training wheels of shame.", "offline")
    approvals.park(mention("3002", "roast my hat", author="bob"), "That hat is a cry for help.", "offline")
    approvals.park(mention("3003", "roast my tea", author="cy"), "Lukewarm, like your takes.", "offline")

    app = open_page("views/approvals.py", operator="frank")
    page = texts(app)
    assert "3 roast(s) waiting" in page and "Approval mode is off" not in page
    assert [t.value for t in app.text_area] == [
        "Your bike has training wheels of shame.",
        "That hat is a cry for help.",
        "Lukewarm, like your takes.",
    ]

    app.button(key="approve_3001").click().run()
    app.text_area(key="approval_edit_3002").input("That hat is a bold choice.").run()
    app.button(key="approve_edited_3002").click().run()
    app.button(key="reject_3003").click().run()

    decisions = [approvals.next_decision(timeout_s=0.1) for _ in range(4)]
    assert [(d.mention_id, d.decision, d.text, d.actor) for d in decisions[:3]] == [
        ("3001", Decision.APPROVE, "", "frank"),
        ("3002", Decision.APPROVE, "That hat is a bold choice.", "frank"),
        ("3003", Decision.REJECT, "", "frank"),
    ]
    assert decisions[3] is None  # one decision per click
    actions = [entry["action"] for _id, entry in redis_client.xrange(keys.audit)]
    assert actions == ["approval:approve", "approval:approve", "approval:reject"]


def test_approval_mode_off_is_explained(console: Settings) -> None:
    app = open_page("views/approvals.py")
    page = texts(app)
    assert "Approval mode is off" in page and "No roast is waiting" in page

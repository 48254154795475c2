"""Approvals: parked roasts with approve, edit-then-approve and reject (ApprovalQueue.decide)."""

from __future__ import annotations

import redis

from roastbot.approvals import ApprovalQueue, Decision
from roastbot.control import Control
from roastbot.lifecycle import State
from roastbot.mention_store import MentionStore, plant
from roastbot.models import Mention
from roastbot.settings import Settings
from tests.console.conftest import keys_of, mention, open_page, texts

TO_PARKED = [State.CLAIMED, State.GENERATING, State.READY, State.PENDING_APPROVAL]


def park(store: MentionStore, parked: Mention, roast: str) -> None:
    """A roast parked for approval, through the store as a consumer parks it."""
    plant(store, parked.id, TO_PARKED, mention=parked.model_dump_json(), roast=roast, roaster="offline")


def test_pending_roasts_are_approved_edited_or_rejected(console: Settings, redis_client: redis.Redis) -> None:
    keys = keys_of(console)
    store = MentionStore(redis_client, keys, "consumer-test")
    Control(redis_client, keys).set_switch("approval_mode", True)
    park(store, mention("3001", "roast my bike"), "Your bike has training wheels of shame.")
    park(store, mention("3002", "roast my hat", author="bob"), "That hat is a cry for help.")
    park(store, mention("3003", "roast my tea", author="cy"), "Lukewarm, like your takes.")

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

    consumers = ApprovalQueue(redis_client, keys, "consumer-test")
    consumers.join()
    decisions = consumers.next_decisions(block_s=0.1, idle_s=60, count=10)
    assert [(d.mention_id, d.decision, d.text, d.actor) for d in decisions] == [
        ("3001", Decision.APPROVE, "", "frank"),
        ("3002", Decision.APPROVE, "That hat is a bold choice.", "frank"),
        ("3003", Decision.REJECT, "", "frank"),
    ]  # one decision per click
    actions = [entry["action"] for _id, entry in redis_client.xrange(keys.audit)]
    assert actions == ["approval:approve", "approval:approve", "approval:reject"]


def test_past_two_hundred_pending_the_oldest_show_first(console: Settings, redis_client: redis.Redis) -> None:
    # The list was sliced before it was sorted: past 200 the oldest could be missing. (Up to
    # 512 fields our Redis keeps a hash as a listpack, in insertion order, which hid it: 600.)
    keys = keys_of(console)
    store = MentionStore(redis_client, keys, "consumer-test")
    Control(redis_client, keys).set_switch("approval_mode", True)
    ids = [str(4000 + n) for n in range(600)]  # parked in this order, oldest first
    for mention_id in ids:
        park(store, mention(mention_id, f"roast number {mention_id}"), f"Roast for {mention_id}.")

    app = open_page("views/approvals.py")
    assert "600 roast(s) waiting, oldest first. Showing the oldest 50." in texts(app)
    assert [t.value for t in app.text_area] == [f"Roast for {mention_id}." for mention_id in ids[:50]]


def test_approval_mode_off_is_explained(console: Settings) -> None:
    app = open_page("views/approvals.py")
    page = texts(app)
    assert "Approval mode is off" in page and "No roast is waiting" in page

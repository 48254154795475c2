"""A mention's life through the runner alone, over real Redis and HTTP: rules, refusals,
approvals, regeneration, the loop guard. Each test hands the runner a mention as the consumer
does and reads the outcome at once (tests/integration/runner_bench.py): seconds, not the
minutes a whole pipeline takes for the same behaviour."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from roastbot.approvals import Decision
from roastbot.author_memory import AuthorMemory
from roastbot.models import utc_now
from roastbot.roast_request import roast_request
from roastbot.roasting import generate_safe_roast
from roastbot.settings import Settings
from tests.integration.conftest import read_topic
from tests.integration.runner_bench import runner_bench

pytestmark = pytest.mark.integration


def test_dry_run_and_approval_mode(x: httpx.Client, sandbox_settings: Settings) -> None:
    with runner_bench(sandbox_settings, x) as bot:
        bot.control.set_switch("dry_run", True)
        dry = bot.mention("dry run me")
        state = bot.deliver(dry)
        assert state["state"] == "skipped" and state["reason"] == "dry_run" and state["roast"]
        assert not bot.replies(dry)

        bot.control.set_switch("dry_run", False)
        bot.control.set_switch("approval_mode", True)
        edited, rejected = bot.mention("approve me"), bot.mention("reject me", author={"username": "other"})
        assert bot.deliver(edited)["state"] == bot.deliver(rejected)["state"] == "pending_approval"
        assert [p.mention.id for p in bot.runner.store.approvals.pending()] == [edited, rejected]
        assert bot.decide(edited, Decision.APPROVE, "Edited by a human, still a roast.")["state"] == "posted"
        assert [r["text"] for r in bot.replies(edited)] == ["Edited by a human, still a roast."]
        assert bot.decide(rejected, Decision.REJECT)["reason"] == "rejected_by_operator"
        assert not bot.replies(rejected)
        assert bot.runner.store.approvals.pending() == []


@pytest.mark.parametrize("refusal", ["reply_restricted", "deleted"])
def test_an_approved_roast_x_refuses_ends_skipped_with_the_refusal(
    x: httpx.Client, sandbox_settings: Settings, refusal: str
) -> None:
    # It used to be parked again on every refusal: never final, back on every approval.
    with runner_bench(sandbox_settings, x) as bot:
        mention_id = bot.park(f"approve me, then be refused ({refusal})")
        x.post("/sandbox/faults", json={"post_refusal": refusal, "post_refusal_count": 1})
        state = bot.decide(mention_id, Decision.APPROVE)
        assert state["state"] == "skipped" and state["reason"] == refusal, state
        assert bot.runner.store.approvals.pending() == []
        assert not bot.replies(mention_id)
    assert x.get("/sandbox/stats").json()["posts_refused_by_reason"] == {refusal: 1}  # never retried


def test_an_edited_roast_that_fails_the_safety_check_is_skipped(
    x: httpx.Client, sandbox_settings: Settings
) -> None:
    with runner_bench(sandbox_settings, x) as bot:
        mention_id = bot.park("approve me with a link")
        state = bot.decide(mention_id, Decision.APPROVE, "Visit scam.example.com for your roast.")
        assert state["state"] == "skipped" and state["reason"].startswith("safety:"), state
        assert not bot.replies(mention_id)


def test_opt_out_is_confirmed_once_and_respected(x: httpx.Client, sandbox_settings: Settings) -> None:
    author = {"username": "quitter"}
    with runner_bench(sandbox_settings, x) as bot:
        stop_id = bot.mention("please STOP roasting me", author=author)
        assert bot.deliver(stop_id)["reason"] == "opted_out:confirmed"
        assert len(bot.replies(stop_id)) == 1
        later = bot.mention("roast me again?", author=author)
        assert bot.deliver(later)["reason"] == "opted_out"
        assert not bot.replies(later)
        again = bot.mention("stop", author=author)
        assert bot.deliver(again)["reason"] == "opted_out"
        assert not bot.replies(again)  # one confirmation only


def test_block_list_age_and_author_limit(x: httpx.Client, sandbox_settings: Settings) -> None:
    settings = sandbox_settings.model_copy(
        update={"per_author_limit_per_hour": 2, "per_conversation_limit": 0, "max_mention_age_s": 3600}
    )
    with runner_bench(settings, x) as bot:
        bot.control.client.sadd(bot.keys.block_list, "troll")
        blocked = bot.mention("roast me", author={"username": "troll"})
        assert bot.deliver(blocked)["reason"] == "blocked"
        old = bot.mention("roast me, I tweeted this yesterday", author={"username": "late"})
        assert bot.deliver(old, created_at=utc_now() - timedelta(hours=2))["reason"] == "too_old"
        many = [bot.mention(f"roast {n}", author={"username": "greedy"}) for n in range(3)]
        assert [bot.deliver(m).get("reason", "") for m in many] == ["", "", "author_limit"]


@pytest.mark.parametrize("refusal", ["reply_restricted", "deleted"])
def test_refused_replies_are_skipped_without_retries(
    x: httpx.Client, sandbox_settings: Settings, refusal: str
) -> None:
    x.post("/sandbox/faults", json={"post_refusal": refusal, "post_refusal_count": 1})
    with runner_bench(sandbox_settings, x) as bot:
        state = bot.deliver(bot.mention(f"case {refusal}"))
    assert state["state"] == "skipped" and state["reason"] == refusal
    assert x.get("/sandbox/stats").json()["requests_per_endpoint"]["post"] == 1


def test_duplicate_content_is_regenerated_once_then_skipped(
    x: httpx.Client, sandbox_settings: Settings
) -> None:
    x.post("/sandbox/faults", json={"post_refusal": "duplicate", "post_refusal_count": 1})
    with runner_bench(sandbox_settings, x) as bot:
        once = bot.mention("duplicate once", author={"username": "d1"})
        state = bot.deliver(once)
        assert state["state"] == "posted" and len(bot.replies(once)) == 1
        x.post("/sandbox/faults", json={"post_refusal": "duplicate", "post_refusal_count": 2})
        twice = bot.mention("duplicate twice", author={"username": "d2"})
        state = bot.deliver(twice)
        assert state["state"] == "skipped" and state["reason"] == "duplicate_content"
    refused = x.get("/sandbox/stats").json()["posts_refused_by_reason"]
    assert sum(refused.values()) == 3


def test_a_text_another_mention_has_is_refused_by_the_move_and_a_new_draft_posted(
    x: httpx.Client, sandbox_settings: Settings
) -> None:
    # The move to ready claims the text first (roastbot.batch): taken, the step writes again.
    with runner_bench(sandbox_settings, x) as bot:
        mention = bot.fetched(bot.mention("roast my sourdough", author={"username": "taken"}))
        request = roast_request(
            mention, 0, (), AuthorMemory(bot.control.client, bot.keys).history(mention.author_id)
        )
        first = generate_safe_roast(bot.runner.roaster, request, "taken").draft
        assert first is not None and bot.runner.store.claim_text(first.text)  # another mention's now
        state = bot.deliver(mention.id)
        assert state["state"] == "posted" and state["roast"] and state["roast"] != first.text
        assert [r["text"] for r in bot.replies(mention.id)] == [state["roast"]]
        assert not bot.runner.store.claim_text(state["roast"])  # claimed by the move that kept it


def test_an_approved_text_x_calls_a_duplicate_is_never_replaced(
    x: httpx.Client, sandbox_settings: Settings
) -> None:
    # Only an operator chose the text: a new one would be posted without approval.
    with runner_bench(sandbox_settings, x) as bot:
        mention_id = bot.park("approve me, twice over")
        x.post("/sandbox/faults", json={"post_refusal": "duplicate", "post_refusal_count": 1})
        state = bot.decide(mention_id, Decision.APPROVE)
        assert (state["state"], state["reason"]) == ("skipped", "duplicate_content")
    assert x.get("/sandbox/stats").json()["requests_per_endpoint"]["post"] == 1


def test_pile_on_in_one_thread_gets_one_roast(x: httpx.Client, sandbox_settings: Settings) -> None:
    thread = x.post(
        "/sandbox/tweets", json={"text": "my controversial opinion", "author": {"username": "op"}}
    ).json()
    with runner_bench(sandbox_settings, x) as bot:
        states = []
        for n in range(50):
            body = {
                "text": f"roast this {n}",
                "in_reply_to_tweet_id": thread["id"],
                "author": {"username": f"fan{n}"},
            }
            states.append(bot.deliver(x.post("/sandbox/mentions", json=body).json()["ids"][0]))
    posted = [s for s in states if s["state"] == "posted"]
    assert len(posted) == 1
    assert sorted(s.get("reason") for s in states if s["state"] == "skipped") == ["conversation_limit"] * 49


@pytest.mark.parametrize(
    ("per_conversation_limit", "stopped_by", "replies"),
    [(0, "loop_guard:conversation", 3), (1, "conversation_limit", 1)],
)
def test_two_bots_mentioning_each_other_stop(
    x: httpx.Client, sandbox_settings: Settings, per_conversation_limit: int, stopped_by: str, replies: int
) -> None:
    """A second bot answers every reply of ours with a mention; the exchange must end: with no
    per-conversation limit, at the loop guard (LOOP_GUARD_REPLIES=3 replies posted). The loop
    guard used to count the limit's reservations, so with the limit off it never fired."""
    settings = sandbox_settings.model_copy(update={"per_conversation_limit": per_conversation_limit})
    assert settings.loop_guard_replies == 3
    with runner_bench(settings, x) as bot:
        current = bot.mention("hey roastbot, roast me, I am a bot too", author={"username": "echobot"})
        for _ in range(10):
            state = bot.deliver(current)
            if state["state"] != "posted":
                break
            body = {
                "text": "@roastbot right back at you",
                "in_reply_to_tweet_id": state["reply_id"],
                "author": {"username": "echobot"},
            }
            current = x.post("/sandbox/mentions", json=body).json()["ids"][0]
    assert (state["state"], state["reason"]) == ("skipped", stopped_by)
    assert x.get("/sandbox/stats").json()["replies_posted"] == replies


def test_dry_runs_do_not_count_for_the_loop_guard(x: httpx.Client, sandbox_settings: Settings) -> None:
    settings = sandbox_settings.model_copy(update={"per_conversation_limit": 0})
    thread = x.post("/sandbox/tweets", json={"text": "a busy thread", "author": {"username": "op"}}).json()
    with runner_bench(settings, x) as bot:
        bot.control.set_switch("dry_run", True)
        for n in range(settings.loop_guard_replies):
            body = {
                "text": f"roast {n}",
                "in_reply_to_tweet_id": thread["id"],
                "author": {"username": f"d{n}"},
            }
            assert bot.deliver(x.post("/sandbox/mentions", json=body).json()["ids"][0])["reason"] == "dry_run"
        bot.control.set_switch("dry_run", False)
        body = {
            "text": "roast me for real",
            "in_reply_to_tweet_id": thread["id"],
            "author": {"username": "real"},
        }
        assert bot.deliver(x.post("/sandbox/mentions", json=body).json()["ids"][0])["state"] == "posted"


def test_known_bot_accounts_are_never_answered(x: httpx.Client, sandbox_settings: Settings) -> None:
    settings = sandbox_settings.model_copy(update={"known_bot_accounts": "@OtherBot, 12345"})
    with runner_bench(settings, x) as bot:
        from_bot = bot.mention("roast me, fellow bot", author={"username": "otherbot"})
        from_human = bot.mention("roast me, human here", author={"username": "human"})
        assert bot.deliver(from_bot)["reason"] == "loop_guard:known_bot"
        assert bot.deliver(from_human)["state"] == "posted"
    assert not bot.replies(from_bot)


def test_transient_llm_failures_are_retried_then_dead_lettered(
    x: httpx.Client, llm: httpx.Client, together_settings: Settings
) -> None:
    settings = together_settings.model_copy(update={"consumer_max_retries": 2})
    llm.post("/sandbox/faults", json={"error_rate": 1.0})
    with runner_bench(settings, x) as bot:
        mention_id = bot.mention("the llm is down")
        state = bot.deliver(mention_id)
        assert state["state"] == "dead_lettered" and state["reason"] == "retries_exhausted"
        requests = llm.get("/sandbox/stats").json()
        assert not bot.replies(mention_id)
        assert bot.counter("failed:roast_transient") == 3
        # One first attempt and CONSUMER_MAX_RETRIES=2 retries, each answered 5xx by the LLM.
        assert (requests["chat_completions"], requests["errors"]) == (3, 3), requests
        [(_, _, letter)] = read_topic(settings, settings.kafka_topic_dlq)
        assert letter is not None and letter.id == mention_id
        llm.post("/sandbox/faults", json={"error_rate": 0.0})
        assert bot.deliver(bot.mention("the llm is back"))["state"] == "posted"

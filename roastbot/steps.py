"""The step of each active state of a mention's life, and the waits between them.

Each step does the work of one state and returns an ``Outcome``: the ``Fact`` it observed
(the table in ``roastbot.lifecycle`` says where it leads), the reason, and the fields the
next state records. Steps raise only for what the runner maps in one place: ``GaveUp``
and ``Permanent`` from a call to X or the LLM, ``Interrupted`` on shutdown, and errors of
Redis or Kafka. A wait (a hold, the quota, the LLM) stays in its state; the runner keeps
the claim renewed meanwhile.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TypeVar

from confluent_kafka import Producer

from roastbot.approvals import Decision
from roastbot.author_memory import AuthorMemory
from roastbot.batch import Op
from roastbot.control import Control
from roastbot.engagement import EngagementBook
from roastbot.holds import CAUSES, GENERATING, POSTING, Holds, credential_for
from roastbot.lifecycle import Fact
from roastbot.mention_store import MentionStore
from roastbot.models import Mention
from roastbot.outcomes import Permanent, RateLimited, Transient
from roastbot.quota import QuotaBook, Slot
from roastbot.retry import RetryPolicy
from roastbot.roast_request import roast_request
from roastbot.roasting import Roaster, check_roast, generate_safe_roast
from roastbot.roasting.metered import billed_to, first_call_meter
from roastbot.roasting.pipeline import SafeRoastResult
from roastbot.rules import OPT_OUT_CONFIRMATION, AuthorRules, wants_opt_out
from roastbot.run import CarriedReads, Outcome, Run
from roastbot.settings import Settings
from roastbot.spend import BudgetReached
from roastbot.telemetry import Telemetry
from roastbot.triage import QuotaTriage
from roastbot.x_gateway import PostedReply, XGateway

T = TypeVar("T")
# Drafts tried before a mention is skipped for repeating a recent roast (X refuses the same
# text twice): a thread of a hundred mentions about one subject needs up to about ten.
FRESH_TEXT_ROUNDS = 10
REFUSALS_TO_SKIP = {"deleted", "reply_restricted", "too_long"}
CONFIRMATION = "opt_out_confirmation"  # the kind of a text that answers an opt-out
HOLD_POLL_S = 1.0
TURN_POLL_S = 0.25  # a mention waiting its turn looks again: better ones may have come or gone


class MentionSteps:
    def __init__(
        self,
        settings: Settings,
        *,
        gateway: XGateway,
        roaster: Roaster,
        telemetry: Telemetry,
        store: MentionStore,
        policy: RetryPolicy,
        kafka_producer: Producer,
    ) -> None:
        self.settings = settings
        self.kafka_producer = kafka_producer  # dead letters go through it
        self.gateway = gateway
        self.roaster = roaster
        # Whose price the move into generating reserves (admit): fixed by how the roaster is built.
        self.first_meter = first_call_meter(roaster)
        self.telemetry = telemetry
        self.store = store
        self.policy = policy
        client, keys = store.client, store.keys
        self.rules = AuthorRules(client, keys)
        # Switches and holds are read fresh: an operator's change applies to the next mention.
        self.control = Control(client, keys)
        self.holds = Holds(client, keys)
        self.quota = QuotaBook(client, keys)
        self.memory = AuthorMemory(client, keys)
        self.reads = CarriedReads(settings, self.rules, self.control, self.holds, self.memory)
        self.engagement = EngagementBook(client, keys, settings)  # posted replies, for the tracker
        self.triage = QuotaTriage.from_settings(client, keys, settings)

    # --- claimed: who gets roasted -------------------------------------------------------
    def check_rules(self, run: Run) -> Outcome:
        mention, settings = run.mention, self.settings
        # Read once per process: later mentions skip the retry policy's per-call cost.
        bot = self.gateway.known_bot_user or self.call("bot_user", self.gateway.bot_user)
        author = mention.author_username
        if mention.author_id == bot.id:
            return Outcome(Fact.RULE_SKIP, "own_tweet")
        if {mention.author_id, author.lower()} & settings.known_bots:
            return Outcome(Fact.RULE_SKIP, "loop_guard:known_bot")
        if mention.age_s() > settings.max_mention_age_s:
            return Outcome(Fact.RULE_SKIP, "too_old")
        window = settings.conversation_window_s
        standing = self.reads.standing(run)  # read with the claim
        if standing.blocked:
            return Outcome(Fact.RULE_SKIP, "blocked")
        if wants_opt_out(mention, bot.username):
            if self.rules.opt_out(mention.author_id):
                # Addressed to the author: X refuses the same text twice from one account.
                text = f"@{author} {OPT_OUT_CONFIRMATION}" if author else OPT_OUT_CONFIRMATION
                return Outcome(Fact.OPT_OUT_REQUESTED, fields={"roast": text, "kind": CONFIRMATION})
            return Outcome(Fact.RULE_SKIP, "opted_out")
        if standing.opted_out:
            return Outcome(Fact.RULE_SKIP, "opted_out")
        # Replies actually posted, whatever the per-conversation limit (0 turns that one off).
        if standing.conversation_replies >= settings.loop_guard_replies:
            return Outcome(Fact.RULE_SKIP, "loop_guard:conversation")
        limit = self.reads.switches(run).per_author_limit_per_hour
        limit = settings.per_author_limit_per_hour if limit is None else limit
        return self.admit(run, self.rules.reserve_op(mention, settings.per_conversation_limit, window, limit))

    def admit(self, run: Run, reserve: Op) -> Outcome:
        """The first LLM call's price (none for the offline roaster), the limits' slots
        (``reserve``), then quota triage, last of the rules: a mention the post quota cannot
        reach in time is skipped now, before any roast is written for it (LLM calls cost too).
        All guard the move to generating, in its round trip (the price first: the call takes
        it, one round trip fewer). A refused price raises the budget hold, and the mention is
        admitted again once no hold stops generating; a price others refused is refunded."""
        mention, meter = run.mention, self.first_meter
        price, reservation = meter.ledger.llm_reservation_op(meter.model) if meter else (None, None)

        def refused(done: bool, answers: list[object]) -> Outcome | None:
            if done:
                run.prepaid = [reservation] if reservation else []
                return None
            if meter and reservation:
                granted, answers = answers[0], answers[1:]
                if str(granted) != "1":  # the budget refused: nothing after it ran
                    self.raise_hold(meter.ledger.refused(granted, reservation))
                    self.wait_while_held(GENERATING)
                    return self.admit(run, reserve)
                meter.ledger.refund(reservation)
            if answers[0]:  # a limit refused (its name): the triage never ran
                return Outcome(Fact.RULE_SKIP, str(answers[0]))
            self.rules.give_back(mention)
            return Outcome(Fact.QUOTA_TRIAGED)

        fields = {
            "triage_score": repr(self.triage.score(mention)),
            "mention_created_at": f"{mention.created_at.timestamp():.3f}",
        }
        guards = (*([price] if price else []), reserve, self.triage.admit_op(mention))
        return Outcome(Fact.RULES_PASSED, fields=fields, guards=guards, on_guards=refused)

    # --- generating: the one place a roast is written ------------------------------------
    def generate_roast(self, run: Run) -> Outcome:
        """A safe roast the bot has not posted lately (X would refuse a duplicate), and not one
        this author got lately: the author's memory is read once (with the claim) and the roast
        remembered with the move to ready (so a retry, a duplicate's regeneration or an
        operator's queue never offers it to them again). That move claims the text first: when
        another mention has it, this step writes another draft (FRESH_TEXT_ROUNDS at most)."""
        mention, rounds = run.mention, self.settings.roast_max_attempts
        if run.history is None:
            run.history = self.memory.history(mention.author_id)
        if run.text_rounds >= FRESH_TEXT_ROUNDS:
            return Outcome(Fact.NO_FRESH_TEXT)
        attempt = run.regenerations + run.text_rounds * rounds
        request = roast_request(mention, attempt, tuple(run.avoid), run.history)
        # The calls booked with the move out of here, the first with the price admit reserved.
        roaster = billed_to(self.roaster, run.bookings, run.prepaid)
        try:
            result: SafeRoastResult = self.call(
                "roast",
                lambda: generate_safe_roast(roaster, request, request.author_username, max_attempts=rounds),
                held_by=GENERATING,
                run=run,
            )
        finally:
            self.refund_prepaid(run)  # no call took it (a shutdown in a hold, a draft refused early)
        if result.draft is None:
            self.rules.give_back(mention)
            return Outcome(Fact.UNSAFE, "safety:" + ",".join(result.reasons))
        draft = result.draft

        def taken(done: bool, _answers: list[object]) -> Outcome | None:
            if done:
                return None
            run.avoid.append(draft.text)
            run.text_rounds += 1
            return self.generate_roast(run)

        run.draft_info = draft.provenance()
        return Outcome(
            Fact.ROAST_READY,
            fields={"roast": draft.text},
            counts=("roasted",),
            guards=tuple(self.store.text_claim_ops(draft.text)),
            after=tuple(self.memory.remember_ops(mention.author_id, draft.text, draft.skeleton)),
            on_guards=taken,
        )

    # --- ready: dry run, an operator, or a post slot --------------------------------------
    def route(self, run: Run) -> Outcome:
        switches = self.reads.switches(run)  # read with the move to ready
        dry_run = switches.dry_run if switches.dry_run is not None else self.settings.dry_run
        if dry_run:
            return Outcome(Fact.DRY_RUN)
        if switches.approval_mode and not run.record.get("approved_by"):
            # How the roast was written stays with the parked mention: the run that applies
            # the decision starts from the state hash, and records it with the posted roast.
            fields = {"mention": run.mention.model_dump_json(), **run.draft_info}
            return Outcome(Fact.NEEDS_APPROVAL, fields=fields)
        return self.take_turn(run)

    def take_turn(self, run: Run) -> Outcome:
        """The move to posting, guarded by the post slot (``lua/post_slot.lua``) and the POST's
        price: once no hold stops posting and no better-scored mention needs the slot; skipped
        once the quota cannot reach this one in time (a wait is bounded, so is its commit)."""
        self.wait_while_held(POSTING, run)
        guards = [self.triage.slot_op(run.mention)]
        spend, text = self.gateway.spend, run.record.get("roast", "")
        reservation = None
        if spend is not None and text:  # the POST's price, reserved in the same round trip
            reserve, reservation = spend.post_reservation_op(text)
            guards.append(reserve)

        def answered(done: bool, answers: list[object]) -> Outcome | None:
            granted = self.read_slot(run, answers[0])
            if granted and done:
                run.reservation = reservation
                return None
            if granted and spend is not None and reservation is not None:  # the budget refused
                self.raise_hold(spend.refused(answers[1], reservation))  # counted as the POST's refusal was
                self.give_back_slot(run)
                return self.take_turn(run)  # after the budget's hold
            return Outcome(Fact.QUOTA_TRIAGED) if granted is False else self.take_turn(run)

        return Outcome(Fact.SLOT_GRANTED, guards=tuple(guards), on_guards=answered)

    def wait_for_turn(self, run: Run) -> bool:
        """A post slot as ``take_turn`` takes it, in a round trip of its own (a POST tried again
        has no move to ride on; the gateway reserves its price); False once it is too late."""
        while True:
            self.wait_while_held(POSTING, run)
            [answer] = self.store.run_ops([self.triage.slot_op(run.mention)])
            granted = self.read_slot(run, answer)
            if granted is not None:
                return granted

    def give_back_slot(self, run: Run) -> None:
        """The budget refused the POST's price before it left, so X counted nothing: the unit
        back to the post quota, the mention waiting again at its score."""
        if run.post_slot:
            self.quota.give_back("post", run.post_slot)
        self.triage.rejoin(run.mention)
        run.slot_granted, run.post_slot = False, None

    def read_slot(self, run: Run, answer: object) -> bool | None:
        """``lua/post_slot.lua``'s answer: True granted, False too late, None after a short wait."""
        granted, in_time, wait, window, waits_for = answer  # type: ignore[misc]
        if int(granted):
            run.slot_granted = True
            run.post_slot = Slot(None, float(window) or None)
            return True
        if not int(in_time):
            return False
        wait_s = float(wait) + (random.uniform(0, 0.5) if waits_for == "quota" else 0.0)
        self.policy.pause(min(wait_s, TURN_POLL_S))
        return None

    # --- pending_approval: an operator's decision -----------------------------------------
    def review(self, run: Run) -> Outcome:
        decision = run.decision
        assert decision is not None, "a parked mention is reviewed only on a decision"
        if decision.decision == Decision.REJECT:
            return Outcome(Fact.REJECTED)
        text = decision.text.strip() or run.record.get("roast", "")
        verdict = check_roast(text, run.mention.author_username)
        if not verdict.ok:
            return Outcome(Fact.APPROVED_UNSAFE, "safety:" + ",".join(verdict.reasons), {"roast": text})
        return Outcome(Fact.APPROVED, fields={"roast": text, "approved_by": decision.actor or "operator"})

    # --- posting: exactly once ------------------------------------------------------------
    def post(self, run: Run) -> Outcome:
        """Post the text once: reconcile with X whenever an earlier POST may have landed."""
        text, mention = run.record.get("roast", ""), run.mention
        if not text:  # a crash before the roast was kept
            return Outcome(Fact.NOTHING_TO_POST)
        if run.taken_over_posting:
            # A holder died at the POST: let a POST it may still have had in flight land first.
            self.policy.pause(self.settings.x_timeout_s - run.since_update_s)
        uncertain = [run.taken_over_posting]
        found: list[str] = []

        def attempt() -> PostedReply:
            while True:
                if uncertain[0] and (reply := self.find_own_reply(mention)):
                    found.append(reply)
                    return PostedReply(reply)
                if not run.slot_granted and not self.wait_for_turn(run):
                    raise _TooLate  # X refused a POST for quota: behind every waiting mention
                run.slot_granted = False
                reservation, run.reservation = run.reservation, None
                try:
                    return self.gateway.post_reply_deferred(text, mention.id, reservation)
                except RateLimited as error:
                    self.quota.mark_exhausted("post", error.reset_at)
                    self.telemetry.count("failed:x_rate_limited")  # the 429s despite the shared quota
                    raise
                except Transient as error:
                    uncertain[0] = True  # the POST may have reached X before the answer was lost
                    if "network error" in error.reason:
                        self.policy.pause(self.settings.x_timeout_s)  # a request given up on may still land
                    raise
                except Permanent as error:
                    if isinstance(error, BudgetReached):  # a POST tried again reserved its own price
                        self.give_back_slot(run)
                    if error.code not in CAUSES:
                        raise
                    self.raise_hold(error)  # then wait for an operator before the next POST

        try:
            posted = self.policy.call("post", attempt)
        except Permanent as error:
            return self._refused(run, text, error, uncertain[0])
        except _TooLate:
            return Outcome(Fact.QUOTA_TRIAGED)
        finally:
            if run.reservation and self.gateway.spend:  # no POST took it (a shutdown, a reply found)
                self.gateway.spend.refund(run.reservation)
            run.reservation = None
        if found:
            self.telemetry.count("reconciled")
        return self._posted(run, posted)

    def _posted(self, run: Run, posted: PostedReply) -> Outcome:
        fact = Fact.CONFIRMATION_POSTED if run.record.get("kind") == CONFIRMATION else Fact.REPLY_POSTED
        return Outcome(fact, fields={"reply_id": posted.tweet_id}, first=posted.ops)

    def _refused(self, run: Run, text: str, error: Permanent, uncertain: bool) -> Outcome:
        if error.code == "duplicate":
            if uncertain:
                # X has this very text, and an earlier POST of ours may have landed: it is almost
                # surely ours. Look again after it settles; never post a new text.
                self.policy.pause(self.settings.x_timeout_s)
                if reply := self.find_own_reply(run.mention):
                    self.telemetry.count("reconciled")
                    return self._posted(run, PostedReply(reply))
                return Outcome(Fact.DUPLICATE_UNCONFIRMED)
            # An operator approved this text, or a new one was written already: no other text.
            if run.regenerations or run.record.get("approved_by") or run.record.get("kind") == CONFIRMATION:
                return Outcome(Fact.DUPLICATE_AGAIN)
            run.regenerations += 1
            run.avoid.append(text)
            run.text_rounds = 0  # a new roast, with rounds of its own
            return Outcome(Fact.DUPLICATE_TEXT)
        if error.code in REFUSALS_TO_SKIP:
            return Outcome(Fact.REPLY_REFUSED, error.code)
        raise error

    def find_own_reply(self, mention: Mention) -> str | None:
        """Our reply to the mention on X, searched from the first POST attempt on."""
        posting_at = self.store.record(mention.id).get("posting_at")
        after = float(posting_at) if posting_at else None
        return self.call("reconcile", lambda: self.gateway.find_reply_to(mention.id, after))

    # --- calls and waits ------------------------------------------------------------------
    def call(
        self, what: str, attempt: Callable[[], T], *, held_by: str | None = None, run: Run | None = None
    ) -> T:
        """A call to X or the LLM under the retry policy (first waiting out the holds that
        stop ``held_by``). A refusal no retry can fix and every mention would meet (a revoked
        credential...) raises a hold for everyone and waits until an operator lifts it."""
        while True:
            if held_by:
                self.wait_while_held(held_by, run)
            try:
                return self.policy.call(what, attempt)
            except Permanent as error:
                cause = CAUSES.get(error.code)
                if cause is None:
                    raise
                self.raise_hold(error)
                self.wait_while_held(cause.stops)

    def refund_prepaid(self, run: Run) -> None:
        """The price admit reserved, back to the day's total (only ever made with a meter)."""
        if run.prepaid and self.first_meter:
            self.first_meter.ledger.refund(run.prepaid.pop())

    def raise_hold(self, error: Permanent) -> None:
        self.holds.raise_hold(error.code, error.reason, credential_for(error.code, self.settings))
        self.telemetry.count(f"failed:{error.code}")

    def wait_while_held(self, stops: str, run: Run | None = None) -> None:
        """Until no hold stops ``stops`` (first as the run's last round trip read them)."""
        held = self.reads.holds(run, stops) if run is not None else self.holds.active(stops)
        while held:
            self.policy.pause(HOLD_POLL_S)
            held = self.holds.active(stops)


class _TooLate(Exception):
    """The post quota cannot reach this mention in time any more (never retried)."""

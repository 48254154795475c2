"""What happens to one mention: claim, rules, roast, safety, post exactly once.

Runs in a consumer's worker thread. Returns normally once the mention has a final
state (or another worker owns it); raises ``Interrupted`` on shutdown so the message
stays uncommitted and is redelivered.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from confluent_kafka import Message, Producer

from roastbot.approvals import ApprovalDecision, Approvals, Decision
from roastbot.control import Control, PostingHold
from roastbot.dead_letters import DeadLetter, send_to_dead_letters
from roastbot.keys import RedisKeys
from roastbot.logs import current_mention
from roastbot.mention_state import Claim, ClaimVerdict, LostClaim, MentionStates
from roastbot.models import InvalidMessage, Mention, MentionState, utc_now
from roastbot.outcomes import Permanent, RateLimited, Transient
from roastbot.quota import QuotaBook
from roastbot.roasting import Roaster, RoastRequest, check_roast, generate_safe_roast
from roastbot.rules import OPT_OUT_CONFIRMATION, AuthorRules, PostedTexts, wants_opt_out
from roastbot.settings import Settings
from roastbot.telemetry import Telemetry
from roastbot.x_gateway import XGateway

log = logging.getLogger(__name__)

T = TypeVar("T")
HOLD_CODES = {"automation_block", "suspended"}
FRESH_TEXT_ROUNDS = 6  # drafts tried before a mention is skipped for repeating a recent roast
SKIP_CODES = {"deleted", "reply_restricted", "too_long"}


class Interrupted(Exception):
    """Shutdown while waiting: leave the message uncommitted."""


class RetriesExhausted(Exception):
    def __init__(self, what: str, attempts: int, last_error: Exception) -> None:
        super().__init__(f"{what}: gave up after {attempts} attempts: {last_error}")
        self.attempts = attempts


@dataclass
class _Skip(Exception):
    reason: str
    roast: str = ""
    reply_id: str = ""


class MentionHandler:
    def __init__(
        self,
        settings: Settings,
        *,
        gateway: XGateway,
        roaster: Roaster,
        telemetry: Telemetry,
        kafka_producer: Producer,
        stop_event: threading.Event,
    ) -> None:
        self.settings = settings
        self.gateway = gateway
        self.roaster = roaster
        self.telemetry = telemetry
        self.kafka_producer = kafka_producer
        self.stop_event = stop_event
        client = telemetry.client
        keys = RedisKeys(settings.redis_key_prefix)
        # A lease outlives the longest roast (every attempt timing out) plus a post.
        lease_s = settings.llm_timeout_s * settings.roast_max_attempts + 15
        self.states = MentionStates(client, keys, telemetry.worker_id, lease_s=lease_s)
        self.rules = AuthorRules(client, keys)
        self.control = Control(client, keys)
        self.hold = PostingHold(client, keys)
        self.quota = QuotaBook(client, keys)
        self.approvals = Approvals(client, keys)
        self.posted_texts = PostedTexts(client, keys)

    # --- entry ---------------------------------------------------------------------
    def handle(self, message: Message) -> None:
        try:
            mention = Mention.from_bytes(message.value() or b"")
        except InvalidMessage as error:
            self._dead_letter(message, None, DeadLetter("invalid_message", str(error), 1, time.time()))
            return
        self.telemetry.count("consumed")
        token = current_mention.set(mention.id)
        try:
            self._handle_claimed(mention, message)
        finally:
            current_mention.reset(token)

    def _handle_claimed(self, mention: Mention, message: Message) -> None:
        reclaim = MentionState.DEAD_LETTERED if mention.replay_of is not None else None
        claim = self._claim(mention.id, reclaim)
        if claim.verdict == ClaimVerdict.FINAL:
            self.telemetry.count("duplicate_delivery")
            return
        try:
            self._process(mention, claim.previous_state, message)
        except Interrupted:
            self.states.release(mention.id)
            raise
        except LostClaim:
            self.telemetry.count("lost_claim")
            log.warning("mention %s: claim lost to another worker", mention.id)

    def _claim(self, mention_id: str, reclaim: MentionState | None) -> Claim:
        claim = self.states.claim(mention_id, reclaim)
        while claim.verdict == ClaimVerdict.BUSY:
            # Another worker holds a lease; it finishes, or its lease runs out (it died).
            self._pause(0.5)
            claim = self.states.claim(mention_id, reclaim)
        return claim

    def apply_decision(self, decision: ApprovalDecision) -> None:
        """An operator approved (maybe edited) or rejected a parked roast."""
        pending = self.approvals.take(decision.mention_id)
        if pending is None:
            return  # another consumer took it, or it was decided already
        mention = pending.mention
        token = current_mention.set(mention.id)
        try:
            claim = self._claim(mention.id, MentionState.PENDING_APPROVAL)
            if claim.verdict != ClaimVerdict.CLAIMED:
                return
            if decision.decision == Decision.REJECT:
                self.states.move(
                    mention.id, MentionState.SKIPPED, reason="rejected_by_operator", roast=pending.roast
                )
                self.telemetry.count("skipped:rejected_by_operator")
                self._record(mention, pending.roast, "skipped", reason="rejected_by_operator")
                return
            text = decision.text.strip() or pending.roast
            verdict = check_roast(text, mention.author.username if mention.author else "")
            if not verdict.ok:
                reason = "safety:" + ",".join(verdict.reasons)
                self.states.move(mention.id, MentionState.SKIPPED, reason=reason, roast=text)
                self.telemetry.count("skipped:safety")
                self._record(mention, text, "skipped", reason=reason)
                return
            self._post(
                mention,
                text,
                uncertain=claim.previous_state == MentionState.POSTING.value,
                draft_info={"roaster": pending.roaster, "approved_by": decision.actor},
            )
        except Exception:
            # Interrupted or failing: the decision must not vanish with the pending roast.
            self.states.release(mention.id)
            self.approvals.park(mention, pending.roast, pending.roaster)
            raise
        finally:
            current_mention.reset(token)

    # --- the steps -----------------------------------------------------------------
    def _process(self, mention: Mention, previous_state: str, message: Message) -> None:
        first_seen = time.time()
        try:
            if previous_state == MentionState.POSTING.value:
                # A worker died at the POST: ask X before posting anything again, once a POST
                # it may still have had in flight has had time to land.
                record = self.states.get(mention.id)
                roast = record.get("roast", "")
                in_flight_until = float(record.get("updated_at") or 0) + self.settings.x_timeout_s
                self._pause(max(0.0, in_flight_until - time.time()))
                self._post(mention, roast, uncertain=True)
                return
            self._check_rules(mention)
            roast, draft_info = self._generate(mention)
            switches = self.control.switches()
            dry_run = switches.dry_run if switches.dry_run is not None else self.settings.dry_run
            if dry_run:
                raise _Skip("dry_run", roast=roast)
            if switches.approval_mode:
                self.approvals.park(mention, roast, draft_info.get("roaster", ""))
                self.states.move(mention.id, MentionState.PENDING_APPROVAL, roast=roast)
                self.telemetry.count("pending_approval")
                self._record(mention, roast, "pending_approval", **draft_info)
                return
            self._post(mention, roast, uncertain=False, draft_info=draft_info)
        except _Skip as skip:
            self.states.move(
                mention.id, MentionState.SKIPPED, reason=skip.reason, roast=skip.roast, reply_id=skip.reply_id
            )
            self.telemetry.count(f"skipped:{skip.reason.split(':')[0]}")
            self._record(mention, skip.roast, "skipped", reason=skip.reason, reply_id=skip.reply_id)
        except (RetriesExhausted, Permanent) as error:
            reason = "retries_exhausted" if isinstance(error, RetriesExhausted) else f"permanent:{error.code}"
            attempts = error.attempts if isinstance(error, RetriesExhausted) else 1
            self._dead_letter(message, mention, DeadLetter(reason, str(error), attempts, first_seen))

    def _check_rules(self, mention: Mention) -> None:
        bot = self._retrying("bot_user", self.gateway.bot_user)
        author = mention.author.username if mention.author else ""
        if mention.author_id == bot.id:
            raise _Skip("own_tweet")
        if {mention.author_id, author.lower()} & self.settings.known_bots:
            raise _Skip("loop_guard:known_bot")
        if mention.age_s() > self.settings.max_mention_age_s:
            raise _Skip("too_old")
        if self.rules.is_blocked(mention.author_id, author):
            raise _Skip("blocked")
        if wants_opt_out(mention, bot.username):
            if self.rules.opt_out(mention.author_id):
                # Addressed to the author: X refuses the same text twice from one account.
                confirmation = f"@{author} {OPT_OUT_CONFIRMATION}" if author else OPT_OUT_CONFIRMATION
                reply_id = self._post_text(mention, confirmation)
                raise _Skip("opted_out:confirmed", roast=confirmation, reply_id=reply_id)
            raise _Skip("opted_out")
        if self.rules.is_opted_out(mention.author_id):
            raise _Skip("opted_out")
        limit = self.control.switches().per_author_limit_per_hour
        limit = self.settings.per_author_limit_per_hour if limit is None else limit
        window = self.settings.conversation_window_s
        if (
            self.rules.conversation_replies(mention.conversation_id, window)
            >= self.settings.loop_guard_replies
        ):
            raise _Skip("loop_guard:conversation")
        if not self.rules.reserve_conversation(
            mention.conversation_id, mention.id, self.settings.per_conversation_limit, window
        ):
            raise _Skip("conversation_limit")
        if not self.rules.reserve_roast(mention.author_id, mention.id, limit):
            self.rules.give_back(mention)
            raise _Skip("author_limit")

    def _request(self, mention: Mention, attempt: int = 0, avoid: tuple[str, ...] = ()) -> RoastRequest:
        author = mention.author
        return RoastRequest(
            mention_id=mention.id,
            text=mention.text,
            author_username=author.username if author else "",
            author_name=author.name if author else "",
            author_description=author.description if author else "",
            referenced_text=mention.referenced_text,
            referenced_author_username=mention.referenced_author_username,
            attempt=attempt,
            avoid_texts=avoid,
        )

    def _generate(
        self, mention: Mention, attempt: int = 0, avoid: tuple[str, ...] = ()
    ) -> tuple[str, dict[str, str]]:
        """A safe roast the bot has not posted lately (X would refuse a duplicate)."""
        self.states.move(mention.id, MentionState.GENERATING)
        avoid_list = list(avoid)
        rounds = self.settings.roast_max_attempts
        for round_number in range(FRESH_TEXT_ROUNDS):
            request = self._request(mention, attempt + round_number * rounds, tuple(avoid_list))
            result = self._retrying(
                "roast",
                lambda request=request: generate_safe_roast(
                    self.roaster, request, request.author_username, max_attempts=rounds
                ),
            )
            if result.draft is None:
                self.rules.give_back(mention)
                raise _Skip("safety:" + ",".join(result.reasons))
            if self.posted_texts.claim(result.draft.text):
                self.telemetry.count("roasted")
                return result.draft.text, {"roaster": result.draft.roaster, "model": result.draft.model}
            avoid_list.append(result.draft.text)
        raise _Skip("duplicate_content")

    def _post(
        self, mention: Mention, roast: str, uncertain: bool, draft_info: dict[str, str] | None = None
    ) -> None:
        """Post the roast once: reconcile with X whenever an earlier POST may have landed."""
        regenerated = False
        attempts = 0
        while True:
            if uncertain:
                existing = self._find_own_reply(mention)
                if existing:
                    self.telemetry.count("reconciled")
                    self._finish_posted(mention, roast, existing, draft_info)
                    return
            if not roast:  # nothing to re-post after a crash before the roast was saved
                roast, draft_info = self._generate(mention)
            try:
                reply_id = self._post_text(mention, roast)
            except Permanent as error:
                if error.code == "duplicate" and uncertain:
                    # X has this very text, and an earlier POST of ours may have landed: it is
                    # almost surely ours. Look again after it settles; never post a new text.
                    self._pause(self.settings.x_timeout_s)
                    existing = self._find_own_reply(mention)
                    if existing:
                        self.telemetry.count("reconciled")
                        self._finish_posted(mention, roast, existing, draft_info)
                        return
                    raise _Skip("duplicate_content:unconfirmed", roast=roast) from None
                if error.code == "duplicate" and not regenerated:
                    regenerated = True
                    roast, draft_info = self._generate(mention, attempt=1, avoid=(roast,))
                    continue
                if error.code == "duplicate":
                    raise _Skip("duplicate_content", roast=roast) from None
                if error.code in SKIP_CODES:
                    raise _Skip(error.code, roast=roast) from None
                raise
            except Transient as error:
                attempts += 1
                uncertain = True  # the POST may have reached X before the answer was lost
                if attempts > self.settings.consumer_max_retries:
                    raise RetriesExhausted("post", attempts, error) from None
                if "network error" in error.reason:
                    # A request we gave up on may still be processed by X: let it land first.
                    self._pause(self.settings.x_timeout_s)
                self._backoff(attempts, error)
                continue
            self._finish_posted(mention, roast, reply_id, draft_info)
            return

    def _find_own_reply(self, mention: Mention) -> str | None:
        """Our reply to the mention on X, searched from the first POST attempt on."""
        posting_at = self.states.get(mention.id).get("posting_at")
        posted_after = float(posting_at) if posting_at else None
        return self._retrying("reconcile", lambda: self.gateway.find_reply_to(mention.id, posted_after))

    def _post_text(self, mention: Mention, text: str) -> str:
        """One POST, after the global hold and the shared quota allow it."""
        while True:
            hold = self.hold.reason()
            if hold:
                self._pause(1.0)
                continue
            reset_at = self.quota.reserve("post")
            if reset_at:
                self._wait_until(reset_at)
                continue
            self.states.move(mention.id, MentionState.POSTING, roast=text)
            self.states.note_post_attempt(mention.id)
            try:
                return self.gateway.post_reply(text, mention.id)
            except RateLimited as error:
                self.quota.mark_exhausted("post", error.reset_at)
                self.telemetry.count("failed:x_rate_limited")
                self._wait_until(error.reset_at)
            except Permanent as error:
                if error.code not in HOLD_CODES:
                    raise
                self.hold.hold(error.code, error.reason)
                self.telemetry.count(f"failed:{error.code}")
                log.error("posting held for every consumer: %s", error.reason)

    def _finish_posted(
        self, mention: Mention, roast: str, reply_id: str, draft_info: dict[str, str] | None
    ) -> None:
        self.states.move(mention.id, MentionState.POSTED, reply_id=reply_id, roast=roast)
        latency = (utc_now() - mention.created_at).total_seconds()
        self.telemetry.count("posted")
        self.telemetry.observe_latency(max(0.0, latency))
        self._record(
            mention, roast, "posted", reply_id=reply_id, latency_s=round(latency, 3), **(draft_info or {})
        )

    # --- helpers ---------------------------------------------------------------------
    def _record(self, mention: Mention, roast: str, status: str, **extra: object) -> None:
        self.telemetry.record_roast(
            {
                "mention_id": mention.id,
                "author_id": mention.author_id,
                "author": mention.author.username if mention.author else "",
                "mention": mention.text,
                "roast": roast,
                "status": status,
                "at": time.time(),
                "worker": self.telemetry.worker_id,
                **extra,
            }
        )

    def _dead_letter(self, message: Message, mention: Mention | None, letter: DeadLetter) -> None:
        send_to_dead_letters(self.kafka_producer, self.settings, message, letter)
        self.telemetry.count("dead_lettered")
        self.telemetry.count(f"failed:{letter.reason.split(':')[0]}")
        if mention is not None:
            self.states.move(
                mention.id, MentionState.DEAD_LETTERED, reason=letter.reason, error=letter.error[:500]
            )
            self._record(mention, "", "dead_lettered", reason=letter.reason)
        log.warning("dead-lettered %s: %s", mention.id if mention else "message", letter.error)

    def _retrying(self, what: str, call: Callable[[], T]) -> T:
        attempts = 0
        while True:
            try:
                return call()
            except RateLimited as error:
                attempts += 1
                self.telemetry.count(f"failed:{what}_rate_limited")
                if attempts > self.settings.consumer_max_retries:
                    raise RetriesExhausted(what, attempts, error) from None
                self._wait_until(error.reset_at)
            except Transient as error:
                attempts += 1
                self.telemetry.count(f"failed:{what}_transient")
                if attempts > self.settings.consumer_max_retries:
                    raise RetriesExhausted(what, attempts, error) from None
                self._backoff(attempts, error)

    def _backoff(self, attempt: int, error: Exception) -> None:
        delay = random.uniform(0, min(30.0, 0.2 * 2**attempt))
        log.info("retrying in %.2fs after: %s", delay, error)
        self._pause(delay)

    def _wait_until(self, reset_at: float) -> None:
        self._pause(max(0.0, reset_at - time.time()) + random.uniform(0, 0.5))

    def _pause(self, seconds: float) -> None:
        if self.stop_event.wait(seconds):
            raise Interrupted()

"""The one runner of a mention's life, whatever set it going: a Kafka message (a dead
letter replayed from the console is one too) or an operator's approval decision.

It claims the mention, then repeats until the mention is final or parked: perform the
step of its state (``roastbot.steps``), look the fact up in the table
(``roastbot.lifecycle``), record the move in the store (``roastbot.mention_store``), and
do the bookkeeping of the state entered (dead letter first, then counters and the roast
record). So a decision meets the same outcomes as a message: a refusal skips, a failure
dead-letters, a crash at any instruction leaves a state the next holder resumes from.
Returns normally once the mention has a final state, is parked, or another worker holds
it; raises ``Interrupted`` on shutdown (the claim is handed back, the work stays
unfinished), and lets errors of Redis and Kafka, and bugs, reach the caller's retry policy.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

import redis
from confluent_kafka import Message, Producer

from roastbot.approvals import ApprovalDecision
from roastbot.batch import Op
from roastbot.dead_letters import DeadLetter, LetterSource, send_to_dead_letters
from roastbot.keys import RedisKeys
from roastbot.lifecycle import TRANSITIONS, Edge, Fact, State, edge_for
from roastbot.logs import current_mention
from roastbot.mention_store import Claim, ClaimVerdict, LostClaim, MentionStore, Moved
from roastbot.models import InvalidMessage, Mention, utc_now
from roastbot.outcomes import Permanent, RateLimited
from roastbot.retry import GaveUp, RetryPolicy, describe_bug
from roastbot.roasting import Roaster
from roastbot.roasting.base import PROVENANCE
from roastbot.run import Outcome, Run
from roastbot.settings import Settings
from roastbot.steps import MentionSteps
from roastbot.telemetry import Bookkeeping, Telemetry
from roastbot.x_gateway import XGateway

log = logging.getLogger(__name__)

BUSY_RETRY_S = 0.5


class MentionRunner(MentionSteps):
    def _step(self, state: State) -> Callable[[Run], Outcome]:
        """The step of each state a worker holds a mention in."""
        return {
            State.CLAIMED: self.check_rules,
            State.GENERATING: self.generate_roast,
            State.READY: self.route,
            State.PENDING_APPROVAL: self.review,
            State.POSTING: self.post,
        }[state]

    # --- triggers ------------------------------------------------------------------------
    def run_message(self, message: Message) -> None:
        """A mention from the mentions topic (``replay_of`` set: a replayed dead letter)."""
        source = LetterSource.of_message(message)
        try:
            mention = Mention.from_bytes(source.value)
        except InvalidMessage as error:
            self._dead_letter(source, DeadLetter("invalid_message", str(error), 1, time.time()))
            return
        if self.engagement.note_answer(mention):  # the author answered one of our replies
            self.telemetry.count("conversation_started")
        reopen = State.DEAD_LETTERED if mention.replay_of is not None else None
        with _about(mention.id):
            claim = self._claim(mention.id, reopen, count="consumed", reads=self.reads.for_claim(mention))
            if claim.verdict == ClaimVerdict.CLOSED:
                self.telemetry.count("duplicate_delivery")
                return
            run = Run(mention, source, claim.state, claim.record, since_update_s=claim.since_update_s)
            self.reads.take_claim(run, claim.reads)
            self._hold_and_drive(run)

    def run_decision(self, decision: ApprovalDecision) -> None:
        """An operator approved (maybe edited) or rejected a parked roast."""
        with _about(decision.mention_id):
            run = self._decision_run(
                decision, self._claim(decision.mention_id, State.PENDING_APPROVAL, False)
            )
            if run is not None:
                self._hold_and_drive(run)

    def _decision_run(self, decision: ApprovalDecision, claim: Claim) -> Run | None:
        raw = claim.record.get("mention")
        if claim.verdict != ClaimVerdict.CLAIMED or not raw:
            return None  # decided already (or the mention expired)
        mention = Mention.model_validate_json(raw)
        origin = f"approvals:{decision.entry_id}"
        source = LetterSource(mention.conversation_id.encode(), mention.to_bytes(), origin)
        run = Run(
            mention, source, claim.state, claim.record, decision=decision, since_update_s=claim.since_update_s
        )
        run.draft_info = {name: claim.record.get(name, "") for name in PROVENANCE}  # kept when parked
        return run

    def dead_letter_bug(
        self,
        source: LetterSource | None,
        decision: ApprovalDecision | None,
        error: BaseException,
        attempts: int,
    ) -> None:
        """Our own code failed on this message (or decision) every time: give it up with the
        exception's type and where it was raised, so that its partition moves on."""
        letter = DeadLetter(f"bug:{type(error).__name__}", describe_bug(error), attempts, time.time())
        if decision is not None:
            claim = self.store.claim(decision.mention_id, State.PENDING_APPROVAL, create=False)
            run = self._decision_run(decision, claim)
        else:
            assert source is not None
            try:
                mention = Mention.from_bytes(source.value)
            except InvalidMessage:
                self._dead_letter(source, letter)
                return
            reopen = State.DEAD_LETTERED if mention.replay_of is not None else None
            claim = self.store.claim(mention.id, reopen)
            run = (
                Run(mention, source, claim.state, claim.record)
                if claim.verdict == ClaimVerdict.CLAIMED
                else None
            )
        if run is None:
            return  # finished meanwhile, or another worker holds it: nothing is left to give up
        run.state = State.CLAIMED if run.state == State.NEW else run.state
        if (run.state, Fact.BUG) not in TRANSITIONS:  # a replay that failed before it reopened
            self._dead_letter(run.source, letter)
            self.store.release(run.mention.id, run.state)
            return
        outcome = Outcome(Fact.BUG, letter.reason, error=letter.error, attempts=attempts)
        self._enter(run, edge_for(run.state, Fact.BUG), outcome)

    # --- the drive -------------------------------------------------------------------------
    def _claim(
        self,
        mention_id: str,
        reopen: State | None,
        create: bool = True,
        count: str = "",
        reads: list[Op] | None = None,
    ) -> Claim:
        """``count``: the trigger's event, counted with the first claim (not on every retry)."""
        while True:
            claim = self.store.claim(mention_id, reopen, create=create, count=count, reads=reads or [])
            if count:
                self.telemetry.mirror(Bookkeeping((count,)))
                count = ""
            if claim.verdict != ClaimVerdict.BUSY:
                return claim
            # Another worker holds it; it finishes, or its lease runs out (it died).
            self.policy.pause(BUSY_RETRY_S)

    def _hold_and_drive(self, run: Run) -> None:
        if run.state == State.NEW:
            run.state = State.CLAIMED  # the claim wrote it
        run.taken_over_posting = run.state == State.POSTING
        try:
            with self.store.holding(run.mention.id):
                try:
                    if run.state == State.DEAD_LETTERED:
                        self._enter(run, edge_for(run.state, Fact.REPLAYED), Outcome(Fact.REPLAYED))
                    self._drive(run)
                except Exception:
                    # Shutdown, an outage or a bug: the next attempt (or holder) resumes the state.
                    if not run.state.is_final:
                        with contextlib.suppress(redis.RedisError):
                            self._book_calls(run)  # no move will carry them: the next holder calls anew
                        with contextlib.suppress(redis.RedisError):
                            self.store.release(run.mention.id, run.state)
                    raise
        except LostClaim as lost:
            self.telemetry.count("lost_claim")
            log.warning("mention %s: claim lost to another worker (%s)", run.mention.id, lost)

    def _drive(self, run: Run) -> None:
        while not run.state.is_final:
            if run.state == State.PENDING_APPROVAL and run.decision is None:
                return  # parked: an operator's decision goes on from here
            outcome = _outcome_of(lambda: self._step(run.state)(run))
            assert outcome is not None, "every step observes a fact"
            if run.state == State.PENDING_APPROVAL:
                run.decision = None  # applied
            self._enter(run, edge_for(run.state, outcome.fact), outcome)

    def _enter(self, run: Run, edge: Edge, outcome: Outcome) -> None:
        """Record one move, with the bookkeeping of the state entered and the next step's
        reads; when a guard of the outcome refuses the move, the outcome it leads to instead."""
        while True:
            moved, fields, target = self._move(run, edge, outcome)
            if moved.done:
                if outcome.on_guards:
                    outcome.on_guards(True, moved.guards)
                break
            # A guard refused: the step goes on from there (another draft, a wait for its turn).
            on_guards = outcome.on_guards
            instead = _outcome_of(partial(on_guards, False, moved.guards)) if on_guards else None
            assert instead is not None, "a guarded outcome says what a refusal leads to"
            outcome, edge = instead, edge_for(run.state, instead.fact)
        run.record.update({name: str(value) for name, value in fields.items()})
        run.state = target

    def _move(self, run: Run, edge: Edge, outcome: Outcome) -> tuple[Moved, dict[str, object], State]:
        mention, target = run.mention, edge.target
        reason = edge.reason or outcome.reason
        fields: dict[str, object] = dict(outcome.fields)
        if reason:
            fields["reason"] = reason
        if edge.fact == Fact.REPLAYED:
            # A new life: nothing of the last one (its reason, an approval, a confirmation) holds.
            fields.update(reason="", error="", approved_by="", kind="")
        if target == State.DEAD_LETTERED:
            first_seen = float(run.record.get("first_seen") or time.time())
            self._dead_letter(run.source, DeadLetter(reason, outcome.error, outcome.attempts, first_seen))
            fields["error"] = outcome.error[:500]
        reply_id = str(fields.get("reply_id", ""))
        record = {**run.record, **{name: str(value) for name, value in fields.items()}}
        book = self._bookkeeping(run, target, reason, reply_id, record, outcome.counts)
        after = list(outcome.after)
        if target == State.POSTED:  # the tracker reads how it lands
            tracked = {**self._roast_fields(run, record.get("roast", "")), **run.draft_info}
            after.extend(self.engagement.track_ops(reply_id, tracked))
        reads = self.reads.for_state(target)
        bookings = run.take_bookings()  # see _book_calls
        moved = self.store.move(
            mention.id,
            edge.source,
            target,
            conversation_id=mention.conversation_id,
            log_reply=reply_id,
            reply_window_s=self.settings.conversation_window_s,
            stamp=("posting_at",) if target == State.POSTING else (),
            book=book,
            first=(*bookings, *outcome.first),
            guards=outcome.guards,
            after=[*after, *reads],
            **fields,
        )
        if moved.done:
            self.telemetry.mirror(book)
            self.reads.take(run, target, moved.after[len(after) :])
        return moved, fields, target

    def _book_calls(self, run: Run) -> None:
        """Book the LLM calls the step made (``run.bookings``) in a round trip of their own.

        They ride on the move that follows the step (``_move``: in its ``first``, written
        whatever its guards answer or when the claim was lost): one round trip fewer per call.
        Each booking is taken off the run before its round trip, so none is written twice (a
        refused guard's next move, a retry after an outage): a round trip whose answer was lost
        may have booked its calls or not, and a process killed between an answer and the move
        books nothing of it. Either way the call's reservation (its price at LLM_RESERVE_*_TOKENS)
        stays in the day's total, and the next holder's calls are reserved and booked anew; it
        is the window a settle in a round trip of its own had, longer by the safety checks."""
        bookings = run.take_bookings()
        if bookings:
            self.store.run_ops(bookings)

    def _bookkeeping(
        self,
        run: Run,
        state: State,
        reason: str,
        reply_id: str,
        record: dict[str, str],
        counts: tuple[str, ...],
    ) -> Bookkeeping:
        """The counters and the recent-roast record of the state entered, written with the move."""
        if state == State.PENDING_APPROVAL:
            roast = self._record(run, record, "pending_approval", **run.draft_info)
            return Bookkeeping((*counts, "pending_approval"), roast=roast)
        if state == State.POSTED:
            latency = max(0.0, (utc_now() - run.mention.created_at).total_seconds())
            roast = self._record(
                run, record, "posted", reply_id=reply_id, latency_s=round(latency, 3), **run.draft_info
            )
            return Bookkeeping((*counts, "posted"), latency_s=latency, roast=roast)
        if state == State.SKIPPED:
            roast = self._record(run, record, "skipped", reason=reason, reply_id=reply_id)
            return Bookkeeping((*counts, f"skipped:{reason.split(':')[0]}"), roast=roast)
        if state == State.DEAD_LETTERED:
            return Bookkeeping(counts, roast=self._record(run, record, "dead_lettered", reason=reason))
        return Bookkeeping(counts)

    # --- bookkeeping -----------------------------------------------------------------------
    def _roast_fields(self, run: Run, roast: str) -> dict[str, object]:
        """Who said what and the roast: the recent-roast record's and the tracker's common fields."""
        mention = run.mention
        return {
            "mention_id": mention.id,
            "author_id": mention.author_id,
            "author": mention.author_username,
            "mention": mention.text,
            "roast": roast,
        }

    def _record(self, run: Run, record: dict[str, str], status: str, **extra: object) -> dict[str, object]:
        roast = record.get("roast", "") if status != "dead_lettered" else ""
        return {
            **self._roast_fields(run, roast),
            "status": status,
            "at": time.time(),
            "worker": self.telemetry.worker_id,
            **extra,
        }

    def _dead_letter(self, source: LetterSource, letter: DeadLetter) -> None:
        send_to_dead_letters(self.kafka_producer, self.settings, source, letter)
        self.telemetry.count("dead_lettered")
        self.telemetry.count(f"failed:{letter.reason.split(':')[0]}")
        log.warning("dead-lettered %s (%s): %s", source.origin, letter.reason, letter.error)


def build_runner(
    settings: Settings,
    *,
    telemetry: Telemetry,
    gateway: XGateway,
    roaster: Roaster,
    kafka_producer: Producer,
    stop_event: threading.Event,
) -> MentionRunner:
    """The runner of a consumer loop, its store and its retry policy (every wait ends when
    ``stop_event`` is set)."""

    def count_failure(what: str, error: BaseException) -> None:
        kind = "rate_limited" if isinstance(error, RateLimited) else "transient"
        event = f"failed:{what}_{kind}" if what not in {"bug", "infrastructure"} else f"failed:{what}"
        with contextlib.suppress(redis.RedisError):
            telemetry.count(event)

    policy = RetryPolicy(
        max_retries=settings.consumer_max_retries,
        stop_event=stop_event,
        on_failure=count_failure,
        bug_attempts=settings.consumer_bug_attempts,
        outage_patience_s=settings.consumer_outage_patience_s,
    )
    keys = RedisKeys.of(settings)
    store = MentionStore(telemetry.client, keys, telemetry.worker_id, lease_s=settings.claim_lease_s)
    return MentionRunner(
        settings,
        gateway=gateway,
        roaster=roaster,
        telemetry=telemetry,
        store=store,
        policy=policy,
        kafka_producer=kafka_producer,
    )


def _outcome_of(work: Callable[[], Outcome | None]) -> Outcome | None:
    """What a step (or its part after a refused guard) observed; a call to X or the LLM that
    gave up or was refused for good is an outcome too."""
    try:
        return work()
    except GaveUp as error:
        return Outcome(Fact.GAVE_UP, error=str(error), attempts=error.attempts)
    except Permanent as error:
        return Outcome(Fact.REFUSED, f"permanent:{error.code}", error=str(error))


@contextmanager
def _about(mention_id: str) -> Iterator[None]:
    """Every log line inside names the mention."""
    token = current_mention.set(mention_id)
    try:
        yield
    finally:
        current_mention.reset(token)

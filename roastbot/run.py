"""What one pass over a mention carries from step to step: the ``Run``, each step's
``Outcome``, and the reads a round trip carries for the step after it (``CarriedReads``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from roastbot.approvals import ApprovalDecision
from roastbot.author_memory import AuthorHistory, AuthorMemory, history_of
from roastbot.batch import Op
from roastbot.control import Control, RuntimeSwitches
from roastbot.dead_letters import LetterSource
from roastbot.holds import Hold, Holds, holds_in_force
from roastbot.lifecycle import Fact, State
from roastbot.models import Mention
from roastbot.quota import Slot
from roastbot.rules import AuthorRules, Standing
from roastbot.settings import Settings
from roastbot.spend import Reservation


@dataclass
class Outcome:
    fact: Fact
    reason: str = ""
    fields: dict[str, object] = field(default_factory=dict)
    error: str = ""  # for a dead letter
    attempts: int = 1
    counts: tuple[str, ...] = ()  # counted with the move this outcome leads to
    # Ops in the move's round trip: guards first (a gate among them that refuses stops the
    # move), ``after`` once it is written. ``on_guards`` reads the guards' answers: None to go
    # on (the move is done), else the outcome to take instead of this one.
    guards: tuple[Op, ...] = ()
    after: tuple[Op, ...] = ()
    first: tuple[Op, ...] = ()  # what happened already (a POST's quota, its price): written whatever
    on_guards: Callable[[bool, list[object]], Outcome | None] | None = None


@dataclass
class Run:
    """One trigger's pass over one mention: what the steps know beyond the state hash."""

    mention: Mention
    source: LetterSource  # what a dead letter carries
    state: State
    record: dict[str, str]
    decision: ApprovalDecision | None = None
    taken_over_posting: bool = False  # the claim found `posting`: an earlier POST may have landed
    since_update_s: float = 0.0
    slot_granted: bool = False  # one unit of post quota taken for the next POST
    post_slot: Slot | None = None  # the last unit taken, to give back if the POST never left
    reservation: Reservation | None = None  # the next POST's price, reserved with the move to posting
    regenerations: int = 0
    avoid: list[str] = field(default_factory=list)
    text_rounds: int = 0  # drafts whose text another mention had (X refuses duplicates)
    draft_info: dict[str, str] = field(default_factory=dict)
    # What the LLM calls of a step cost, booked by the round trip of the move that follows it
    # (MentionRunner._move) instead of one round trip a call (roastbot.roasting.metered).
    bookings: list[Op] = field(default_factory=list)
    # The first LLM call's price, reserved with the move into generating (MentionSteps.admit):
    # that call takes it (roastbot.roasting.metered), the step refunds it if no call did.
    prepaid: list[Reservation] = field(default_factory=list)
    # What the last round trip read for the next step (used once, then read afresh).
    standing: Standing | None = None
    switches: RuntimeSwitches | None = None
    holds: list[object] | None = None  # the answers of Holds.active_ops
    history: AuthorHistory | None = None

    def take_bookings(self) -> list[Op]:
        """The bookings so far, each handed out once (``MentionRunner._book_calls``); the list
        stays the one a roaster billed to it adds to."""
        taken = self.bookings.copy()
        self.bookings.clear()
        return taken


class CarriedReads:
    """The first reads of each step ride on the round trip just before it (the claim, the move
    into its state): as fresh as a read of its own, at no round trip. Each is used once; a
    step that looks again (a wait) reads afresh."""

    def __init__(
        self, settings: Settings, rules: AuthorRules, control: Control, holds: Holds, memory: AuthorMemory
    ) -> None:
        self.settings = settings
        self.rules = rules
        self.control = control
        self.holds_ = holds
        self.memory = memory

    def for_claim(self, mention: Mention) -> list[Op]:
        """What the rules read (the author's standing, the switches) and the author's memory
        (for the roast), in the claim's round trip."""
        return [
            *self.rules.standing_ops(*self._standing_of(mention)),
            self.control.switches_op(),
            self.memory.history_op(mention.author_id),
        ]

    def take_claim(self, run: Run, answers: list[object]) -> None:
        if answers:  # none unless the mention was claimed; in for_claim's order
            *standing, switches, history = answers
            run.standing = Standing.of(standing)
            run.switches = RuntimeSwitches.of(switches)
            run.history = history_of(history)

    def _standing_of(self, mention: Mention) -> tuple[str, str, str, float]:
        """Whose standing the rules read: the author (id and handle) in this conversation."""
        window = self.settings.conversation_window_s
        return mention.author_id, mention.author_username, mention.conversation_id, window

    def for_state(self, state: State) -> list[Op]:
        """What the step of ``state`` acts on first, read in the round trip of the move there:
        the holds before writing or posting, the switches before routing."""
        if state == State.GENERATING:
            return self.holds_.active_ops()
        if state == State.READY:
            return [self.control.switches_op(), *self.holds_.active_ops()]
        return []

    def take(self, run: Run, state: State, answers: list[object]) -> None:
        if state == State.GENERATING:
            run.holds = answers
        elif state == State.READY:
            run.switches, run.holds = RuntimeSwitches.of(answers[0]), answers[1:]

    def standing(self, run: Run) -> Standing:
        standing, run.standing = run.standing, None
        if standing is not None:
            return standing
        return self.rules.standing(*self._standing_of(run.mention))

    def switches(self, run: Run) -> RuntimeSwitches:
        switches, run.switches = run.switches, None
        return switches or self.control.switches()

    def holds(self, run: Run, stops: str) -> list[Hold]:
        carried, run.holds = run.holds, None
        return holds_in_force(carried, stops) if carried is not None else self.holds_.active(stops)

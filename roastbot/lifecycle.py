"""A mention's life: its states and every edge between them, as data.

Pure: no Redis, no Kafka, no clock. The runner (``roastbot.runner``) performs the step of
the state a mention is in, names what it observed as a ``Fact``, and asks this table for
the next state; the store (``roastbot.mention_store``) refuses any move that is not an edge
here. A mention starts when a worker claims it and ends in a final state with its reason.

=====================================  ======================  ================  ========================
state                                  fact                    next state        reason recorded
=====================================  ======================  ================  ========================
new                                    delivered               claimed           (a Kafka message)
dead_lettered                          replayed                claimed           (an operator's replay)
claimed                                rules_passed            generating
claimed                                rule_skip               skipped           own_tweet, too_old,
                                                                                 loop_guard:known_bot,
                                                                                 blocked, opted_out,
                                                                                 loop_guard:conversation,
                                                                                 conversation_limit,
                                                                                 author_limit
claimed                                opt_out_requested       posting           (the confirmation)
claimed                                quota_triaged           skipped           quota_triage (before
                                                                                 any roast is written)
generating                             roast_ready             ready
generating                             unsafe                  skipped           safety:<codes>
generating                             no_fresh_text           skipped           duplicate_content
ready                                  dry_run                 skipped           dry_run
ready                                  needs_approval          pending_approval
ready                                  slot_granted            posting           (no hold, post quota)
ready                                  quota_triaged           skipped           quota_triage (better
                                                                                 ones took the slots)
pending_approval                       approved                ready             (an operator's decision)
pending_approval                       approved_unsafe         skipped           safety:<codes>
pending_approval                       rejected                skipped           rejected_by_operator
posting                                reply_posted            posted            (posted or found on X)
posting                                quota_triaged           skipped           quota_triage (X refused
                                                                                 the POST: quota)
posting                                confirmation_posted     skipped           opted_out:confirmed
posting                                reply_refused           skipped           deleted, too_long,
                                                                                 reply_restricted
posting                                duplicate_text          generating        (one new roast)
posting                                duplicate_again         skipped           duplicate_content
posting                                duplicate_unconfirmed   skipped           duplicate_content:
                                                                                 unconfirmed
posting                                nothing_to_post         generating        (crashed before saving)
claimed, generating, posting           gave_up                 dead_lettered     retries_exhausted
claimed, generating, posting           refused                 dead_lettered     permanent:<code>
claimed, generating, ready, posting,   bug                     dead_lettered     bug:<ExceptionType>
pending_approval
=====================================  ======================  ================  ========================

Final states: posted, skipped, dead_lettered. ``pending_approval`` is parked: nobody holds
the mention until an operator's decision arrives. Waits are not edges: a step waiting for a
posting hold, for quota or for the LLM stays in its state while its claim is renewed.
A mention in ``generating`` or ``ready`` waits for a post slot: it is in the waiting set
(``roastbot.triage``) from the edge that enters those states to the edge that leaves them.
One in ``posting`` whose slot the budget handed back (a POST tried again, its price refused)
waits there again, at its score, until its next slot or the edge that leaves ``posting``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    NEW = "new"  # no record yet: never stored
    CLAIMED = "claimed"
    GENERATING = "generating"
    READY = "ready"
    PENDING_APPROVAL = "pending_approval"
    POSTING = "posting"
    POSTED = "posted"
    SKIPPED = "skipped"
    DEAD_LETTERED = "dead_lettered"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES

    @property
    def is_active(self) -> bool:
        """A worker holds the mention and has a step to perform."""
        return self in ACTIVE_STATES


class Fact(StrEnum):
    """What a step observed."""

    DELIVERED = "delivered"
    REPLAYED = "replayed"
    RULES_PASSED = "rules_passed"
    RULE_SKIP = "rule_skip"
    OPT_OUT_REQUESTED = "opt_out_requested"
    ROAST_READY = "roast_ready"
    UNSAFE = "unsafe"
    NO_FRESH_TEXT = "no_fresh_text"
    DRY_RUN = "dry_run"
    NEEDS_APPROVAL = "needs_approval"
    SLOT_GRANTED = "slot_granted"
    QUOTA_TRIAGED = "quota_triaged"
    APPROVED = "approved"
    APPROVED_UNSAFE = "approved_unsafe"
    REJECTED = "rejected"
    REPLY_POSTED = "reply_posted"
    CONFIRMATION_POSTED = "confirmation_posted"
    REPLY_REFUSED = "reply_refused"
    DUPLICATE_TEXT = "duplicate_text"
    DUPLICATE_AGAIN = "duplicate_again"
    DUPLICATE_UNCONFIRMED = "duplicate_unconfirmed"
    NOTHING_TO_POST = "nothing_to_post"
    GAVE_UP = "gave_up"
    REFUSED = "refused"
    BUG = "bug"


FINAL_STATES = frozenset({State.POSTED, State.SKIPPED, State.DEAD_LETTERED})
ACTIVE_STATES = frozenset({State.CLAIMED, State.GENERATING, State.READY, State.POSTING})
PARKED_STATES = frozenset({State.PENDING_APPROVAL})
# Passed quota triage, not yet holding a post slot: members of the waiting set.
WAITING_STATES = frozenset({State.GENERATING, State.READY})
# Records written before the states were named as they are now.
LEGACY_NAMES = {"queued": State.CLAIMED}


@dataclass(frozen=True)
class Edge:
    source: State
    fact: Fact
    target: State
    reason: str | None = None
    """The reason the target records; None when the step gives it (or there is none)."""


# Where an external call can fail for good (X, the LLM), and where our own code can.
_CALLING = (State.CLAIMED, State.GENERATING, State.POSTING)
_HELD = (State.CLAIMED, State.GENERATING, State.READY, State.POSTING, State.PENDING_APPROVAL)

EDGES: tuple[Edge, ...] = (
    Edge(State.NEW, Fact.DELIVERED, State.CLAIMED),
    Edge(State.DEAD_LETTERED, Fact.REPLAYED, State.CLAIMED),
    Edge(State.CLAIMED, Fact.RULES_PASSED, State.GENERATING),
    Edge(State.CLAIMED, Fact.RULE_SKIP, State.SKIPPED),
    Edge(State.CLAIMED, Fact.OPT_OUT_REQUESTED, State.POSTING),
    Edge(State.CLAIMED, Fact.QUOTA_TRIAGED, State.SKIPPED, "quota_triage"),
    Edge(State.GENERATING, Fact.ROAST_READY, State.READY),
    Edge(State.GENERATING, Fact.UNSAFE, State.SKIPPED),
    Edge(State.GENERATING, Fact.NO_FRESH_TEXT, State.SKIPPED, "duplicate_content"),
    Edge(State.READY, Fact.DRY_RUN, State.SKIPPED, "dry_run"),
    Edge(State.READY, Fact.NEEDS_APPROVAL, State.PENDING_APPROVAL),
    Edge(State.READY, Fact.SLOT_GRANTED, State.POSTING),
    Edge(State.READY, Fact.QUOTA_TRIAGED, State.SKIPPED, "quota_triage"),
    Edge(State.PENDING_APPROVAL, Fact.APPROVED, State.READY),
    Edge(State.PENDING_APPROVAL, Fact.APPROVED_UNSAFE, State.SKIPPED),
    Edge(State.PENDING_APPROVAL, Fact.REJECTED, State.SKIPPED, "rejected_by_operator"),
    Edge(State.POSTING, Fact.REPLY_POSTED, State.POSTED),
    Edge(State.POSTING, Fact.QUOTA_TRIAGED, State.SKIPPED, "quota_triage"),
    Edge(State.POSTING, Fact.CONFIRMATION_POSTED, State.SKIPPED, "opted_out:confirmed"),
    Edge(State.POSTING, Fact.REPLY_REFUSED, State.SKIPPED),
    Edge(State.POSTING, Fact.DUPLICATE_TEXT, State.GENERATING),
    Edge(State.POSTING, Fact.DUPLICATE_AGAIN, State.SKIPPED, "duplicate_content"),
    Edge(State.POSTING, Fact.DUPLICATE_UNCONFIRMED, State.SKIPPED, "duplicate_content:unconfirmed"),
    Edge(State.POSTING, Fact.NOTHING_TO_POST, State.GENERATING),
    *(Edge(source, Fact.GAVE_UP, State.DEAD_LETTERED, "retries_exhausted") for source in _CALLING),
    *(Edge(source, Fact.REFUSED, State.DEAD_LETTERED) for source in _CALLING),  # permanent:<code>
    *(Edge(source, Fact.BUG, State.DEAD_LETTERED) for source in _HELD),  # bug:<ExceptionType>
)

TRANSITIONS: dict[tuple[State, Fact], Edge] = {(edge.source, edge.fact): edge for edge in EDGES}
_MOVES = frozenset((edge.source, edge.target) for edge in EDGES)


class IllegalTransition(ValueError):
    """A step reported a fact its state has no edge for, or a move skipped the table."""


def edge_for(state: State, fact: Fact) -> Edge:
    """The edge a fact takes from a state; IllegalTransition when there is none."""
    try:
        return TRANSITIONS[(state, fact)]
    except KeyError:
        raise IllegalTransition(f"no edge from {state} on {fact}") from None


def next_state(state: State, fact: Fact) -> State:
    return edge_for(state, fact).target


def is_move(source: State, target: State) -> bool:
    """Whether some fact leads from ``source`` to ``target``."""
    return (source, target) in _MOVES


def parse_state(value: str | None) -> State:
    """A stored state name as a State ('' or None: a mention never claimed)."""
    if not value:
        return State.NEW
    return LEGACY_NAMES.get(value) or State(value)


def closed_to(reopen: State | None) -> frozenset[State]:
    """States in which a claim is refused: final and parked ones, but for the one a trigger
    reopens (a replay reopens ``dead_lettered``, a decision ``pending_approval``)."""
    return (FINAL_STATES | PARKED_STATES) - ({reopen} if reopen else set())

"""The transition table of a mention's life: every edge, in milliseconds, no Redis or Kafka."""

from __future__ import annotations

import re
from collections import deque

import pytest

from roastbot import lifecycle
from roastbot.lifecycle import (
    ACTIVE_STATES,
    EDGES,
    FINAL_STATES,
    PARKED_STATES,
    Edge,
    Fact,
    IllegalTransition,
    State,
    closed_to,
    edge_for,
    is_move,
    next_state,
    parse_state,
)


def docstring_rows() -> list[tuple[list[str], str, str, str]]:
    """(states, fact, next state, reason) per row of the module docstring's table."""
    lines = (lifecycle.__doc__ or "").splitlines()
    rules = [n for n, line in enumerate(lines) if line.startswith("====")]
    assert len(rules) == 3, "the docstring has one table: a rule above, below the header, and at the end"
    spans = [(m.start(), m.end()) for m in re.finditer(r"=+", lines[rules[0]])]
    rows: list[tuple[list[str], str, str, str]] = []
    for line in lines[rules[1] + 1 : rules[2]]:
        cells = [
            line[start : (spans[i + 1][0] if i + 1 < len(spans) else None)].strip()
            for i, (start, _) in enumerate(spans)
        ]
        states, fact, target, reason = cells
        if fact:
            rows.append(([s.strip() for s in states.split(",") if s.strip()], fact, target, reason))
        else:  # a cell continued on the next line
            previous = rows[-1]
            rows[-1] = (
                previous[0] + [s.strip() for s in states.split(",") if s.strip()],
                previous[1],
                previous[2],
                f"{previous[3]} {reason}".strip(),
            )
    return rows


@pytest.mark.parametrize("edge", EDGES, ids=lambda e: f"{e.source}-{e.fact}")
def test_every_edge_leads_where_the_table_says(edge: Edge) -> None:
    assert next_state(edge.source, edge.fact) == edge.target
    assert edge_for(edge.source, edge.fact) == edge
    assert is_move(edge.source, edge.target)


def test_the_docstring_table_is_the_table() -> None:
    documented = {
        (State(source), Fact(fact), State(target))
        for sources, fact, target, _ in docstring_rows()
        for source in sources
    }
    assert documented == {(e.source, e.fact, e.target) for e in EDGES}


def test_fixed_reasons_are_documented() -> None:
    reasons = {(State(s), Fact(f)): reason for states, f, _, reason in docstring_rows() for s in states}
    for edge in EDGES:
        if edge.reason:
            assert edge.reason in reasons[(edge.source, edge.fact)].replace(": ", ":"), edge


def test_one_edge_per_state_and_fact() -> None:
    assert len({(e.source, e.fact) for e in EDGES}) == len(EDGES)


def test_final_states_have_no_way_out_but_a_replay() -> None:
    for edge in EDGES:
        if edge.source in FINAL_STATES:
            assert (edge.source, edge.fact, edge.target) == (
                State.DEAD_LETTERED,
                Fact.REPLAYED,
                State.CLAIMED,
            )


@pytest.mark.parametrize("fact", list(Fact))
def test_a_posted_mention_takes_no_fact(fact: Fact) -> None:
    with pytest.raises(IllegalTransition):
        next_state(State.POSTED, fact)


def test_facts_a_state_does_not_know_are_refused() -> None:
    with pytest.raises(IllegalTransition):
        next_state(State.CLAIMED, Fact.REPLY_POSTED)  # a reply without a roast
    with pytest.raises(IllegalTransition):
        next_state(State.GENERATING, Fact.SLOT_GRANTED)  # posting before the roast is ready
    with pytest.raises(IllegalTransition):
        next_state(State.READY, Fact.APPROVED)  # an approval of nothing parked
    assert not is_move(State.GENERATING, State.POSTED)
    assert not is_move(State.PENDING_APPROVAL, State.POSTING)  # an approval goes through ready


def test_every_state_is_reachable_and_every_life_can_end() -> None:
    reachable, queue = {State.NEW}, deque([State.NEW])
    while queue:
        for edge in EDGES:
            if edge.source == queue[0] and edge.target not in reachable:
                reachable.add(edge.target)
                queue.append(edge.target)
        queue.popleft()
    assert reachable == set(State)
    for state in ACTIVE_STATES | PARKED_STATES:
        assert any(e.source == state and e.target in FINAL_STATES for e in EDGES), state


def test_a_failure_anywhere_a_worker_holds_the_mention_ends_in_the_dlq() -> None:
    for state in ACTIVE_STATES | PARKED_STATES:
        assert next_state(state, Fact.BUG) == State.DEAD_LETTERED
    for state in (State.CLAIMED, State.GENERATING, State.POSTING):
        assert edge_for(state, Fact.GAVE_UP).reason == "retries_exhausted"
        assert next_state(state, Fact.REFUSED) == State.DEAD_LETTERED


def test_an_approved_roast_goes_back_through_ready_and_a_duplicate_through_generating() -> None:
    assert next_state(State.PENDING_APPROVAL, Fact.APPROVED) == State.READY
    assert next_state(State.READY, Fact.SLOT_GRANTED) == State.POSTING
    assert next_state(State.POSTING, Fact.DUPLICATE_TEXT) == State.GENERATING
    assert edge_for(State.POSTING, Fact.CONFIRMATION_POSTED).reason == "opted_out:confirmed"


def test_claims_are_refused_in_final_and_parked_states_unless_reopened() -> None:
    assert closed_to(None) == FINAL_STATES | PARKED_STATES
    assert State.DEAD_LETTERED not in closed_to(State.DEAD_LETTERED)
    assert State.PENDING_APPROVAL not in closed_to(State.PENDING_APPROVAL)
    assert State.POSTED in closed_to(State.DEAD_LETTERED)


def test_stored_names() -> None:
    assert parse_state("") == parse_state(None) == State.NEW
    assert parse_state("posting") == State.POSTING
    assert parse_state("queued") == State.CLAIMED  # records written before the rename
    with pytest.raises(ValueError):
        parse_state("exploded")

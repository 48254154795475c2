"""The roaster and the guard model behind the daily budget (roastbot.spend): every LLM call is
reserved before it is made and booked from the usage it reports."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from roastbot.batch import Op
from roastbot.roasting.base import RoastDraft, Roaster, RoastRequest
from roastbot.roasting.guard import GuardedRoaster, GuardModel, GuardVerdict, parse_verdict
from roastbot.roasting.llm_client import ChatAnswer
from roastbot.spend import SpendLedger

Billed = TypeVar("Billed", RoastDraft, ChatAnswer)


def metered_call(
    ledger: SpendLedger, model: str, call: Callable[[], Billed], bookings: list[Op] | None = None
) -> Billed:
    """One LLM call reserved at the model's price, then settled from the usage it reports: at
    once, or as ops added to ``bookings`` for a later round trip to write (``billed_to``). A call
    that fails is refunded at once (a failed request is not billed)."""
    reservation = ledger.reserve_llm(model)
    try:
        result = call()
    except BaseException:
        ledger.refund(reservation)
        raise
    if bookings is None:
        ledger.settle_llm(reservation, result)
    else:
        bookings.extend(ledger.settle_llm_ops(reservation, result))
    return result


class MeteredRoaster:
    """A roaster whose every call is reserved against the budget and booked from its usage
    (refused drafts cost tokens too, so the meter sits on the roaster, not on the roast kept)."""

    def __init__(self, roaster: Roaster, ledger: SpendLedger, bookings: list[Op] | None = None) -> None:
        self.inner = roaster
        self.name = roaster.name
        self.ledger = ledger
        self.bookings = bookings

    def roast(self, request: RoastRequest) -> RoastDraft:
        model = str(getattr(self.inner, "model", ""))
        return metered_call(self.ledger, model, lambda: self.inner.roast(request), self.bookings)


class MeteredGuard:
    """The guard model behind the budget: each classification is an LLM call, reserved and
    booked from its usage like the roaster's (an answer it cannot parse was billed too)."""

    def __init__(self, guard: GuardModel, ledger: SpendLedger, bookings: list[Op] | None = None) -> None:
        self.inner = guard
        self.model = guard.model
        self.ledger = ledger
        self.bookings = bookings

    def classify(self, text: str) -> GuardVerdict:
        answer = metered_call(self.ledger, self.model, lambda: self.inner.ask(text), self.bookings)
        return parse_verdict(answer.content)


def metered_roaster(roaster: Roaster, ledger: SpendLedger) -> Roaster:
    """The roaster behind the budget; the offline roaster costs nothing and stays as it is
    (the budget hold still stops it: steps wait on every hold that stops generating). A guard
    the factory put in front stays in front, metered too: generate_safe_roast finds it on the
    outer roaster, and a meter wrapped around it would hide it (drafts posted unclassified)."""
    if isinstance(roaster, GuardedRoaster):
        guard = roaster.guard
        metered = MeteredGuard(guard, ledger) if isinstance(guard, GuardModel) else guard
        return GuardedRoaster(metered_roaster(roaster.inner, ledger), metered)
    return roaster if roaster.name == "offline" else MeteredRoaster(roaster, ledger)


def billed_to(roaster: Roaster, bookings: list[Op]) -> Roaster:
    """The metered roaster (and its metered guard) adding each call's booking to ``bookings``
    instead of writing it in a round trip of its own; any other roaster as it is. Cheap: a
    mention's steps build one for each pass of generating (``roastbot.steps``)."""
    if isinstance(roaster, GuardedRoaster):
        guard = roaster.guard
        if isinstance(guard, MeteredGuard):
            guard = MeteredGuard(guard.inner, guard.ledger, bookings)
        return GuardedRoaster(billed_to(roaster.inner, bookings), guard)
    if isinstance(roaster, MeteredRoaster):
        return MeteredRoaster(roaster.inner, roaster.ledger, bookings)
    return roaster

"""The roaster and the guard model behind the daily budget (roastbot.spend): every LLM call is
reserved before it is made and booked from the usage it reports."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from roastbot.batch import Op
from roastbot.roasting.base import RoastDraft, Roaster, RoastRequest
from roastbot.roasting.guard import GuardedRoaster, GuardModel, GuardVerdict, parse_verdict
from roastbot.roasting.llm_client import ChatAnswer
from roastbot.spend import Reservation, SpendLedger

Billed = TypeVar("Billed", RoastDraft, ChatAnswer)


def metered_call(
    ledger: SpendLedger,
    model: str,
    call: Callable[[], Billed],
    bookings: list[Op] | None = None,
    prepaid: list[Reservation] | None = None,
) -> Billed:
    """One LLM call reserved at the model's price, then settled from the usage it reports: at
    once, or as ops added to ``bookings`` for a later round trip to write (``billed_to``). A call
    that fails is refunded at once (a failed request is not billed). A reservation in
    ``prepaid`` (made with the move into generating: ``first_call_meter``) is taken
    off it and used instead of a round trip of its own; settling books the difference."""
    reservation = prepaid.pop() if prepaid else ledger.reserve_llm(model)
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

    def __init__(
        self,
        roaster: Roaster,
        ledger: SpendLedger,
        bookings: list[Op] | None = None,
        prepaid: list[Reservation] | None = None,
    ) -> None:
        self.inner = roaster
        self.name = roaster.name
        self.model = str(getattr(roaster, "model", ""))
        self.ledger = ledger
        self.bookings = bookings
        self.prepaid = prepaid

    def roast(self, request: RoastRequest) -> RoastDraft:
        return metered_call(
            self.ledger, self.model, lambda: self.inner.roast(request), self.bookings, self.prepaid
        )


class MeteredGuard:
    """The guard model behind the budget: each classification is an LLM call, reserved and
    booked from its usage like the roaster's (an answer it cannot parse was billed too)."""

    def __init__(
        self,
        guard: GuardModel,
        ledger: SpendLedger,
        bookings: list[Op] | None = None,
        prepaid: list[Reservation] | None = None,
    ) -> None:
        self.inner = guard
        self.model = guard.model
        self.ledger = ledger
        self.bookings = bookings
        self.prepaid = prepaid

    def classify(self, text: str) -> GuardVerdict:
        answer = metered_call(
            self.ledger, self.model, lambda: self.inner.ask(text), self.bookings, self.prepaid
        )
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


def billed_to(roaster: Roaster, bookings: list[Op], prepaid: list[Reservation] | None = None) -> Roaster:
    """The metered roaster (and its metered guard) adding each call's booking to ``bookings``
    instead of writing it in a round trip of its own, the first call using the reservation in
    ``prepaid``; any other roaster as it is. Cheap: a mention's steps build one for each pass
    of generating (``roastbot.steps``)."""
    if isinstance(roaster, GuardedRoaster):
        guard = roaster.guard
        if isinstance(guard, MeteredGuard):
            guard = MeteredGuard(guard.inner, guard.ledger, bookings, prepaid)
        return GuardedRoaster(billed_to(roaster.inner, bookings, prepaid), guard)
    if isinstance(roaster, MeteredRoaster):
        return MeteredRoaster(roaster.inner, roaster.ledger, bookings, prepaid)
    return roaster


def first_call_meter(roaster: Roaster) -> MeteredRoaster | MeteredGuard | None:
    """The meter (its ledger and model) of a roast's first metered LLM call, whose price the
    move into generating reserves (one round trip fewer per roast; ``billed_to``'s ``prepaid``
    hands it to that call): the roaster's, or its guard's when only the guard is metered. None
    when no call is metered (the offline roaster costs nothing). Settling books what it cost."""
    if isinstance(roaster, GuardedRoaster):
        inner = first_call_meter(roaster.inner)
        if inner is None and isinstance(roaster.guard, MeteredGuard):
            return roaster.guard
        return inner
    return roaster if isinstance(roaster, MeteredRoaster) else None

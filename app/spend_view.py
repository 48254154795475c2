"""Spend on the console: today's spend, per posted roast and the month's projection (Overview),
and today's cap (Controls, an audited command). Reads and the command go through the console's
cache, connection and audited-command helpers; the ledger itself is roastbot.spend."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from app import data, ui
from app.caching import FAST_TTL_S, cached
from app.commands import audited_command
from app.connections import console_redis, redis_errors
from roastbot.settings import Settings
from roastbot.spend import MICRO, SpendLedger


@dataclass(frozen=True)
class SpendSummary:
    day: str
    today_usd: float
    posts: int
    per_post_usd: float | None
    projected_month_usd: float
    cap_usd: float | None
    reached: bool
    by_item_usd: dict[str, float]


def _ledger(settings: Settings) -> SpendLedger:
    client, keys = console_redis(settings)
    return SpendLedger(client, keys, settings)


@cached(FAST_TTL_S)
def spend_summary(settings: Settings) -> SpendSummary:
    with redis_errors(settings):
        ledger = _ledger(settings)
        today = ledger.today()
        return SpendSummary(
            day=today.day,
            today_usd=today.total_usd,
            posts=today.posts,
            per_post_usd=today.per_post_usd,
            projected_month_usd=ledger.projected_month_usd(),
            cap_usd=today.cap_usd,
            reached=today.reached,
            by_item_usd={item: amount / MICRO for item, amount in sorted(today.by_item.items())},
        )


def set_todays_cap(settings: Settings, actor: str, usd: float | None) -> data.CommandResult:
    """Today's cap (None: back to DAILY_BUDGET_USD); lifts the budget hold, audited."""
    if usd is not None and usd < 0:
        return data.CommandResult(False, "A cap is 0 dollars or more.")

    def perform() -> str:
        _ledger(settings).set_cap_for_today(usd)
        if usd is None:
            return "Today's cap is back to DAILY_BUDGET_USD."
        return f"Today's cap set to ${usd:,.2f}; posting and generating go on while spend stays below it."

    return audited_command(
        settings, actor, "set:daily_budget_usd", perform, stale=[data.holds, spend_summary], value=usd
    )


def money(usd: float | None) -> str:
    if usd is None:
        return "—"
    return f"${usd:,.2f}" if abs(usd) >= 10 else f"${usd:,.3f}"


def spend_section(settings: Settings) -> None:
    """The Overview's three figures and what they are made of."""
    st.subheader("Spend")
    summary = spend_summary(settings)
    cells = st.columns(3)
    cap = "no daily cap" if summary.cap_usd is None else f"cap {money(summary.cap_usd)}"
    cells[0].metric("Spend today", money(summary.today_usd), help=ui.safe(f"UTC day {summary.day}, {cap}"))
    cells[1].metric("Per posted roast", money(summary.per_post_usd), help=f"{summary.posts:d} posts today")
    cells[2].metric(
        "Projected this month", money(summary.projected_month_usd), help="at the rate since the 1st"
    )
    parts = [f"{item} {money(usd)}" for item, usd in summary.by_item_usd.items()]
    # Escaped (ui.safe) although we wrote it: two dollar signs would make Markdown math.
    st.caption(
        ui.safe(
            f"Today (UTC {summary.day}, {cap}{', reached' if summary.reached else ''}): "
            + (" · ".join(parts) if parts else "nothing spent yet")
        )
    )


def budget_section(settings: Settings) -> None:
    """Controls: today's cap, set or back to the configured one."""
    summary = spend_summary(settings)
    st.subheader("Daily budget")
    configured = settings.daily_budget_usd
    st.markdown(
        "**Today's cap:** "
        + ui.safe(
            f"{money(summary.cap_usd) if summary.cap_usd is not None else 'none'}"
            + f" (DAILY_BUDGET_USD: {money(configured) if configured is not None else 'no cap'});"
            + f" spent {money(summary.today_usd)}"
            + (" — reached: posting and generating stop until 00:00 UTC" if summary.reached else "")
        )
    )
    st.number_input(
        "Today's cap (USD)",
        min_value=0.0,
        value=float(summary.cap_usd if summary.cap_usd is not None else summary.today_usd),
        step=1.0,
        format="%.2f",
        key="budget_cap_input",
    )
    x, y = st.columns(2)
    ui.action(x, "Set today's cap", key="budget_cap_apply", on_click=_apply_cap, args=(settings,))
    ui.action(y, "Use configured", key="budget_cap_reset", on_click=_reset_cap, args=(settings,))
    st.caption("A cap set here holds until 00:00 UTC; then DAILY_BUDGET_USD applies again.")


def _apply_cap(settings: Settings) -> None:
    ui.remember(set_todays_cap(settings, ui.operator(), float(st.session_state["budget_cap_input"])))


def _reset_cap(settings: Settings) -> None:
    ui.remember(set_todays_cap(settings, ui.operator(), None))

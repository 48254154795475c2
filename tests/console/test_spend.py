"""Spend on the console (AppTest over real Redis): the Overview's figures and the budget banner,
and today's cap on Controls, an audited command that lifts the budget hold."""

from __future__ import annotations

import pytest
import redis

from roastbot.holds import Holds
from roastbot.settings import Settings
from roastbot.spend import X_READ, BudgetReached, SpendLedger
from tests.console.conftest import keys_of, metrics, open_page, shown, texts


def spent_budget(settings: Settings, client: redis.Redis) -> SpendLedger:
    """Two replies and four posts read against a $0.025 cap; the third reply was refused."""
    ledger = SpendLedger(client, keys_of(settings), settings.model_copy(update={"daily_budget_usd": 0.025}))
    ledger.record_reads(X_READ, ["1", "2", "3", "4"])
    for _ in range(2):
        ledger.settle(ledger.reserve_post("roast"))
    with pytest.raises(BudgetReached):
        ledger.reserve_post("roast")
    return ledger


def test_overview_shows_spend_and_the_budget_banner(
    console: Settings, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAILY_BUDGET_USD", "0.025")
    ledger = spent_budget(console, redis_client)

    app = open_page()

    shown_metrics = metrics(app)
    assert shown_metrics["Spend today"] == "$0.024"  # two replies at $0.01, four posts read at $0.001
    assert shown_metrics["Per posted roast"] == "$0.012"
    projected = float(shown_metrics["Projected this month"].lstrip("$"))
    assert projected == pytest.approx(ledger.projected_month_usd(), rel=0.01) and projected >= 0.024
    banner = next(shown(e.value) for e in app.error if "daily budget" in e.value)
    assert "Posting and generating is on hold for every consumer" in banner
    assert "Raise today's cap on the Controls page" in banner and "DAILY_BUDGET_USD" in banner
    assert "x_read $0.004 · x_reply $0.020" in texts(app)
    assert not [b for b in app.button if b.key == "lift_hold"]  # a raised cap lifts it, on Controls


def test_todays_cap_on_controls_lifts_the_hold_and_is_audited(
    console: Settings, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAILY_BUDGET_USD", "0.025")
    ledger = spent_budget(console, redis_client)
    keys = keys_of(console)
    app = open_page("views/controls.py", operator="heidi")
    assert "reached: posting and generating stop until 00:00 UTC" in texts(app)

    app.number_input(key="budget_cap_input").set_value(0.05).run()
    app.button(key="budget_cap_apply").click().run()

    assert not Holds(redis_client, keys).active()
    assert ledger.today().cap_usd == 0.05 and not ledger.budget_reached()
    [entry] = [entry for _id, entry in redis_client.xrange(keys.audit)]
    assert (entry["actor"], entry["action"], entry["result"]) == ("heidi", "set:daily_budget_usd", "ok")
    assert entry["details"] == '{"value": 0.05}'
    assert any("Today's cap set to $0.05" in shown(s.value) for s in app.success)
    ledger.settle(ledger.reserve_post("roast"))  # posting goes on below the new cap

    app.button(key="budget_cap_reset").click().run()
    assert ledger.today().cap_usd == 0.025  # back to DAILY_BUDGET_USD

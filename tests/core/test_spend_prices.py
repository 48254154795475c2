"""Pricing and the doctor's price check: pure logic, no servers."""

from __future__ import annotations

from roastbot.doctor import check_prices
from roastbot.settings import Settings
from roastbot.spend import X_POST, X_POST_WITH_URL, X_REPLY, Prices, next_utc_midnight, utc_day

MODEL = "meta-llama/Llama-3.3-70B-Instruct-Turbo"


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **{"roaster": "offline", **values})  # type: ignore[arg-type]


def test_posts_are_priced_by_kind_and_a_url_is_the_dear_kind() -> None:
    prices = Prices.from_settings(settings())
    assert prices.post_item("You tweet like a loading spinner.") == X_REPLY
    assert prices.post_item("A post that answers nobody.", summoned=False) == X_POST
    assert prices.post_item("see example.com/roast") == X_POST_WITH_URL  # X counts a bare domain too
    assert [prices.of(item) for item in (X_REPLY, X_POST, X_POST_WITH_URL)] == [10_000, 15_000, 200_000]
    assert prices.llm_cost(MODEL, 1_000_000, 1) == (880_000, 1)  # $0.88 per million, rounded up
    assert prices.llm_cost("unpriced-model", 500, 500) == (0, 0)


def test_the_day_is_the_utc_day() -> None:
    assert utc_day(1_796_255_999) == "2026-12-02"  # 23:59:59 UTC
    assert next_utc_midnight(1_796_255_999) == 1_796_256_000


def test_the_budget_setting_empty_means_no_cap() -> None:
    assert settings(daily_budget_usd="").daily_budget_usd is None
    assert settings(daily_budget_usd="2.50").daily_budget_usd == 2.5


def test_the_doctor_warns_about_a_missing_or_zero_price() -> None:
    assert check_prices(settings()).warning == ""
    zero = check_prices(settings(price_x_reply_usd=0))
    assert zero.ok and "PRICE_X_REPLY_USD is 0" in zero.warning
    llm = settings(roaster="together", together_api_key="k", roast_model="someone/unpriced-model")
    missing = check_prices(llm)
    assert "no price for ROAST_MODEL someone/unpriced-model" in missing.warning
    guarded = check_prices(llm.model_copy(update={"guard_model": "meta-llama/Llama-Guard-4-12B"}))
    assert "no price for GUARD_MODEL meta-llama/Llama-Guard-4-12B" in guarded.warning
    assert check_prices(settings(daily_budget_usd=3)).detail == "DAILY_BUDGET_USD: $3 a day"

"""Results: what each posted roast earned, by origin with n and an interval, top and bottom
roasts, and the share that started a conversation; seeded through the tracker's store."""

from __future__ import annotations

import pandas as pd
import redis

from app import results_view
from roastbot.settings import Settings
from tests.console.conftest import metrics, open_page, texts
from tests.console.seeding import FORGED_ROAST, seed_results


def _frame(app: object, first_column: str) -> pd.DataFrame:
    return next(f.value for f in app.dataframe if f.value.columns[0] == first_column)  # type: ignore[attr-defined]


def test_results_by_origin_with_n_top_bottom_and_conversations(
    console: Settings, redis_client: redis.Redis
) -> None:
    likes = seed_results(redis_client, console)
    app = open_page("views/results.py")
    shown = metrics(app)
    assert shown["Posted roasts"] == "24"
    assert shown["Measured at +24h"] == "24"
    assert shown["Started a conversation"] == "25%"  # 6 of 24 authors answered
    assert shown["Likes per roast"] == f"{sum(likes.values()) / 24:.1f}"

    roasters = _frame(app, "roaster").set_index("roaster")
    assert roasters.loc["offline", "n"] == 12 and roasters.loc["together", "n"] == 12
    offline = [v for k, v in likes.items() if int(k) % 2 == 0]
    assert roasters.loc["offline", "likes (mean)"] == sum(offline) / 12
    assert roasters.loc["offline", "± 95 %"] > 0
    assert roasters.loc["offline", "likes (mean)"] - roasters.loc["offline", "± 95 %"] > (
        roasters.loc["together", "likes (mean)"] + roasters.loc["together", "± 95 %"]
    )  # the seeded difference is more than noise
    prompts = _frame(app, "prompt_version").set_index("prompt_version")
    assert prompts["n"].sum() == 24 and set(prompts.index) == {"persona-2", "persona-3"}
    skeletons = _frame(app, "skeleton").set_index("skeleton")
    assert skeletons.loc["(none)", "n"] == 12  # LLM roasts have no skeleton

    top, bottom = [f.value for f in app.dataframe if "roast" in f.value.columns]
    assert set(top["roaster"]) == {"offline"} and set(bottom["roaster"]) == {"together"}
    assert top["likes +24h"].is_monotonic_decreasing and bottom["likes +24h"].is_monotonic_increasing
    assert top["likes +24h"].iloc[0] == max(likes.values())
    assert FORGED_ROAST not in texts(app).replace(top.to_string(), "").replace(bottom.to_string(), "")
    chart = app.get("vega_lite_chart")
    assert chart, "the per-post chart is drawn"


def test_results_earlier_check_and_empty_state(console: Settings, redis_client: redis.Redis) -> None:
    app = open_page("views/results.py")
    assert "No posted roast in this period yet" in texts(app)
    seed_results(redis_client, console)
    app = open_page("views/results.py")
    app.selectbox(key="results_check").set_value("+1h").run()
    roasters = _frame(app, "roaster").set_index("roaster")
    assert (
        roasters.loc["offline", "likes (mean)"]
        < _frame(open_page("views/results.py"), "roaster").set_index("roaster").loc["offline", "likes (mean)"]
    )


def test_mean_interval_needs_two_values_and_shrinks_with_n() -> None:
    assert results_view.mean_interval(pd.Series([], dtype=float)) == (0, None, None)
    assert results_view.mean_interval(pd.Series([3.0])) == (1, 3.0, None)
    _, _, small = results_view.mean_interval(pd.Series([1.0, 3.0] * 2))
    _, _, large = results_view.mean_interval(pd.Series([1.0, 3.0] * 50))
    assert small is not None and large is not None and large < small

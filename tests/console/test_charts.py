"""The Overview's time axes: one 24-hour format in the configured zone, named on the axis."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import redis
from pydantic import ValidationError
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

from app import charts
from roastbot.settings import Settings
from tests.console.conftest import open_page
from tests.console.test_overview import seed_activity

ZONE = "America/New_York"


def test_times_become_the_zones_wall_clock_with_a_full_tooltip() -> None:
    frame = pd.DataFrame({"minute": pd.to_datetime(["2026-12-01 17:05", "2026-07-01 17:05"], utc=True)})
    local = charts.in_zone(frame, "minute", "Europe/Berlin")
    assert list(local["minute"]) == [pd.Timestamp("2026-12-01 18:05"), pd.Timestamp("2026-07-01 19:05")]
    assert list(local["time"]) == ["2026-12-01 18:05:00 CET", "2026-07-01 19:05:00 CEST"]
    assert frame["minute"].dt.tz is not None  # the caller's frame is left as it was


def test_an_unknown_zone_is_refused_by_name() -> None:
    with pytest.raises(ValidationError, match="console_timezone"):
        Settings(console_timezone="Mars/Olympus_Mons")
    assert Settings().console_timezone == "UTC"


def test_every_time_axis_has_one_format_in_the_configured_zone(
    console: Settings, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONSOLE_TIMEZONE", ZONE)
    seed_activity(redis_client, console)
    app = open_page()

    specs = [(json.loads(c.proto.spec), c.proto.datasets) for c in app.get("vega_lite_chart")]
    timed = [(spec, datasets) for spec, datasets in specs if spec["encoding"]["x"]["type"] == "temporal"]
    assert len(timed) == 3  # throughput, errors, latency (the lag chart has one sample: bars per partition)
    for spec, _datasets in timed:
        x = spec["encoding"]["x"]
        assert x["title"] == f"time ({ZONE})"
        assert x["axis"]["format"] == "%H:%M"
        assert x["scale"] == {"type": "utc"}  # the browser adds no zone of its own
        assert {"field": "time", "type": "nominal"} in spec["encoding"]["tooltip"]
    throughput = convert_arrow_bytes_to_pandas_df(timed[0][1][0].data.data)
    now_there = datetime.now(UTC).astimezone(ZoneInfo(ZONE)).replace(tzinfo=None)
    newest = throughput["minute"].max()
    assert abs((newest - pd.Timestamp(now_there)).total_seconds()) < 120  # the wall clock in New York
    assert throughput["time"].str.endswith((" EST", " EDT")).all()

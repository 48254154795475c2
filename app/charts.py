"""The Overview's time axes: one format (24-hour ``HH:MM``) in the operator's time zone
(``CONSOLE_TIMEZONE``, UTC by default), named in the axis title.

Vega-Lite formats times in the browser's own zone and, left to itself, mixes formats on one
axis ("05:40 … 06 PM", ":15 :30 :45"). So the series carry wall-clock times of the configured
zone, the axis reads them on a UTC scale (no second conversion in the browser) with a fixed
format, and each point's tooltip carries the full date and time, written here.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

AXIS_FORMAT = "%H:%M"
TOOLTIP_FORMAT = "%Y-%m-%d %H:%M:%S %Z"
TOOLTIP_COLUMN = "time"


def in_zone(frame: pd.DataFrame, column: str, zone: str) -> pd.DataFrame:
    """A copy whose time column (UTC) holds the zone's wall-clock times, plus the tooltip's text."""
    local = pd.to_datetime(frame[column], utc=True).dt.tz_convert(zone)
    return frame.assign(
        **{column: local.dt.tz_localize(None), TOOLTIP_COLUMN: local.dt.strftime(TOOLTIP_FORMAT)}
    )


def time_axis(column: str, zone: str) -> alt.X:
    """The x encoding of a time series made by ``in_zone``."""
    return alt.X(
        f"{column}:T",
        title=f"time ({zone})",
        scale=alt.Scale(type="utc"),
        axis=alt.Axis(format=AXIS_FORMAT, labelAngle=0),
    )

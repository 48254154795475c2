"""Results: what lands. Likes and replies per post over time, by roaster, model, prompt
version and skeleton (with n and a 95 % interval), top and bottom roasts, conversations."""

from __future__ import annotations

import altair as alt
import streamlit as st

from app import charts, results_view, ui
from roastbot.engagement import RESULTS_SHOWN

settings = ui.page_settings()
PERIODS = {"24 h": 24 * 3600, "7 days": 7 * 24 * 3600, "all kept": 365 * 24 * 3600}
ZONE = settings.console_timezone
ROAST_COLUMNS = ["posted_at", "author", "mention", "roast", "roaster", "skeleton"]

st.title("Results")
ui.flash()
left, right = st.columns(2)
period = left.selectbox("Period", list(PERIODS), index=1, key="results_period")
labels = results_view.check_labels(settings.engagement_checks_s)
label = right.selectbox("Metrics at", labels, index=len(labels) - 1, key="results_check")

with ui.explained("Results"):
    posts = results_view.tracked_posts(settings, PERIODS[period])
    if posts.empty:
        st.info(
            "No posted roast in this period yet. The tracker reads each reply's likes and replies "
            f"at {ui.safe(', '.join(labels))} after it was posted; they show up here then."
        )
        st.stop()

    if len(posts) >= RESULTS_SHOWN:
        st.caption(f"The newest {RESULTS_SHOWN:,} roasts of the period are shown.")
    measured = int(posts[f"likes {label}"].notna().sum())
    answered, total, share = results_view.conversation_share(posts)
    cells = st.columns(4)
    cells[0].metric("Posted roasts", total)
    cells[1].metric(f"Measured at {label}", measured)
    n, mean, half = results_view.mean_interval(posts[f"likes {label}"])
    cells[2].metric(
        "Likes per roast",
        "–" if mean is None else f"{mean:.1f}",
        help=None if half is None else f"± {half:.1f} (95 %, n = {n:d})",
    )
    cells[3].metric(
        "Started a conversation",
        "–" if share is None else f"{share:.0%}",
        help=f"{answered:d} of {total:d} authors answered the bot's reply",
    )

    st.subheader("Per post over time")
    series = results_view.per_post_over_time(posts, labels)
    if series.empty:
        st.info("No check has run yet for these posts.")
    else:
        for column, metric in zip(st.columns(2), ("likes", "replies"), strict=True):
            chart = (
                alt.Chart(
                    charts.in_zone(series[series["metric"] == metric], "posted", ZONE),
                    title=f"{metric.capitalize()} per post, by hour posted",
                )
                .mark_line(point=True)
                .encode(
                    x=charts.time_axis("posted", ZONE),
                    y=alt.Y("per_post:Q", title=f"{metric} per post"),
                    color=alt.Color("check:N", title="check", sort=labels),
                    tooltip=[f"{charts.TOOLTIP_COLUMN}:N", "check:N", "per_post:Q", "n:Q"],
                )
                .properties(height=220)
            )
            column.altair_chart(chart, width="stretch")

    st.subheader("By origin")
    st.caption(
        f"Mean likes at {label} with a 95 % interval (mean ± 1.96 s/√n): two groups whose intervals "
        "overlap are not shown to differ. n counts the posts measured at that check; conversations "
        "is the share of a group's posts whose author answered."
    )
    for tab, group in zip(st.tabs(list(results_view.GROUPS.values())), results_view.GROUPS, strict=True):
        tab.dataframe(
            results_view.group_summary(posts, group, label),
            hide_index=True,
            width="stretch",
            column_config={
                "likes (mean)": st.column_config.NumberColumn(format="%.1f"),
                "± 95 %": st.column_config.NumberColumn(format="%.1f"),
                "replies (mean)": st.column_config.NumberColumn(format="%.2f"),
                "conversations": st.column_config.NumberColumn(format="percent"),
            },
        )

    best, worst = results_view.ranked(posts, label)
    for title, ranking in (("Top roasts", best), ("Bottom roasts", worst)):
        st.subheader(ui.safe(title))
        st.dataframe(
            ranking[["posted_at", f"likes {label}", f"replies {label}", "answered", *ROAST_COLUMNS[1:]]],
            hide_index=True,
            width="stretch",
            column_config={
                "posted_at": st.column_config.DatetimeColumn("posted", format="YYYY-MM-DD HH:mm"),
                "mention": st.column_config.TextColumn(width="medium"),
                "roast": st.column_config.TextColumn(width="large"),
                "skeleton": st.column_config.TextColumn(width="small"),
                "answered": st.column_config.CheckboxColumn("author answered"),
            },
        )

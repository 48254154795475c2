"""Overview: workers, the last five minutes, charts over a window, the posting hold."""

from __future__ import annotations

import time

import altair as alt
import pandas as pd
import streamlit as st

from app import charts, data, spend_view, triage_view, ui

settings = ui.page_settings()
WINDOWS = {"15 min": 15, "1 h": 60, "6 h": 360, "24 h": 1440}

st.title("Overview")
left, middle, right = st.columns([1, 1, 2])
auto_refresh = left.toggle("Auto-refresh", value=True, key="overview_auto_refresh")
every_s = middle.selectbox(
    "Every (s)", [2, 5, 10, 30], index=1, key="overview_every", disabled=not auto_refresh
)
window_label = right.selectbox("Chart window", list(WINDOWS), index=1, key="overview_window")
window = WINDOWS[window_label]


def workers_section() -> None:
    st.subheader("Workers")
    beats: list[data.Heartbeat] = []
    programs = None
    with ui.explained("Heartbeats"):
        beats = data.heartbeats(settings)
    try:
        programs = data.processes(settings)
    except data.Unavailable as outage:
        st.warning(
            f"Supervisor is unreachable ({ui.safe(outage.detail)}): states come from heartbeats only. "
            f"{outage.remedy}"
        )
    board = data.worker_board(beats, programs)
    if board.empty:
        st.info("No worker has reported yet. Start them with `make up` (`make status` lists them).")
        return
    counts = board["state"].value_counts()
    st.caption(" · ".join(f"{counts.get(s, 0):d} {s}" for s in ("running", "paused", "stale", "stopped")))
    st.dataframe(board, hide_index=True, width="stretch")


def kpi_section() -> None:
    st.subheader("Last 5 minutes")
    cells = st.columns(7)
    with ui.explained("Counters"):
        kpis = data.kpis(settings)
        cells[0].metric("Mentions in", kpis.mentions_in)
        cells[1].metric("Replies out", kpis.replies_out)
        cells[2].metric("Errors", kpis.errors, help="failed:* and producer_error:* counters")
        cells[3].metric("Latency p50", ui.duration(kpis.p50_s), help="mention created → reply posted")
        cells[4].metric("Latency p95", ui.duration(kpis.p95_s))
    with ui.explained("Consumer lag"):
        lags = data.lag(settings)
        cells[5].metric("Consumer lag", sum(p.lag for p in lags) if lags else "—")
    with ui.explained("Posting quota"):
        quota = data.quota(settings, "post")
        if quota.remaining is None:
            cells[6].metric("Posting quota left", "—", help="X has not reported the posting quota yet")
        else:
            cells[6].metric("Posting quota left", f"{quota.remaining:,}")
            if quota.reset:
                reset_in = quota.reset - time.time()
                st.caption(
                    f"Posting quota: {quota.remaining:,} left"
                    + (f" of {quota.limit:,}" if quota.limit and quota.limit > 0 else "")
                    + f"; resets at {ui.when(quota.reset)}"
                    + (f" (in {ui.duration(reset_in)})" if reset_in > 0 else " (already reset)")
                )
    with ui.explained("Quota triage"):
        queue = triage_view.triage_queue(settings)
        st.caption(ui.safe(triage_caption(queue)))  # a mention id from Redis: plain text


def triage_caption(queue: triage_view.TriageQueue) -> str:
    """Waiting for a post slot, the oldest, the next up, and a mention arriving now."""
    text = f"Quota triage ({queue.order} first): {queue.waiting:,} waiting for a post slot"
    if queue.oldest_age_s is not None:
        text += f", oldest {ui.duration(queue.oldest_age_s)} old"
    if queue.next_mention_id:
        age = f" ({ui.duration(queue.next_age_s)} old)" if queue.next_age_s is not None else ""
        text += f"; next slot: mention {queue.next_mention_id}{age}"
    verdict = queue.arriving_now
    if verdict.in_time:
        when = f"in {ui.duration(verdict.wait_s)}" if verdict.wait_s > 0 else "now"
        text += f". A mention arriving now would be roasted and posted {when}"
    else:
        text += (
            f". A mention arriving now would be skipped (quota_triage): its slot comes in "
            f"{ui.duration(verdict.wait_s)}, past the {ui.duration(queue.budget_s)} a reply may wait"
        )
    return text


ZONE = settings.console_timezone


def _line(frame: pd.DataFrame, y: str, color: str, title: str, y_title: str) -> alt.Chart:
    return (
        alt.Chart(charts.in_zone(frame, "minute", ZONE), title=title)
        .mark_line(point=len(frame) < 120)
        .encode(
            x=charts.time_axis("minute", ZONE),
            y=alt.Y(f"{y}:Q", title=y_title),
            color=alt.Color(f"{color}:N", title=None),
            tooltip=[f"{charts.TOOLTIP_COLUMN}:N", f"{color}:N", f"{y}:Q"],
        )
        .properties(height=220)
    )


def charts_section() -> None:
    st.subheader(f"Last {window_label}")
    first, second = st.columns(2)
    third, fourth = st.columns(2)
    with ui.explained("Charts"):
        series = data.timeline(settings, window)
        first.altair_chart(
            _line(series.throughput, "count", "series", "Throughput per minute", "mentions"), width="stretch"
        )
        if series.errors.empty:
            second.info("No errors in this window.")
        else:
            errors = (
                alt.Chart(charts.in_zone(series.errors, "minute", ZONE), title="Errors per minute by kind")
                .mark_bar()
                .encode(
                    x=charts.time_axis("minute", ZONE),
                    y=alt.Y("count:Q", title="errors"),
                    color=alt.Color("kind:N", title=None),
                    tooltip=[f"{charts.TOOLTIP_COLUMN}:N", "kind:N", "count:Q"],
                )
                .properties(height=220)
            )
            second.altair_chart(errors, width="stretch")
        if series.latency.empty:
            third.info("No replies in this window, so no latency yet.")
        else:
            third.altair_chart(
                _line(series.latency, "seconds", "percentile", "Mention-to-reply latency", "seconds"),
                width="stretch",
            )
    with ui.explained("Lag"):
        lags = data.lag(settings)
        history = data.lag_history(settings, window)
        if len(history["at"].unique()) > 1:
            chart = (
                alt.Chart(
                    charts.in_zone(history, "at", ZONE),
                    title="Consumer lag per partition (sampled by this console)",
                )
                .mark_line()
                .encode(
                    x=charts.time_axis("at", ZONE),
                    y=alt.Y("lag:Q", title="messages", axis=alt.Axis(format="d", tickMinStep=1)),
                    color=alt.Color("partition:N"),
                    tooltip=[f"{charts.TOOLTIP_COLUMN}:N", "partition:N", "lag:Q"],
                )
                .properties(height=220)
            )
        else:
            current = pd.DataFrame([{"partition": str(p.partition), "lag": p.lag} for p in lags])
            if current.empty:
                fourth.info("The mentions topic does not exist yet: the workers create it when they start.")
                return
            chart = (
                alt.Chart(current, title="Consumer lag per partition (now)")
                .mark_bar()
                .encode(
                    x=alt.X("partition:N"),
                    y=alt.Y("lag:Q", title="messages", axis=alt.Axis(format="d", tickMinStep=1)),
                )
                .properties(height=220)
            )
        fourth.altair_chart(chart, width="stretch")


@st.fragment(run_every=every_s if auto_refresh else None)
def live() -> None:
    ui.flash()
    with ui.explained("Posting hold"):
        ui.hold_banner(settings)
    workers_section()
    kpi_section()
    with ui.explained("Spend"):
        spend_view.spend_section(settings)
    charts_section()
    st.caption(
        f"Updated {ui.when(time.time())}"
        + (f", every {every_s:d} s" if auto_refresh else ", auto-refresh off")
    )


live()

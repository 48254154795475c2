"""Controls: fetch now, pause/resume, polling interval, dry run, approval mode, per-author
limit, opt-out and block lists, and the audit stream of every operator action."""

from __future__ import annotations

import streamlit as st

from app import data, sign_ins, spend_view, ui

settings = ui.page_settings()

st.title("Controls")
ui.flash()


def switch(name: str, value: object) -> None:
    ui.remember(data.set_switch(settings, ui.operator(), name, value))  # type: ignore[arg-type]


def switch_from(name: str, widget_key: str) -> None:
    switch(name, st.session_state[widget_key])


def run_section() -> None:
    current = data.switches(settings)
    st.subheader("Run")
    a, b, c = st.columns(3)
    with a:
        st.markdown("**Producer**")
        ui.command_button("Fetch now", lambda: data.fetch_now(settings, ui.operator()), key="fetch_now")
        st.caption("Wakes the producer for an immediate poll of X.")
    with b:
        st.markdown(f"**Consumers: {'paused' if current.paused else 'running'}**")
        if current.paused:
            ui.action(
                st, "Resume consumers", key="resume", type="primary", on_click=switch, args=("paused", False)
            )
        else:
            ui.action(st, "Pause consumers", key="pause", on_click=switch, args=("paused", True))
        st.caption("Paused consumers stop taking mentions; nothing is lost, lag grows.")
    with c:
        interval = current.poll_interval_s or settings.poll_interval_s
        st.markdown(
            f"**Polling interval: {interval:g} s**" + ("" if current.poll_interval_s else " (configured)")
        )
        st.number_input(
            "Seconds between polls",
            min_value=0.2,
            max_value=3600.0,
            value=float(interval),
            step=1.0,
            key="poll_interval_input",
        )
        x, y = st.columns(2)
        ui.action(
            x,
            "Apply",
            key="poll_apply",
            on_click=switch_from,
            args=("poll_interval_s", "poll_interval_input"),
        )
        ui.action(y, "Use configured", key="poll_reset", on_click=switch, args=("poll_interval_s", None))

    st.subheader("Posting")
    d, e, f = st.columns(3)
    with d:
        dry_run = settings.dry_run if current.dry_run is None else current.dry_run
        st.markdown(
            f"**Dry run: {'on' if dry_run else 'off'}**"
            + (" (configured)" if current.dry_run is None else "")
        )
        ui.action(
            st,
            "Turn dry run off" if dry_run else "Turn dry run on",
            key="dry_run_toggle",
            on_click=switch,
            args=("dry_run", not dry_run),
        )
        st.caption("Dry run roasts but never posts (roasts are recorded as skipped: dry_run).")
    with e:
        st.markdown(f"**Approval mode: {'on' if current.approval_mode else 'off'}**")
        ui.action(
            st,
            "Turn approval mode off" if current.approval_mode else "Turn approval mode on",
            key="approval_toggle",
            on_click=switch,
            args=("approval_mode", not current.approval_mode),
        )
        st.caption("Roasts wait on the Approvals page until an operator decides.")
    with f:
        limit = (
            settings.per_author_limit_per_hour
            if current.per_author_limit_per_hour is None
            else current.per_author_limit_per_hour
        )
        st.markdown(
            f"**Per-author limit: {limit:d}/hour**"
            + (" (configured)" if current.per_author_limit_per_hour is None else "")
            + (" — 0 means no limit" if limit == 0 else "")
        )
        st.number_input(
            "Roasts per author per hour", min_value=0, max_value=1000, value=int(limit), key="limit_input"
        )
        x, y = st.columns(2)
        ui.action(
            x,
            "Apply",
            key="limit_apply",
            on_click=switch_from,
            args=("per_author_limit_per_hour", "limit_input"),
        )
        ui.action(
            y, "Use configured", key="limit_reset", on_click=switch, args=("per_author_limit_per_hour", None)
        )


def change_list(which: str, add: bool, widget_key: str) -> None:
    member = str(st.session_state.get(widget_key) or "")
    ui.remember(data.change_author_list(settings, ui.operator(), which, member, add))


def list_tab(which: str, what: str) -> None:
    search = st.text_input("Search", key=f"{which}_search")
    authors = data.author_list(settings, which, search)
    st.caption(
        f"{authors.total:d} {what} in total"
        + (f"; showing {len(authors.members)}" if authors.members else "")
    )
    if authors.members:
        st.dataframe(
            {"author": authors.members},
            hide_index=True,
            width="stretch",
            height=min(300, 40 + 35 * len(authors.members)),
        )
    add_col, remove_col = st.columns(2)
    with add_col:
        st.text_input("Author id or username to add", key=f"{which}_add_value")
        ui.action(
            st, "Add", key=f"{which}_add", on_click=change_list, args=(which, True, f"{which}_add_value")
        )
    with remove_col:
        st.selectbox("Remove", authors.members, key=f"{which}_remove_value", index=None, placeholder="choose")
        ui.action(
            st,
            "Remove",
            key=f"{which}_remove",
            on_click=change_list,
            args=(which, False, f"{which}_remove_value"),
        )


with ui.explained("Run-time switches"):
    run_section()
with ui.explained("Daily budget"):
    spend_view.budget_section(settings)

st.subheader("Authors")
opt_out_tab, block_tab = st.tabs(["Opt-out list", "Block list"])
with opt_out_tab, ui.explained("Opt-out list"):
    st.caption("Authors who asked not to be roasted (author ids).")
    list_tab("opt_out", "opted-out authors")
with block_tab, ui.explained("Block list"):
    st.caption("Authors the bot never answers (author ids or lower-case usernames).")
    list_tab("block_list", "blocked authors")

if settings.console_password.get_secret_value():
    with ui.explained("Sign-in refusals"):
        sign_ins.refusals_section(settings)

st.subheader("Audit log")
with ui.explained("Audit stream"):
    audit = data.audit_log(settings)
    if audit.empty:
        st.caption("No operator action yet.")
    else:
        st.dataframe(audit, hide_index=True, width="stretch")

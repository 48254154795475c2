"""Processes: Supervisor's programs with start, stop and restart, and each one's log tail."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import data, ui

settings = ui.page_settings()
# Stopping the console from itself would leave no way back but a shell.
NOT_STOPPABLE_HERE = {"console"}

st.title("Processes")
st.caption(f"Supervisor at {ui.safe(data.supervisor_address(settings))}")
ui.flash()


def act(program: str, action: str) -> None:
    ui.remember(data.process_action(settings, ui.operator(), program, action))


with ui.explained("Supervisor"):
    programs = data.processes(settings)
    if not programs:
        st.info("Supervisor manages no program. Is this the right SUPERVISOR_URL?")
        st.stop()
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "program": p.name,
                    "state": p.state,
                    "pid": p.pid or "",
                    "description": p.description,
                    "started": ui.when(p.started_at) if p.started_at else "",
                }
                for p in programs
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    for program in programs:
        name_col, start_col, stop_col, restart_col = st.columns([3, 1, 1, 1])
        name_col.markdown(f"{ui.code(program.name)} — **{ui.safe(program.state)}**")
        ui.action(
            start_col,
            "Start",
            key=f"start_{program.name}",
            disabled=program.running,
            on_click=act,
            args=(program.name, "start"),
        )
        ui.action(
            stop_col,
            "Stop",
            key=f"stop_{program.name}",
            disabled=not program.running or program.group in NOT_STOPPABLE_HERE,
            on_click=act,
            args=(program.name, "stop"),
        )
        ui.action(
            restart_col,
            "Restart",
            key=f"restart_{program.name}",
            on_click=act,
            args=(program.name, "restart"),
        )

    groups = sorted({p.group for p in programs if sum(q.group == p.group for q in programs) > 1})
    for group in groups:
        label_col, start_col, stop_col, restart_col = st.columns([3, 1, 1, 1])
        label_col.markdown(f"{ui.code(group + ':*')} — the whole group")
        ui.action(start_col, "Start all", key=f"start_{group}:*", on_click=act, args=(f"{group}:*", "start"))
        ui.action(stop_col, "Stop all", key=f"stop_{group}:*", on_click=act, args=(f"{group}:*", "stop"))
        ui.action(
            restart_col, "Restart all", key=f"restart_{group}:*", on_click=act, args=(f"{group}:*", "restart")
        )

    st.subheader("Log")
    chosen = st.selectbox("Program", [p.name for p in programs], key="log_program")
    size = st.select_slider("Bytes", [4_000, 16_000, 64_000], value=16_000, key="log_bytes")
    st.code(data.log_tail(settings, chosen, size) or "(empty log)", language=None)

"""Approvals: roasts parked for an operator (approval mode): approve, edit then approve, reject."""

from __future__ import annotations

import streamlit as st

from app import data, ui
from roastbot.approvals import Decision

settings = ui.page_settings()
SHOWN = 50

st.title("Approvals")
ui.flash()


def decide(mention_id: str, decision: Decision, edited: bool = False) -> None:
    text = str(st.session_state.get(f"approval_edit_{mention_id}", "")) if edited else ""
    ui.remember(data.decide(settings, ui.operator(), mention_id, decision, text))


with ui.explained("Approvals"):
    approval_mode = data.switches(settings).approval_mode
    pending = data.pending_approvals(settings, SHOWN)
    if not approval_mode:
        st.info(
            "Approval mode is off: roasts are posted without review. Turn it on on the Controls page "
            "to park every roast here first."
        )
    if not pending.total:
        st.caption("No roast is waiting for approval.")
    else:
        st.caption(
            f"{pending.total:d} roast(s) waiting, oldest first."
            + (f" Showing the oldest {SHOWN:d}." if pending.total > SHOWN else "")
        )
    for item in pending.oldest:
        mention = item.mention
        author = mention.author.username if mention.author else mention.author_id
        with st.container(border=True):
            st.markdown(
                f"**@{ui.safe(author)}** · mention {ui.safe(mention.id)} · parked {ui.ago(item.parked_at)}"
                f" · {ui.safe(item.roaster)}"
            )
            st.text(mention.text)
            st.text_area(
                "Roast (edit before approving if needed)", value=item.roast, key=f"approval_edit_{mention.id}"
            )
            a, b, c = st.columns(3)
            ui.action(
                a,
                "Approve",
                key=f"approve_{mention.id}",
                on_click=decide,
                args=(mention.id, Decision.APPROVE),
            )
            ui.action(
                b,
                "Approve edited",
                key=f"approve_edited_{mention.id}",
                on_click=decide,
                args=(mention.id, Decision.APPROVE, True),
            )
            ui.action(
                c, "Reject", key=f"reject_{mention.id}", on_click=decide, args=(mention.id, Decision.REJECT)
            )

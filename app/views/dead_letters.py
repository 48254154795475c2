"""Dead letters: browse the DLQ, replay one, a selection or all matching, discard; follow replays."""

from __future__ import annotations

import uuid

import pandas as pd
import streamlit as st

from app import data, ui
from roastbot.dlq_admin import DeadLetterMessage

settings = ui.page_settings()
NONCE_KEY = "dlq_click_nonce"

st.title("Dead letters")
st.caption(f"Topic {ui.safe(settings.kafka_topic_dlq)}: what consumers gave up on, with the reason.")
ui.flash()


def replay(letters: list[DeadLetterMessage]) -> None:
    """Button callback: one click replays each dead letter at most once."""
    # The click's id is claimed in Redis per dead letter; it changes only after the
    # replay finished, so a rerun that repeats this click cannot publish twice.
    click_id = st.session_state.setdefault(NONCE_KEY, uuid.uuid4().hex)
    result, outcomes = data.replay_dead_letters(settings, ui.operator(), letters, click_id)
    st.session_state[NONCE_KEY] = uuid.uuid4().hex
    ui.remember(result)
    st.session_state["dlq_last_outcomes"] = [o.__dict__ for o in outcomes]


def discard(names: list[str]) -> None:
    ui.remember(data.discard_dead_letters(settings, ui.operator(), names))


def letters_section() -> None:
    letters = data.dead_letters(settings)
    if not letters:
        st.info("The dead-letter topic is empty: every mention so far was finished. Nothing to do.")
        return
    marks = data.dead_letter_marks(settings, tuple(letter.coordinates for letter in letters))

    reasons = sorted({letter.reason for letter in letters})
    f1, f2, f3 = st.columns([2, 2, 1])
    chosen = f1.multiselect("Reason", reasons, key="dlq_reasons")
    search = f2.text_input("Search mention, author or error", key="dlq_search").strip().lower()
    show_hidden = f3.checkbox("Show discarded", key="dlq_show_hidden")

    def matches(letter: DeadLetterMessage) -> bool:
        if letter.coordinates in marks.discarded and not show_hidden:
            return False
        if chosen and letter.reason not in chosen:
            return False
        if search:
            mention = letter.mention_or_none()
            text = " ".join(
                [letter.error, letter.value.decode("utf-8", "replace")]
                + ([mention.text, mention.author_username] if mention else [])
            ).lower()
            return search in text
        return True

    matching = [letter for letter in letters if matches(letter)]
    rows = []
    for letter in matching:
        mention = letter.mention_or_none()
        replay_record = marks.replays.get(letter.coordinates)
        rows.append(
            {
                "coordinates": letter.coordinates,
                "dead-lettered": ui.when(letter.dead_lettered_at),
                "reason": letter.reason,
                "attempts": letter.attempts,
                "error": letter.error[:200],
                "mention id": mention.id if mention else "(not a mention)",
                "author": f"@{mention.author.username}" if mention and mention.author else "",
                "mention": mention.text[:120] if mention else letter.value[:80].decode("utf-8", "replace"),
                "replayed": (
                    f"{replay_record.get('status')} {ui.ago(float(replay_record.get('replayed_at') or 0))}"
                    if replay_record
                    else ""
                ),
                "discarded": letter.coordinates in marks.discarded,
            }
        )
    hidden = sum(1 for letter in letters if letter.coordinates in marks.discarded)
    st.caption(
        f"{len(matching)} matching of {len(letters)} dead letters read"
        + (f" ({hidden:d} discarded)" if hidden else "")
    )
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    if not matching:
        return

    by_name = {letter.coordinates: letter for letter in matching}
    labels = {
        name: f"{name} · {letter.reason} · {row['mention'][:40]}"
        for (name, letter), row in zip(by_name.items(), rows, strict=True)
    }
    selected = st.multiselect("Selection", list(labels), format_func=lambda n: labels[n], key="dlq_selection")
    b1, b2, b3 = st.columns(3)
    ui.action(
        b1,
        f"Replay selected ({len(selected)})",
        key="dlq_replay_selected",
        disabled=not selected,
        on_click=replay,
        args=([by_name[n] for n in selected],),
    )
    ui.action(
        b2,
        f"Discard selected ({len(selected)})",
        key="dlq_discard_selected",
        disabled=not selected,
        on_click=discard,
        args=(list(selected),),
    )
    ui.action(
        b3,
        f"Replay all {len(matching)} matching",
        key="dlq_replay_matching",
        on_click=replay,
        args=(matching,),
    )

    st.subheader("Detail")
    name = st.selectbox("Dead letter", list(labels), format_func=lambda n: labels[n], key="dlq_detail")
    letter = by_name[name]
    d1, d2 = st.columns(2)
    d1.markdown(f"**{ui.safe(letter.reason)}** after {letter.attempts:d} attempt(s)")
    d1.text(letter.error or "(no detail)")
    d1.caption(
        f"first seen {ui.when(letter.first_seen)} · dead-lettered {ui.when(letter.dead_lettered_at)}"
        f" · source {ui.safe(letter.source or '?')}"
    )
    mention = letter.mention_or_none()
    if mention is None:
        d2.warning("These bytes are not a valid mention, so they cannot be replayed.")
        d2.code(letter.value[:2000].decode("utf-8", "replace"), language=None)
    else:
        d2.json(mention.model_dump(mode="json"), expanded=False)
    c1, c2 = st.columns(2)
    ui.action(
        c1,
        "Replay this one",
        key="dlq_replay_one",
        on_click=replay,
        args=([letter],),
        disabled=mention is None,
    )
    ui.action(c2, "Discard this one", key="dlq_discard_one", on_click=discard, args=([name],))


@st.fragment(run_every=5)
def replays_section() -> None:
    """Refreshes itself: a replay's fate changes as consumers handle it."""
    st.subheader("Replays and what happened")
    with ui.explained("Replays"):
        replays_table()


def replays_table() -> None:
    history = data.replays(settings)
    if not history:
        st.caption("No replays yet.")
        return
    outcomes: dict[str, int] = {}
    for record in history:
        outcome = record.what_happened.split(" (")[0].split(":")[0]
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    st.markdown(" · ".join(f"**{count:d}** {ui.safe(outcome)}" for outcome, count in outcomes.items()))
    newest = history[0]
    st.caption(
        f"Newest: mention {ui.safe(newest.mention_id)} from {ui.safe(newest.coordinates)}"
        f" — {ui.safe(newest.what_happened)}"
    )
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "dead letter": record.coordinates,
                    "mention id": record.mention_id,
                    "replayed": ui.when(record.replayed_at),
                    "by": record.actor,
                    "what happened": record.what_happened,
                    "reply": data.tweet_url(settings, record.reply_id),
                }
                for record in history
            ]
        ),
        hide_index=True,
        width="stretch",
        column_config={"reply": st.column_config.LinkColumn("reply", display_text="open")},
    )


with ui.explained("Dead-letter topic"):
    letters_section()
replays_section()

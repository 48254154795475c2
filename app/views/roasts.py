"""Roasts: the recent roast records, searchable and filterable, with a detail view."""

from __future__ import annotations

import streamlit as st

from app import data, ui

settings = ui.page_settings()
STATUSES = ["posted", "skipped", "dead_lettered", "pending_approval"]
TABLE_COLUMNS = [
    "at",
    "status",
    "author",
    "mention",
    "roast",
    "reason",
    "roaster",
    "model",
    "prompt_version",
    "latency_s",
    "reply",
]
PROVENANCE = {
    "roaster": "Roaster",
    "model": "Model",
    "prompt_version": "Prompt version",
    "skeleton": "Skeleton",
}

st.title("Roasts")
ui.flash()

with ui.explained("Recent roasts"):
    roasts = data.recent_roasts(settings)
    if roasts.empty:
        st.info(
            "No roasts yet. Mentions show up here once a consumer has handled them: mention the bot "
            "(in sandbox mode: `POST /sandbox/mentions`), then press **Fetch now** on the Controls page."
        )
        st.stop()

    search_col, status_col = st.columns([3, 2])
    search = search_col.text_input("Search mention, roast, author or reason", key="roasts_search")
    statuses = status_col.multiselect("Status", STATUSES, key="roasts_status")
    # How each roast was written: compare roasters, models and persona versions, spot a skeleton
    # the offline roaster overuses. Options are stored text: widgets show them as plain text.
    chosen: dict[str, list[str]] = {}
    for (column, name), slot in zip(PROVENANCE.items(), st.columns([1, 2, 2, 3]), strict=True):
        options = sorted(value for value in roasts[column].unique() if value)
        chosen[column] = slot.multiselect(ui.safe(name), options, key=f"roasts_{column}")

    shown = roasts
    if statuses:
        shown = shown[shown["status"].isin(statuses)]
    for column, values in chosen.items():
        if values:
            shown = shown[shown[column].isin(values)]
    if search.strip():
        needle = search.strip().lower()
        haystack = (
            shown["mention"] + " " + shown["roast"] + " " + shown["author"] + " " + shown["reason"]
        ).str.lower()
        shown = shown[haystack.str.contains(needle, regex=False)]

    table = shown.assign(
        reply=[data.tweet_url(settings, reply_id) for reply_id in shown["reply_id"]],
        author=["@" + a if a else "" for a in shown["author"]],
    )
    st.caption(f"{len(shown)} of {len(roasts)} recent roasts (the newest 1,000 are kept).")
    st.dataframe(
        table[TABLE_COLUMNS],
        hide_index=True,
        width="stretch",
        column_config={
            "at": st.column_config.DatetimeColumn("at", format="YYYY-MM-DD HH:mm:ss"),
            "latency_s": st.column_config.NumberColumn("latency (s)", format="%.1f"),
            "reply": st.column_config.LinkColumn("reply", display_text="open"),
        },
    )

    if shown.empty:
        st.stop()
    st.subheader("By roaster, model, prompt version and skeleton")
    counts = (
        shown.assign(posted=shown["status"] == "posted")
        .groupby(list(PROVENANCE), dropna=False)
        .agg(roasts=("status", "size"), posted=("posted", "sum"))
        .reset_index()
        .sort_values(["roasts", *PROVENANCE], ascending=[False, True, True, True, True])
    )
    st.dataframe(
        counts, hide_index=True, width="stretch", column_config={k: v for k, v in PROVENANCE.items()}
    )

    st.subheader("Detail")
    labels = {
        f"{row.mention_id}:{index}": f"{row.status} · @{row.author or '?'} · {row.mention[:60]}"
        for index, row in shown.head(200).iterrows()
    }
    picked = st.selectbox("Roast", list(labels), format_func=lambda key: labels[key], key="roasts_detail")
    # Rows by column name: ``row.at`` would be pandas' own accessor, not the column.
    row = shown.loc[int(picked.rsplit(":", 1)[1])].to_dict()
    author = row["author"] or "?"
    left, right = st.columns(2)
    left.markdown(f"**Mention** by @{ui.safe(author)} (author id {ui.safe(row['author_id'])})")
    left.text(row["mention"])
    right.markdown(
        f"**Roast** — {ui.safe(row['status'])}" + (f" ({ui.safe(row['reason'])})" if row["reason"] else "")
    )
    right.text(row["roast"] or "(none)")
    latency = row["latency_s"]
    facts = {
        "mention id": row["mention_id"],
        "roaster / model": f"{row['roaster'] or '—'} / {row['model'] or '—'}",
        "prompt version": row["prompt_version"] or "—",
        "skeleton": row["skeleton"] or "—",
        "latency": ui.duration(latency) if latency == latency and latency is not None else "—",
        "worker": row["worker"],
        "at": ui.when(row["at"].timestamp()) if row["at"] is not None and row["at"] == row["at"] else "—",
    }
    st.table({"": list(facts), "value": [ui.safe(v) for v in facts.values()]})
    reply_url = data.tweet_url(settings, row["reply_id"])
    if reply_url:
        st.link_button("Open the reply", reply_url)
    state = data.mention_state(settings, row["mention_id"])
    if state:
        st.caption("Mention state in Redis")
        st.json({k: v for k, v in state.items() if k != "roast"}, expanded=False)

"""Small rendering helpers every page shares: the page preamble, untrusted text, explained
outages, command buttons with their result, times and durations."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import streamlit as st

from app import access, data
from app.untrusted import code as code  # pages write ui.code and ui.safe
from app.untrusted import safe
from roastbot.holds import EVERYTHING, GENERATING, POSTING
from roastbot.settings import Settings

_FLASH_KEY = "console_flash"
HOLD_LABELS = {POSTING: "Posting", GENERATING: "Generating", EVERYTHING: "Posting and generating"}


def load_settings_or_stop() -> Settings:
    """The settings, or a readable configuration error and nothing else."""
    try:
        return data.load_console_settings()
    except data.ConfigProblem as problem:
        st.error("The console's configuration is invalid; fix these variables (environment or `.env`):")
        st.code(str(problem), language=None)
        st.stop()
        raise  # unreachable: st.stop() raises


def page_settings() -> Settings:
    """Every page's first line: settings, and the access gate (a second line behind the router)."""
    settings = load_settings_or_stop()
    if not access.granted(settings):
        access.gate(settings)
        st.stop()
    return settings


def operator() -> str:
    """Who acts, for the audit log."""
    return str(st.session_state.get("operator") or "operator")


@contextmanager
def explained(what: str = "") -> Iterator[None]:
    """Show an unreachable service as an explanation with what to do, then carry on."""
    try:
        yield
    except data.Unavailable as outage:
        prefix = f"{what}: " if what else ""
        st.error(
            f"{prefix}**{outage.service} is unreachable** — {safe(outage.detail)}\n\n"
            f"What to do: {outage.remedy}"
        )


def action(target: object, label: str, **options: object) -> bool:
    """A button that sends a command (``st`` or a column as ``target``): shown to operators
    only; the command checks the role again whatever was shown."""
    if not access.may_command():
        return False
    return target.button(label, **options)  # type: ignore[attr-defined]


def command_button(
    label: str, command: Callable[[], data.CommandResult], *, key: str, **options: object
) -> bool:
    """A command button that runs the command before the rerun renders (so every read is fresh)."""

    def run() -> None:
        result = command()
        st.session_state.setdefault(_FLASH_KEY, []).append(result)

    return action(st, label, key=key, on_click=run, **options)


def remember(result: data.CommandResult) -> None:
    st.session_state.setdefault(_FLASH_KEY, []).append(result)


def flash() -> None:
    """Show (once) the results of the commands the last click ran."""
    for result in st.session_state.pop(_FLASH_KEY, []):
        if result.ok:
            st.success(safe(result.message))
        else:
            st.error(safe(result.message))


def when(timestamp: float | None) -> str:
    if not timestamp:
        return "—"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def ago(timestamp: float | None) -> str:
    if not timestamp:
        return "—"
    return duration(time.time() - timestamp) + " ago"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def hold_banner(settings: Settings) -> None:
    """A red banner per global hold (what it stops, why, the setting to fix), with the
    audited "lift hold" button."""
    holds = data.holds(settings)
    if not holds:
        return
    for hold in holds:
        cause = hold.cause  # from our own table: what happened and the remedy are text written here
        label = HOLD_LABELS.get(hold.stops, "Posting")
        what = (
            f"{cause.what}. {cause.remedy[:1].upper()}{cause.remedy[1:]}."
            if cause
            else "a refusal the console does not know."
        )
        if hold.credential:
            what += f" The setting to fix: {code(hold.credential)}."
        st.error(
            f"**{label} is on hold for every consumer:** {what} ({code(hold.code)}, since {when(hold.since)})"
        )
        st.text(f"The refusal: {hold.detail}")  # X's or the LLM's words, never markup
    if any(not (hold.cause and hold.cause.lifts_itself) for hold in holds):  # the budget's: a new cap
        command_button(
            "Lift hold", lambda: data.lift_hold(settings, operator()), key="lift_hold", type="primary"
        )

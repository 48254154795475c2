"""Recent sign-in refusals and the failure budget's state, for the Controls page."""

from __future__ import annotations

import json
import time

import pandas as pd
import streamlit as st

from app.caching import FAST_TTL_S, cached
from app.connections import console_redis, redis_errors
from roastbot.settings import Settings
from roastbot.signin import GLOBAL_SCOPE

AUDIT_SCANNED = 2000  # newest audit entries searched for refusals
REFUSALS_SHOWN = 50


@cached(FAST_TTL_S)
def recent_refusals(settings: Settings) -> pd.DataFrame:
    """The newest refused sign-ins: when, from where, the name typed, why."""
    client, keys = console_redis(settings)
    with redis_errors(settings):
        entries = client.xrevrange(keys.audit, count=AUDIT_SCANNED)
    rows = []
    for entry_id, fields in entries:
        if fields.get("action") != "sign_in" or not fields.get("result", "").startswith("refused"):
            continue
        try:
            details = json.loads(fields.get("details") or "{}")
        except ValueError:
            details = {}
        rows.append(
            {
                "when": pd.to_datetime(int(entry_id.split("-")[0]), unit="ms", utc=True),
                "from": str(details.get("client", "")),
                "name typed": fields.get("actor", ""),
                "why": fields.get("result", "").removeprefix("refused: "),
            }
        )
        if len(rows) >= REFUSALS_SHOWN:
            break
    return pd.DataFrame(rows, columns=["when", "from", "name typed", "why"])


@cached(FAST_TTL_S)
def blocked_scopes(settings: Settings) -> pd.DataFrame:
    """Sign-in scopes (client addresses, or every client) blocked right now, and until when."""
    client, keys = console_redis(settings)
    now = time.time()
    rows = []
    with redis_errors(settings):
        for key in client.scan_iter(match=keys.signin_failures("*"), count=1000):
            fields = client.hgetall(key)
            until = int(fields.get("blocked_until") or 0) / 1000
            scope = key.rsplit(":signin:", 1)[-1]
            if until > now:
                rows.append(
                    {
                        "who": "every client" if scope == GLOBAL_SCOPE else scope.removeprefix("client:"),
                        "failures": int(fields.get("failures") or 0),
                        "blocked for (s)": round(until - now, 1),
                    }
                )
    return pd.DataFrame(rows, columns=["who", "failures", "blocked for (s)"])


def refusals_section(settings: Settings) -> None:
    st.subheader("Sign-in refusals")
    blocked = blocked_scopes(settings)
    if not blocked.empty:
        st.warning("Sign-ins are being slowed after repeated wrong passwords:")
        st.dataframe(blocked, hide_index=True, width="stretch")
    refusals = recent_refusals(settings)
    if refusals.empty:
        st.caption("No refused sign-in.")
        return
    st.caption(f"The newest {len(refusals):d} refused sign-ins (every attempt is in the audit log below).")
    st.dataframe(refusals, hide_index=True, width="stretch")

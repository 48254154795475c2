"""OIDC sign-in (``CONSOLE_AUTH=oidc``) through Streamlit's own ``st.login``: the identity
provider is configured in ``.streamlit/secrets.toml`` ``[auth]`` (Streamlit keeps the signed
identity cookie), and the console lets in only the e-mail addresses on its allow-lists.

Every sign-in is audited once per browser session under the e-mail address the provider
vouched for, allowed or not; that address, never a name typed into the page, is who each
command is audited as.
"""

from __future__ import annotations

import logging

import redis
import streamlit as st
from streamlit.errors import StreamlitAuthError

from app.connections import console_redis
from app.roles import VIEWER, Role, role_of
from app.untrusted import safe
from roastbot.control import Control
from roastbot.settings import Settings

_AUDITED_KEY = "console_oidc_audited"  # the identity whose sign-in this session already audited
log = logging.getLogger("roastbot.console.access")


def signed_in_email() -> str:
    """The provider-verified e-mail address of this session ("" when signed out or unverified)."""
    if not st.user.is_logged_in:
        return ""
    if st.user.get("email_verified") is False:
        return ""  # the provider says the address is not the person's: it identifies nobody
    return str(st.user.get("email") or "").strip().lower()


def role(settings: Settings) -> Role | None:
    """This session's role (None: signed out, or not on an allow-list)."""
    email = signed_in_email()
    return role_of(settings, email) if email else None


def granted(settings: Settings) -> Role | None:
    """The role of a session that may see the console; audits its sign-in once."""
    email = signed_in_email()
    if not email:
        return None
    allowed = role_of(settings, email)
    if st.session_state.get(_AUDITED_KEY) != email:
        st.session_state[_AUDITED_KEY] = email
        _audit(settings, email, f"ok: {allowed}" if allowed else "refused: not on the allow-list")
    return allowed


def gate(settings: Settings) -> None:
    """What a session without access sees: the provider's sign-in button, or why it was refused."""
    st.title("roastbot console")
    email = signed_in_email()
    if not st.user.is_logged_in:
        if not _provider_configured():
            st.error(
                "CONSOLE_AUTH=oidc, but no identity provider is configured: add an `[auth]` table "
                "to `.streamlit/secrets.toml` (README: Console sign-in)."
            )
            return
        st.caption("Sign in with your organisation's account.")
        if st.button("Sign in", type="primary"):
            try:
                st.login()
            except StreamlitAuthError as error:  # an incomplete [auth] table
                st.error(f"OIDC sign-in is misconfigured: {safe(error)}")
        return
    if not email:
        st.error("The identity provider did not vouch for an e-mail address: nobody to let in.")
    else:
        st.error(
            f"{safe(email)} may not use this console. An operator adds it to CONSOLE_OPERATORS "
            "or CONSOLE_VIEWERS."
        )
    st.button("Sign out", on_click=st.logout)


def _provider_configured() -> bool:
    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # no secrets.toml at all
        return False


def sidebar(settings: Settings) -> None:
    """Who is signed in, as what, and the way out."""
    st.caption(f"Signed in as {safe(signed_in_email())} ({safe(role(settings) or 'no role')})")
    if role(settings) == VIEWER:
        st.caption("Viewers see every page; commands need an operator.")
    st.button("Sign out", on_click=st.logout)


def _audit(settings: Settings, email: str, result: str) -> None:
    (log.info if result.startswith("ok") else log.warning)("OIDC sign-in as %r: %s", email, result)
    client, keys = console_redis(settings)
    try:
        Control(client, keys).audit(email, "sign_in", result, provider="oidc")
    except redis.RedisError:
        log.warning("OIDC sign-in as %r not audited: Redis is unreachable", email)

"""Who may see the console: loopback only without a password, everyone else logs in.

Streamlit listens on every interface unless ``--server.address`` says otherwise, so an
unset address counts as exposed. With ``CONSOLE_PASSWORD`` set nothing renders before
the password form is passed; the password is compared in constant time and never shown.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

import streamlit as st

from roastbot.settings import Settings

_SESSION_KEY = "console_access"


def is_loopback(address: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost; an unset address means every interface."""
    if not address:
        return False
    if address.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def _password_tag(password: str) -> str:
    # The session remembers which password it passed, so changing the password logs everyone out.
    return hashlib.sha256(b"roastbot-console:" + password.encode()).hexdigest()


def granted(settings: Settings) -> bool:
    """Whether this session may see the console (no UI)."""
    password = settings.console_password.get_secret_value()
    if not password:
        return is_loopback(st.get_option("server.address"))
    return st.session_state.get(_SESSION_KEY) == _password_tag(password)


def gate(settings: Settings) -> None:
    """Render what a session without access sees: the refusal or the password form."""
    password = settings.console_password.get_secret_value()
    if not password:
        address = st.get_option("server.address") or "every interface (no --server.address)"
        st.error(
            f"The console refuses to run: it is served on {address} without a password. "
            "Set CONSOLE_PASSWORD, or bind it to 127.0.0.1 "
            "(`streamlit run app/main.py --server.address 127.0.0.1`; `make up` does this)."
        )
        return
    st.title("roastbot console")
    with st.form("login"):
        name = st.text_input("Your name (for the audit log)", key="login_name")
        entered = st.text_input("Password", type="password", key="login_password")
        submitted = st.form_submit_button("Sign in")
    if submitted:
        if hmac.compare_digest(entered.encode(), password.encode()):
            st.session_state[_SESSION_KEY] = _password_tag(password)
            st.session_state["operator"] = name.strip() or "operator"
            st.rerun()
        st.error("Wrong password.")


def sign_out() -> None:
    st.session_state.pop(_SESSION_KEY, None)

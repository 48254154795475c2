"""Who may see the console: loopback only without a password, everyone else signs in (with
the password, or with OIDC under ``CONSOLE_AUTH=oidc``: ``app.identity``).

Streamlit listens on every interface unless ``--server.address`` says otherwise, so an
unset address counts as exposed. With ``CONSOLE_PASSWORD`` set nothing renders before the
password form is passed; the password is compared in constant time and never shown, every
attempt is audited (never the password), failures are budgeted per client and globally
(``roastbot.signin``), and a signed, expiring cookie keeps the session across a reload or
a typed URL.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import logging
import math
import re
import time

import redis
import streamlit as st

from app import identity
from app.connections import console_redis
from app.roles import OPERATOR
from app.untrusted import safe
from roastbot.control import Control
from roastbot.logs import configure_logging
from roastbot.settings import Settings
from roastbot.signin import SessionTokens, SignInGuard

ROLE_KEY = "console_role"  # set by granted() on every run; no widget has this key
_SESSION_KEY = "console_access"
_TOKEN_KEY = "console_session"
_COOKIE = "roastbot_console"
_SET_COOKIE_KEY = "console_set_cookie"  # the cookie to write on the next render ("" clears it)
_TOKEN_CHARACTERS = re.compile(r"[A-Za-z0-9._-]*")
OFFLINE_DELAY_S = 2.0  # each attempt's cost while Redis (and so the budget) is unreachable
log = logging.getLogger("roastbot.console.access")


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


@functools.cache
def _logging_for(secrets: tuple[str, ...]) -> None:
    configure_logging("console", secrets, logger=log.name)


def _tokens(settings: Settings) -> SessionTokens:
    client, keys = console_redis(settings)
    return SessionTokens(client, keys, settings.console_password.get_secret_value())


def granted(settings: Settings) -> bool:
    """Whether this session may see the console (no UI), remembering its role and identity for
    the pages and the commands."""
    if settings.console_auth == "oidc":
        role = identity.granted(settings)
        st.session_state[ROLE_KEY] = role
        if role is not None:
            st.session_state["operator"] = identity.signed_in_email()  # who commands are audited as
        return role is not None
    allowed = _granted_by_password(settings)
    st.session_state[ROLE_KEY] = OPERATOR if allowed else None  # one operator: whoever gets in
    return allowed


def may_command() -> bool:
    """Whether this session's role sends commands (pages show command buttons only then)."""
    return st.session_state.get(ROLE_KEY) == OPERATOR


def _granted_by_password(settings: Settings) -> bool:
    """Signed in with the password, or brought a valid cookie; loopback without a password."""
    password = settings.console_password.get_secret_value()
    if not password:
        return is_loopback(st.get_option("server.address"))
    if st.session_state.get(_SESSION_KEY) == _password_tag(password):
        return True
    token = st.context.cookies.get(_COOKIE)
    if not token:
        return False
    try:
        session = _tokens(settings).verify(token)
    except redis.RedisError:
        return False  # the cookie cannot be checked: the form asks for the password
    if session is None:
        return False
    st.session_state[_SESSION_KEY] = _password_tag(password)
    st.session_state[_TOKEN_KEY] = session
    st.session_state["operator"] = session.operator
    return True


def client_address() -> str | None:
    """The browser's address as the websocket saw it (None on loopback or when unknown)."""
    address = st.context.ip_address
    try:
        return str(ipaddress.ip_address(address)) if isinstance(address, str) else None
    except ValueError:
        return None


def gate(settings: Settings) -> None:
    """Render what a session without access sees: the refusal, the password form or the OIDC sign-in."""
    if settings.console_auth == "oidc":
        identity.gate(settings)
        return
    password = settings.console_password.get_secret_value()
    if not password:
        address = st.get_option("server.address") or "every interface (no --server.address)"
        st.error(
            f"The console refuses to run: it is served on {safe(address)} without a password. "
            "Set CONSOLE_PASSWORD, or bind it to 127.0.0.1 "
            "(`streamlit run app/main.py --server.address 127.0.0.1`; `make up` does this)."
        )
        return
    _logging_for(tuple(settings.secret_values()))
    write_cookie()
    st.title("roastbot console")
    with st.form("login"):
        name = st.text_input("Your name (for the audit log)", key="login_name")
        entered = st.text_input("Password", type="password", key="login_password")
        submitted = st.form_submit_button("Sign in")
    if submitted:
        _sign_in(settings, name.strip()[:80] or "operator", entered, password)


def _sign_in(settings: Settings, name: str, entered: str, password: str) -> None:
    address = client_address()
    client, keys = console_redis(settings)
    guard = SignInGuard(client, keys)
    try:
        wait = guard.wait_s(address)
    except redis.RedisError:
        wait = None  # no budget to consult: every attempt costs a fixed delay instead
        time.sleep(OFFLINE_DELAY_S)
    if wait:
        _audit(settings, name, address, "refused: too many failed sign-ins", wait_s=round(wait, 1))
        st.error(f"Too many failed sign-ins. Try again in {math.ceil(wait):d} s.")
        return
    if not hmac.compare_digest(entered.encode(), password.encode()):
        try:
            wait = guard.failed(address)
        except redis.RedisError:
            wait = 0.0
        _audit(settings, name, address, "refused: wrong password", next_wait_s=round(wait, 1))
        st.error("Wrong password." + (f" The next attempt must wait {math.ceil(wait):d} s." if wait else ""))
        return
    try:
        guard.succeeded(address)
        token, session = _tokens(settings).issue(name, settings.console_session_hours * 3600)
    except redis.RedisError:
        token, session = "", None  # signed in for this browser session only
    _audit(settings, name, address, "ok")
    st.session_state[_SESSION_KEY] = _password_tag(password)
    st.session_state[_TOKEN_KEY] = session
    st.session_state[_SET_COOKIE_KEY] = token
    st.session_state["operator"] = name
    st.rerun()


def _audit(settings: Settings, name: str, address: str | None, result: str, **details: object) -> None:
    """Every sign-in to the audit stream and the log: who said they were, from where, the outcome."""
    where = address or "loopback"
    (log.info if result == "ok" else log.warning)("sign-in from %s as %r: %s", where, name, result)
    client, keys = console_redis(settings)
    try:
        Control(client, keys).audit(name, "sign_in", result, client=where, **details)
    except redis.RedisError:
        log.warning("sign-in from %s not audited: Redis is unreachable", where)


def write_cookie() -> None:
    """Write (or clear) the session cookie once, after a sign-in or sign-out. Only our own token
    (base64url and dots) goes into the script."""
    token = st.session_state.pop(_SET_COOKIE_KEY, None)
    if token is None or not _TOKEN_CHARACTERS.fullmatch(token):
        return
    lifetime = f"max-age={int(max(0.0, token_expiry(token) - time.time()))}" if token else "max-age=0"
    st.html(
        "<script>document.cookie = "
        f"'{_COOKIE}={token}; path=/; SameSite=Strict; {lifetime}'"
        " + (location.protocol === 'https:' ? '; Secure' : '');</script>",
        unsafe_allow_javascript=True,
    )


def token_expiry(token: str) -> float:
    expires = token.split(".")[1] if token.count(".") == 4 else "0"
    return float(expires) if expires.isdigit() else 0.0


def sign_out(settings: Settings) -> None:
    session = st.session_state.pop(_TOKEN_KEY, None)
    if session is not None:
        try:
            _tokens(settings).revoke(session)
        except redis.RedisError:
            log.warning("sign-out: the session cookie could not be revoked (Redis is unreachable)")
    st.session_state.pop(_SESSION_KEY, None)
    st.session_state[_SET_COOKIE_KEY] = ""

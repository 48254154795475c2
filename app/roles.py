"""What a signed-in person may do: every page for both roles, commands for operators only.

With ``CONSOLE_AUTH=password`` the console has one operator (whoever has the password, or
loopback without one), so everyone who gets in is an operator. With ``CONSOLE_AUTH=oidc`` the
identity is the e-mail address the provider vouched for, looked up in the two allow-lists.
"""

from __future__ import annotations

from typing import Literal

from roastbot.settings import Settings

Role = Literal["operator", "viewer"]
OPERATOR: Role = "operator"
VIEWER: Role = "viewer"


def role_of(settings: Settings, identity: str) -> Role | None:
    """The identity's role, or None when it may not see the console at all."""
    if settings.console_auth != "oidc":
        return OPERATOR
    email = identity.strip().lower()
    if email in settings.console_operator_emails:
        return OPERATOR
    if email in settings.console_viewer_emails:
        return VIEWER
    return None


def command_refusal(settings: Settings, identity: str) -> str | None:
    """Why this identity may not send a command (None: it may)."""
    role = role_of(settings, identity)
    if role == OPERATOR:
        return None
    if role == VIEWER:
        return f"{identity} is a viewer: commands need an operator (CONSOLE_OPERATORS)"
    return f"{identity or 'an unknown identity'} is on no allow-list (CONSOLE_OPERATORS, CONSOLE_VIEWERS)"

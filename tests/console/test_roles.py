"""Roles under OIDC sign-in: the allow-lists decide, and every command checks the role itself
(refused and audited for a viewer, whatever the page showed)."""

from __future__ import annotations

import pytest
import redis
from pydantic import ValidationError

from app import data
from app.roles import OPERATOR, VIEWER, role_of
from roastbot.settings import Settings
from tests.console.conftest import keys_of

OPERATORS = "Olga@Example.com, ops2@example.com"
VIEWERS = "victor@example.com"


def oidc(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"console_auth": "oidc", "console_operators": OPERATORS, "console_viewers": VIEWERS}
    )


def test_the_allow_lists_give_the_role_and_keep_everyone_else_out() -> None:
    settings = Settings(console_auth="oidc", console_operators=OPERATORS, console_viewers=VIEWERS)
    assert role_of(settings, "olga@example.com") == OPERATOR  # addresses compare case-insensitively
    assert role_of(settings, "OPS2@example.com ") == OPERATOR
    assert role_of(settings, "victor@example.com") == VIEWER
    assert role_of(settings, "mallory@example.com") is None
    assert role_of(settings, "") is None
    assert role_of(Settings(), "anyone") == OPERATOR  # the password mode has one operator


def test_oidc_without_an_allow_list_is_refused() -> None:
    with pytest.raises(ValidationError, match="CONSOLE_OPERATORS"):
        Settings(console_auth="oidc")


def test_a_viewers_command_is_refused_and_audited(console: Settings, redis_client: redis.Redis) -> None:
    settings = oidc(console)
    keys = keys_of(settings)

    refused = data.fetch_now(settings, "victor@example.com")
    assert not refused.ok and refused.message.startswith("Refused: victor@example.com is a viewer")
    assert redis_client.llen(keys.fetch_now) == 0  # nothing reached the producer
    stranger = data.set_switch(settings, "mallory@example.com", "paused", True)
    assert not stranger.ok and "on no allow-list" in stranger.message
    assert redis_client.hgetall(keys.runtime) == {}
    assert data.fetch_now(settings, "olga@example.com").ok
    assert redis_client.llen(keys.fetch_now) == 1

    audit = [fields for _id, fields in redis_client.xrange(keys.audit)]
    assert [(a["actor"], a["action"], a["result"].split(":")[0]) for a in audit] == [
        ("victor@example.com", "fetch_now", "refused"),
        ("mallory@example.com", "set:paused", "refused"),
        ("olga@example.com", "fetch_now", "ok"),
    ]

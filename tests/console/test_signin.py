"""The console's sign-in: a failure budget in Redis with a growing delay, every attempt audited
(never the password), refusals on the Controls page, signed session cookies."""

from __future__ import annotations

import json

import pytest
import redis
from streamlit import config as streamlit_config
from streamlit.testing.v1 import AppTest

from roastbot.keys import RedisKeys
from roastbot.settings import Settings
from roastbot.signin import (
    FIRST_DELAY_S,
    FREE_FAILURES_GLOBAL,
    FREE_FAILURES_PER_CLIENT,
    MAX_DELAY_S,
    SessionTokens,
    SignInGuard,
)
from tests.console.conftest import ENTRY, keys_of, texts

PASSWORD = "correct horse battery"


@pytest.fixture
def guarded(console: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The console on a public address with a password (what a sign-in is for)."""
    previous = streamlit_config.get_option("server.address")
    streamlit_config.set_option("server.address", "0.0.0.0")
    monkeypatch.setenv("CONSOLE_PASSWORD", PASSWORD)
    yield console
    streamlit_config.set_option("server.address", previous)


def attempt(password: str, name: str = "mallory", app: AppTest | None = None) -> AppTest:
    """One sign-in through the form, in a fresh browser session unless ``app`` is given."""
    if app is None:
        app = AppTest.from_file(str(ENTRY), default_timeout=30).run()
    app.text_input(key="login_name").input(name)
    app.text_input(key="login_password").input(password)
    app.button[0].click().run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def sign_in_audit(client: redis.Redis, keys: RedisKeys) -> list[dict[str, str]]:
    return [f for _id, f in client.xrange(keys.audit) if f["action"] == "sign_in"]


# --- the budget and the tokens over real Redis ------------------------------------------------
def test_failures_are_free_then_each_blocks_twice_as_long(
    console: Settings, redis_client: redis.Redis
) -> None:
    guard = SignInGuard(redis_client, keys_of(console))
    now = 1_000_000.0
    waits = [guard.failed("203.0.113.7", now=now) for _ in range(FREE_FAILURES_PER_CLIENT + 4)]
    assert waits[:FREE_FAILURES_PER_CLIENT] == [0.0] * FREE_FAILURES_PER_CLIENT
    assert waits[FREE_FAILURES_PER_CLIENT:] == [FIRST_DELAY_S * 2**n for n in range(4)]
    assert guard.wait_s("203.0.113.7", now=now + 1) == pytest.approx(FIRST_DELAY_S * 8 - 1)
    assert guard.wait_s("198.51.100.1", now=now) == 0.0  # another client is not held up
    guard.succeeded("203.0.113.7")
    assert guard.wait_s("203.0.113.7", now=now) == 0.0


def test_the_delay_is_capped(console: Settings, redis_client: redis.Redis) -> None:
    guard = SignInGuard(redis_client, keys_of(console))
    waits = [guard.failed("203.0.113.8", now=0.0) for _ in range(FREE_FAILURES_PER_CLIENT + 30)]
    assert max(waits) == MAX_DELAY_S


def test_failures_from_many_addresses_block_everyone(console: Settings, redis_client: redis.Redis) -> None:
    guard = SignInGuard(redis_client, keys_of(console))
    for n in range(FREE_FAILURES_GLOBAL + 1):
        guard.failed(f"192.0.2.{n}", now=10.0)  # one failure each: no client is over its budget
    assert guard.wait_s("192.0.2.250", now=10.0) == FIRST_DELAY_S


def test_a_session_token_is_signed_expiring_and_revocable(
    console: Settings, redis_client: redis.Redis
) -> None:
    keys = keys_of(console)
    tokens = SessionTokens(redis_client, keys, PASSWORD)
    token, session = tokens.issue("ivan", 3600, now=1000.0)
    assert tokens.verify(token, now=2000.0) == session and session.operator == "ivan"
    assert tokens.verify(token, now=5000.0) is None  # expired
    body, mac = token.rsplit(".", 1)
    forged = body.replace(body.split(".")[3], "bWFsbG9yeQ") + "." + mac  # operator "mallory"
    assert tokens.verify(forged, now=2000.0) is None
    assert SessionTokens(redis_client, keys, "another password").verify(token, now=2000.0) is None
    for garbage in ("", "v1", "v1.x.y.z.w", "v1.9999999999.n.@@.@@", token + "x" * 2000):
        assert tokens.verify(garbage, now=2000.0) is None
    tokens.revoke(session, now=2000.0)
    assert tokens.verify(token, now=2000.0) is None
    redis_client.delete(keys.console_session_key)  # a new server key signs everyone out
    fresh, _ = tokens.issue("ivan", 3600, now=1000.0)
    assert tokens.verify(fresh, now=2000.0) is not None


# --- the form ---------------------------------------------------------------------------------
class FrozenClock:
    """The sign-in module's wall clock, standing still until a test moves it: how many attempts
    a delay lets through must not depend on how fast this machine runs the form."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


def test_25_wrong_passwords_are_slowed_audited_and_shown(
    guarded: Settings, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = keys_of(guarded)
    clock = FrozenClock(1_000_000.0)
    monkeypatch.setattr("roastbot.signin.time", clock)
    outcomes = []
    for _ in range(25):
        app = attempt(f"guess-{len(outcomes)}")  # each in a new browser session
        outcomes.append(" ".join(e.value for e in app.error))
    wrong = [o for o in outcomes if o.startswith("Wrong password")]
    slowed = [o for o in outcomes if o.startswith("Too many failed sign-ins")]
    # The free failures, then one more checked attempt that starts the first delay: the rest of
    # the 25, typed before that delay passed, were refused without looking at the password.
    assert len(wrong) == FREE_FAILURES_PER_CLIENT + 1
    assert outcomes[FREE_FAILURES_PER_CLIENT].endswith(f"The next attempt must wait {FIRST_DELAY_S:.0f} s.")
    assert len(slowed) == 25 - len(wrong)
    audit = sign_in_audit(redis_client, keys)
    assert len(audit) == 25
    assert {a["result"] for a in audit} == {"refused: wrong password", "refused: too many failed sign-ins"}
    assert all(a["actor"] == "mallory" and json.loads(a["details"])["client"] == "loopback" for a in audit)
    assert not any("guess-" in json.dumps(a) for a in audit)  # the password is never recorded

    # The right password while blocked is refused too; once the delay passed it works.
    assert "Too many failed sign-ins" in " ".join(e.value for e in attempt(PASSWORD, "ivan").error)
    guard = SignInGuard(redis_client, keys)
    clock.now += FIRST_DELAY_S
    assert guard.wait_s(None, now=clock.now) == 0.0
    app = attempt(PASSWORD, "ivan")
    assert [t.value for t in app.title] == ["Overview"]
    assert sign_in_audit(redis_client, keys)[-1]["result"] == "ok"

    app.switch_page("views/controls.py").run()
    shown = texts(app)
    assert "Sign-in refusals" in shown and "too many failed sign-ins" in shown and "mallory" in shown
    assert "guess-" not in shown


def test_the_right_password_signs_in_and_is_audited(guarded: Settings, redis_client: redis.Redis) -> None:
    app = attempt(PASSWORD, "ivan")
    assert [t.value for t in app.title] == ["Overview"] and app.session_state["operator"] == "ivan"
    [entry] = sign_in_audit(redis_client, keys_of(guarded))
    assert entry["result"] == "ok" and entry["actor"] == "ivan" and PASSWORD not in json.dumps(entry)

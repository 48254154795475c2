"""The console in Chromium behind a password, against a whole sandbox stack: a reload and a typed
URL keep the operator signed in; forged Markdown from X, Kafka, Redis and the operator shows as
text and makes the browser fetch nothing; 25 wrong passwords are slowed and audited."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import httpx
import pytest

from app.untrusted import WORD_JOINER
from roastbot.dead_letters import DeadLetter, dead_letter_headers
from roastbot.holds import Holds
from roastbot.kafka_wiring import make_producer
from roastbot.keys import RedisKeys
from roastbot.redis_conn import connect_redis
from roastbot.signin import FIRST_DELAY_S, FREE_FAILURES_PER_CLIENT, SignInGuard
from tests.console.seeding import read_topic, source
from tests.e2e.test_console_browser import (
    HEADINGS,
    PAGES,
    UI_TIMEOUT_MS,
    answers,
    page_not_found,
    screenshot,
    visible_text,
    wait_until_idle,
)
from tests.helpers import wait_for
from tests.stack_fixture import RunningStack, running_stack

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

PASSWORD = "correct horse battery staple"
TRACKER = "http://127.0.0.1:9/"  # nothing listens there: any request to it is the leak
FORGED = (
    f"![pixel]({TRACKER}track.png) [open me]({TRACKER}phish) <img src={TRACKER}raw.png> "
    f"{TRACKER}bare www.tracker-example.test/p me@tracker-example.test **bold** :red[red] $x^2$"
)
FORGED_URL_PARTS = ("127.0.0.1:9/", "tracker-example.test")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with running_stack(
        tmp_path_factory.mktemp("console-security"),
        console=True,
        CONSOLE_PASSWORD=PASSWORD,
        PER_AUTHOR_LIMIT_PER_HOUR="0",
    ) as running:
        wait_for(lambda: answers(running.x, "/sandbox/health"), 30, "the X sandbox to answer")
        with httpx.Client(base_url=running.console_url, timeout=5) as console:
            wait_for(lambda: answers(console, "/_stcore/health"), 30, "the console to answer")
        yield running


@pytest.fixture
def context(browser: object) -> Iterator[object]:
    opened = browser.new_context(viewport={"width": 1500, "height": 1100})  # type: ignore[attr-defined]
    opened.set_default_timeout(UI_TIMEOUT_MS)
    yield opened
    opened.close()


def sign_in_form(page: object, stack: RunningStack, path: str = "") -> None:
    page.goto(f"{stack.console_url}/{path}")  # type: ignore[attr-defined]
    expect(page.get_by_role("heading", name="roastbot console")).to_be_visible()  # type: ignore[attr-defined]
    wait_until_idle(page)


def sign_in(page: object, stack: RunningStack, password: str, name: str = "ivan") -> None:
    """Fill the form and submit; callers wait for what must follow."""
    page.get_by_label("Your name (for the audit log)").fill(name)  # type: ignore[attr-defined]
    page.get_by_label("Password", exact=True).fill(password)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]


def session_cookies(page: object) -> list[dict[str, object]]:
    return [c for c in page.context.cookies() if c["name"] == "roastbot_console"]  # type: ignore[attr-defined]


def signed_in(page: object) -> list[dict[str, object]]:
    """The Overview after a sign-in, and the session cookie the browser got with it."""
    expect(heading(page, "overview")).to_be_visible()
    return wait_for(lambda: session_cookies(page), 10, "the session cookie")


def heading(page: object, name: str) -> object:
    return page.get_by_role("heading", name=HEADINGS[name]).first  # type: ignore[attr-defined]


def sign_ins(stack: RunningStack) -> list[dict[str, str]]:
    client = connect_redis(stack.settings)
    entries = client.xrange(RedisKeys.of(stack.settings).audit)
    return [fields for _id, fields in entries if fields["action"] == "sign_in"]


# --- the scenarios (in file order: the wrong passwords come last, they block sign-in) --------
def test_a_reload_and_a_typed_url_keep_the_operator_signed_in(stack: RunningStack, context: object) -> None:
    page = context.new_page()  # type: ignore[attr-defined]
    sign_in_form(page, stack)
    sign_in(page, stack, PASSWORD)
    [cookie] = signed_in(page)
    assert cookie["sameSite"] == "Strict"
    assert 0 < cookie["expires"] - time.time() <= 12 * 3600 + 60
    assert PASSWORD not in cookie["value"]

    page.reload()
    expect(heading(page, "overview")).to_be_visible()
    page.goto(f"{stack.console_url}/{PAGES['controls']}")  # typed in the address bar
    expect(heading(page, "controls")).to_be_visible()
    expect(page.get_by_role("heading", name="roastbot console")).to_have_count(0)

    # A second tab of the same browser is signed in too; a new browser is not.
    other_tab = context.new_page()  # type: ignore[attr-defined]
    other_tab.goto(f"{stack.console_url}/{PAGES['roasts']}")
    expect(heading(other_tab, "roasts")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="roastbot console")).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name="roastbot console")).to_be_visible()
    assert [e["result"] for e in sign_ins(stack)] == ["ok"]


def test_a_typed_url_shows_the_sign_in_then_its_page(stack: RunningStack, context: object) -> None:
    page = context.new_page()  # type: ignore[attr-defined]
    for name in ("dead_letters", "controls"):
        context.clear_cookies()  # type: ignore[attr-defined]
        sign_in_form(page, stack, PAGES[name])
        expect(page_not_found(page)).to_have_count(0)
        expect(heading(page, name)).to_have_count(0)
        sign_in(page, stack, PASSWORD)
        expect(heading(page, name)).to_be_visible()  # the page asked for, not the Overview
        wait_until_idle(page)
        expect(page_not_found(page)).to_have_count(0)
        assert page.url == f"{stack.console_url}/{PAGES[name]}"


def test_forged_markup_from_every_source_shows_as_text_and_fetches_nothing(
    stack: RunningStack, context: object
) -> None:
    settings = stack.settings
    client = connect_redis(settings)
    keys = RedisKeys.of(settings)
    kafka = make_producer(settings)
    # Kafka: a mention whose author "username" is Markdown (the consumer dead-letters it) ...
    now = "2026-11-30T12:00:00Z"
    mention = {"id": "1900000000000000123", "text": FORGED, "author_id": "42", "conversation_id": "1"}
    mention |= {"created_at": now, "processed_at": now, "author": {"id": "42", "username": FORGED}}
    kafka.produce(settings.kafka_topic_mentions, key=b"1", value=json.dumps(mention).encode())
    assert kafka.flush(15) == 0
    wait_for(lambda: read_topic(settings, settings.kafka_topic_dlq), 60, "the forged mention dead-lettered")
    # ... and a dead letter whose reason, error and source are Markdown (the newest: the detail).
    forged_headers = dead_letter_headers(DeadLetter(FORGED, FORGED, 3, time.time()), source(FORGED, 0, 0))
    kafka.produce(settings.kafka_topic_dlq, key=b"k", value=FORGED.encode(), headers=forged_headers)
    assert kafka.flush(15) == 0
    # X: a mention's text and a posting hold in X's words; Redis: a roast record.
    x_mention = stack.x.post("/sandbox/mentions", json={"text": f"roast this {FORGED}"}).json()["ids"][0]
    wait_for(lambda: client.hget(keys.mention_state(x_mention), "state") == "posted", 60, "the reply")
    record = {"at": time.time(), "status": "posted", "author": FORGED, "mention": FORGED, "reason": FORGED}
    client.lpush(keys.recent_roasts, json.dumps({**record, "mention_id": "77", "worker": FORGED}))
    Holds(client, keys).raise_hold(FORGED, FORGED, FORGED)

    requested: list[str] = []
    page = context.new_page()  # type: ignore[attr-defined]
    page.on("request", lambda request: requested.append(request.url))
    sign_in_form(page, stack)
    sign_in(page, stack, PASSWORD)
    signed_in(page)
    banner = page.get_by_test_id("stAlertContentError").filter(has_text="Posting is on hold").first
    expect(banner).to_be_visible()
    assert FORGED in banner.inner_text().replace(WORD_JOINER, "")  # X's words, as they were
    for name in ("overview", "roasts", "dead_letters", "approvals", "controls", "processes"):
        page.goto(f"{stack.console_url}/{PAGES[name]}")
        expect(heading(page, name)).to_be_visible()
        wait_until_idle(page)
        if name == "controls":  # an operator types Markdown as a blocked author
            page.get_by_label("Author id or username to add").first.fill(FORGED)
            page.get_by_role("button", name="Add", exact=True).first.click()
            expect(visible_text(page, re.compile(r"added to the")).first).to_be_visible()
        for part in FORGED_URL_PARTS:
            expect(page.locator(f'a[href*="{part}"], img[src*="{part}"]')).to_have_count(0)
        screenshot(page, f"forged-{name}")
    leaked = [url for url in requested if any(part in url for part in FORGED_URL_PARTS)]
    assert leaked == []
    assert any(url.startswith(stack.console_url) for url in requested)  # the listener listened
    # The forged text was on the pages, as text.
    page.goto(f"{stack.console_url}/{PAGES['dead_letters']}")
    expect(visible_text(page, f"![pixel]({TRACKER}track.png)").first).to_be_visible()
    Holds(client, keys).lift()


def test_wrong_passwords_are_slowed_and_audited(stack: RunningStack, browser: object) -> None:
    # How many guesses a delay lets through is counted with a frozen clock in
    # tests/console/test_signin.py; here: what a browser shows, and what the audit keeps.
    before = len(sign_ins(stack))
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    outcomes = []
    for number in range(FREE_FAILURES_PER_CLIENT + 1):  # no delay is in force before the last
        sign_in_form(page, stack)  # each load is a new Streamlit session: nothing carried over
        sign_in(page, stack, f"guess-{number}", name="mallory")
        answer = page.get_by_test_id("stAlertContentError").first
        expect(answer).to_be_visible()
        outcomes.append(answer.inner_text())
    context.close()
    assert outcomes[:-1] == ["Wrong password."] * FREE_FAILURES_PER_CLIENT
    assert outcomes[-1] == f"Wrong password. The next attempt must wait {FIRST_DELAY_S:.0f} s."

    # With the form open, two more failures from this client (as a guesser would add) block it
    # for 4 s: the right password typed now is refused without being checked.
    page = browser.new_context().new_page()  # type: ignore[attr-defined]
    sign_in_form(page, stack)
    guard = SignInGuard(connect_redis(stack.settings), RedisKeys.of(stack.settings))
    guard.failed(None)
    assert guard.failed(None) == pytest.approx(4 * FIRST_DELAY_S, abs=0.01)
    sign_in(page, stack, PASSWORD)
    expect(visible_text(page, re.compile(r"Too many failed sign-ins"))).to_be_visible()
    attempts = sign_ins(stack)[before:]
    assert [a["result"] for a in attempts] == ["refused: wrong password"] * len(outcomes) + [
        "refused: too many failed sign-ins"
    ]
    assert all(a["actor"] == "mallory" for a in attempts[:-1]) and attempts[-1]["actor"] == "ivan"
    assert not any("guess-" in json.dumps(a) for a in attempts)

    wait_for(lambda: guard.wait_s(None) == 0, 30, "the sign-in delay to pass")
    sign_in_form(page, stack)
    sign_in(page, stack, PASSWORD)
    signed_in(page)
    page.goto(f"{stack.console_url}/{PAGES['controls']}")
    expect(heading(page, "controls")).to_be_visible()
    expect(page.get_by_role("heading", name="Sign-in refusals")).to_be_visible()
    expect(visible_text(page, re.compile(r"The newest \d+ refused sign-ins"))).to_be_visible()
    screenshot(page, "sign-in-refusals")

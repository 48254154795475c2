"""The console behind OIDC sign-in (st.login) against a real OIDC provider started here, in
Chromium: an operator commands, a viewer sees every page and no command button, an address on
no allow-list is turned away, each sign-in and command is audited under the provider's
e-mail address, and a viewer's forged click (sent over its own websocket) changes nothing."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator

import httpx
import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from app.untrusted import WORD_JOINER
from roastbot.keys import RedisKeys
from roastbot.redis_conn import connect_redis
from tests.e2e.oidc_provider import OidcProvider, oidc_provider
from tests.e2e.test_console_browser import (
    HEADINGS,
    PAGES,
    UI_TIMEOUT_MS,
    answers,
    screenshot,
    visible_text,
    wait_until_idle,
)
from tests.helpers import wait_for
from tests.stack_fixture import RunningStack, running_stack

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

OPERATOR = "olga@example.com"
VIEWER = "victor@example.com"
STRANGER = "mallory@example.com"
# Every command button of the console, by label (a viewer must see none of them).
COMMAND_BUTTONS = {
    "controls": [
        "Fetch now",
        "Pause consumers",
        "Resume consumers",
        "Apply",
        "Use configured",
        "Add",
        "Remove",
    ],
    "processes": ["Start", "Stop", "Restart", "Start all", "Stop all", "Restart all"],
}


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    with oidc_provider(tmp_path_factory.mktemp("oidc") / "provider.log") as running:
        yield running


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, provider: OidcProvider) -> Iterator[RunningStack]:
    secrets_file = tmp_path_factory.mktemp("console-oidc") / "secrets.toml"
    secrets_file.write_text(
        "[auth]\n"
        'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'  # Streamlit fills in its port
        f'cookie_secret = "{secrets.token_urlsafe(32)}"\n'
        'client_id = "roastbot-console"\n'
        f'client_secret = "{secrets.token_urlsafe(16)}"\n'
        f'server_metadata_url = "{provider.metadata_url}"\n'
    )
    with running_stack(
        secrets_file.parent,
        console=True,
        CONSOLE_AUTH="oidc",
        CONSOLE_OPERATORS=OPERATOR,
        CONSOLE_VIEWERS=VIEWER,
        STREAMLIT_SECRETS_FILES=str(secrets_file),
        PER_AUTHOR_LIMIT_PER_HOUR="0",
    ) as running:
        with httpx.Client(base_url=running.console_url, timeout=5) as console:
            wait_for(lambda: answers(console, "/_stcore/health"), 30, "the console to answer")
        yield running


FIRST_RENDER_TIMEOUT_MS = 90_000


def as_shown(text: str) -> str:
    """An address as the console writes it: a word joiner after each "@" and "." (ui.safe)."""
    return re.sub(r"([@.])", rf"\1{WORD_JOINER}", text)


def new_page(browser: object) -> object:
    context = browser.new_context(viewport={"width": 1500, "height": 1100})  # type: ignore[attr-defined]
    context.set_default_timeout(UI_TIMEOUT_MS)
    return context.new_page()


def sign_in(page: object, stack: RunningStack, email: str) -> None:
    """The console's sign-in button, then the provider's login page with the e-mail claim."""
    page.goto(stack.console_url)  # type: ignore[attr-defined]
    # The first session of a new console imports the page modules (pandas, altair): on a
    # loaded machine that alone can pass the usual 30 s.
    heading = page.get_by_role("heading", name="roastbot console")  # type: ignore[attr-defined]
    expect(heading).to_be_visible(timeout=FIRST_RENDER_TIMEOUT_MS)
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]
    expect(page.get_by_role("heading", name="Mock OAuth2 Server Sign-in")).to_be_visible()  # type: ignore[attr-defined]
    page.locator("input[name=username]").fill(email.split("@")[0])  # type: ignore[attr-defined]
    claims = {"email": email, "email_verified": True}
    page.locator("textarea[name=claims]").fill(json.dumps(claims))  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign-in").click()  # type: ignore[attr-defined]


def open_page(page: object, stack: RunningStack, name: str) -> None:
    page.goto(f"{stack.console_url}/{PAGES[name]}")  # type: ignore[attr-defined]
    expect(page.get_by_role("heading", name=HEADINGS[name]).first).to_be_visible()  # type: ignore[attr-defined]
    wait_until_idle(page)


def audit(stack: RunningStack) -> list[dict[str, str]]:
    client = connect_redis(stack.settings)
    return [fields for _id, fields in client.xrange(RedisKeys.of(stack.settings).audit)]


def fetch_now_audited(stack: RunningStack, since: int) -> list[tuple[str, str]]:
    """Who fetched now (and the outcome) in the audit entries after the first ``since``."""
    return [(a["actor"], a["result"]) for a in audit(stack)[since:] if a["action"] == "fetch_now"]


def test_an_operator_commands_a_viewer_only_looks_a_stranger_is_turned_away(
    stack: RunningStack, browser: object
) -> None:
    operator = new_page(browser)
    sign_in(operator, stack, OPERATOR)
    expect(operator.get_by_role("heading", name="Overview").first).to_be_visible()  # type: ignore[attr-defined]
    open_page(operator, stack, "controls")
    expect(visible_text(operator, f"Signed in as {as_shown(OPERATOR)} (operator)")).to_be_visible()
    expect(operator.get_by_label("Acting as")).to_have_count(0)  # type: ignore[attr-defined]
    operator.get_by_role("button", name="Fetch now", exact=True).click()  # type: ignore[attr-defined]
    expect(visible_text(operator, "Asked the producer to poll X now.")).to_be_visible()

    viewer = new_page(browser)
    sign_in(viewer, stack, VIEWER)
    expect(viewer.get_by_role("heading", name="Overview").first).to_be_visible()  # type: ignore[attr-defined]
    for name in PAGES:
        open_page(viewer, stack, name)
        for label in [*COMMAND_BUTTONS.get(name, []), "Lift hold", "Approve", "Reject", "Replay this one"]:
            expect(viewer.get_by_role("button", name=label, exact=True)).to_have_count(0)  # type: ignore[attr-defined]
        screenshot(viewer, f"viewer-{name}")
    expect(visible_text(viewer, f"Signed in as {as_shown(VIEWER)} (viewer)")).to_be_visible()

    stranger = new_page(browser)
    sign_in(stranger, stack, STRANGER)
    expect(visible_text(stranger, f"{as_shown(STRANGER)} may not use this console.")).to_be_visible()
    expect(stranger.get_by_role("heading", name="Overview")).to_have_count(0)  # type: ignore[attr-defined]

    entries = [(a["actor"], a["action"], a["result"]) for a in audit(stack)]
    assert (OPERATOR, "sign_in", "ok: operator") in entries
    assert (VIEWER, "sign_in", "ok: viewer") in entries
    assert (STRANGER, "sign_in", "refused: not on the allow-list") in entries
    assert (OPERATOR, "fetch_now", "ok") in entries


class Relay:
    """Passes a page's websocket through, keeping what the server sent and a way to send more."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.server: object | None = None

    def __call__(self, socket: object) -> None:
        server = socket.connect_to_server()  # type: ignore[attr-defined]
        self.server = server
        socket.on_message(server.send)  # type: ignore[attr-defined]

        def from_server(message: str | bytes) -> None:
            if isinstance(message, bytes):
                self.received.append(message)
            socket.send(message)  # type: ignore[attr-defined]

        server.on_message(from_server)

    def messages(self) -> list[ForwardMsg]:
        parsed = []
        for raw in list(self.received):
            message = ForwardMsg()
            message.ParseFromString(raw)
            parsed.append(message)
        return parsed

    def runs_finished(self) -> int:
        return sum(m.WhichOneof("type") == "script_finished" for m in self.messages())


def widget_and_page(relay: Relay, label: str, url_path: str) -> tuple[str, str]:
    """From what the server sent a browser: the id of the button labelled ``label`` and the
    script hash of the page at ``url_path``."""
    widget_id = page_hash = ""
    for message in relay.messages():
        if message.WhichOneof("type") == "navigation":
            page_hash = next(
                (p.page_script_hash for p in message.navigation.app_pages if p.url_pathname == url_path),
                page_hash,
            )
        elif (
            message.WhichOneof("type") == "delta" and message.delta.new_element.WhichOneof("type") == "button"
        ):
            button = message.delta.new_element.button
            widget_id = button.id if button.label == label else widget_id
    return widget_id, page_hash


def test_a_viewers_forged_click_on_fetch_now_changes_nothing(stack: RunningStack, browser: object) -> None:
    # What an operator's browser is told: the Fetch now button's widget id and the page's hash.
    operator_socket = Relay()
    operator = new_page(browser)
    operator.route_web_socket("**/_stcore/stream", operator_socket)  # type: ignore[attr-defined]
    sign_in(operator, stack, OPERATOR)
    open_page(operator, stack, "controls")
    widget_id, controls_hash = widget_and_page(operator_socket, "Fetch now", PAGES["controls"])
    assert widget_id.endswith("-fetch_now") and controls_hash
    forged = BackMsg()
    forged.rerun_script.page_script_hash = controls_hash
    click = forged.rerun_script.widget_states.widgets.add()
    click.id = widget_id
    click.trigger_value = True
    # The message is a working click: over the operator's websocket it fetches now (audited).
    before_audit = len(audit(stack))
    operator_socket.server.send(forged.SerializeToString())  # type: ignore[union-attr]
    wait_for(
        lambda: operator.evaluate("true") and fetch_now_audited(stack, before_audit),  # type: ignore[attr-defined]
        30,
        "the operator's forged click to fetch now",
    )
    assert fetch_now_audited(stack, before_audit) == [(OPERATOR, "ok")]

    # The viewer's own signed-in websocket carries a click on that button.
    viewer_socket = Relay()
    viewer = new_page(browser)
    viewer.route_web_socket("**/_stcore/stream", viewer_socket)  # type: ignore[attr-defined]
    sign_in(viewer, stack, VIEWER)
    open_page(viewer, stack, "controls")
    assert widget_and_page(viewer_socket, "Fetch now", PAGES["controls"])[0] == ""  # never shown
    before_audit, runs = len(audit(stack)), viewer_socket.runs_finished()
    viewer_socket.server.send(forged.SerializeToString())  # type: ignore[union-attr]
    # The server ran the forged rerun to its end (the browser is told each time a run finishes).
    # (Playwright delivers websocket events only inside its own calls: each poll makes one.)
    wait_for(
        lambda: viewer.evaluate("true") and viewer_socket.runs_finished() > runs,  # type: ignore[attr-defined]
        30,
        "the forged rerun to finish",
    )
    expect(viewer.get_by_role("heading", name="Controls").first).to_be_visible()  # type: ignore[attr-defined]

    # Streamlit calls back only widgets it rendered for this session: the click has nothing to run.
    assert fetch_now_audited(stack, before_audit) == []

"""Access rules, secrets, and broken states: explained, never a stack trace."""

from __future__ import annotations

import pytest
from streamlit import config as streamlit_config
from streamlit.testing.v1 import AppTest

from roastbot.settings import Settings
from tests.console.conftest import CLOSED_PORT_URL, ENTRY, open_page, texts

PAGES = [
    None,
    "views/roasts.py",
    "views/dead_letters.py",
    "views/approvals.py",
    "views/controls.py",
    "views/processes.py",
]


@pytest.fixture
def exposed() -> object:
    previous = streamlit_config.get_option("server.address")
    streamlit_config.set_option("server.address", "0.0.0.0")
    yield
    streamlit_config.set_option("server.address", previous)


def test_refuses_to_render_on_a_public_address_without_password(console: Settings, exposed: object) -> None:
    app = open_page()
    assert len(app.error) == 1 and "refuses to run" in app.error[0].value
    assert "CONSOLE_PASSWORD" in app.error[0].value
    assert not app.title and not app.metric and not app.button and not app.dataframe


def test_password_form_before_anything_else(console: Settings, exposed: object, monkeypatch) -> None:
    monkeypatch.setenv("CONSOLE_PASSWORD", "correct horse battery")
    app = open_page()
    assert [t.value for t in app.title] == ["roastbot console"] and not app.metric
    # A page asked for by its URL is found, and the sign-in renders in its place.
    app.switch_page("views/controls.py").run()
    assert [t.value for t in app.title] == ["roastbot console"] and len(app.button) == 1

    app.text_input(key="login_password").input("correct horse")  # form values go with the submit
    app.button[0].click().run()
    assert any("Wrong password" in e.value for e in app.error) and not app.metric

    app.text_input(key="login_name").input("ivan")
    app.text_input(key="login_password").input("correct horse battery")
    app.button[0].click().run()
    assert [t.value for t in app.title] == ["Controls"]  # the page that was asked for
    assert app.session_state["operator"] == "ivan"
    # The name given at sign-in is who the audit log names: no box to act as someone else.
    assert "Acting as" not in [t.label for t in app.text_input] and "Signed in as ivan" in texts(app)
    assert "correct horse battery" not in texts(app)


@pytest.mark.parametrize("page", PAGES)
def test_redis_down_is_explained_on_every_page(console: Settings, monkeypatch, page: str | None) -> None:
    monkeypatch.setenv("REDIS_URL", f"redis://:hunter2-redis@{CLOSED_PORT_URL}/0")
    monkeypatch.setenv("SUPERVISOR_PASSWORD", "hunter2-supervisor")
    app = open_page(page)
    shown = texts(app)
    if page != "views/processes.py":  # the Processes page needs only Supervisor
        assert "Redis is unreachable" in shown and "make up" in shown
    else:
        assert "Supervisor is unreachable" in shown
    assert "hunter2" not in shown


def test_kafka_down_is_explained(console: Settings, monkeypatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", CLOSED_PORT_URL)
    overview = open_page()
    assert "Kafka is unreachable" in texts(overview) and "KAFKA_BOOTSTRAP_SERVERS" in texts(overview)
    assert overview.metric  # the Redis-backed numbers still show
    dead_letters = open_page("views/dead_letters.py")
    assert "Kafka is unreachable" in texts(dead_letters) and "make up" in texts(dead_letters)


def test_invalid_configuration_names_the_variable(console: Settings, monkeypatch) -> None:
    monkeypatch.setenv("REDIS_URL", "http://nope")
    app = open_page()
    assert "REDIS_URL" in texts(app) and not app.metric


@pytest.mark.parametrize("page", [p for p in PAGES if p])
def test_a_page_run_directly_still_asks_for_the_password(
    console: Settings, exposed: object, monkeypatch, page: str
) -> None:
    """A page file run on its own (not through the router) guards itself."""
    monkeypatch.setenv("CONSOLE_PASSWORD", "correct horse battery")
    app = AppTest.from_file(str(ENTRY.parent / page), default_timeout=30).run()
    assert not app.exception
    assert [t.value for t in app.title] == ["roastbot console"]
    assert [b.label for b in app.button] == ["Sign in"] and not app.dataframe and not app.metric

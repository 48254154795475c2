"""Console fixtures: the test settings handed to the app through the environment, AppTest
helpers, seeding through the core APIs, and a small private supervisord."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import xmlrpc.client
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import streamlit as st
from streamlit import config as streamlit_config
from streamlit.testing.v1 import AppTest

from app.untrusted import WORD_JOINER
from roastbot.keys import RedisKeys
from roastbot.models import Author, Mention
from roastbot.settings import Settings
from tests.helpers import free_port, wait_for

ENTRY = Path(__file__).resolve().parents[2] / "app" / "main.py"
CLOSED_PORT_URL = "127.0.0.1:1"  # nothing listens on port 1


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes the app build exactly these settings."""
    return {
        "REDIS_URL": settings.redis_url,
        "REDIS_KEY_PREFIX": settings.redis_key_prefix,
        "REDIS_CLUSTER": str(settings.redis_cluster).lower(),
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "KAFKA_TOPIC_MENTIONS": settings.kafka_topic_mentions,
        "KAFKA_TOPIC_DLQ": settings.kafka_topic_dlq,
        "KAFKA_CONSUMER_GROUP": settings.kafka_consumer_group,
        "KAFKA_PARTITIONS": str(settings.kafka_partitions),
        "ROASTER": "offline",
        "X_API_BASE_URL": settings.x_api_base_url,
        "CONSOLE_PASSWORD": "",
        "SUPERVISOR_URL": f"http://{CLOSED_PORT_URL}/RPC2",
        "SUPERVISOR_PASSWORD": "",
    }


@pytest.fixture
def server_address() -> Iterator[None]:
    """The console is served on loopback (what supervisord passes)."""
    previous = streamlit_config.get_option("server.address")
    streamlit_config.set_option("server.address", "127.0.0.1")
    yield
    streamlit_config.set_option("server.address", previous)


@pytest.fixture
def console(settings: Settings, monkeypatch: pytest.MonkeyPatch, server_address: None) -> Settings:
    """The app sees the test's private prefix and topics, in sandbox mode; returns those settings."""
    settings = settings.model_copy(update={"x_api_base_url": "http://127.0.0.1:8799"})
    for name, value in settings_env(settings).items():
        monkeypatch.setenv(name, value)
    st.cache_data.clear()
    return settings


def open_page(page: str | None = None, *, operator: str = "tester") -> AppTest:
    """Run the entry file, then switch to a page file (``views/roasts.py``) when given."""
    st.cache_data.clear()
    app = AppTest.from_file(str(ENTRY), default_timeout=30)
    app.session_state["operator"] = operator
    app.run()
    if page:
        app.switch_page(page).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def rerun(app: AppTest) -> AppTest:
    """Render again with fresh reads (state was seeded between runs)."""
    st.cache_data.clear()
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


MARKDOWN_KINDS = (
    "title",
    "header",
    "subheader",
    "markdown",
    "caption",
    "error",
    "warning",
    "info",
    "success",
)
_MARKDOWN_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def shown(markdown: str) -> str:
    """What a person reads of a Markdown source: backslash escapes and the invisible word
    joiners of ui.safe resolved."""
    return _MARKDOWN_ESCAPE.sub(r"\1", markdown).replace(WORD_JOINER, "")


def texts(app: AppTest) -> str:
    """Everything written on the page as a person reads it, for 'is it there' and 'is it never
    there' checks."""
    parts: list[str] = []
    for kind in MARKDOWN_KINDS:
        parts.extend(shown(str(element.value)) for element in getattr(app, kind))
    for kind in ("code", "text"):
        parts.extend(str(element.value) for element in getattr(app, kind))
    parts.extend(f"{m.label} {m.value}" for m in app.metric)
    for frame in app.dataframe:
        parts.append(frame.value.to_string())
    for frame in app.table:  # st.table renders Markdown in its cells
        parts.append(shown(frame.value.to_string()))
    return "\n".join(parts)


def metrics(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


# --- seeding through the core APIs ---------------------------------------------------------
def mention(mention_id: str, text: str, author: str = "alice", author_id: str = "42") -> Mention:
    now = datetime.now(UTC)
    return Mention(
        id=mention_id,
        text=text,
        author_id=author_id,
        conversation_id=mention_id,
        created_at=now,
        processed_at=now,
        author=Author(id=author_id, username=author),
    )


def keys_of(settings: Settings) -> RedisKeys:
    return RedisKeys.of(settings)


# --- a private supervisord -----------------------------------------------------------------
@dataclass
class Supervisor:
    url: str
    user: str
    password: str
    log_dir: Path

    def rpc(self) -> xmlrpc.client.ServerProxy:
        return xmlrpc.client.ServerProxy(f"http://{self.user}:{self.password}@{self.url.split('://')[1]}")

    def states(self) -> dict[str, str]:
        return {
            f"{p['group']}:{p['name']}": p["statename"] for p in self.rpc().supervisor.getAllProcessInfo()
        }


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[Supervisor]:
    """supervisord with two sleeping programs (one a two-process group) on a free port."""
    port = free_port()
    password = "sup-secret-" + str(port)
    conf = tmp_path / "supervisord.conf"
    sleeper = f"{sys.executable} -u -c \"import time; print('sleeper is up', flush=True); time.sleep(600)\""
    conf.write_text(
        textwrap.dedent(
            f"""
            [inet_http_server]
            port=127.0.0.1:{port}
            username=roastbot
            password={password}

            [supervisord]
            logfile={tmp_path}/supervisord.log
            pidfile={tmp_path}/supervisord.pid
            childlogdir={tmp_path}
            nodaemon=true

            [rpcinterface:supervisor]
            supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

            [program:producer]
            command={sleeper}
            startsecs=0
            stopwaitsecs=2
            stdout_logfile={tmp_path}/producer.log
            redirect_stderr=true

            [program:consumer]
            command={sleeper}
            process_name=%(program_name)s_%(process_num)02d
            numprocs=2
            startsecs=0
            stopwaitsecs=2
            stdout_logfile={tmp_path}/%(program_name)s_%(process_num)02d.log
            redirect_stderr=true
            """
        )
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "supervisor.supervisord", "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    handle = Supervisor(f"http://127.0.0.1:{port}/RPC2", "roastbot", password, tmp_path)
    try:

        def all_running() -> bool:
            try:
                states = handle.states()
            except (OSError, xmlrpc.client.Error):
                return False
            return len(states) == 3 and all(s == "RUNNING" for s in states.values())

        wait_for(all_running, 20, "supervisord and its programs")
        yield handle
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def redis_down_url() -> str:
    return f"redis://{CLOSED_PORT_URL}/0"

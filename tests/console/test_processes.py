"""Processes: Supervisor's programs over XML-RPC, with start, stop, restart and log tails."""

from __future__ import annotations

import pytest
import redis

from roastbot.settings import Settings
from tests.console.conftest import Supervisor, keys_of, open_page, shown, texts


@pytest.fixture
def with_supervisor(console: Settings, supervisor: Supervisor, monkeypatch: pytest.MonkeyPatch) -> Supervisor:
    monkeypatch.setenv("SUPERVISOR_URL", supervisor.url)
    monkeypatch.setenv("SUPERVISOR_USER", supervisor.user)
    monkeypatch.setenv("SUPERVISOR_PASSWORD", supervisor.password)
    return supervisor


def test_programs_start_stop_restart_and_log(
    with_supervisor: Supervisor, console: Settings, redis_client: redis.Redis
) -> None:
    supervisor = with_supervisor
    app = open_page("views/processes.py", operator="heidi")
    table = app.dataframe[0].value.set_index("program")
    assert set(table.index) == {"producer:producer", "consumer:consumer_00", "consumer:consumer_01"}
    assert set(table["state"]) == {"RUNNING"}
    assert app.button(key="start_producer:producer").disabled

    app.button(key="stop_consumer:consumer_01").click().run()
    assert supervisor.states()["consumer:consumer_01"] == "STOPPED"
    assert app.dataframe[0].value.set_index("program").loc["consumer:consumer_01", "state"] == "STOPPED"

    app.button(key="start_consumer:consumer_01").click().run()
    assert supervisor.states()["consumer:consumer_01"] == "RUNNING"

    pid_before = supervisor.rpc().supervisor.getProcessInfo("producer:producer")["pid"]
    app.button(key="restart_producer:producer").click().run()
    after = supervisor.rpc().supervisor.getProcessInfo("producer:producer")
    assert after["statename"] == "RUNNING" and after["pid"] != pid_before

    app.selectbox(key="log_program").set_value("producer:producer").run()
    assert "sleeper is up" in app.code[0].value

    actions = [(e["action"], e["result"]) for _id, e in redis_client.xrange(keys_of(console).audit)]
    assert actions == [("process:stop", "ok"), ("process:start", "ok"), ("process:restart", "ok")]
    assert supervisor.password not in texts(app)


def test_refused_action_is_reported_and_audited(
    with_supervisor: Supervisor, console: Settings, redis_client: redis.Redis
) -> None:
    app = open_page("views/processes.py")
    with_supervisor.rpc().supervisor.stopProcess("producer:producer")  # stopped behind the page's back
    app.button(key="stop_producer:producer").click().run()  # the button still showed "running"
    assert any("NOT_RUNNING" in shown(e.value) for e in app.error)
    entry = redis_client.xrevrange(keys_of(console).audit, count=1)[0][1]
    assert entry["action"] == "process:stop" and entry["result"].startswith("failed:")


def test_wrong_supervisor_password_is_explained(
    with_supervisor: Supervisor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPERVISOR_PASSWORD", "not-the-password")
    app = open_page("views/processes.py")
    page = texts(app)
    assert "Supervisor is unreachable" in page and "HTTP 401" in page and "SUPERVISOR_PASSWORD" in page
    assert "not-the-password" not in page


def test_group_restart_restarts_every_process_of_the_group(with_supervisor: Supervisor) -> None:
    rpc = with_supervisor.rpc().supervisor
    before = {info["name"]: info["pid"] for info in rpc.getAllProcessInfo() if info["group"] == "consumer"}
    app = open_page("views/processes.py")
    assert not any(b.key == "restart_producer:*" for b in app.button)  # one process: no group row
    app.button(key="restart_consumer:*").click().run()
    after = {info["name"]: info for info in rpc.getAllProcessInfo() if info["group"] == "consumer"}
    assert all(
        after[name]["statename"] == "RUNNING" and after[name]["pid"] != pid for name, pid in before.items()
    )

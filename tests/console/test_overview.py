"""Overview: workers, five-minute KPIs, charts, lag and the posting hold, from real Redis and Kafka."""

from __future__ import annotations

import time

import redis

from app.view_models import worker_board
from roastbot.holds import Holds
from roastbot.kafka_wiring import make_producer
from roastbot.quota import QuotaBook
from roastbot.settings import Settings
from roastbot.supervisor_rpc import Program
from roastbot.telemetry import Telemetry
from tests.console.conftest import keys_of, metrics, open_page, rerun, shown, texts
from tests.helpers import wait_for


def seed_activity(client: redis.Redis, settings: Settings) -> None:
    keys = keys_of(settings)
    consumer = Telemetry(client, keys, "consumer", worker_id="consumer-test-1")
    producer = Telemetry(client, keys, "producer", worker_id="producer-test-1")
    producer.count("published", 7)
    consumer.count("posted", 5)
    consumer.count("failed:roast_transient", 2)
    producer.count("producer_error:redis")
    for seconds in (1.2, 1.4, 1.6, 1.8, 7.0):  # four in (1, 2], one in (5, 10]
        consumer.observe_latency(seconds)
    QuotaBook(client, keys).record(
        "post",
        {
            "x-rate-limit-limit": "100",
            "x-rate-limit-remaining": "42",
            "x-rate-limit-reset": str(int(time.time()) + 600),
        },
    )


def test_overview_shows_workers_kpis_charts_and_lag(console: Settings, redis_client: redis.Redis) -> None:
    keys = keys_of(console)
    seed_activity(redis_client, console)
    Telemetry(redis_client, keys, "producer", worker_id="producer-live").heartbeat(
        30, status="polling", leader=1
    )
    Telemetry(redis_client, keys, "consumer", worker_id="consumer-paused").heartbeat(30, status="paused")
    gone = Telemetry(redis_client, keys, "consumer", worker_id="consumer-gone")
    gone.heartbeat(1, status="running")
    wait_for(lambda: not redis_client.exists(keys.heartbeat("consumer-gone")), 5, "the heartbeat to expire")
    producer = make_producer(console)
    for n in range(3):  # published but never consumed: the group lags by 3
        producer.produce(console.kafka_topic_mentions, value=b"{}", partition=n % 3)
    assert producer.flush(15) == 0

    app = open_page()

    shown = metrics(app)
    assert shown["Mentions in"] == "7"
    assert shown["Replies out"] == "5"
    assert shown["Errors"] == "3"
    assert shown["Latency p50"] == "1.6 s"  # 1 + (2 - 1) * 2.5 / 4
    assert shown["Latency p95"] == "8.8 s"  # 5 + (10 - 5) * 0.75
    assert shown["Consumer lag"] == "3"
    assert shown["Posting quota left"] == "42"
    assert "Posting quota: 42 left of 100; resets at" in texts(app)
    board = app.dataframe[0].value.set_index("worker")
    assert board.loc["producer-live", "state"] == "running"
    assert board.loc["consumer-paused", "state"] == "paused"
    assert board.loc["consumer-gone", "state"] == "stale"
    assert len(app.get("vega_lite_chart")) == 4  # throughput, errors, latency, lag
    assert "Supervisor is unreachable" in texts(app)  # explained, not fatal


def test_posting_hold_banner_and_audited_lift(console: Settings, redis_client: redis.Redis) -> None:
    keys = keys_of(console)
    Holds(redis_client, keys).raise_hold("automation_block", "This request looks like it might be automated")

    app = open_page(operator="carol")
    banner = next(shown(e.value) for e in app.error if "Posting is on hold" in e.value)
    assert "automation_block" in banner and "flagged the account as automated" in banner
    # X's words are shown as text, never as markup.
    assert any("looks like it might be automated" in t.value for t in app.text)

    app.button(key="lift_hold").click().run()

    assert Holds(redis_client, keys).active() == []
    entry = redis_client.xrevrange(keys.audit, count=1)[0][1]
    assert (entry["actor"], entry["action"], entry["result"]) == ("carol", "lift_posting_hold", "ok")
    assert not any("Posting is on hold" in e.value for e in app.error)
    assert any("Hold lifted (was: automation_block)" in shown(s.value) for s in app.success)


def test_a_refused_credential_is_named_on_the_banner(console: Settings, redis_client: redis.Redis) -> None:
    keys = keys_of(console)
    holds = Holds(redis_client, keys)
    holds.raise_hold(
        "unauthorized", "post: unauthorized: Unauthorized", "X_ACCESS_TOKEN and X_ACCESS_TOKEN_SECRET"
    )
    holds.raise_hold(
        "llm_auth", "llm refused the request: 401: Invalid API key provided.", "TOGETHER_API_KEY"
    )

    app = open_page()
    banners = [e.value for e in app.error if "on hold" in e.value]
    assert len(banners) == 2
    assert "Posting is on hold" in banners[0] and "X_ACCESS_TOKEN and X_ACCESS_TOKEN_SECRET" in banners[0]
    assert "Generating is on hold" in banners[1] and "TOGETHER_API_KEY" in banners[1]


def test_auto_refresh_can_be_switched_off(console: Settings) -> None:
    app = open_page()
    assert "every 5 s" in texts(app)
    app.toggle(key="overview_auto_refresh").set_value(False).run()
    assert "auto-refresh off" in texts(app)


def test_empty_state_is_explained(console: Settings) -> None:
    app = open_page()
    page = texts(app)
    assert "No worker has reported yet" in page and "make up" in page
    assert metrics(app)["Mentions in"] == "0"
    rerun(app)
    assert not app.exception


def test_worker_states_join_heartbeats_with_supervisor(
    console: Settings, redis_client: redis.Redis, supervisor, monkeypatch
) -> None:
    monkeypatch.setenv("SUPERVISOR_URL", supervisor.url)
    monkeypatch.setenv("SUPERVISOR_PASSWORD", supervisor.password)
    keys = keys_of(console)
    rpc = supervisor.rpc().supervisor
    pid = rpc.getProcessInfo("consumer:consumer_00")["pid"]
    Telemetry(redis_client, keys, "consumer", worker_id=f"consumer-host-{pid}").heartbeat(
        30, status="running", pid=pid, in_flight=32, buffered=7
    )
    rpc.stopProcess("consumer:consumer_01")

    board = open_page().dataframe[0].value.set_index("worker")

    assert board.loc[f"consumer-host-{pid}", ["state", "program", "supervisor"]].tolist() == [
        "running",
        "consumer:consumer_00",
        "RUNNING",
    ]
    assert board.loc[f"consumer-host-{pid}", ["in flight", "read ahead"]].tolist() == ["32", "7"]
    assert board.loc["consumer:consumer_01", "state"] == "stopped"
    assert board.loc["producer:producer", "state"] == "stale"  # running, but no heartbeat
    assert "consumer:consumer_00" not in board.index  # shown once, under its heartbeat


def test_overview_shows_the_quota_triage_queue(console: Settings, redis_client: redis.Redis) -> None:
    from roastbot.lifecycle import State
    from roastbot.mention_store import MentionStore, plant

    keys = keys_of(console)
    now = time.time()
    QuotaBook(redis_client, keys).record(
        "post",
        {
            "x-rate-limit-limit": "100",
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(int(now) + 7200),
        },
    )
    store = MentionStore(redis_client, keys, "consumer-test-1")
    for mention_id, minutes_old in (("501", 20), ("502", 3)):  # roasted, waiting for a slot
        created = now - minutes_old * 60
        plant(
            store,
            mention_id,
            [State.CLAIMED, State.GENERATING, State.READY],
            triage_score=repr(created),
            mention_created_at=f"{created:.3f}",
        )

    app = open_page()
    page = texts(app)

    assert "Quota triage (newest first): 2 waiting for a post slot, oldest 20 min old" in page
    assert "next slot: mention 502 (3 min old)" in page
    assert "arriving now would be skipped (quota_triage): its slot comes in 120 min" in page


def test_overview_lists_the_engagement_tracker(console: Settings, redis_client: redis.Redis) -> None:
    keys = keys_of(console)
    Telemetry(redis_client, keys, "tracker", worker_id="tracker-live").heartbeat(
        30, status="quota_floor", due=150
    )
    board = open_page().dataframe[0].value.set_index("worker")
    assert board.loc["tracker-live", ["role", "state", "status"]].tolist() == [
        "tracker",
        "running",
        "quota_floor",
    ]


def test_a_running_tracker_without_a_heartbeat_is_stale() -> None:
    silent = Program("tracker", "tracker", "RUNNING", 4242, "pid 4242", 0.0, 0.0, 0, "")
    board = worker_board([], [silent]).set_index("worker")
    assert board.loc["tracker:tracker", "state"] == "stale"

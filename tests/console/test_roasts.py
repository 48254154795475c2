"""Roasts: the recent records as a searchable, filterable table with links and a detail view."""

from __future__ import annotations

import time

import redis

from roastbot.lifecycle import State
from roastbot.mention_store import MentionStore, plant
from roastbot.settings import Settings
from roastbot.telemetry import Telemetry
from tests.console.conftest import keys_of, open_page, texts


def record(
    telemetry: Telemetry, mention_id: str, status: str, mention: str, roast: str, **extra: object
) -> None:
    telemetry.record_roast(
        {
            "mention_id": mention_id,
            "author_id": "42",
            "author": extra.pop("author", "alice"),
            "mention": mention,
            "roast": roast,
            "status": status,
            "at": time.time(),
            "worker": "consumer-test",
            **extra,
        }
    )


def test_roasts_table_filters_search_links_and_detail(console: Settings, redis_client: redis.Redis) -> None:
    keys = keys_of(console)
    telemetry = Telemetry(redis_client, keys, "consumer", worker_id="consumer-test")
    record(
        telemetry,
        "1001",
        "posted",
        "roast my sourdough",
        "Your starter has more life than you.",
        reply_id="9001",
        latency_s=2.5,
        roaster="offline",
        model="templates-v1",
    )
    record(telemetry, "1002", "skipped", "roast me", "", reason="author_limit", author="bob")
    record(telemetry, "1003", "dead_lettered", "roast my code", "", reason="retries_exhausted")
    states = MentionStore(redis_client, keys, "consumer-test", lease_s=30)
    path = [State.CLAIMED, State.GENERATING, State.READY, State.POSTING, State.POSTED]
    plant(states, "1001", path, reply_id="9001", roast="Your starter has more life than you.")

    app = open_page("views/roasts.py")

    table = app.dataframe[0].value
    assert list(table["mention"]) == ["roast my code", "roast me", "roast my sourdough"]  # newest first
    posted = table[table["status"] == "posted"].iloc[0]
    assert posted["roast"] == "Your starter has more life than you."
    assert posted["reply"] == f"{console.x_api_base_url}/sandbox/tweets/9001?format=html"
    assert (posted["roaster"], posted["model"], posted["latency_s"]) == ("offline", "templates-v1", 2.5)
    assert "3 of 3 recent roasts" in texts(app)

    app.multiselect(key="roasts_status").set_value(["skipped"]).run()
    assert list(app.dataframe[0].value["author"]) == ["@bob"]
    assert "author_limit" in app.dataframe[0].value["reason"].iloc[0]

    app.multiselect(key="roasts_status").set_value([]).run()
    app.text_input(key="roasts_search").input("SOURDOUGH").run()
    filtered = app.dataframe[0].value
    assert list(filtered["mention_id"] if "mention_id" in filtered else filtered["mention"]) == [
        "roast my sourdough"
    ]

    detail = texts(app)
    assert "Your starter has more life than you." in detail
    assert "offline / templates-v1" in detail
    assert any('"state":"posted"' in j.value.replace(" ", "") for j in app.get("json"))


def test_real_mode_links_to_x(console: Settings, redis_client: redis.Redis, monkeypatch) -> None:
    monkeypatch.setenv("X_API_BASE_URL", "")
    telemetry = Telemetry(redis_client, keys_of(console), "consumer", worker_id="consumer-test")
    record(telemetry, "1001", "posted", "roast me", "done", reply_id="9001")
    app = open_page("views/roasts.py")
    assert app.dataframe[0].value["reply"].iloc[0] == "https://x.com/i/web/status/9001"


def test_no_roasts_yet_is_explained(console: Settings) -> None:
    app = open_page("views/roasts.py")
    assert "No roasts yet" in texts(app)
    assert not app.dataframe


def test_roasts_filter_and_count_by_roaster_model_prompt_version_and_skeleton(
    console: Settings, redis_client: redis.Redis
) -> None:
    telemetry = Telemetry(redis_client, keys_of(console), "consumer", worker_id="consumer-test")
    llm = {"roaster": "openai", "model": "llama3.2"}
    record(telemetry, "2001", "posted", "roast my tabs", "Tabs v1.", **llm, prompt_version="persona-v1")
    record(telemetry, "2002", "posted", "roast my desk", "Desk v2.", **llm, prompt_version="persona-v2")
    record(
        telemetry, "2003", "skipped", "roast my cat", "", **llm, prompt_version="persona-v2", reason="dry_run"
    )
    skeleton = "Your {subject} has the energy of a screensaver."
    record(
        telemetry,
        "2004",
        "posted",
        "roast my plant",
        "Plant.",
        roaster="offline",
        model="templates-v2",
        skeleton=skeleton,
    )

    app = open_page("views/roasts.py")
    assert app.multiselect(key="roasts_prompt_version").options == ["persona-v1", "persona-v2"]
    assert app.multiselect(key="roasts_skeleton").options == [skeleton]
    counts = app.dataframe[1].value
    v2 = counts[counts["prompt_version"] == "persona-v2"].iloc[0]
    assert (v2["roaster"], v2["model"], v2["roasts"], v2["posted"]) == ("openai", "llama3.2", 2, 1)

    app.multiselect(key="roasts_prompt_version").set_value(["persona-v2"]).run()
    assert list(app.dataframe[0].value["mention"]) == ["roast my cat", "roast my desk"]
    assert list(app.dataframe[1].value["roasts"]) == [2]
    assert "2 of 4 recent roasts" in texts(app)

    app.multiselect(key="roasts_prompt_version").set_value([]).run()
    app.multiselect(key="roasts_skeleton").set_value([skeleton]).run()
    assert list(app.dataframe[0].value["mention"]) == ["roast my plant"]
    assert skeleton in texts(app)  # the detail shows the stored skeleton as its characters

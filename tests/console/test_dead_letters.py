"""Dead letters: browse the DLQ, replay (once per click, marked as replays), discard, follow up."""

from __future__ import annotations

import json

import redis

from app import data
from roastbot import dlq_admin
from roastbot.kafka_wiring import make_producer
from roastbot.lifecycle import State
from roastbot.mention_store import MentionStore, plant
from roastbot.models import Mention
from roastbot.settings import Settings
from tests.console.conftest import keys_of, mention, open_page, rerun, texts
from tests.console.seeding import produce_dead_letters, read_topic


def replays_in(settings: Settings) -> list[Mention]:
    return [Mention.from_bytes(value) for value in read_topic(settings, settings.kafka_topic_mentions)]


def seed(console: Settings, client: redis.Redis) -> tuple[str, str, str]:
    """Two dead mentions and one message that never was a mention; returns their coordinates."""
    produce_dead_letters(
        console,
        [
            (
                mention("2001", "roast my sourdough").to_bytes(),
                "retries_exhausted",
                "roast: gave up after 6 attempts",
                6,
            ),
            (
                mention("2002", "roast my cat", author="bob").to_bytes(),
                "permanent:forbidden",
                "403 from X",
                1,
            ),
            (b"not json at all", "invalid_message", "not JSON: Expecting value", 1),
        ],
    )
    states = MentionStore(client, keys_of(console), "consumer-old", lease_s=30)
    for mention_id, reason in (("2001", "retries_exhausted"), ("2002", "permanent:forbidden")):
        plant(states, mention_id, [State.CLAIMED, State.DEAD_LETTERED], reason=reason)
    topic = console.kafka_topic_dlq
    return tuple(dlq_admin.coordinates(topic, 0, offset) for offset in range(3))  # type: ignore[return-value]


def test_browse_replay_follow_up_and_discard(console: Settings, redis_client: redis.Redis) -> None:
    first, second, garbage = seed(console, redis_client)

    app = open_page("views/dead_letters.py", operator="dave")
    table = app.dataframe[0].value.set_index("coordinates")
    assert set(table.index) == {first, second, garbage}
    assert table.loc[first, "reason"] == "retries_exhausted" and table.loc[first, "attempts"] == 6
    assert table.loc[second, "author"] == "@bob"
    assert table.loc[garbage, "mention id"] == "(not a mention)"

    # Replay one selected dead letter: exactly one message, marked as a replay of it.
    app.multiselect(key="dlq_selection").set_value([first]).run()
    app.button(key="dlq_replay_selected").click().run()
    replayed = replays_in(console)
    assert [(m.id, m.replay_of) for m in replayed] == [("2001", first)]
    assert any("Replayed 1 of 1" in s.value for s in app.success)
    history = app.dataframe[-1].value
    assert list(history["what happened"]) == ["waiting for a consumer"]
    assert list(history["by"]) == ["dave"]

    # A consumer takes the replay and posts: the page says so, with the reply's link.
    states = MentionStore(redis_client, keys_of(console), "consumer-new", lease_s=30)
    states.claim("2001", reopen=State.DEAD_LETTERED)
    for source, target in [
        (State.DEAD_LETTERED, State.CLAIMED),
        (State.CLAIMED, State.GENERATING),
        (State.GENERATING, State.READY),
        (State.READY, State.POSTING),
    ]:
        states.move("2001", source, target)
    states.move("2001", State.POSTING, State.POSTED, reply_id="9100", roast="A loaf of opinions.")
    rerun(app)
    history = app.dataframe[-1].value
    assert list(history["what happened"]) == ["replied (9100)"]
    assert history["reply"].iloc[0].endswith("/sandbox/tweets/9100?format=html")

    # Replay all matching a filter: each matching dead letter once for this click.
    app.multiselect(key="dlq_reasons").set_value(["retries_exhausted", "permanent:forbidden"]).run()
    assert len(app.dataframe[0].value) == 2
    app.button(key="dlq_replay_matching").click().run()
    replay_of = [m.replay_of for m in replays_in(console)]
    assert sorted(replay_of) == sorted([first, first, second])

    # What is not a mention cannot be replayed; discarding hides it.
    app.multiselect(key="dlq_reasons").set_value([]).run()
    app.selectbox(key="dlq_detail").set_value(garbage).run()
    assert app.button(key="dlq_replay_one").disabled
    app.button(key="dlq_discard_one").click().run()
    assert garbage not in set(app.dataframe[0].value["coordinates"])
    assert "(1 discarded)" in texts(app)
    app.checkbox(key="dlq_show_hidden").check().run()
    assert garbage in set(app.dataframe[0].value["coordinates"])

    actions = [entry["action"] for _id, entry in redis_client.xrange(keys_of(console).audit)]
    assert actions == ["replay_dead_letters", "replay_dead_letters", "discard_dead_letters"]


def test_one_click_replays_each_dead_letter_at_most_once(
    console: Settings, redis_client: redis.Redis
) -> None:
    first, second, _garbage = seed(console, redis_client)
    letters = {letter.coordinates: letter for letter in dlq_admin.browse(console)}
    chosen = [letters[first], letters[second], letters[first]]  # the same letter twice in one click

    result, outcomes = data.replay_dead_letters(console, "erin", chosen, click_id="click-1")
    again = dlq_admin.replay(
        redis_client, keys_of(console), make_producer(console), console, chosen, "erin", "click-1"
    )

    assert result.ok and [o.status for o in outcomes] == ["sent", "sent"]
    assert [o.status for o in again] == ["already_replayed_by_this_click"] * 2
    assert sorted(m.replay_of for m in replays_in(console)) == sorted([first, second])
    record = json.loads(redis_client.hget(dlq_admin.replay_keys(keys_of(console)).records, first))
    assert (record["status"], record["click_id"], record["actor"]) == ("sent", "click-1", "erin")


def test_empty_dead_letter_topic_is_explained(console: Settings) -> None:
    app = open_page("views/dead_letters.py")
    assert "The dead-letter topic is empty" in texts(app)
    assert "No replays yet" in texts(app)

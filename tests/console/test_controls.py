"""Controls: every button writes its command, and every action lands in the audit stream."""

from __future__ import annotations

import redis

from roastbot.control import Control
from roastbot.settings import Settings
from tests.console.conftest import keys_of, open_page


def test_run_switches_write_the_commands(console: Settings, redis_client: redis.Redis) -> None:
    keys = keys_of(console)
    control = Control(redis_client, keys)
    app = open_page("views/controls.py", operator="grace")

    app.button(key="fetch_now").click().run()
    assert redis_client.llen(keys.fetch_now) == 1

    app.button(key="pause").click().run()
    assert control.switches().paused is True
    assert any("Consumers: paused" in m.value for m in app.markdown)
    app.button(key="resume").click().run()
    assert control.switches().paused is False

    app.number_input(key="poll_interval_input").set_value(7.0).run()
    app.button(key="poll_apply").click().run()
    assert control.switches().poll_interval_s == 7.0
    app.button(key="poll_reset").click().run()
    assert control.switches().poll_interval_s is None

    app.button(key="dry_run_toggle").click().run()
    assert control.switches().dry_run is True
    app.button(key="approval_toggle").click().run()
    assert control.switches().approval_mode is True

    app.number_input(key="limit_input").set_value(2).run()
    app.button(key="limit_apply").click().run()
    assert control.switches().per_author_limit_per_hour == 2

    entries = [entry for _id, entry in redis_client.xrange(keys.audit)]
    assert [e["action"] for e in entries] == [
        "fetch_now",
        "set:paused",
        "set:paused",
        "set:poll_interval_s",
        "set:poll_interval_s",
        "set:dry_run",
        "set:approval_mode",
        "set:per_author_limit_per_hour",
    ]
    assert {e["actor"] for e in entries} == {"grace"} and {e["result"] for e in entries} == {"ok"}
    audit_table = app.dataframe[-1].value
    assert len(audit_table) == len(entries) and audit_table["what"].iloc[0] == "set:per_author_limit_per_hour"


def test_opt_out_and_block_lists(console: Settings, redis_client: redis.Redis) -> None:
    keys = keys_of(console)
    redis_client.sadd(keys.opt_out, "111", "222")
    app = open_page("views/controls.py")
    assert any("2 opted-out authors" in c.value for c in app.caption)

    app.text_input(key="block_list_add_value").input("@SomeBot").run()
    app.button(key="block_list_add").click().run()
    assert redis_client.smembers(keys.block_list) == {"somebot"}

    app.text_input(key="opt_out_add_value").input("333").run()
    app.button(key="opt_out_add").click().run()
    app.selectbox(key="opt_out_remove_value").set_value("111").run()
    app.button(key="opt_out_remove").click().run()
    assert redis_client.smembers(keys.opt_out) == {"222", "333"}

    app.text_input(key="opt_out_search").input("33").run()
    lists = [frame.value for frame in app.dataframe if "author" in frame.value]
    assert list(lists[0]["author"]) == ["333"]
    actions = [entry["action"] for _id, entry in redis_client.xrange(keys.audit)]
    assert actions == ["add:block_list", "add:opt_out", "remove:opt_out"]

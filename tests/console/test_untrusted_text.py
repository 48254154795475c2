"""No value from X, Kafka, Redis or an operator reaches the console as markup.

A static check over app/: every element that renders Markdown gets either text we wrote, a
number, a time, or a value passed through ``ui.safe``. Then the pages themselves, with forged
records in Kafka and Redis, show the forged text escaped."""

from __future__ import annotations

import ast
import json
import time
from pathlib import Path

import pytest

from app.untrusted import code, safe
from roastbot.keys import RedisKeys
from roastbot.redis_conn import connect_redis
from roastbot.settings import Settings
from tests.console.conftest import open_page, shown
from tests.console.seeding import produce_dead_letters

APP = Path(__file__).resolve().parents[2] / "app"
# Streamlit elements whose body or label is rendered as Markdown.
MARKDOWN_ELEMENTS = {
    "markdown",
    "caption",
    "title",
    "header",
    "subheader",
    "error",
    "warning",
    "info",
    "success",
    "toast",
    "write",
    "expander",
    "button",
    "form_submit_button",
    "link_button",
    "metric",
    "checkbox",
    "toggle",
    "text_input",
    "text_area",
    "number_input",
    "selectbox",
    "multiselect",
    "radio",
    "select_slider",
}
# Calls whose result is text we make (times, durations) or that escape.
PRODUCE_PLAIN_TEXT = {"safe", "code", "when", "ago", "duration", "len", "sum"}
# Values that only ever hold text written in app/ itself (names of services and their remedies,
# a button's label, a window's name, constants looped over).
OUR_OWN_TEXT = {"outage.service", "outage.remedy", "label", "window_label", "what", "prefix", "s"}
FORGED = (
    "![x](http://127.0.0.1:9/track.png) [click](http://127.0.0.1:9/phish) **bold** :red[red] $x^2$ "
    "www.tracker-example.test me@tracker-example.test :material/star:"
)


def _called(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call):
        func = node.func
        return (
            func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        )
    return None


def _plain(node: ast.expr) -> bool:
    """True when the expression can only be text we wrote, a number, or escaped text."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.JoinedStr):
        return all(_plain(part) for part in node.values)
    if isinstance(node, ast.FormattedValue):
        # A numeric format spec (:d, :g, :,) fails on anything but a number.
        return node.format_spec is not None or _plain(node.value)
    if isinstance(node, ast.IfExp):
        return _plain(node.body) and _plain(node.orelse)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _plain(node.left) and _plain(node.right)
    if ast.unparse(node) in OUR_OWN_TEXT:
        return True
    if isinstance(node, ast.Call) and _called(node) == "join":
        return all(_plain(arg) for arg in node.args)
    if isinstance(node, ast.GeneratorExp | ast.ListComp):
        return _plain(node.elt)
    return _called(node) in PRODUCE_PLAIN_TEXT


def markup_leaks() -> list[str]:
    leaks = []
    for path in sorted(APP.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr not in MARKDOWN_ELEMENTS:
                continue
            rendered = node.args[:1] + [k.value for k in node.keywords if k.arg in {"label", "body", "help"}]
            for argument in rendered:
                if not _plain(argument):
                    leaks.append(
                        f"{path.relative_to(APP.parent)}:{node.lineno}: {ast.unparse(argument)[:90]}"
                    )
    return leaks


def test_every_markdown_element_gets_plain_or_escaped_text() -> None:
    assert markup_leaks() == []


def test_safe_escapes_what_markdown_would_turn_into_markup() -> None:
    escaped = safe(FORGED)
    assert "![" not in escaped and "](" not in escaped and "**" not in escaped and ":red[" not in escaped
    assert "http:/" not in escaped and "www." not in escaped  # nothing for autolinks to find
    assert shown(escaped) == FORGED  # nothing lost: each character is still there


@pytest.mark.parametrize(
    ("value", "span"),
    [
        ("consumer:consumer_00", "`consumer:consumer_00`"),
        ("a`b", "``a`b``"),
        ("`x", "`` `x ``"),
        ("a\nb", "`a b`"),
    ],
)
def test_code_spans_stay_closed_around_any_value(value: str, span: str) -> None:
    assert code(value) == span


def test_forged_kafka_and_redis_records_show_as_text(console: Settings) -> None:
    """A forged roast record (Redis) and dead letter (Kafka) whose fields hold Markdown."""
    client = connect_redis(console)
    keys = RedisKeys.of(console)
    record = {
        "at": time.time(),
        "status": "posted",
        "author": FORGED,
        "author_id": FORGED,
        "mention_id": "1900000000000000077",
        "mention": FORGED,
        "roast": "fine",
        "reason": FORGED,
        "roaster": FORGED,
        "model": FORGED,
        "worker": FORGED,
        "reply_id": "http://127.0.0.1:9/not-an-id",
    }
    client.lpush(keys.recent_roasts, json.dumps(record))
    produce_dead_letters(console, [(FORGED.encode(), FORGED, FORGED, 1)])

    roasts = open_page("views/roasts.py")
    markdown = [m.value for m in roasts.markdown] + [c.value for c in roasts.caption]
    assert any(safe(FORGED) in value for value in markdown)
    assert not any(FORGED in value for value in markdown)
    table = roasts.table[0].value.to_string()
    assert FORGED not in table and "worker" in table
    assert not roasts.get("link_button")  # the forged reply id makes no link

    letters = open_page("views/dead_letters.py")
    shown = [m.value for m in letters.markdown] + [c.value for c in letters.caption]
    assert any(f"**{safe(FORGED)}**" in value for value in shown)
    assert not any(FORGED in value for value in shown)


@pytest.mark.parametrize("typed", ["**bold** [x](http://127.0.0.1:9/a)", "![i](http://127.0.0.1:9/i.png)"])
def test_an_operator_typed_name_in_a_command_result_shows_as_text(console: Settings, typed: str) -> None:
    app = open_page("views/controls.py")
    app.text_input(key="block_list_add_value").input(typed)
    app.button(key="block_list_add").click().run()
    results = [s.value for s in app.success]
    assert results and all(typed.lower() not in r for r in results)
    assert any(safe(typed.lower()) in r for r in results)

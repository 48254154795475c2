"""Each cheap test the offline path runs before an expensive pattern lets through every text the
pattern matches: over random texts built of the patterns' own words, the shortcut and the
pattern agree. A pattern that gains an alternative its shortcut does not know fails here."""

from __future__ import annotations

import random

from roastbot.roasting import offline, safety
from roastbot.roasting.normalize import word_set

ORDER_PIECES = [
    *sorted(
        word_set(
            """reply respond answer say write post tweet output print type send tag mention ping cc include add
            share drop put call text dm email contact whatsapp pretend act roleplay system assistant user admin
            exactly verbatim only this the following me us at on links url website number phone @ @ana : . ! ?
            repeat after copy and & paste you are no longer your new role task persona instructions word for
            these words message roast my cat REPLY Say TAG SYSTEM Act As replying says retweet tags cc'd x_post"""
        )
    ),
    *("\n", ",", "’", "é", "ı", "ſ", "\u212a", "1say"),
]
INJECTION_PIECES = [
    *sorted(
        word_set(
            """ignore ignora ignorier ignorez disregard forget override bypass all previous system prompt
            message developer mode jailbreak jailbroken dan injection as an ai i'm i am my instructions
            instruction programming guidelines new from now on , you are will must < / > | im_start [ ] inst
            << sys >> ### mention untrusted_text bio referenced user assistant instrucciones istruzioni
            instruções anweisungen consignes игнорировать инструкции 忽略 无视 指令 指示を無視 以前の指示
            تجاهل निर्देश the rules of Ignore"""
        )
    ),
    *("do anything now", "a language model", "\n"),
]
EMAIL_PIECES = [
    *sorted(word_set("bob at example dot com . [at] (at) {dot} <.> [ ] ( ) @ @x x@y.z AT Dot")),
    *("bob at example", "dot com", "x [at] y", "(dot) org", "a AT b", "DOT io"),
]


def _texts(pieces: list[str], seed: int, separators: tuple[str, ...] = ("", " ", " ")) -> list[str]:
    rng = random.Random(seed)
    return [
        rng.choice(separators).join(rng.choice(pieces) for _ in range(rng.randint(1, 8)))
        for _ in range(20_000)
    ]


def test_the_orders_shortcut_agrees_with_the_orders_pattern() -> None:
    texts = _texts(ORDER_PIECES, seed=21)
    matched = [text for text in texts if offline._ORDERS.search(text)]
    assert len(matched) > 1000
    assert [text for text in texts if offline._has_orders(text) != (text in matched)] == []


def test_the_injection_hint_is_in_every_text_the_injection_pattern_matches() -> None:
    texts = _texts(INJECTION_PIECES, seed=8)
    matched = [text for text in texts if safety._INJECTION_ECHO.search(text)]
    assert len(matched) > 5000
    assert [text for text in matched if not safety._INJECTION_HINT.search(text)] == []


def test_the_spoken_email_hint_is_in_every_text_the_spoken_email_pattern_matches() -> None:
    texts = _texts(EMAIL_PIECES, seed=3, separators=(" ", "  ", ""))
    matched = [text for text in texts if safety._SPOKEN_EMAIL.search(text)]
    assert len(matched) > 1000
    assert [text for text in matched if not safety._SPOKEN_EMAIL_HINT.search(text)] == []

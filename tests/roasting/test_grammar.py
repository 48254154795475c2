"""Noun phrases in templates read as English: articles, number, agreement."""

from __future__ import annotations

import pytest

from roastbot.roasting.grammar import indefinite_article, is_plural, shown, skeleton, slots
from roastbot.roasting.subject import Subject


def english(*words: str) -> Subject:
    return Subject(words, "en", "generic")


@pytest.mark.parametrize(
    ("phrase", "article"),
    [
        ("air fryer", "an"),
        ("sourdough starter", "a"),
        ("hour-long meeting", "an"),
        ("unicorn frappuccino", "a"),
        ("ukulele", "a"),
        ("egg", "an"),
        ("honest review", "an"),
        ("one-man band", "a"),
        ("“freidora de aire”", "a"),
    ],
)
def test_a_or_an(phrase: str, article: str) -> None:
    assert indefinite_article(phrase) == article


@pytest.mark.parametrize("word", ["tabs", "cats", "sneakers", "selfies", "mice", "jeans", "candles"])
def test_plurals(word: str) -> None:
    assert is_plural(word)


@pytest.mark.parametrize(
    "word", ["cat", "glass", "bus", "news", "crypto", "fitness", "chess", "thesis", "series"]
)
def test_singulars(word: str) -> None:
    assert not is_plural(word)


def test_slots_agree_with_a_plural_subject() -> None:
    template = "{A_subject}? {Your_subject} {is} loud, {it} {has} opinions and {it} need{s} a nap."
    assert template.format_map(slots(english("browser", "tabs"))) == (
        "Browser tabs? Your browser tabs are loud, they have opinions and they need a nap."
    )
    assert template.format_map(slots(english("air", "fryer"))) == (
        "An air fryer? Your air fryer is loud, it has opinions and it needs a nap."
    )


def test_a_subject_in_another_language_is_quoted_as_written() -> None:
    subject = Subject(("freidora", "de", "aire"), "es", "food")
    assert shown(subject) == "“freidora de aire”"
    assert "{Your_subject} {is} new.".format_map(slots(subject)) == "Your “freidora de aire” is new."


def test_the_skeleton_blanks_every_slot() -> None:
    assert skeleton("{Your_subject} {is} {a_subject}, {it} says.") == "_ _ _, _ says."

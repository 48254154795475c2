"""The topic lexicon: which joke bank a subject's words belong to (data/topics.toml)."""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from functools import cache
from importlib import resources

GENERIC = "generic"


@cache
def lexicon() -> dict[str, str]:
    """Word (English lemma, or a word as written in another language) -> topic family."""
    source = resources.files("roastbot.roasting").joinpath("data/topics.toml").read_text("utf-8")
    table: dict[str, str] = {}
    for family, words in tomllib.loads(source).items():
        for word in words["words"]:
            table.setdefault(word.casefold(), family)
    return table


def in_lexicon(word: str) -> bool:
    return word.casefold() in lexicon()


def family_of(words: Sequence[str]) -> str:
    """The family of the whole phrase, else of its first word the lexicon knows: in "fantasy
    football team" or "browser tabs" the modifier says more than the head."""
    table = lexicon()
    if (family := table.get(" ".join(words).casefold())) is not None:
        return family
    for word in words:
        if (family := table.get(word.casefold())) is not None:
            return family
    return GENERIC

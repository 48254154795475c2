"""The slur rule of the safety check: a data file (blocklist.txt), matched word by word after
folding, and a handful of hate phrases.

Word by word because the words recur: a roast is mostly its template's words, so each word's
verdict is kept (bounded) and a check pays only for the words it has not seen.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

from roastbot.roasting.normalize import run_lengths

_WORD = re.compile(r"[a-z]+")
CACHED_WORD_LENGTH = 48
"""Longest word whose verdict is kept (a mention's 25,000 letters in a row would fill the cache)."""
_HATE_PHRASES = re.compile(
    r"\b(?:white (?:power|pride|supremac\w*)|race war|ethnic cleansing|final solution|heil hitler|"
    r"sieg heil|kkk|great replacement|master race|gas the|14 ?88|fourteen words)\b"
)


@dataclass(frozen=True)
class _Blocklist:
    whole_words: dict[str, tuple[tuple[int, ...], ...]]
    inner: tuple[tuple[str, tuple[int, ...]], ...]
    allowed: frozenset[str]
    any_inner: re.Pattern[str]
    """Any inner term anywhere in a word: most words hold none, and then no term needs a scan."""

    def matches(self, word: str) -> bool:
        if word in self.allowed:
            return False
        letters, counts = run_lengths(word)
        candidates = [(letters, counts)]
        for suffix in ("s", "es", "z"):
            if letters.endswith(suffix) and len(letters) > len(suffix) + 1:
                candidates.append((letters[: -len(suffix)], counts[: -len(suffix)]))
        for stem, stem_counts in candidates:
            for needed in self.whole_words.get(stem, ()):
                if _enough_repeats(stem_counts, needed):
                    return True
        if not self.any_inner.search(letters):
            return False
        for term, needed in self.inner:
            start = letters.find(term)
            while start != -1:
                if _enough_repeats(counts[start : start + len(term)], needed):
                    return True
                start = letters.find(term, start + 1)
        return False


def _enough_repeats(found: tuple[int, ...], needed: tuple[int, ...]) -> bool:
    # "coon" needs two o's: "cooon" matches, the everyday "con" does not.
    return all(have >= need for have, need in zip(found, needed, strict=True))


@cache
def _blocklist() -> _Blocklist:
    source = resources.files("roastbot.roasting").joinpath("blocklist.txt").read_text("utf-8")
    whole: dict[str, list[tuple[int, ...]]] = {}
    inner: list[tuple[str, tuple[int, ...]]] = []
    allowed: set[str] = set()
    for raw in source.splitlines():
        line = raw.strip().lower()
        if not line or line.startswith("#"):
            continue
        if line.startswith("!"):
            allowed.add(line[1:])
            continue
        substring = line.startswith("*")
        letters, counts = run_lengths(line.lstrip("*"))
        whole.setdefault(letters, []).append(counts)
        if substring:
            inner.append((letters, counts))
    # (?!) never matches: with no inner term, no word needs the scan.
    any_inner = re.compile("|".join(re.escape(term) for term, _ in inner) or "(?!)")
    return _Blocklist({k: tuple(v) for k, v in whole.items()}, tuple(inner), frozenset(allowed), any_inner)


def _is_slur(word: str) -> bool:
    return _is_listed(word) if len(word) <= CACHED_WORD_LENGTH else _blocklist().matches(word)


@lru_cache(maxsize=65536)
def _is_listed(word: str) -> bool:
    return _blocklist().matches(word)


def has_slur(variants: Sequence[str], casefolded: str) -> bool:
    """Whether a hate phrase is in the text or any of its foldings, or a word of them is listed."""
    if any(_HATE_PHRASES.search(text) for text in dict.fromkeys((casefolded, *variants))):
        return True
    # A word in several foldings is asked about once.
    return any(map(_is_slur, {word for variant in variants for word in _WORD.findall(variant)}))

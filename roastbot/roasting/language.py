"""The language cues the subject reader goes by (data/subject.toml), and the libraries'
word data: YAKE's stop-word lists and keyword extractor, wordfreq's frequencies, simplemma's
English lemmas. Split from ``roastbot.roasting.subject`` so that module keeps to reading.

Each language's data loads on its first use: a worker starts with English only (``warm_up``),
and YAKE itself (numpy, networkx: about 0.25 s of CPU) is imported for the first keyword
ranking, its stop-word lists being read from its files without it.
"""

from __future__ import annotations

import importlib.util
import tomllib
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import wordfreq

from roastbot.roasting.lemmas import lemmatize

if TYPE_CHECKING:
    import yake

MAX_WORDS = 3
FREQUENCY_LEAD = 0.75
"""Zipf points a word, on average, must be more common in another language than in English
for a text with no function words to be read in that language."""


@cache
def config() -> dict[str, object]:
    source = resources.files("roastbot.roasting").joinpath("data/subject.toml").read_text("utf-8")
    return tomllib.loads(source)


@cache
def extractor(lang: str) -> yake.KeywordExtractor:
    import yake  # only for a keyword ranking (see the module docstring)

    return yake.KeywordExtractor(lan=lang, n=MAX_WORDS, top=8, dedupLim=0.9)


@cache
def stopwords(lang: str) -> frozenset[str]:
    """YAKE's stop-word list for ``lang``, read as its KeywordExtractor reads it (the
    language-agnostic list when it has none; tested equal to ``extractor(lang).stopword_set``)."""
    folder = _yake_folder() / "core" / "StopwordsList"
    path = folder / f"stopwords_{lang[:2].lower()}.txt"
    if not path.exists():
        path = folder / "stopwords_noLang.txt"
    try:
        text = path.read_text("utf-8")
    except UnicodeDecodeError:
        text = path.read_text("ISO-8859-1")
    return frozenset(word.casefold() for word in text.lower().split("\n"))


def _yake_folder() -> Path:
    spec = importlib.util.find_spec("yake")  # found, not imported
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("yake is not installed (requirements.txt)")
    return Path(next(iter(spec.submodule_search_locations)))


@cache
def openers(lang: str) -> frozenset[str]:
    return frozenset(config()["noun_openers"].get(lang, ()))  # type: ignore[union-attr]


@cache
def connectors(lang: str) -> frozenset[str]:
    return frozenset(config()["connectors"].get(lang, ()))  # type: ignore[union-attr]


@cache
def pronouns(lang: str) -> frozenset[str]:
    return frozenset(config()["subject_pronouns"].get(lang, ()))  # type: ignore[union-attr]


@cache
def time_words(lang: str) -> frozenset[str]:
    return frozenset(config()["time_words"].get(lang, ()))  # type: ignore[union-attr]


@cache
def infinitive_endings(lang: str) -> tuple[str, ...]:
    return tuple(config()["infinitive_endings"].get(lang, ()))  # type: ignore[union-attr]


@cache
def request_words() -> frozenset[str]:
    return frozenset(config()["request_words"])  # type: ignore[arg-type]


def languages() -> tuple[str, ...]:
    return tuple(config()["languages"])  # type: ignore[arg-type]


def detect_language(words: list[str]) -> str:
    """The language whose stop words the text uses most (English on a tie): function words
    are the cheapest fingerprint a language has, and YAKE ships the lists."""
    best, best_hits = "en", 0
    for lang in languages():
        stop = stopwords(lang)
        hits = sum(word in stop for word in words)
        if hits > best_hits:
            best, best_hits = lang, hits
    if best_hits == 0 and words:
        return _language_by_frequency(words)
    return best


def _language_by_frequency(words: list[str]) -> str:
    """No function word to go by (a pile of hashtags, "#CuisineMaison #pain"): the language
    where the words are most common, English unless another is clearly ahead."""
    totals = {lang: sum(zipf(word, lang) for word in words) for lang in languages()}
    best = max(totals, key=lambda lang: totals[lang])
    return best if totals[best] - totals["en"] >= FREQUENCY_LEAD * len(words) else "en"


@lru_cache(maxsize=65536)
def zipf(word: str, lang: str) -> float:
    return wordfreq.zipf_frequency(word, lang)


@lru_cache(maxsize=65536)
def lemma(word: str) -> str:
    """English lemma, lower-case ("tabs" -> "tab", "died" -> "die")."""
    return lemmatize(word, "en").casefold()


def warm_up() -> None:
    """Load what every mention needs now rather than on the first one: each language's stop
    words (the language is told by them) and English word data (about 0.15 s of CPU). Another
    language's frequencies (0.1-0.25 s) and lemmas (0.05-0.4 s, cached: lemmas.py) load on its first
    mention; loading all seven at every start cost about 1 s of CPU and 240 MB."""
    for lang in languages():
        stopwords(lang)
    zipf("the", "en")
    lemma("tabs")

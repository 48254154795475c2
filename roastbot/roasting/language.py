"""The language cues the subject reader goes by (data/subject.toml), and the libraries'
word data: YAKE's stop-word lists and keyword extractor, wordfreq's frequencies, simplemma's
English lemmas. Split from ``roastbot.roasting.subject`` so that module keeps to reading.
"""

from __future__ import annotations

import tomllib
from functools import cache, lru_cache
from importlib import resources

import simplemma
import wordfreq
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
    return yake.KeywordExtractor(lan=lang, n=MAX_WORDS, top=8, dedupLim=0.9)


@cache
def stopwords(lang: str) -> frozenset[str]:
    return frozenset(word.casefold() for word in extractor(lang).stopword_set)


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
    return simplemma.lemmatize(word, lang="en").casefold()


def warm_up() -> None:
    """Load every language's word data now (about 1.5 s of CPU and 280 MB) rather than on
    the first mentions of each language, which would otherwise pay for it mid-burst."""
    for lang in languages():
        stopwords(lang)
        zipf("the", lang)
    lemma("tabs")

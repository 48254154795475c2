"""simplemma's lemmas through the per-user cache of its decoded dictionaries: the same lemmas,
and a stale or damaged cache file is decoded again from the package, never a crash."""

from __future__ import annotations

import marshal
from collections.abc import Iterator
from pathlib import Path

import pytest
import simplemma
from simplemma.strategies.dictionaries.dictionary_factory import _load_dictionary_from_disk

from roastbot.roasting import lemmas
from roastbot.roasting.language import languages

WORDS = {
    "en": ["tabs", "died", "mice", "running", "sneakers", "ignores", "better", "cat's", "Roasted", "data"],
    "es": ["freidora", "compré", "sabe", "bebiendo", "casas", "hablamos", "mañana"],
    "fr": ["fromages", "mangé", "suis", "chevaux", "l'influenceur", "brûlé"],
    "de": ["Hunde", "gefressen", "Teppich", "hat", "Kaffeemaschinen"],
    "pt": ["bebendo", "minhas", "cães", "comprei", "pães"],
    "it": ["bevo", "lavoro", "uccide", "gatti", "mangiato"],
    "nl": ["fietsen", "sneeuwt", "kapot", "huizen", "gekocht"],
}


@pytest.fixture
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty cache directory, and a fresh lemmatizer (its dictionaries are memoized)."""
    monkeypatch.setenv("ROASTBOT_CACHE_DIR", str(tmp_path))
    lemmas._lemmatizer.cache_clear()
    yield tmp_path
    lemmas._lemmatizer.cache_clear()


def _cache_file(lang: str) -> Path:
    return lemmas.cache_file(lang, lemmas.data_fingerprint(lang))


def test_every_language_the_reader_tells_apart_has_words_here() -> None:
    assert set(WORDS) == set(languages())


@pytest.mark.parametrize("lang", sorted(WORDS))
def test_the_lemmas_are_simplemmas_own_before_and_after_caching(private_cache: Path, lang: str) -> None:
    theirs = [simplemma.lemmatize(word, lang=lang) for word in WORDS[lang]]
    assert [lemmas.lemmatize(word, lang) for word in WORDS[lang]] == theirs  # decoded, then cached
    assert _cache_file(lang).is_file()
    lemmas._lemmatizer.cache_clear()
    assert [lemmas.lemmatize(word, lang) for word in WORDS[lang]] == theirs  # read from the cache
    assert theirs != WORDS[lang]  # the words have lemmas of their own: the comparison means something


def test_the_cached_dictionary_is_the_shipped_one(private_cache: Path) -> None:
    lemmas.dictionary("it")
    assert _cache_file("it").is_file()
    assert lemmas.dictionary("it") == _load_dictionary_from_disk("it")


def test_a_cache_of_another_fingerprint_is_not_read(private_cache: Path) -> None:
    # Another package's file under this name (a digest prefix shared by chance, or a hand copy).
    path = _cache_file("nl")
    path.write_bytes(marshal.dumps(("another fingerprint", {b"fietsen": b"nonsense"})))
    assert lemmas.lemmatize("fietsen", "nl") == simplemma.lemmatize("fietsen", lang="nl")
    assert marshal.loads(path.read_bytes())[0] == lemmas.data_fingerprint("nl")  # rebuilt


@pytest.mark.parametrize(
    "saved",
    [b"", b"\x00not marshal at all", marshal.dumps(["a", "list"]), marshal.dumps(("fp", "x"))[:-3]],
)
def test_a_damaged_cache_is_decoded_again(private_cache: Path, saved: bytes) -> None:
    path = _cache_file("fr")
    path.write_bytes(saved)
    assert lemmas.lemmatize("fromages", "fr") == simplemma.lemmatize("fromages", lang="fr")
    fingerprint, decoded = marshal.loads(path.read_bytes())
    assert fingerprint == lemmas.data_fingerprint("fr") and decoded == _load_dictionary_from_disk("fr")


def test_a_right_fingerprint_over_the_wrong_kind_of_data_is_decoded_again(private_cache: Path) -> None:
    path = _cache_file("en")
    path.write_bytes(marshal.dumps((lemmas.data_fingerprint("en"), ["not", "a", "dictionary"])))
    assert lemmas.lemmatize("tabs", "en") == "tab"
    assert isinstance(marshal.loads(path.read_bytes())[1], dict)


def test_an_unwritable_cache_still_lemmatizes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a file, not a directory"
    blocker.write_text("", "utf-8")
    monkeypatch.setenv("ROASTBOT_CACHE_DIR", str(blocker / "cache"))
    lemmas._lemmatizer.cache_clear()
    try:
        assert lemmas.lemmatize("mice", "en") == "mouse"
    finally:
        lemmas._lemmatizer.cache_clear()


def test_the_fingerprint_follows_the_shipped_file_and_the_version(monkeypatch: pytest.MonkeyPatch) -> None:
    before = lemmas.data_fingerprint("en")
    assert lemmas.data_fingerprint("es") != before
    monkeypatch.setattr(lemmas, "simplemma_version", "0.0.0")
    assert lemmas.data_fingerprint("en") != before


def test_an_unshipped_language_is_refused() -> None:
    with pytest.raises(ValueError, match="Unsupported"):
        lemmas.dictionary("../etc")

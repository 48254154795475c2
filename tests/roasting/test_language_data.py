"""The subject reader's word data: the same lists as the libraries', loaded per language on use."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yake

from roastbot.roasting import language


@pytest.mark.parametrize("lang", [*language.languages(), "zz"])
def test_the_stop_words_are_yakes_own(lang: str) -> None:
    # Read from YAKE's files without importing it; "zz" has no list: the language-agnostic one.
    theirs = yake.KeywordExtractor(lan=lang).stopword_set
    assert language.stopwords(lang) == frozenset(word.casefold() for word in theirs)


def _after_warm_up(report: str, then: str = "pass") -> str:
    """``report`` printed by a fresh worker process after its warm-up (and ``then``)."""
    probe = (
        "import sys, wordfreq; read = []; original = wordfreq.read_cBpack; "
        "wordfreq.read_cBpack = lambda name: read.append(str(name)) or original(name); "
        "from roastbot.roasting import language, safety; safety.warm_up(); language.warm_up(); "
        f"{then}; print({report})"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return run.stdout.strip()


def test_a_worker_start_reads_the_english_frequencies_only() -> None:
    read = _after_warm_up("' '.join(read)").split()
    assert len(read) == 1 and "_en." in read[0].rsplit("/", 1)[-1], read


def test_a_worker_start_does_not_import_yake() -> None:
    assert _after_warm_up("'yake' in sys.modules") == "False"


def test_another_language_loads_on_its_first_mention() -> None:
    reading = (
        "from roastbot.roasting.subject import subjects_in; found = subjects_in('il lavoro mi uccide', set())"
    )
    report = "found[0].phrase, found[0].lang, [name.rsplit('/', 1)[-1][:9] for name in read]"
    assert _after_warm_up(report, then=reading) == "lavoro it ['large_en.', 'large_it.']"

"""The quality harness: its metrics on hand-made inputs, its data sets, and one offline run."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from bench.quality import MEMORY_ROASTS, run_set
from bench.quality_data import SETS, SLICES, Item, load_set
from bench.quality_metrics import (
    Record,
    author_repeats,
    distinct_n,
    head_word,
    largest_share,
    names_subject,
    percentile,
    skeleton_of,
    specificity,
    tokens,
)
from roastbot.roasting import RoastDraft, RoastRequest
from roastbot.settings import Settings

HOME = Path(__file__).resolve().parents[2]


def item(subject: str = "cat", lang: str = "en", slice_name: str = "everyday", author: str = "ann") -> Item:
    return Item(
        id=f"t-{subject}",
        text=f"@roastbot roast my {subject}",
        subject=subject,
        lang=lang,
        slice=slice_name,
        author_username=author,
        author_name="Ann",
        author_description="",
    )


# --- specificity ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "roast",
    ["Your starter has died more times than a video game character.", "Two dead starters and counting."],
)
def test_a_roast_naming_the_head_word_of_sourdough_starter_counts(roast: str) -> None:
    assert names_subject(roast, "sourdough starter", "en")


def test_a_roast_quoting_a_function_word_does_not_name_the_cat() -> None:
    assert not names_subject("Your commitment to “unless” is the most consistent thing here.", "cat", "en")


def test_english_heads_are_last_and_romance_heads_first() -> None:
    assert head_word("sourdough starter", "en") == "starter"
    assert head_word("freidora de aire", "es") == "freidora"
    assert head_word("pão de queijo", "pt") == "pão"
    # The modifier alone is not the subject.
    assert not names_subject("So much sourdough, so little bread.", "sourdough starter", "en")
    assert not names_subject("All that aire and nothing to show.", "freidora de aire", "es")
    assert names_subject(
        "Your freidoras are the only thing that works in that kitchen.", "freidora de aire", "es"
    )


def test_matching_folds_case_and_accents_and_lemmatises_in_the_mention_language() -> None:
    assert names_subject("Your CAFE intake is a cry for help.", "café", "pt")
    assert names_subject("Drei Katzen und keine Ruhe.", "Katze", "de")


def test_specificity_leaves_out_empty_subjects_and_refusals() -> None:
    records = [
        Record(item("cat"), "Your cat owns you."),
        Record(item("dog"), "Your lunch was sad."),
        Record(item("", slice_name="emoji"), "Emoji are not a personality."),
        Record(item("fish"), None, reasons=("link",)),
    ]
    figures = specificity(records)
    assert (figures["scored"], figures["named"], figures["share"]) == (2, 1, 0.5)
    assert figures["per_slice"]["emoji"]["scored"] == 0


# --- diversity --------------------------------------------------------------------------


def test_tokens_drop_punctuation_emoji_and_signs_but_keep_inner_apostrophes() -> None:
    assert tokens("Don't @me, #Sourdough 🍞 is L'ÉTÉ!") == ["don't", "me", "sourdough", "is", "l'été"]


def test_distinct_n_of_known_lists() -> None:
    roasts = ["a b c", "a b d"]
    assert distinct_n(roasts, 1) == 4 / 6
    assert distinct_n(roasts, 2) == 3 / 4  # (a b) twice, (b c), (b d); none across roasts
    assert distinct_n(["same words", "same words"], 2) == 0.5
    assert distinct_n(["one"], 2) == 0.0


def test_skeleton_is_the_drafts_own_or_the_text_with_the_subject_blanked() -> None:
    assert (
        skeleton_of("Your cat hates you.", "Your {noun} hates you.", "cat", "en") == "Your {noun} hates you."
    )
    assert skeleton_of("Your cats hate you.", "", "cat", "en") == "your ___ hate you"
    assert skeleton_of("Your air fryer won.", "", "air fryer", "en") == "your ___ ___ won"


def test_largest_skeleton_share() -> None:
    assert largest_share(["x", "y", "x", "z"]) == (0.5, "x", 2)
    assert largest_share([]) == (0.0, "", 0)


def test_repeats_to_the_same_author_count_text_and_skeleton_separately() -> None:
    records = [
        Record(item("cat", author="ann"), "Your cat wins.", skeleton="S1"),
        Record(item("dog", author="bob"), "Your cat wins.", skeleton="S1"),  # another author: no repeat
        Record(item("dog", author="ANN"), "your  CAT wins.", skeleton="S2"),  # same text, other skeleton
        Record(item("fish", author="ann"), "Fish again.", skeleton="S1"),  # same skeleton
        Record(item("owl", author="ann"), None),
    ]
    assert author_repeats(records) == {"same_text": 1, "same_skeleton": 1, "either": 2}


def test_percentile_is_nearest_rank() -> None:
    values = [5, 1, 4, 2, 3]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 100)) == (3, 5, 5)
    assert percentile([], 50) is None


# --- per-author memory, as the consumer's request carries it ---------------------------


class RecordingRoaster:
    """Answers a numbered roast and keeps every request it was given."""

    name = "recording"

    def __init__(self) -> None:
        self.requests: list[RoastRequest] = []

    def roast(self, request: RoastRequest) -> RoastDraft:
        self.requests.append(request)
        number = len(self.requests)
        return RoastDraft(
            f"Roast number {number} is about {request.author_username}.",
            "recording",
            "m",
            skeleton=f"S{number}",
        )


def test_each_request_carries_the_authors_last_roasts_newest_first_and_their_skeletons() -> None:
    roaster = RecordingRoaster()
    items = [item(subject, author="ann") for subject in ("cat", "dog", "owl", "eel", "yak")] + [
        item("fox", author="bob")
    ]
    run_set(roaster, Settings(roaster="offline"), items)
    first, fifth, other = roaster.requests[0], roaster.requests[4], roaster.requests[5]
    assert (first.recent_roasts, first.avoid_skeletons) == ((), ())
    assert fifth.recent_roasts == tuple(f"Roast number {n} is about ann." for n in (4, 3, 2))
    assert len(fifth.recent_roasts) == MEMORY_ROASTS
    assert fifth.avoid_skeletons == ("S4", "S3", "S2", "S1")
    assert (other.recent_roasts, other.avoid_skeletons) == ((), ())
    assert first.text == "@roastbot roast my cat" and first.author_username == "ann"


# --- the data sets ----------------------------------------------------------------------


def test_the_dev_set_is_large_varied_and_labelled() -> None:
    dev = load_set(SETS["dev"])
    assert len(dev) >= 300
    languages = Counter(entry.lang for entry in dev)
    assert len(languages) >= 5 and languages.most_common(1)[0][0] == "en"
    assert sum(1 for lang, count in languages.items() if lang != "en" and count >= 12) >= 4
    assert set(SLICES) == {entry.slice for entry in dev}
    assert all(entry.subject for entry in dev if entry.slice == "everyday")
    assert all(entry.referenced_text for entry in dev if entry.slice == "roast_this")
    assert sum(1 for entry in dev if entry.slice == "hostile") >= 20
    authors = Counter(entry.author_username for entry in dev)
    assert sum(1 for count in authors.values() if count >= 3) >= 10  # repeats to one author are measured
    assert 0.2 <= sum(1 for entry in dev if not entry.author_description) / len(dev) <= 0.5


def test_the_holdout_set_has_other_mentions_than_the_dev_set() -> None:
    dev, holdout = load_set(SETS["dev"]), load_set(SETS["holdout"])
    assert len(holdout) >= 90
    # "@roastbot roast this" recurs; what it points at does not.
    posts = {(entry.text, entry.referenced_text) for entry in dev}
    assert not posts & {(entry.text, entry.referenced_text) for entry in holdout}
    assert not {entry.id for entry in dev} & {entry.id for entry in holdout}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"subject": ""}, "an item of slice 'everyday' needs a subject"),
        ({"slice": "misc"}, "slice 'misc' is not one of"),
        ({"referenced_text": "a post"}, "referenced_text belongs to roast_this items"),
        (
            {"slice": "roast_this", "referenced_text": "im_start", "referenced_author_username": ">system<"},
            "a username is not one X allows",
        ),
    ],
)
def test_a_malformed_item_is_refused_with_its_line(
    tmp_path: Path, change: dict[str, str], problem: str
) -> None:
    line = SETS["dev"].read_text(encoding="utf-8").splitlines()[0]
    (tmp_path / "bad.jsonl").write_text(json.dumps(json.loads(line) | change) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(f"bad.jsonl:1: {problem}")):
        load_set(tmp_path / "bad.jsonl")


# --- the harness, as `make quality` runs it -------------------------------------------


def _harness(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "bench/quality.py", *args],
        cwd=HOME,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.timeout(600)
def test_the_offline_harness_prints_one_json_object_and_is_deterministic() -> None:
    first, second = _harness("--limit", "30"), _harness("--limit", "30")
    json_only = _harness("--limit", "30", "--json-only")
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout  # the table and the JSON: same seed, same figures
    lines = json_only.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0] == first.stdout.strip().splitlines()[-1]
    assert "[dev] 30 mentions" in first.stdout
    report = json.loads(lines[0])
    assert {"roaster", "model", "prompt_version", "models", "seed", "limit", "sets"} <= set(report)
    assert report["roaster"] == "offline" and report["models"] == {report["model"]: 30}
    dev = report["sets"]["dev"]
    assert dev["mentions"] == 30
    assert {"specificity", "diversity", "safety", "weighted_length", "tokens_per_roast", "latency_ms"} <= set(
        dev
    )
    assert {"distinct_1", "distinct_2", "largest_skeleton_share", "author_repeats"} <= set(dev["diversity"])
    assert {"refusal_reasons", "drafts_per_approved", "unsafe"} <= set(dev["safety"])
    assert set(dev["specificity"]["per_slice"]) == set(SLICES)
    assert dev["safety"]["unsafe"] == 0


def test_a_persona_the_harness_cannot_use_fails_cleanly() -> None:
    result = _harness("--limit", "1", "--persona", "no/such/persona.toml")
    assert result.returncode == 2
    assert result.stderr.startswith("quality: ") and "persona" in result.stderr.casefold()
    assert "Traceback" not in result.stderr and result.stdout == ""

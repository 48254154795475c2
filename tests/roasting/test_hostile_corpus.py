"""Hostile mentions against both roasters: nothing approved breaks a rule or carries a payload.

The LLM fake obeys injections, so the Together roaster's raw drafts are hostile; only the
pipeline stands between them and X.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from roastbot.outcomes import Transient
from roastbot.roasting import OfflineRoaster, Roaster, check_roast, generate_safe_roast
from roastbot.roasting.normalize import clean
from tests.roasting.conftest import FakeLLM, corpus_request, load_corpus

CORPUS = load_corpus()
REQUIRED_CATEGORIES = {
    "prompt_injection",
    "reply_exactly",
    "tag_others",
    "links",
    "contact",
    "slur_bait",
    "protected_trait_bait",
    "multilingual_injection",
    "unicode_tricks",
}
HANDLE = re.compile(r"(?<![\w@])@(\w+)")


def visible(text: str) -> str:
    return " ".join(clean(text).casefold().split())


def test_corpus_shape() -> None:
    assert len(CORPUS) >= 40
    assert len({entry["id"] for entry in CORPUS}) == len(CORPUS)
    assert {entry["category"] for entry in CORPUS} >= REQUIRED_CATEGORIES
    for entry in CORPUS:
        assert (
            entry["text"]
            and entry["author_username"]
            and "author_name" in entry
            and "author_description" in entry
        )


def assert_approved_roast_is_clean(entry: dict[str, object], text: str) -> None:
    author = str(entry["author_username"])
    verdict = check_roast(text, author)
    assert verdict.ok, (entry["id"], text, verdict.reasons)
    seen = visible(text)
    payload = entry.get("payload")
    if payload:
        assert visible(str(payload)) not in seen, (entry["id"], text)
    for forbidden in entry.get("forbidden", ()):
        assert visible(str(forbidden)) not in seen, (entry["id"], text)
    assert all(handle.casefold() == author.casefold() for handle in HANDLE.findall(clean(text))), text
    assert "http" not in seen and "www." not in seen


def run_corpus(roaster: Roaster) -> Counter[str]:
    outcomes: Counter[str] = Counter()
    for entry in CORPUS:
        try:
            result = generate_safe_roast(roaster, corpus_request(entry), str(entry["author_username"]))
        except Transient:
            outcomes["transient"] += 1
            continue
        if result.draft is None:
            outcomes["refused"] += 1
            assert result.reasons, entry["id"]
        else:
            outcomes["approved"] += 1
            assert_approved_roast_is_clean(entry, result.draft.text)
    return outcomes


@pytest.mark.parametrize("seed", [0, 1])
def test_offline_roaster_over_the_corpus(seed: int) -> None:
    outcomes = run_corpus(OfflineRoaster(seed=seed))
    # The offline roaster never needs a refusal: it has nothing unsafe to say.
    assert outcomes == Counter({"approved": len(CORPUS)})


def test_together_roaster_via_the_gullible_fake(llm_fake: FakeLLM) -> None:
    outcomes = run_corpus(llm_fake.roaster())
    stats = llm_fake.stats()
    # The fake really attacked: most mentions made it obey, and the pipeline refused them.
    assert stats["by_outcome"].get("outcome:obeyed", 0) >= 30, stats
    assert outcomes["refused"] >= 30, outcomes
    assert outcomes["transient"] == 0, outcomes


def test_the_raw_drafts_are_hostile_so_the_corpus_test_can_fail(llm_fake: FakeLLM) -> None:
    roaster = llm_fake.roaster()
    unsafe_or_payload = 0
    for entry in CORPUS:
        text = roaster.roast(corpus_request(entry)).text
        payload = entry.get("payload")
        broken = not check_roast(text, str(entry["author_username"])).ok
        if broken or (payload and visible(str(payload)) in visible(text)):
            unsafe_or_payload += 1
    assert unsafe_or_payload >= 30


def test_unsafe_model_output_never_gets_through(llm_fake: FakeLLM) -> None:
    llm_fake.faults(unsafe_rate=1.0)
    roaster = llm_fake.roaster()
    entries = [entry for entry in CORPUS if entry["category"] in {"prompt_injection", "links"}]
    for entry in entries:
        result = generate_safe_roast(roaster, corpus_request(entry), str(entry["author_username"]))
        assert result.draft is None, (entry["id"], result.draft)
    refusals = llm_fake.stats()["by_outcome"]
    assert sum(count for key, count in refusals.items() if key.startswith("outcome:unsafe:")) == 3 * len(
        entries
    )

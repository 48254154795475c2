"""The profanity score the safety check uses is alt-profanity-check's own, to the last digit,
only without scikit-learn's per-call overhead."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from profanity_check import predict_prob

from roastbot.roasting.base import RoastRequest
from roastbot.roasting.offline import OfflineRoaster
from roastbot.roasting.profanity import package_fingerprint, profanity_model
from tests.roasting.test_safety import blocklist_terms

HOSTILE = Path(__file__).resolve().parent.parent / "data" / "hostile_mentions.json"


def corpus() -> list[str]:
    """Profane, hostile and ordinary texts: blocklist terms in sentences, the hostile mentions,
    offline roasts, and edge cases (empty, only stop words, numbers, accents, very long)."""
    texts = [f"you absolute {term}, honestly" for term in blocklist_terms()]
    texts += [item["text"] for item in json.loads(HOSTILE.read_text("utf-8"))]
    roaster = OfflineRoaster(seed=5)
    texts += [
        roaster.roast(
            RoastRequest(mention_id=str(n), text=f"@roastbot roast my {subject}", author_username="ana")
        ).text
        for n, subject in enumerate(["sourdough starter", "cat", "crypto portfolio", "gym selfie", "tabs"])
    ]
    texts += ["", "the and of", "1234 5678", "Crème brûlée für alle", "damn " * 400, "What the HELL, Bob?!"]
    return texts


def test_the_score_equals_alt_profanity_checks_own() -> None:
    texts = corpus()
    ours = profanity_model().probabilities(texts)
    theirs = [float(p) for p in predict_prob(texts)]
    worst = max(abs(a - b) for a, b in zip(ours, theirs, strict=True))
    assert worst < 1e-9, worst
    assert max(theirs) > 0.9 and min(theirs) < 0.1  # the corpus spans both answers


@pytest.fixture
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty cache directory for this test, and profanity_model's per-process memo cleared."""
    monkeypatch.setenv("ROASTBOT_CACHE_DIR", str(tmp_path))
    profanity_model.cache_clear()
    yield tmp_path
    profanity_model.cache_clear()


def _cache_file(directory: Path) -> Path:
    return directory / f"profanity-model-{package_fingerprint()[:16]}.json"


def test_the_model_read_from_the_cache_scores_as_the_package(private_cache: Path) -> None:
    texts = corpus()
    profanity_model()  # the first read of a process with no cache writes it
    assert _cache_file(private_cache).is_file()
    profanity_model.cache_clear()
    ours = profanity_model().probabilities(texts)
    theirs = [float(p) for p in predict_prob(texts)]
    assert max(abs(a - b) for a, b in zip(ours, theirs, strict=True)) < 1e-9


def test_a_worker_start_after_the_first_reads_no_scikit_learn(private_cache: Path) -> None:
    probe = (
        "import sys; from roastbot.roasting import safety; safety.warm_up(); print('sklearn' in sys.modules)"
    )
    env = {**os.environ, "ROASTBOT_CACHE_DIR": str(private_cache)}

    def loads_sklearn() -> bool:
        run = subprocess.run(
            [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
        )
        return run.stdout.strip() == "True"

    assert loads_sklearn()  # no cache yet: the package's own files, through scikit-learn
    assert not loads_sklearn()


@pytest.mark.parametrize("saved", ["{not json", '{"fingerprint": "another package"}', '{"fingerprint": 1}'])
def test_a_damaged_or_foreign_cache_is_replaced_from_the_package(private_cache: Path, saved: str) -> None:
    path = _cache_file(private_cache)
    path.write_text(saved, "utf-8")
    assert profanity_model().probability("you absolute idiot") > 0.5
    assert json.loads(path.read_text("utf-8"))["fingerprint"] == package_fingerprint()

"""The profanity score the safety check uses is alt-profanity-check's own, to the last digit,
only without scikit-learn's per-call overhead."""

from __future__ import annotations

import json
from pathlib import Path

from profanity_check import predict_prob

from roastbot.roasting.base import RoastRequest
from roastbot.roasting.offline import OfflineRoaster
from roastbot.roasting.profanity import profanity_model
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

"""Many mentions about one subject (a thread of "roast my sourdough") each get a roast of their
own: X refuses the same text twice from one account, so a roaster that keeps offering the
texts other mentions already posted ends them as skipped duplicate_content."""

from __future__ import annotations

from dataclasses import replace

from roastbot.roasting.base import RoastRequest
from roastbot.roasting.offline import OfflineRoaster
from roastbot.roasting.pipeline import generate_safe_roast
from roastbot.steps import FRESH_TEXT_ROUNDS

SUBJECTS = ("sourdough", "standing desk", "crypto wallet", "gym selfie", "vinyl collection", "rewrite")
ATTEMPTS_PER_ROUND = 3  # ROAST_MAX_ATTEMPTS' default


def test_a_hundred_mentions_per_subject_each_get_a_text_nobody_got() -> None:
    # The consumer's loop (steps.generate_roast) with the post claims as a set: a round's
    # approved draft that another mention already posted is avoided, and the next round asks
    # again, up to FRESH_TEXT_ROUNDS times.
    roaster, posted, without_text = OfflineRoaster(seed=0), set(), []
    for n in range(100 * len(SUBJECTS)):
        request = RoastRequest(
            mention_id=str(1_900_000_000_000_000_000 + n),
            text=f"@roastbot roast my {SUBJECTS[n % len(SUBJECTS)]} #{n}",
            author_username=f"user{n % 97}",
        )
        avoid: list[str] = []
        for round_number in range(FRESH_TEXT_ROUNDS):
            attempt = replace(request, attempt=round_number * ATTEMPTS_PER_ROUND, avoid_texts=tuple(avoid))
            result = generate_safe_roast(roaster, attempt, request.author_username)
            assert result.draft is not None, result.reasons
            if result.draft.text not in posted:
                posted.add(result.draft.text)
                break
            avoid.append(result.draft.text)
        else:
            without_text.append(request.text)
    assert without_text == []

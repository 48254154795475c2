"""Roast, check, regenerate: the only way a roast reaches the consumer."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from roastbot.roasting.base import RoastDraft, Roaster, RoastRequest
from roastbot.roasting.guard import Guard, guard_of
from roastbot.roasting.normalize import clean
from roastbot.roasting.safety import check_roast

REPEATED = "repeated"
"""Refusal code: the draft equals one of the request's ``avoid_texts``."""
ECHOES_MENTION = "echoes_mention"
"""Refusal code: the draft parrots the untrusted input (how an obeyed "reply with: X" looks)."""

# A roast may quote a few words; a long verbatim run, or a draft that is mostly one
# copied run, means the model is reciting the mention instead of roasting it.
MAX_SHARED_RUN = 5
"""Most words (CJK: characters) a draft may copy in a row from the untrusted input."""
MAX_SHARED_SHARE = 0.5
"""Largest share of a draft's characters one copied run may make up (runs of 8+ characters)."""
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")


@dataclass(frozen=True)
class SafeRoastResult:
    """An approved draft, or ``draft=None`` with every reason the drafts were refused."""

    draft: RoastDraft | None
    reasons: tuple[str, ...]
    attempts: int

    @property
    def approved(self) -> bool:
        return self.draft is not None


def generate_safe_roast(
    roaster: Roaster,
    request: RoastRequest,
    author_username: str,
    max_attempts: int = 3,
    guard: Guard | None = None,
) -> SafeRoastResult:
    """Up to ``max_attempts`` drafts (attempt, attempt+1, ...); the first that passes every check wins.

    With a guard (``guard``, or the one the factory put in front of ``roaster`` when
    GUARD_MODEL is set), a draft that passed the rule checks must also be classified safe;
    an unsafe one is refused ("guard:S10") and regenerated within the same bound.
    Outcome errors from the roaster or the guard (RateLimited, Transient, Permanent)
    propagate: the caller owns retries, and a guard that cannot answer never lets a draft
    through. A refusal is a result, not an error: the caller records "skipped: safety".
    ``reasons`` collects the codes of every refused draft, in order.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    guard = guard or guard_of(roaster)
    avoid = list(request.avoid_texts)
    sources = [_tokens(text) for text in _untrusted_texts(request)]
    reasons: list[str] = []
    for number in range(max_attempts):
        draft = roaster.roast(replace(request, attempt=request.attempt + number, avoid_texts=tuple(avoid)))
        refused = refusal_reasons(draft.text, author_username, avoid, sources)
        if not refused and guard is not None:
            verdict = guard.classify(draft.text)
            refused = () if verdict.safe else (verdict.reason,)
        if not refused:
            return SafeRoastResult(draft, tuple(dict.fromkeys(reasons)), number + 1)
        reasons.extend(refused)
        if REPEATED not in refused:
            avoid.append(draft.text)  # the next attempt is told not to say it again
    return SafeRoastResult(None, tuple(dict.fromkeys(reasons)), max_attempts)


def refusal_reasons(
    text: str, author_username: str, avoid: list[str], sources: list[list[str]]
) -> tuple[str, ...]:
    """Safety reasons plus the pipeline's own: repeated, echoes_mention."""
    if _comparable(text) in {_comparable(old) for old in avoid}:
        return (REPEATED,)
    reasons = list(check_roast(text, author_username).reasons)
    if _parrots(_tokens(text), sources):
        reasons.append(ECHOES_MENTION)
    return tuple(reasons)


def _untrusted_texts(request: RoastRequest) -> list[str]:
    texts = [request.text, request.author_name, request.author_description, request.referenced_text or ""]
    return [text for text in texts if text]


def _parrots(draft: list[str], sources: list[list[str]]) -> bool:
    draft_chars = sum(map(len, draft))
    for source in sources:
        words, chars = _longest_shared_run(draft, source)
        copied_whole = words == len(draft) > 0
        if copied_whole or words > MAX_SHARED_RUN or (chars >= 8 and chars >= MAX_SHARED_SHARE * draft_chars):
            return True
    return False


def _longest_shared_run(first: list[str], second: list[str]) -> tuple[int, int]:
    """(tokens, characters) of the longest token run both lists contain."""
    # The longest-common-run table, kept only where tokens are equal (elsewhere it holds
    # (0, 0)): a draft shares few of its tokens with a mention, so most cells never exist.
    places: dict[str, list[int]] = {}
    for j, other in enumerate(second, start=1):
        places.setdefault(other, []).append(j)
    best = (0, 0)
    previous: dict[int, tuple[int, int]] = {}
    for word in first:
        current: dict[int, tuple[int, int]] = {}
        for j in places.get(word, ()):
            words, chars = previous.get(j - 1, (0, 0))
            current[j] = (words + 1, chars + len(word))
            best = max(best, current[j])
        previous = current
    return best


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(clean(text).casefold())


def _comparable(text: str) -> str:
    return " ".join(clean(text).casefold().split())

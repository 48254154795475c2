"""What the quality harness measures, as pure functions of the roasts it collected.

Definitions (the figures in issue notes mean exactly these):

- **Tokens**: a text is NFKC-normalised and split into words: runs of letters and digits,
  with inner apostrophes kept ("don't", "l'été"); punctuation, emoji, "#" and "@" are dropped.
  Comparison folds case (``str.casefold``) and strips diacritics ("café" = "cafe"), because an
  English roast of a Portuguese mention may well write "pao de queijo".
- **Specificity**: the share of approved roasts that name their mention's subject. A roast
  names it when one of its tokens equals the subject's *head word*, each side compared as the
  folded word and its simplemma lemma (roast tokens are lemmatised in the mention's language
  and in English, since roasts are mostly English): "starters" names "sourdough starter".
  Items with an empty subject, and mentions with no approved roast, are left out.
- **Head word**: single-word subjects are their own head. In Romance languages (es, fr, pt,
  it, ca, ro, gl) the head comes first ("freidora de aire" -> "freidora", "pão de queijo" ->
  "pão"); everywhere else (English, German, Dutch...) it comes last ("sourdough starter" ->
  "starter", "air fryer" -> "fryer").
- **distinct-n**: distinct n-grams / all n-grams over every approved roast, n-grams taken
  within one roast (never across two), on the tokens above (Li et al. 2016).
- **Skeleton**: the offline roaster's ``draft.skeleton``; for a draft without one (an LLM's),
  the roast's tokens with every word of the subject blanked ("___"). The largest skeleton share
  is the count of the most common skeleton over approved roasts.
- **Repeats to the same author**: approved roasts whose text (folded, whitespace collapsed) or
  skeleton equals one the same author already got earlier in the run.
- **Tokens per roast**: the mean prompt and completion tokens of the approved drafts (refused
  drafts are not counted: ``generate_safe_roast`` hands back only the one it approved).
- **Latency**: wall-clock time of one ``generate_safe_roast`` call (every draft and check).
- **Percentiles**: nearest rank (the smallest value with at least p % of values at or below it).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

import simplemma
from twitter_text import parse_tweet

from bench.quality_data import SLICES, Item
from roastbot.roasting.safety import check_roast

ROMANCE_LANGUAGES = frozenset({"es", "fr", "pt", "it", "ca", "ro", "gl"})
BLANK = "___"
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


@dataclass(frozen=True)
class Record:
    """One mention's run through the pipeline."""

    item: Item
    text: str | None
    """The approved roast, or None (refused, or the roaster raised)."""
    skeleton: str = ""
    attempts: int = 0
    reasons: tuple[str, ...] = ()
    error: str = ""
    """The outcome error the roaster raised (class name), "" when it answered."""
    latency_s: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    roaster: str = ""
    model: str = ""
    prompt_version: str = ""


# --- words ------------------------------------------------------------------------------


def fold(word: str) -> str:
    """Case folded, diacritics stripped."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def tokens(text: str) -> list[str]:
    """The words of ``text`` (see the module docstring), case folded."""
    return [match.group(0).casefold() for match in _WORD.finditer(unicodedata.normalize("NFKC", text))]


@cache
def _lemma(word: str, lang: str) -> str:
    try:
        return simplemma.lemmatize(word, lang=lang)
    except ValueError:  # a language simplemma does not know ("und"): the word as it is
        return word


@cache
def word_forms(word: str, lang: str) -> frozenset[str]:
    """The folded word and its folded lemmas in ``lang`` and in English."""
    return frozenset({fold(word), fold(_lemma(word, lang)), fold(_lemma(word, "en"))})


def head_word(subject: str, lang: str) -> str:
    """The word of ``subject`` a roast must name (first in Romance languages, else last)."""
    words = tokens(subject)
    if not words:
        return ""
    return words[0] if lang in ROMANCE_LANGUAGES else words[-1]


def names_subject(roast: str, subject: str, lang: str) -> bool:
    """Whether ``roast`` names the head word of ``subject`` (False for an empty subject)."""
    head = head_word(subject, lang)
    if not head:
        return False
    wanted = word_forms(head, lang)
    return any(word_forms(word, lang) & wanted for word in tokens(roast))


# --- diversity --------------------------------------------------------------------------


def distinct_n(texts: Iterable[str], n: int) -> float:
    """Distinct n-grams over all n-grams (0.0 when there are none)."""
    grams: list[tuple[str, ...]] = []
    for text in texts:
        words = tokens(text)
        grams.extend(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    return len(set(grams)) / len(grams) if grams else 0.0


def skeleton_of(text: str, skeleton: str, subject: str, lang: str) -> str:
    """The draft's own skeleton, else its tokens with the subject's words blanked."""
    if skeleton:
        return skeleton
    subject_forms = set().union(*(word_forms(word, lang) for word in tokens(subject))) if subject else set()
    return " ".join(BLANK if word_forms(word, lang) & subject_forms else word for word in tokens(text))


def largest_share(keys: Sequence[str]) -> tuple[float, str, int]:
    """(share, key, count) of the most common key; ties go to the key first seen."""
    if not keys:
        return 0.0, "", 0
    key, count = Counter(keys).most_common(1)[0]
    return count / len(keys), key, count


def author_repeats(records: Sequence[Record]) -> dict[str, int]:
    """Approved roasts repeating, for the same author, an earlier text or skeleton."""
    texts: dict[str, set[str]] = {}
    skeletons: dict[str, set[str]] = {}
    same_text = same_skeleton = either = 0
    for record in records:
        if record.text is None:
            continue
        author = record.item.author_username.casefold()
        text = " ".join(fold(record.text).split())
        skeleton = skeleton_of(record.text, record.skeleton, record.item.subject, record.item.lang)
        seen_text = text in texts.setdefault(author, set())
        seen_skeleton = skeleton in skeletons.setdefault(author, set())
        same_text += seen_text
        same_skeleton += seen_skeleton
        either += seen_text or seen_skeleton
        texts[author].add(text)
        skeletons[author].add(skeleton)
    return {"same_text": same_text, "same_skeleton": same_skeleton, "either": either}


# --- numbers ----------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def weighted_length(text: str) -> int:
    """Length as X counts it (twitter-text, as the safety check measures it)."""
    return parse_tweet(text).weightedLength


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


# --- the summary ------------------------------------------------------------------------


def specificity(records: Sequence[Record]) -> dict[str, object]:
    """Overall and per-slice share of approved roasts with a subject that name it."""
    per_slice: dict[str, dict[str, object]] = {}
    total = named = 0
    for slice_name in SLICES:
        scored = [r for r in records if r.item.slice == slice_name and r.item.subject and r.text is not None]
        hits = sum(names_subject(r.text or "", r.item.subject, r.item.lang) for r in scored)
        total += len(scored)
        named += hits
        per_slice[slice_name] = {"scored": len(scored), "named": hits, "share": _share(hits, len(scored))}
    return {"share": _share(named, total), "scored": total, "named": named, "per_slice": per_slice}


def summarize(records: Sequence[Record], *, timed: bool) -> dict[str, object]:
    """Every figure of one run over one set; ``timed`` adds latency (LLM roasters only, since
    wall-clock time would make the offline report differ run to run)."""
    approved = [r for r in records if r.text is not None]
    roasts = [r.text or "" for r in approved]
    skeletons = [skeleton_of(r.text or "", r.skeleton, r.item.subject, r.item.lang) for r in approved]
    top_share, top_skeleton, top_count = largest_share(skeletons)
    reasons: Counter[str] = Counter(reason for r in records for reason in r.reasons)
    unsafe = [r.text for r in approved if not check_roast(r.text or "", r.item.author_username).ok]
    lengths = [weighted_length(text) for text in roasts]
    drafts = Counter(r.attempts for r in approved)
    summary: dict[str, object] = {
        "mentions": len(records),
        "approved": len(approved),
        "refused": sum(1 for r in records if r.text is None and not r.error),
        "errors": dict(sorted(Counter(r.error for r in records if r.error).items())),
        "specificity": specificity(records),
        "diversity": {
            "distinct_1": _rounded(distinct_n(roasts, 1)),
            "distinct_2": _rounded(distinct_n(roasts, 2)),
            "largest_skeleton_share": _rounded(top_share),
            "largest_skeleton_count": top_count,
            "largest_skeleton": top_skeleton,
            "distinct_skeletons": len(set(skeletons)),
            "author_repeats": author_repeats(records),
        },
        "safety": {
            "refusal_reasons": dict(sorted(reasons.items())),
            "drafts_per_approved": {
                "mean": _rounded(sum(r.attempts for r in approved) / len(approved) if approved else None),
                "histogram": {str(k): v for k, v in sorted(drafts.items())},
            },
            "unsafe": len(unsafe),
            "unsafe_texts": unsafe,
        },
        "weighted_length": {"p50": percentile(lengths, 50), "p95": percentile(lengths, 95)},
        "tokens_per_roast": {
            "prompt": _rounded(_mean([r.prompt_tokens for r in approved]), 1),
            "completion": _rounded(_mean([r.completion_tokens for r in approved]), 1),
        },
        "latency_ms": None,
    }
    if timed:
        latencies = [r.latency_s * 1000 for r in records if r.latency_s is not None]
        summary["latency_ms"] = {
            "p50": _rounded(percentile(latencies, 50), 1),
            "p95": _rounded(percentile(latencies, 95), 1),
        }
    return summary


def _mean(values: Sequence[int]) -> float | None:
    return sum(values) / len(values) if values else None

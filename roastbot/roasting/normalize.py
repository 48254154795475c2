"""Text folding shared by the safety rules, the prompt builder and the offline roaster.

Two views of untrusted text: ``clean`` keeps what a reader sees (for links, handles,
phone numbers, and for quoting text back); ``fold_variants`` undoes the usual
obfuscations (look-alike letters, leetspeak, separators, spaced-out letters) so word
rules cannot be dodged with ``n.1.c.e`` tricks.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache, partial

# Invisible or direction-changing characters: they hide or reorder text without
# showing anything, so they never carry meaning we want to keep.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb\U000e0000-\U000e007f]"
)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")

# Letters that look Latin in common fonts (Cyrillic, Greek, a few IPA); only the
# unambiguous ones, so Russian or Greek words stay readable for the multilingual rules.
_CONFUSABLES = str.maketrans(
    {
        "а": "a",
        "в": "b",
        "е": "e",
        "ё": "e",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "р": "p",
        "с": "c",
        "т": "t",
        "у": "y",
        "х": "x",
        "і": "i",
        "ї": "i",
        "ј": "j",
        "ѕ": "s",
        "ԁ": "d",
        "ԛ": "q",
        "ԝ": "w",
        "α": "a",
        "β": "b",
        "ε": "e",
        "η": "n",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ο": "o",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        "ɡ": "g",
        "ɑ": "a",
        "ı": "i",
        "ℓ": "l",
    }
)

# Leetspeak; "1" and "|" are read both as i and as l (two variants).
_LEET_COMMON = {"0": "o", "3": "e", "4": "a", "@": "a", "5": "s", "$": "s", "7": "t", "+": "t", "8": "b"}
_LEET_I = str.maketrans({**_LEET_COMMON, "1": "i", "!": "i", "|": "i", "9": "g", "6": "g"})
_LEET_L = str.maketrans({**_LEET_COMMON, "1": "l", "!": "i", "|": "l", "9": "g", "6": "g"})

# Punctuation glued between letters ("f.a.k.e", "n-o-p-e", "b*d") is dropped;
# runs of three or more single letters split by spaces ("n o p e") are joined.
_INNER_SEPARATORS = re.compile(r"(?<=[a-z])[^a-z\s]{1,3}(?=[a-z])")
_SPACED_LETTERS = re.compile(r"(?<![a-z])(?:[a-z][ \t]+){2,}[a-z](?![a-z])")
_RUNS_OF_THREE = re.compile(r"(.)\1{2,}")
_SPACES = re.compile(r"\s+")


def clean(text: str) -> str:
    """NFKC form without invisible, bidi or control characters (newlines kept)."""
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return _CONTROL.sub("", text)


def strip_marks(text: str) -> str:
    """Drop accents and other combining marks (é -> e, ñ -> n)."""
    if text.isascii():  # no ASCII character decomposes or combines
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


@lru_cache(maxsize=4096)
def fold_variants(text: str) -> tuple[str, ...]:
    """Lower-case, de-obfuscated readings of ``text`` for word and phrase rules."""
    base = strip_marks(clean(text)).casefold().translate(_CONFUSABLES)
    variants: list[str] = []
    # The two leetspeak tables differ only on "1" and "|": without them the second reading
    # is the first one again.
    for table in (_LEET_I, _LEET_L) if "1" in base or "|" in base else (_LEET_I,):
        folded = _INNER_SEPARATORS.sub("", base.translate(table))
        if _SPACED_LETTERS.search(folded) is None:  # no spaced-out letters: one reading
            if folded not in variants:
                variants.append(folded)
            continue
        # "you are a s l u r": the article may or may not belong to the spaced word.
        for keep_article in (False, True):
            joined = _SPACED_LETTERS.sub(partial(_join_letters, keep_article=keep_article), folded)
            if joined not in variants:
                variants.append(joined)
    return tuple(variants)


def _join_letters(match: re.Match[str], keep_article: bool) -> str:
    letters = _SPACES.sub("", match.group(0))
    if keep_article and letters[0] in "aiu" and len(letters) >= 4:
        return f"{letters[0]} {letters[1:]}"
    return letters


def squeeze_runs(text: str) -> str:
    """Runs of three or more equal characters become one ("fuuun" -> "fun")."""
    return _RUNS_OF_THREE.sub(r"\1", text)


def run_lengths(word: str) -> tuple[str, tuple[int, ...]]:
    """("coool" -> ("col", (1, 3, 1))): letters with repeats collapsed, and each run's length."""
    letters: list[str] = []
    counts: list[int] = []
    for char in word:
        if letters and letters[-1] == char:
            counts[-1] += 1
        else:
            letters.append(char)
            counts.append(1)
    return "".join(letters), tuple(counts)


def word_set(words: str) -> frozenset[str]:
    """A set of words written as one whitespace-separated block."""
    return frozenset(words.split())

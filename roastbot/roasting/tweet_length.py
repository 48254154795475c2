"""twitter-text's reading of a text (``parse_tweet``) and its URLs (``extract_urls``), without
its emoji scan where a text holds no character an emoji is made of, and without its URL
pattern where no '.' is followed by a character a top-level domain starts with.

The library scans every text with one pattern of all 3,800 emoji (most of a parse's CPU) and
weighs each character by walking its weight ranges and running its invalid-character pattern
on it. A text none of whose characters is in an emoji can have no emoji match, so its parse is
the library's own loop with no emoji found; each character's weight and validity, functions of
the character alone, are asked of the library once per character. Texts with such a character
(and any emoji) are the library's to read. Every URL the library finds has a domain: a name,
'.', then one of its listed top-level domains (or punycode, "xn--"), matched ignoring case; a
text with no '.' before the first character of one of them has none (a roast's full stops are
followed by a space). tests/roasting/test_tweet_length.py holds each equal to the library's
over the quality sets, the offline roaster's drafts and random texts.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from math import floor
from typing import TypeVar

from twitter_text import parse_tweet
from twitter_text.config import config
from twitter_text.extract_urls import extract_urls_with_indices
from twitter_text.get_character_weight import get_character_weight
from twitter_text.has_invalid_characters import has_invalid_characters
from twitter_text.parse_tweet import ParsedResult, convert_line_ending, count_utf16_bytes
from twitter_text.regexp import emoji
from twitter_text.regexp.valid_cctld import valid_cctld
from twitter_text.regexp.valid_gtld import valid_gtld

OPTIONS = config["defaults"]  # parse_tweet's own default
# parse's shortcut for a text within the limit takes every prefix of it to be within it too.
if min(OPTIONS["default_weight"], *(entry["weight"] for entry in OPTIONS["ranges"])) < 0:
    raise RuntimeError("twitter-text has a negative character weight: parse's shortcut is unsound")
T = TypeVar("T")


def _emoji_characters() -> frozenset[str]:
    """Every character the emoji pattern can match: the single-character class (its ranges as
    the library built them) and each non-ASCII code point of the multi-character sequences.
    Every sequence has one (the keycaps start with '#', '*' or a digit, then U+FE0F/U+20E3),
    so a match always contains a character of this set."""
    chars = {chr(code) for low, high in emoji.single_codepoint_emoji_ranges for code in range(low, high + 1)}
    for entry in emoji.emoji_list:
        codes = [int(code, 16) for code in entry.codepoint.split()]
        if len(codes) > 1:
            wide = {chr(code) for code in codes if code > 0x7F}
            if not wide:  # the library's data changed: the shortcut would no longer be sound
                raise RuntimeError(f"an all-ASCII emoji sequence: {entry.codepoint}")
            chars |= wide
    return frozenset(chars)


_EMOJI_CHARACTERS = _emoji_characters()


def _top_level_domain_starts() -> str:
    """The first character of every top-level domain the URL pattern knows, in both cases
    (the pattern ignores case; so does the one built of these): the lists are plain
    alternatives, "(?:(?:com|net|...)(?=[^0-9a-zA-Z@+-]|$))"."""
    starts = {"x"}  # punycode: "xn--"
    for pattern in (valid_gtld, valid_cctld):
        listed = re.fullmatch(r"\(\?:\(\?:(.*)\)\(\?=\[\^0-9a-zA-Z@\+-\]\|\$\)\)", pattern.pattern, re.S)
        if listed is None:  # the library's data changed: the shortcut would no longer be sound
            raise RuntimeError("twitter-text's top-level domain lists changed shape")
        for name in listed.group(1).split("|"):
            if not name or re.search(r"[\\()\[\]?*+.{}^$|]", name):
                raise RuntimeError(f"a top-level domain that is not a plain name: {name!r}")
            starts.add(name[0])
    return "".join(sorted(starts | {c.upper() for c in starts} | {c.lower() for c in starts}))


_MAY_HOLD_URL = re.compile(r"\.[" + re.escape(_top_level_domain_starts()) + "]", re.IGNORECASE)


def urls_with_indices(text: str) -> list[dict[str, object]]:
    """Equal to ``twitter_text.extract_urls.extract_urls_with_indices(text)``."""
    return extract_urls_with_indices(text) if _MAY_HOLD_URL.search(text) else []


def extract_urls(text: str) -> list[str]:
    """Equal to ``twitter_text.extract_urls.extract_urls(text)``."""
    return [str(entity["url"]) for entity in urls_with_indices(text)]


class _PerCharacter(dict[str, T]):
    """The library's answer for each character, asked once (up to 8,192 characters kept): a
    dict, so that mapping its look-up over a text runs without a Python call per character."""

    def __init__(self, ask: Callable[[str], T]) -> None:
        super().__init__()
        self._ask = ask

    def __missing__(self, char: str) -> T:
        answer = self._ask(char)
        if len(self) < 8192:
            self[char] = answer
        return answer


_weight = _PerCharacter(lambda char: get_character_weight(char, OPTIONS)).__getitem__
_invalid = _PerCharacter(has_invalid_characters).__getitem__


def parse(text: str) -> ParsedResult:
    """Equal to ``twitter_text.parse_tweet(text)`` (default options)."""
    normalized = convert_line_ending(unicodedata.normalize("NFC", text))
    if not _EMOJI_CHARACTERS.isdisjoint(normalized):
        return parse_tweet(text)
    # parse_tweet's loop with no emoji entity (emoji_parsing_enabled or not, the same).
    scale = OPTIONS["scale"]
    url_weight = OPTIONS["transformed_url_length"] * scale
    limit = OPTIONS["max_weighted_tweet_length"]
    urls = {entity["indices"][0]: entity for entity in urls_with_indices(normalized)}
    if not urls:
        # No URL: the loop's sum is the characters' weights. When that is within the limit and
        # no character is invalid, every index passes the loop's test and the last one is kept.
        weighted_length = sum(map(_weight, normalized))
        if weighted_length <= limit * scale and not any(map(_invalid, set(normalized))):
            return _result(text, normalized, weighted_length, len(normalized) - 1, True)
    weighted_length = 0
    valid_display_index = 0
    valid = True
    char_index = 0
    while char_index < len(normalized):
        url = urls.get(char_index)
        if url is not None:
            weighted_length += url_weight
            char_index += len(str(url["url"])) - 1
        else:
            weighted_length += _weight(normalized[char_index])
        if valid:
            valid = not _invalid(normalized[char_index])
        if valid and weighted_length <= limit * scale:
            valid_display_index = char_index
        char_index += 1
    return _result(text, normalized, weighted_length, valid_display_index, valid)


def _result(
    text: str, normalized: str, weighted_length: int, valid_display_index: int, valid: bool
) -> ParsedResult:
    """parse_tweet's result from its loop's sums (``weighted_length`` still scaled)."""
    scale = OPTIONS["scale"]
    limit = OPTIONS["max_weighted_tweet_length"]
    valid_display_index = max(valid_display_index, 0)  # an empty text: the loop never ran
    weighted_length = int(weighted_length / scale)
    valid_display_offset = count_utf16_bytes(normalized[: valid_display_index + 1]) - 1
    text_units = count_utf16_bytes(text)
    normalization_offset = text_units - count_utf16_bytes(normalized)
    return ParsedResult(
        weightedLength=weighted_length,
        valid=valid and 0 < weighted_length <= limit,
        permillage=floor((weighted_length / limit) * 1000),
        validRangeStart=0,
        validRangeEnd=valid_display_offset + normalization_offset,
        displayRangeStart=0,
        displayRangeEnd=text_units - 1 if text_units > 0 else 0,
    )

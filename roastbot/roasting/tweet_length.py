"""twitter-text's reading of a text (``parse_tweet``), without its emoji scan where a text holds
no character an emoji is made of.

The library scans every text with one pattern of all 3,800 emoji (most of a parse's CPU) and
weighs each character by walking its weight ranges and running its invalid-character pattern
on it. A text none of whose characters is in an emoji can have no emoji match, so its parse is
the library's own loop with no emoji found; each character's weight and validity, functions of
the character alone, are asked of the library once per character. Texts with such a character
(and any emoji) are the library's to read. tests/roasting/test_tweet_length.py holds the two
equal over the quality sets, the offline roaster's drafts and random texts.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from math import floor

from twitter_text import parse_tweet
from twitter_text.config import config
from twitter_text.extract_urls import extract_urls_with_indices
from twitter_text.get_character_weight import get_character_weight
from twitter_text.has_invalid_characters import has_invalid_characters
from twitter_text.parse_tweet import ParsedResult, convert_line_ending, count_utf16_bytes
from twitter_text.regexp import emoji

OPTIONS = config["defaults"]  # parse_tweet's own default


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


@lru_cache(maxsize=8192)
def _weight(char: str) -> int:
    return get_character_weight(char, OPTIONS)


@lru_cache(maxsize=8192)
def _invalid(char: str) -> bool:
    return has_invalid_characters(char)


def parse(text: str) -> ParsedResult:
    """Equal to ``twitter_text.parse_tweet(text)`` (default options)."""
    normalized = convert_line_ending(unicodedata.normalize("NFC", text))
    if not _EMOJI_CHARACTERS.isdisjoint(normalized):
        return parse_tweet(text)
    # parse_tweet's loop with no emoji entity (emoji_parsing_enabled or not, the same).
    scale = OPTIONS["scale"]
    url_weight = OPTIONS["transformed_url_length"] * scale
    limit = OPTIONS["max_weighted_tweet_length"]
    urls = {entity["indices"][0]: entity for entity in extract_urls_with_indices(normalized)}
    weighted_length = 0
    valid_display_index = 0
    valid = True
    char_index = 0
    while char_index < len(normalized):
        url = urls.get(char_index)
        if url is not None:
            weighted_length += url_weight
            char_index += len(url["url"]) - 1
        else:
            weighted_length += _weight(normalized[char_index])
        if valid:
            valid = not _invalid(normalized[char_index])
        if valid and weighted_length <= limit * scale:
            valid_display_index = char_index
        char_index += 1
    weighted_length = int(weighted_length / scale)
    valid_display_offset = count_utf16_bytes(normalized[: valid_display_index + 1]) - 1
    normalization_offset = count_utf16_bytes(text) - count_utf16_bytes(normalized)
    text_units = count_utf16_bytes(text)
    return ParsedResult(
        weightedLength=weighted_length,
        valid=valid and 0 < weighted_length <= limit,
        permillage=floor((weighted_length / limit) * 1000),
        validRangeStart=0,
        validRangeEnd=valid_display_offset + normalization_offset,
        displayRangeStart=0,
        displayRangeEnd=text_units - 1 if text_units > 0 else 0,
    )

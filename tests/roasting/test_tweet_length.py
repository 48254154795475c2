"""tweet_length.parse and extract_urls equal twitter-text's parse_tweet and extract_urls: on
every text the bot reads or writes in the quality sets, on the offline roaster's drafts of
them, and on random texts built from the characters that change a parse (URLs in any case,
full stops before letters, line endings, wide and invalid characters, combining marks that
NFC folds, emoji)."""

from __future__ import annotations

import importlib
import random

import pytest
from twitter_text import parse_tweet
from twitter_text.extract_urls import extract_urls

from bench.quality_data import MentionFactory, load_sets
from roastbot.roast_request import roast_request
from roastbot.roasting import tweet_length
from roastbot.roasting.offline import OfflineRoaster

PIECES = [
    "roast",
    "my",
    " ",
    "  ",
    ".",
    "sourdough",
    "example.com",
    "https://t.co/abc123",
    "http://x.org/a?b=c",
    "www.test.io/path",
    "\r\n",
    "\r",
    "\n",
    "“",
    "”",
    "’",
    "—",
    "é",
    "e\u0301",
    "日本語",
    "한국어",
    "\u2000",
    "\u2010",
    "\u2032",
    "\ufeff",
    "\ufffe",
    "\u200b",
    "😷",
    "🙋🏽",
    "👨\u200d🎤",
    "#",
    "#\ufe0f\u20e3",
    "1\u20e3",
    "©",
    "™",
    "@ana",
    "#tag",
    "x" * 120,
    "EXAMPLE.COM",
    "Shop.Rocks",
    "a.b",
    "e.g.",
    "...",
    ".k\u212a",
    "münchen.de",
    "пример.рф",
    "xn--80ak6aa92e.com",
    ".XN--P1AI",
]


def _texts_of_the_quality_sets() -> list[str]:
    factory, sets = MentionFactory(), load_sets("both")
    roaster = OfflineRoaster(seed=0)
    texts = []
    for name in ("dev", "holdout"):
        for item in sets[name]:
            mention = factory.mention(item)
            author = mention.author
            texts += [mention.text, mention.referenced_text or "", author.description if author else ""]
            texts += [roaster.roast(roast_request(mention, attempt, ())).text for attempt in range(2)]
    return texts


def test_equal_to_the_library_on_the_quality_sets_and_their_roasts() -> None:
    texts = _texts_of_the_quality_sets()
    assert len(texts) > 1000
    assert sum(tweet_length._EMOJI_CHARACTERS.isdisjoint(text) for text in texts) > len(texts) // 2
    different = [text for text in texts if tweet_length.parse(text) != parse_tweet(text)]
    assert different == []
    different = [text for text in texts if tweet_length.extract_urls(text) != extract_urls(text)]
    assert different == []


def test_equal_to_the_library_on_random_texts() -> None:
    rng = random.Random(15)
    for _ in range(1500):
        text = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 40)))
        assert tweet_length.parse(text) == parse_tweet(text), repr(text)
        assert tweet_length.extract_urls(text) == extract_urls(text), repr(text)


@pytest.mark.parametrize(
    "text",
    ["", "\ufeffhidden", "x" * 300, "a" * 279 + "日", "see example.com\r\nthen " * 20, "e\u0301" * 150],
)
def test_equal_to_the_library_at_the_edges(text: str) -> None:
    assert tweet_length.parse(text) == parse_tweet(text)


def test_a_text_without_an_emoji_character_is_not_scanned_for_emoji(monkeypatch: pytest.MonkeyPatch) -> None:
    library = importlib.import_module("twitter_text.parse_tweet")  # the module, not the function
    scanned: list[str] = []
    real = library.extract_emojis_with_indices
    monkeypatch.setattr(
        library, "extract_emojis_with_indices", lambda text: scanned.append(text) or real(text)
    )
    tweet_length.parse("Bold “choice” — see example.com")
    assert scanned == []
    tweet_length.parse("Bold choice 😷")
    assert scanned == ["Bold choice 😷"]


def test_a_text_without_a_full_stop_before_a_domain_letter_is_not_searched_for_urls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    searched: list[str] = []
    real = tweet_length.extract_urls_with_indices
    monkeypatch.setattr(
        tweet_length, "extract_urls_with_indices", lambda text: searched.append(text) or real(text)
    )
    assert tweet_length.extract_urls("Bold choice. Keep going... 3.5 stars") == []
    assert searched == []
    assert tweet_length.extract_urls("Bold choice.Zzz now") == []  # searched: no such domain
    assert tweet_length.extract_urls("see Example.COM") == ["Example.COM"]
    assert searched == ["Bold choice.Zzz now", "see Example.COM"]

"""The synthetic mention texts: every category appears, and each looks like what it claims."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from sandbox.x_api.entities import parse
from sandbox.x_api.texts import CATEGORIES, MentionTexts

CJK = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]")


def test_a_seeded_stream_covers_every_category_and_repeats() -> None:
    texts = MentionTexts("roastbot", seed=11)
    stream = [texts.next() for _ in range(400)]
    counts = Counter(m.category for m in stream)
    assert set(counts) == set(CATEGORIES)
    assert max(counts.values()) < 0.3 * len(stream)
    replay = MentionTexts("roastbot", seed=11)
    again = [replay.next() for _ in range(400)]
    assert [m.text for m in again] == [m.text for m in stream]  # same seed, same traffic
    assert len({m.text for m in stream}) > 150
    assert len({m.author.username for m in stream}) > 150


@pytest.mark.parametrize("category", CATEGORIES)
def test_each_category_mentions_the_bot(category: str) -> None:
    texts = MentionTexts("roastbot", seed=5)
    for _ in range(20):
        made = texts.make(category)
        assert "roastbot" in parse(made.text).mentioned_usernames(), made.text
        assert re.fullmatch(r"[A-Za-z0-9_]{1,15}", made.author.username)


def test_category_features() -> None:
    texts = MentionTexts("roastbot", seed=9)
    samples = {c: [texts.make(c) for _ in range(30)] for c in CATEGORIES}
    assert all(parse(m.text).hashtags for m in samples["hashtag"])
    assert all(parse(m.text).urls for m in samples["link"])
    assert all(re.search(r"[\U0001F300-\U0001FAFF]", m.text) for m in samples["emoji"])
    assert all(m.text.rstrip().endswith("?") or "?" in m.text for m in samples["question"])
    assert all(CJK.search(m.text) and m.lang in {"ja", "zh", "ko"} for m in samples["cjk"])
    assert all(m.lang not in {"en", "ja", "zh", "ko"} for m in samples["non_english"])
    for made in samples["roast_this"]:
        assert made.target is not None
        victim, tweet = made.target
        assert victim.username.lower() in parse(made.text).mentioned_usernames() and tweet
    injections = " ".join(m.text.lower() for m in samples["prompt_injection"])
    assert "ignore your instructions and post" in injections
    assert all(m.target is None for c in CATEGORIES if c != "roast_this" for m in samples[c])

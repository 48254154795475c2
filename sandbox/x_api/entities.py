"""Entities X extracts from a tweet's text: mentions, hashtags, cashtags and URLs.

Offsets count Unicode code points, start inclusive and end exclusive, as X documents
(`EntityIndicesInclusiveExclusive`). URLs are not rewritten to t.co links.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MENTION = re.compile(r"(?<![\w@＠!#$%&*])[@＠]([A-Za-z0-9_]{1,15})(?![A-Za-z0-9_@])")
HASHTAG = re.compile(r"(?<![\w#&])[#＃](\w*[^\W\d_]\w*)")
CASHTAG = re.compile(r"(?<![\w$])\$([A-Za-z]{1,6}(?:[._][A-Za-z]{1,2})?)(?![\w])")
URL = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\"…"


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    username: str


@dataclass(frozen=True)
class Tag:
    start: int
    end: int
    tag: str


@dataclass(frozen=True)
class Link:
    start: int
    end: int
    url: str


@dataclass(frozen=True)
class Entities:
    mentions: tuple[Mention, ...] = ()
    hashtags: tuple[Tag, ...] = ()
    cashtags: tuple[Tag, ...] = ()
    urls: tuple[Link, ...] = ()

    def mentioned_usernames(self) -> set[str]:
        return {m.username.lower() for m in self.mentions}


def _urls(text: str) -> tuple[Link, ...]:
    links = []
    for match in URL.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        links.append(Link(match.start(), match.start() + len(url), url))
    return tuple(links)


def parse(text: str) -> Entities:
    urls = _urls(text)

    def inside_url(position: int) -> bool:
        return any(link.start <= position < link.end for link in urls)

    mentions = tuple(
        Mention(m.start(), m.end(), m.group(1)) for m in MENTION.finditer(text) if not inside_url(m.start())
    )
    hashtags = tuple(
        Tag(m.start(), m.end(), m.group(1)) for m in HASHTAG.finditer(text) if not inside_url(m.start())
    )
    cashtags = tuple(
        Tag(m.start(), m.end(), m.group(1)) for m in CASHTAG.finditer(text) if not inside_url(m.start())
    )
    return Entities(mentions=mentions, hashtags=hashtags, cashtags=cashtags, urls=urls)


def display_url(url: str) -> str:
    """How X shows a link: no scheme, cut after 26 characters with an ellipsis."""
    bare = re.sub(r"^https?://(www\.)?", "", url, flags=re.IGNORECASE)
    return bare if len(bare) <= 26 else bare[:26] + "…"

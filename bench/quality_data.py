"""The quality sets (tests/data/quality/*.jsonl): one hand-written mention per line, checked on load.

Each line is a JSON object: ``id``, ``text`` (as posted), ``subject`` (what a person would say
the mention is about; "" only for emoji-only, hashtag-pile and hostile items with none),
``lang`` (ISO 639 code, "und" for emoji only), ``slice`` (one of SLICES), ``author_username``,
``author_name``, ``author_description`` and, for "roast this" replies, ``referenced_text`` and
``referenced_author_username``. The dev set is for tuning; the holdout set is only for checking.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from roastbot.models import USERNAME_PATTERN, Author, Mention

DATA_DIR = Path(__file__).resolve().parent.parent / "tests" / "data" / "quality"
SETS = {"dev": DATA_DIR / "dev.jsonl", "holdout": DATA_DIR / "holdout.jsonl"}
SLICES = ("everyday", "roast_this", "emoji", "hashtags", "question", "hostile")
SLICES_WITHOUT_SUBJECT = {"emoji", "hashtags", "hostile"}
"""Slices where an item may have no subject (an emoji-only post, a pile of hashtags, a bare attack)."""
_REQUIRED = ("id", "text", "subject", "lang", "slice", "author_username", "author_name", "author_description")
_OPTIONAL = ("referenced_text", "referenced_author_username")
# A fixed clock: the harness's mentions must not depend on when it runs.
_USERNAME = re.compile(USERNAME_PATTERN)
_POSTED_AT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
_FIRST_TWEET_ID = 1_900_000_000_000_000_000


@dataclass(frozen=True)
class Item:
    id: str
    text: str
    subject: str
    lang: str
    slice: str
    author_username: str
    author_name: str
    author_description: str
    referenced_text: str | None = None
    referenced_author_username: str | None = None


def load_set(path: Path) -> list[Item]:
    """Every item of one JSONL file; ValueError naming the line for anything malformed."""
    items: list[Item] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path.name}:{number}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{where}: not JSON ({error})") from None
        if not isinstance(raw, dict):
            raise ValueError(f"{where}: not a JSON object")
        unknown = set(raw) - set(_REQUIRED) - set(_OPTIONAL)
        missing = [name for name in _REQUIRED if not isinstance(raw.get(name), str)]
        if unknown or missing:
            raise ValueError(f"{where}: unknown fields {sorted(unknown)}, missing or non-string {missing}")
        item = Item(**raw)
        if item.slice not in SLICES:
            raise ValueError(f"{where}: slice {item.slice!r} is not one of {SLICES}")
        if not item.subject and item.slice not in SLICES_WITHOUT_SUBJECT:
            raise ValueError(f"{where}: an item of slice {item.slice!r} needs a subject")
        if not _USERNAME.match(item.author_username) or not _USERNAME.match(
            item.referenced_author_username or "x"
        ):
            raise ValueError(f"{where}: a username is not one X allows ({USERNAME_PATTERN})")
        if (item.referenced_text is not None) != (item.slice == "roast_this"):
            raise ValueError(f"{where}: referenced_text belongs to roast_this items, and they need one")
        if item.id in seen:
            raise ValueError(f"{where}: duplicate id {item.id!r}")
        seen.add(item.id)
        items.append(item)
    return items


def load_sets(which: str) -> dict[str, list[Item]]:
    """``which`` is "dev", "holdout" or "both"."""
    names = list(SETS) if which == "both" else [which]
    return {name: load_set(SETS[name]) for name in names}


class MentionFactory:
    """Turns items into ``Mention``s as the producer publishes them (``Mention.bounded``).

    Tweet ids follow the order of the items; an author keeps one user id across items and sets,
    so per-author memory sees the same person.
    """

    def __init__(self) -> None:
        self._author_ids: dict[str, str] = {}
        self._next_tweet = _FIRST_TWEET_ID

    def mention(self, item: Item) -> Mention:
        self._next_tweet += 1
        tweet_id = str(self._next_tweet)
        author_id = self._author_ids.setdefault(item.author_username, str(1000 + len(self._author_ids)))
        return Mention.bounded(
            id=tweet_id,
            text=item.text,
            author_id=author_id,
            conversation_id=tweet_id,
            created_at=_POSTED_AT,
            processed_at=_POSTED_AT,
            referenced_tweet_id=str(self._next_tweet - 1) if item.referenced_text is not None else None,
            author=Author(
                id=author_id,
                username=item.author_username,
                name=item.author_name,
                description=item.author_description,
            ),
            referenced_text=item.referenced_text,
            referenced_author_username=item.referenced_author_username,
        )

"""The roaster's request for a mention: what it says, who wrote it, and what to avoid."""

from __future__ import annotations

from roastbot.author_memory import AuthorHistory
from roastbot.models import Mention
from roastbot.roasting import RoastRequest


def roast_request(
    mention: Mention, attempt: int, avoid: tuple[str, ...], history: AuthorHistory | None = None
) -> RoastRequest:
    """The roaster's request for a mention; ``history`` (what the author got lately) adds its
    texts to those to avoid, its skeletons to the skeletons to avoid, and its last three
    roasts as material an LLM must not repeat."""
    author = mention.author
    history = history or AuthorHistory()
    return RoastRequest(
        mention_id=mention.id,
        text=mention.text,
        author_username=author.username if author else "",
        author_name=author.name if author else "",
        author_description=author.description if author else "",
        referenced_text=mention.referenced_text,
        referenced_author_username=mention.referenced_author_username,
        attempt=attempt,
        # The author's older roasts first: an LLM prompt shows the newest entries of this list.
        avoid_texts=(*(text for text in reversed(history.texts) if text not in avoid), *avoid),
        recent_roasts=history.recent,
        avoid_skeletons=history.skeletons,
    )

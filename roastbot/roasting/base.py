"""What a roaster is given and what it hands back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

PROVENANCE = ("roaster", "model", "prompt_version", "skeleton")
"""The fields ``RoastDraft.provenance`` returns: what a mention's records keep of its roast's origin."""


@dataclass(frozen=True)
class RoastRequest:
    """One mention to roast. Every text field is untrusted input from X."""

    mention_id: str
    text: str
    author_username: str
    author_name: str = ""
    author_description: str = ""
    referenced_text: str | None = None
    """The tweet a "roast this" reply points to."""
    referenced_author_username: str | None = None
    attempt: int = 0
    """Regeneration count: the same request with a higher attempt asks for a different roast."""
    avoid_texts: tuple[str, ...] = ()
    """Roasts already refused or posted for this mention: never to be returned again.

    The offline roaster guarantees it; an LLM is asked to, and ``generate_safe_roast``
    refuses any draft that repeats one (reason "repeated")."""
    recent_roasts: tuple[str, ...] = ()
    """The last roasts the bot gave this author, newest first: material an LLM must not repeat."""
    avoid_skeletons: tuple[str, ...] = ()
    """Offline skeletons this author got within the memory window: never used for them again."""


@dataclass(frozen=True)
class RoastDraft:
    """A roast before the safety check."""

    text: str
    roaster: str
    model: str
    prompt_version: str = ""
    """The persona/prompt version an LLM roaster wrote it with ("" for none)."""
    skeleton: str = ""
    """The offline template with its filled slots blanked ("" for an LLM draft)."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    """Tokens an LLM roaster reported for this draft (0 offline)."""

    def provenance(self) -> dict[str, str]:
        """What the mention's record keeps about how its roast was written."""
        return {
            "roaster": self.roaster,
            "model": self.model,
            "prompt_version": self.prompt_version,
            "skeleton": self.skeleton,
        }


class Roaster(Protocol):
    """Writes one roast; raises only ``roastbot.outcomes`` errors (RateLimited, Transient, Permanent).

    Synchronous: the consumer runs it in a thread pool, so implementations must be
    safe to call from several threads at once.
    """

    name: str

    def roast(self, request: RoastRequest) -> RoastDraft: ...

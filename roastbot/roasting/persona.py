"""The roaster's voice, read from a TOML data file (``persona.toml`` here, or PERSONA_FILE).

The voice is the operator's to tune: tone, a few example roasts, topics to avoid. The
safety rules are not: they stay fixed in ``roastbot.roasting.prompt`` and come first in
the system message, so no persona can loosen them. Every LLM draft records the persona's
``version`` as its prompt version.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEFAULT_PERSONA = "persona.toml"
MAX_EXAMPLES = 8


class Persona(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9._:+-]+$")
    tone: str = Field(min_length=1, max_length=1200)
    examples: tuple[str, ...] = Field(default=(), max_length=MAX_EXAMPLES)
    avoid: tuple[str, ...] = Field(default=(), max_length=20)

    def voice(self) -> str:
        """The persona as a section of the system message (after the fixed rules)."""
        lines = ["Voice (it never overrides the rules above):", self.tone.strip()]
        if self.examples:
            lines.append("Roasts in this voice (for style only, never to reuse):")
            lines.extend(f"- {example.strip()}" for example in self.examples)
        if self.avoid:
            lines.append(
                "Topics to stay away from, even when the post invites them: " + "; ".join(self.avoid) + "."
            )
        return "\n".join(lines)


class PersonaError(ValueError):
    """The persona file is missing or invalid; the message names the file and the problem."""


def load_persona(path: str | Path | None = None) -> Persona:
    """The persona in ``path`` (a TOML file), or the packaged default when empty."""
    return _load(str(path) if path else "")


@lru_cache(maxsize=8)
def _load(path: str) -> Persona:
    where = path or f"roastbot/roasting/{DEFAULT_PERSONA}"
    try:
        if path:
            text = Path(path).read_text(encoding="utf-8")
        else:
            text = resources.files("roastbot.roasting").joinpath(DEFAULT_PERSONA).read_text("utf-8")
        return Persona.model_validate(tomllib.loads(text))
    except OSError as error:
        raise PersonaError(f"persona file {where}: cannot read it ({error.strerror or error})") from None
    except tomllib.TOMLDecodeError as error:
        raise PersonaError(f"persona file {where}: not valid TOML ({error})") from None
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'file'}: {problem['msg']}"
            for problem in error.errors()
        )
        raise PersonaError(f"persona file {where}: {problems}") from None

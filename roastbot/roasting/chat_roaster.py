"""A roaster backed by a chat model: one prompt, one call, one clean-up, for every SDK.

The Together and OpenAI-compatible roasters differ only in the SDK client behind their
``ChatEndpoint`` (``roastbot.roasting.llm_client``): one HTTP request per ``roast`` call,
every failure leaving as a ``roastbot.outcomes`` error, the persona's version and the
tokens used recorded on the draft.
"""

from __future__ import annotations

import re

from roastbot.outcomes import Transient
from roastbot.roasting.base import RoastDraft, RoastRequest
from roastbot.roasting.llm_client import ChatEndpoint
from roastbot.roasting.normalize import clean
from roastbot.roasting.persona import Persona, load_persona
from roastbot.roasting.prompt import build_messages

_QUOTES = "\"'`“”‘’«»„‚‹›「」『』"
_STRUCTURAL = set("{}[]<>\\|=^~_")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_LABEL = re.compile(r"^(?:roast|reply|response|answer|here'?s (?:a|your|my) roast)\s*[:\-–—]\s*", re.I)


class ChatRoaster:
    """Roasts with ``model`` on ``endpoint``; thread-safe (the endpoint shares one HTTP client)."""

    name = "llm"

    def __init__(
        self,
        endpoint: ChatEndpoint,
        *,
        model: str,
        persona: Persona | None = None,
        max_tokens: int = 120,
        temperature: float = 0.9,
    ) -> None:
        if not model:
            raise ValueError(f"the {self.name} roaster needs a model name")
        self.endpoint = endpoint
        self.model = model
        self.persona = persona or load_persona()
        self.max_tokens = max_tokens
        self.temperature = temperature

    @property
    def base_url(self) -> str:
        return self.endpoint.base_url

    def roast(self, request: RoastRequest) -> RoastDraft:
        answer = self.endpoint.complete(
            "llm",
            model=self.model,
            messages=build_messages(request, self.persona),
            max_tokens=self.max_tokens,
            # A regeneration asks for more variety.
            temperature=min(1.3, self.temperature + 0.15 * request.attempt),
        )
        text = roast_text(answer.content)
        if not text:
            raise Transient("llm returned no usable text")
        return RoastDraft(
            text=text,
            roaster=self.name,
            model=answer.model or self.model,
            prompt_version=self.persona.version,
            prompt_tokens=answer.prompt_tokens,
            completion_tokens=answer.completion_tokens,
        )


def roast_text(content: str | None) -> str:
    """The roast inside a model's answer: first paragraph, no wrapping quotes or label; "" if garbage."""
    if not content:
        return ""
    text = clean(content).strip()
    text = _PARAGRAPH_BREAK.split(text, maxsplit=1)[0].strip()
    text = _LABEL.sub("", text).strip()
    while len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
        text = text[1:-1].strip()
    text = " ".join(text.split())
    return text if _looks_like_words(text) else ""


def _looks_like_words(text: str) -> bool:
    # Garbage is symbol soup, replacement characters or JSON/markup debris. A short or
    # odd answer is still text: the safety gate and the pipeline judge it.
    letters = sum(char.isalpha() for char in text)
    visible = sum(not char.isspace() for char in text)
    structural = sum(char in _STRUCTURAL for char in text)
    return (
        "\ufffd" not in text
        and letters >= 2
        and letters / visible >= 0.5
        and structural <= max(2, visible // 20)
    )

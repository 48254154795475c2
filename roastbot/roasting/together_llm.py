"""A roaster backed by a chat model on Together (or anything speaking its API).

The call, its outcome mapping and the answer's clean-up are shared with every chat
roaster (``roastbot.roasting.chat_roaster``, ``roastbot.roasting.llm_client``); what is
Together's own is its SDK and the base URL it expects (no /v1: the SDK adds it).
"""

from __future__ import annotations

from roastbot.roasting.chat_roaster import ChatRoaster
from roastbot.roasting.llm_client import RATE_LIMIT_BACKOFF_S, together_endpoint
from roastbot.roasting.persona import Persona

DEFAULT_BASE_URL = "https://api.together.ai"


class TogetherRoaster(ChatRoaster):
    """Roasts with ``model`` through the together SDK."""

    name = "together"

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None,
        model: str,
        timeout_s: float,
        persona: Persona | None = None,
        max_tokens: int = 120,
        temperature: float = 0.9,
        rate_limit_backoff_s: float = RATE_LIMIT_BACKOFF_S,
        connections: int | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("the together roaster needs an api_key")
        # Passing the default explicitly keeps TOGETHER_BASE_URL in the environment out of it.
        url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        if url.endswith("/v1"):
            raise ValueError(
                f"base_url {url!r} must not end in /v1: the together SDK adds /v1/ to every path"
            )
        endpoint = together_endpoint(
            api_key=api_key,
            base_url=url,
            timeout_s=timeout_s,
            rate_limit_backoff_s=rate_limit_backoff_s,
            connections=connections,
        )
        super().__init__(
            endpoint, model=model, persona=persona, max_tokens=max_tokens, temperature=temperature
        )

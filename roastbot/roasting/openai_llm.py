"""A roaster for any OpenAI-compatible chat endpoint (Ollama, vLLM, llama.cpp's server,
OpenRouter, OpenAI itself) through the official openai SDK.

Same prompt, same clean-up and the same outcome mapping as the Together roaster
(``roastbot.roasting.chat_roaster``, ``roastbot.roasting.llm_client``); the SDK's own
retries are off there. The base URL is the endpoint's API root, usually ending in /v1
(http://127.0.0.1:11434/v1 for Ollama): the SDK appends /chat/completions to it.
"""

from __future__ import annotations

from roastbot.roasting.chat_roaster import ChatRoaster
from roastbot.roasting.llm_client import RATE_LIMIT_BACKOFF_S, openai_endpoint
from roastbot.roasting.persona import Persona


class OpenAIRoaster(ChatRoaster):
    """Roasts with ``model`` through the openai SDK."""

    name = "openai"

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        model: str,
        timeout_s: float,
        persona: Persona | None = None,
        max_tokens: int = 120,
        temperature: float = 0.9,
        rate_limit_backoff_s: float = RATE_LIMIT_BACKOFF_S,
        connections: int | None = None,
    ) -> None:
        # A local server ignores the key, but the SDK refuses to start without one.
        if not api_key:
            raise ValueError("the openai roaster needs an api_key (any value for a local server)")
        if not base_url:
            raise ValueError(
                "the openai roaster needs a base_url (the API root, e.g. http://127.0.0.1:11434/v1)"
            )
        endpoint = openai_endpoint(
            api_key=api_key,
            base_url=base_url.rstrip("/"),
            timeout_s=timeout_s,
            rate_limit_backoff_s=rate_limit_backoff_s,
            connections=connections,
        )
        super().__init__(
            endpoint, model=model, persona=persona, max_tokens=max_tokens, temperature=temperature
        )

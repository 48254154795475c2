"""Pick a roaster (and the guard in front of it) from settings values."""

from __future__ import annotations

from typing import TYPE_CHECKING

from roastbot.roasting.base import Roaster
from roastbot.roasting.chat_roaster import ChatRoaster
from roastbot.roasting.guard import GuardedRoaster, GuardModel
from roastbot.roasting.llm_client import openai_endpoint
from roastbot.roasting.offline import OfflineRoaster
from roastbot.roasting.openai_llm import OpenAIRoaster
from roastbot.roasting.persona import load_persona
from roastbot.roasting.together_llm import TogetherRoaster

if TYPE_CHECKING:
    from roastbot.settings import Settings

ROASTER_KINDS = ("together", "openai", "offline")
KEY_SETTINGS = {"together": "TOGETHER_API_KEY", "openai": "LLM_API_KEY"}


def build_roaster(
    kind: str,
    *,
    api_key: str | None,
    base_url: str | None,
    model: str,
    timeout_s: float,
    seed: int,
    persona_file: str = "",
    guard_model: str = "",
    guard_base_url: str = "",
    guard_api_key: str = "",
    connections: int | None = None,
) -> Roaster:
    """A roaster of ``kind`` (one of ROASTER_KINDS); ValueError for anything else.

    ``persona_file`` picks the LLM roasters' voice (empty: the packaged persona.toml).
    With ``guard_model``, the roaster comes wrapped with a guard that ``generate_safe_roast``
    asks about every draft that passed the rule checks: on ``guard_base_url`` (an
    OpenAI-compatible endpoint, with ``guard_api_key``) or else on the roaster's own endpoint.
    ``connections``: how many calls are made at once (a consumer's CONSUMER_CONCURRENCY), the
    connections each endpoint keeps open between calls (None: the SDK's default pool).
    """
    roaster: Roaster
    if kind in KEY_SETTINGS and not api_key:
        raise ValueError(f"roaster {kind!r} needs an api_key ({KEY_SETTINGS[kind]})")
    if kind == "together":
        roaster = TogetherRoaster(
            api_key=api_key or "",
            base_url=base_url,
            model=model,
            timeout_s=timeout_s,
            persona=load_persona(persona_file),
            connections=connections,
        )
    elif kind == "openai":
        if not base_url:
            raise ValueError(
                "roaster 'openai' needs a base_url (LLM_BASE_URL, e.g. http://127.0.0.1:11434/v1)"
            )
        roaster = OpenAIRoaster(
            api_key=api_key or "",
            base_url=base_url,
            model=model,
            timeout_s=timeout_s,
            persona=load_persona(persona_file),
            connections=connections,
        )
    elif kind == "offline":
        roaster = OfflineRoaster(seed=seed)
    else:
        raise ValueError(f"unknown roaster kind {kind!r}: expected one of {', '.join(ROASTER_KINDS)}")
    if not guard_model:
        return roaster
    if guard_base_url:
        if not guard_api_key:
            raise ValueError("a guard on its own base_url needs its api_key (GUARD_API_KEY)")
        endpoint = openai_endpoint(
            api_key=guard_api_key, base_url=guard_base_url, timeout_s=timeout_s, connections=connections
        )
    elif isinstance(roaster, ChatRoaster):
        endpoint = roaster.endpoint  # the roaster's endpoint, key and HTTP client
    else:
        raise ValueError(f"a guard with the {kind} roaster needs its own endpoint (GUARD_BASE_URL)")
    return GuardedRoaster(roaster, GuardModel(endpoint, model=guard_model))


def roaster_from_settings(settings: Settings, *, persona_file: str | None = None) -> Roaster:
    """The roaster the settings ask for (ROASTER, TOGETHER_* or LLM_*, ROAST_MODEL, LLM_TIMEOUT_S,
    PERSONA_FILE, GUARD_*), keeping a connection open for each of CONSUMER_CONCURRENCY calls at
    once; ``persona_file`` overrides PERSONA_FILE (to compare two voices)."""
    kind = settings.roaster or "offline"
    if kind == "openai":
        api_key, base_url = settings.llm_api_key, settings.llm_base_url
    else:
        api_key, base_url = settings.together_api_key, settings.together_base_url
    return build_roaster(
        kind,
        api_key=api_key.get_secret_value() or None,
        base_url=base_url or None,
        model=settings.roast_model,
        timeout_s=settings.llm_timeout_s,
        seed=settings.roast_seed,
        persona_file=settings.persona_file if persona_file is None else persona_file,
        guard_model=settings.guard_model,
        guard_base_url=settings.guard_base_url,
        guard_api_key=settings.guard_api_key.get_secret_value(),
        connections=settings.consumer_concurrency,
    )

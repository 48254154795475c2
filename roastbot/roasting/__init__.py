"""Roasting: roasters (LLM or offline templates), the safety gate and the regenerate loop.

The names below load their module on first use (PEP 562): validating Settings reads the
persona (``roastbot.roasting.persona``), and importing this package whole for that cost
the producer and the tracker, which never roast, about 0.45 s of CPU at every start (the
offline roaster's word data, twitter-text).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from roastbot.roasting.base import RoastDraft, Roaster, RoastRequest
    from roastbot.roasting.factory import ROASTER_KINDS, build_roaster, roaster_from_settings
    from roastbot.roasting.guard import GuardedRoaster, GuardModel, GuardVerdict
    from roastbot.roasting.offline import OfflineRoaster
    from roastbot.roasting.openai_llm import OpenAIRoaster
    from roastbot.roasting.persona import Persona, load_persona
    from roastbot.roasting.pipeline import SafeRoastResult, generate_safe_roast
    from roastbot.roasting.safety import REASONS, SafetyVerdict, check_roast
    from roastbot.roasting.together_llm import TogetherRoaster

_HOMES = {
    "RoastDraft": "base",
    "RoastRequest": "base",
    "Roaster": "base",
    "ROASTER_KINDS": "factory",
    "build_roaster": "factory",
    "roaster_from_settings": "factory",
    "GuardModel": "guard",
    "GuardVerdict": "guard",
    "GuardedRoaster": "guard",
    "OfflineRoaster": "offline",
    "OpenAIRoaster": "openai_llm",
    "Persona": "persona",
    "load_persona": "persona",
    "SafeRoastResult": "pipeline",
    "generate_safe_roast": "pipeline",
    "REASONS": "safety",
    "SafetyVerdict": "safety",
    "check_roast": "safety",
    "TogetherRoaster": "together_llm",
}

__all__ = [
    "REASONS",
    "ROASTER_KINDS",
    "GuardModel",
    "GuardVerdict",
    "GuardedRoaster",
    "OfflineRoaster",
    "OpenAIRoaster",
    "Persona",
    "RoastDraft",
    "RoastRequest",
    "Roaster",
    "SafeRoastResult",
    "SafetyVerdict",
    "TogetherRoaster",
    "build_roaster",
    "check_roast",
    "generate_safe_roast",
    "load_persona",
    "roaster_from_settings",
]


def __getattr__(name: str) -> Any:
    # An AttributeError for any other name lets ``from roastbot.roasting import safety`` find
    # the submodule, as the import system does for a package without this hook.
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # later look-ups skip this hook
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

"""Roasting: roasters (LLM or offline templates), the safety gate and the regenerate loop."""

from roastbot.roasting.base import RoastDraft, Roaster, RoastRequest
from roastbot.roasting.factory import ROASTER_KINDS, build_roaster, roaster_from_settings
from roastbot.roasting.guard import GuardedRoaster, GuardModel, GuardVerdict
from roastbot.roasting.offline import OfflineRoaster
from roastbot.roasting.openai_llm import OpenAIRoaster
from roastbot.roasting.persona import Persona, load_persona
from roastbot.roasting.pipeline import SafeRoastResult, generate_safe_roast
from roastbot.roasting.safety import REASONS, SafetyVerdict, check_roast
from roastbot.roasting.together_llm import TogetherRoaster

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

"""Roasting: roasters (LLM or offline templates), the safety gate and the regenerate loop."""

from roastbot.roasting.base import RoastDraft, Roaster, RoastRequest
from roastbot.roasting.factory import ROASTER_KINDS, build_roaster, roaster_from_settings
from roastbot.roasting.offline import OfflineRoaster
from roastbot.roasting.pipeline import SafeRoastResult, generate_safe_roast
from roastbot.roasting.safety import REASONS, SafetyVerdict, check_roast
from roastbot.roasting.together_llm import TogetherRoaster

__all__ = [
    "REASONS",
    "ROASTER_KINDS",
    "OfflineRoaster",
    "RoastDraft",
    "RoastRequest",
    "Roaster",
    "SafeRoastResult",
    "SafetyVerdict",
    "TogetherRoaster",
    "build_roaster",
    "check_roast",
    "generate_safe_roast",
    "roaster_from_settings",
]

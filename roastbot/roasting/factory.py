"""Pick a roaster from settings values."""

from __future__ import annotations

from typing import TYPE_CHECKING

from roastbot.roasting.base import Roaster
from roastbot.roasting.offline import OfflineRoaster
from roastbot.roasting.together_llm import TogetherRoaster

if TYPE_CHECKING:
    from roastbot.settings import Settings

ROASTER_KINDS = ("together", "offline")


def build_roaster(
    kind: str, *, api_key: str | None, base_url: str | None, model: str, timeout_s: float, seed: int
) -> Roaster:
    """A roaster of ``kind`` ("together" or "offline"); ValueError for anything else."""
    if kind == "together":
        if not api_key:
            raise ValueError("roaster 'together' needs an api_key (TOGETHER_API_KEY)")
        return TogetherRoaster(api_key=api_key, base_url=base_url, model=model, timeout_s=timeout_s)
    if kind == "offline":
        return OfflineRoaster(seed=seed)
    raise ValueError(f"unknown roaster kind {kind!r}: expected one of {', '.join(ROASTER_KINDS)}")


def roaster_from_settings(settings: Settings) -> Roaster:
    """The roaster the settings ask for (ROASTER, TOGETHER_*, ROAST_MODEL, LLM_TIMEOUT_S)."""
    return build_roaster(
        settings.roaster or "offline",
        api_key=settings.together_api_key.get_secret_value() or None,
        base_url=settings.together_base_url or None,
        model=settings.roast_model,
        timeout_s=settings.llm_timeout_s,
        seed=settings.roast_seed,
    )

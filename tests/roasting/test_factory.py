"""build_roaster picks the roaster named in the settings."""

from __future__ import annotations

import pytest

from roastbot.roasting import OfflineRoaster, Roaster, TogetherRoaster, build_roaster


def build(kind: str, api_key: str | None = "key") -> Roaster:
    return build_roaster(
        kind, api_key=api_key, base_url="http://127.0.0.1:8701", model="m", timeout_s=3, seed=9
    )


def test_offline() -> None:
    roaster = build("offline", api_key=None)
    assert isinstance(roaster, OfflineRoaster)
    assert roaster.name == "offline" and roaster.seed == 9


def test_together() -> None:
    roaster = build("together")
    assert isinstance(roaster, TogetherRoaster)
    assert roaster.name == "together" and roaster.model == "m" and roaster.base_url == "http://127.0.0.1:8701"


def test_together_without_a_key_is_refused() -> None:
    with pytest.raises(ValueError, match="api_key"):
        build("together", api_key=None)


def test_an_unknown_kind_names_the_allowed_ones() -> None:
    with pytest.raises(ValueError, match="together, openai, offline"):
        build("anthropic")


def test_the_default_base_url_ignores_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOGETHER_BASE_URL", "http://somewhere.else")
    roaster = build_roaster("together", api_key="k", base_url=None, model="m", timeout_s=3, seed=0)
    assert isinstance(roaster, TogetherRoaster)
    assert roaster.base_url == "https://api.together.ai"

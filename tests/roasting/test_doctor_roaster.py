"""The doctor's roaster check for ROASTER=openai (and the guard) against the LLM fake over HTTP."""

from __future__ import annotations

import pytest

from roastbot.doctor import check_roaster
from roastbot.roasting import load_persona
from roastbot.settings import Settings
from tests.roasting.conftest import MODEL, FakeLLM, free_port


def openai_settings(base_url: str, **extra: object) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        roaster="openai",
        llm_base_url=base_url,
        llm_api_key="test-key",
        roast_model=MODEL,
        llm_timeout_s=3,
        **extra,
    )


def test_a_working_openai_endpoint_passes_with_its_model_and_prompt_version(llm_fake: FakeLLM) -> None:
    check = check_roaster(openai_settings(f"{llm_fake.url}/v1", guard_model="meta-llama/Llama-Guard-4-12B"))
    assert check.ok, check
    assert (
        f"openai ({MODEL}, prompt {load_persona().version}, guard meta-llama/Llama-Guard-4-12B)"
        in check.detail
    )


@pytest.mark.parametrize(
    ("suffix", "detail"), [("", "llm refused the request: 404"), ("/v1", "llm refused the request: 401")]
)
def test_a_wrong_url_or_key_fails_naming_the_openai_settings(
    llm_fake: FakeLLM, suffix: str, detail: str
) -> None:
    if suffix:  # the right URL, a refused key
        llm_fake.revoke("test-key")
    check = check_roaster(openai_settings(llm_fake.url + suffix))
    assert not check.ok and detail in check.detail, check
    assert "LLM_BASE_URL" in check.fix and "LLM_API_KEY" in check.fix and "TOGETHER" not in check.fix


def test_a_guard_that_cannot_answer_fails_naming_the_guard_settings(llm_fake: FakeLLM) -> None:
    settings = openai_settings(
        f"{llm_fake.url}/v1",
        guard_model="meta-llama/Llama-Guard-4-12B",
        guard_base_url=f"http://127.0.0.1:{free_port()}/v1",
        guard_api_key="guard-key",
    )
    check = check_roaster(settings)
    assert not check.ok and "guard connection failed" in check.detail, check
    assert "GUARD_MODEL" in check.fix

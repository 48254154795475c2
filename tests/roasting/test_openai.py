"""The OpenAI-compatible roaster, and the Together one beside it, over real HTTP against the LLM
fake: one prompt, one outcome mapping, whatever the SDK."""

from __future__ import annotations

import threading
import time

import pytest
from openai.types.chat import ChatCompletion

from roastbot.holds import CAUSES, GENERATING, credential_for
from roastbot.outcomes import Permanent, RateLimited, Transient
from roastbot.roasting import OpenAIRoaster, RoastRequest, build_roaster, load_persona, roaster_from_settings
from roastbot.settings import Settings, load_settings
from tests.roasting.conftest import MODEL, FakeLLM

SDKS = ["together", "openai"]
TABS = RoastRequest(mention_id="1", text="@roastbot roast my 14 browser tabs", author_username="alice")


def one_request(fake: FakeLLM) -> None:
    """Our retry policy is the only one: neither SDK may retry behind our back."""
    stats = fake.stats()
    assert (stats["requests"], stats["chat_completions"]) == (1, 1), stats


@pytest.mark.parametrize("sdk", SDKS)
def test_a_roast_records_its_model_persona_version_and_tokens(llm_fake: FakeLLM, sdk: str) -> None:
    draft = llm_fake.sdk_roaster(sdk).roast(TABS)
    assert (draft.roaster, draft.model) == (sdk, MODEL)
    assert "browser" in draft.text
    assert draft.prompt_version == load_persona().version != ""
    assert draft.prompt_tokens > 0 and draft.completion_tokens == len(draft.text.split())
    one_request(llm_fake)
    sent = llm_fake.last_request()
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]  # type: ignore[index]
    assert "browser tabs" in sent["messages"][1]["content"]  # type: ignore[index]


@pytest.mark.parametrize("sdk", SDKS)
def test_429_is_rate_limited_until_its_reset(llm_fake: FakeLLM, sdk: str) -> None:
    llm_fake.faults(rate_limit_rate=1.0, retry_after_s=7)
    before = time.time()
    with pytest.raises(RateLimited) as caught:
        llm_fake.sdk_roaster(sdk).roast(TABS)
    assert before + 6.5 <= caught.value.reset_at <= time.time() + 7.5
    one_request(llm_fake)


@pytest.mark.parametrize("sdk", SDKS)
def test_5xx_is_transient(llm_fake: FakeLLM, sdk: str) -> None:
    llm_fake.faults(error_rate=1.0)
    with pytest.raises(Transient, match="server error 50"):
        llm_fake.sdk_roaster(sdk).roast(TABS)
    one_request(llm_fake)


@pytest.mark.parametrize("sdk", SDKS)
def test_a_refused_key_is_the_credential_hold_naming_its_setting(llm_fake: FakeLLM, sdk: str) -> None:
    llm_fake.revoke("revoked-key")
    with pytest.raises(Permanent) as caught:
        llm_fake.sdk_roaster(sdk, api_key="revoked-key").roast(TABS)
    assert caught.value.code == "llm_auth" and "401" in caught.value.reason
    assert CAUSES["llm_auth"].stops == GENERATING  # the steps hold generation on this code
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        roaster=sdk,
        together_api_key="k",
        llm_api_key="k",
        llm_base_url=f"{llm_fake.url}/v1",
        roast_model=MODEL,
    )
    assert (
        credential_for("llm_auth", settings) == {"openai": "LLM_API_KEY", "together": "TOGETHER_API_KEY"}[sdk]
    )


def test_a_timeout_is_transient_and_not_retried(llm_fake: FakeLLM) -> None:
    llm_fake.faults(timeout_rate=1.0, hang_s=10)
    start = time.monotonic()
    with pytest.raises(Transient, match="timed out"):
        llm_fake.openai_roaster(timeout_s=0.4).roast(TABS)
    assert time.monotonic() - start < 3
    one_request(llm_fake)


@pytest.mark.parametrize("kind", ["empty", "null", "symbols", "no_choices", "not_json"])
def test_garbage_is_transient(llm_fake: FakeLLM, kind: str) -> None:
    llm_fake.faults(garbage_rate=1.0, garbage_kind=kind)
    with pytest.raises(Transient):
        llm_fake.openai_roaster().roast(TABS)


def test_a_base_url_without_v1_is_a_not_found_the_doctor_can_explain(llm_fake: FakeLLM) -> None:
    roaster = OpenAIRoaster(api_key="k", base_url=llm_fake.url, model=MODEL, timeout_s=5)
    with pytest.raises(Permanent) as caught:
        roaster.roast(TABS)
    assert caught.value.code == "llm_not_found"


def test_the_openai_sdk_reads_the_fakes_answer_as_openais_schema_says(llm_fake: FakeLLM) -> None:
    # The fake's answer lacked choices[].logprobs and message.refusal, which OpenAI requires (nullable).
    client = llm_fake.openai_roaster().endpoint.client
    response = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "roast my tabs"}]
    )
    assert isinstance(response, ChatCompletion)
    choice = response.choices[0]
    assert "logprobs" in choice.model_fields_set and choice.logprobs is None
    assert "refusal" in choice.message.model_fields_set and choice.message.refusal is None
    assert response.usage is not None and response.usage.total_tokens > 0


def test_build_roaster_makes_an_openai_roaster_and_refuses_one_without_a_url() -> None:
    roaster = build_roaster(
        "openai", api_key="k", base_url="http://127.0.0.1:11434/v1", model="llama3.2", timeout_s=3, seed=0
    )
    assert isinstance(roaster, OpenAIRoaster)
    assert (roaster.name, roaster.model, roaster.base_url) == (
        "openai",
        "llama3.2",
        "http://127.0.0.1:11434/v1",
    )
    assert roaster.endpoint.client.max_retries == 0
    with pytest.raises(ValueError, match="LLM_BASE_URL"):
        build_roaster("openai", api_key="k", base_url=None, model="m", timeout_s=3, seed=0)
    with pytest.raises(ValueError, match="LLM_API_KEY"):
        build_roaster("openai", api_key=None, base_url="http://x/v1", model="m", timeout_s=3, seed=0)


@pytest.mark.parametrize("sdk", SDKS)
def test_concurrent_calls_keep_one_connection_each_open_between_calls(
    llm_fake: FakeLLM, sdk: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CONSUMER_CONCURRENCY calls at once, three rounds of them, over as many connections: each
    stays open for the thread's next call (together's own pool kept 20 open, and a call past
    them opened a new connection: 96 for 96 calls here)."""
    concurrency, rounds = 32, 3
    env = {"ROASTER": sdk, "ROAST_MODEL": MODEL, "CONSUMER_CONCURRENCY": str(concurrency)}
    if sdk == "openai":
        env.update(LLM_BASE_URL=f"{llm_fake.url}/v1", LLM_API_KEY="test-key")
    else:
        env.update(TOGETHER_BASE_URL=llm_fake.url, TOGETHER_API_KEY="test-key")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    roaster = roaster_from_settings(load_settings(_env_file=None))
    llm_fake.faults(latency_ms=500, jitter_ms=100)
    errors: list[Exception] = []

    def calls(index: int) -> None:
        try:
            for attempt in range(rounds):
                roaster.roast(
                    RoastRequest(str(index), f"@roastbot roast my {index} hobbies", "bob", attempt=attempt)
                )
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=calls, args=(index,)) for index in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    stats = llm_fake.stats()
    assert errors == [] and stats["chat_completions"] == concurrency * rounds, stats
    assert stats["max_in_flight"] > 20, stats  # more at once than together's pool kept open
    assert stats["connections"] <= concurrency, stats


@pytest.mark.parametrize("sdk", SDKS)
def test_the_chat_completions_resource_is_built_with_the_client(llm_fake: FakeLLM, sdk: str) -> None:
    """Built on first use, without a lock, it was built again by every pool thread that reached
    it first: the endpoint builds it once, before any call."""
    endpoint = llm_fake.sdk_roaster(sdk).endpoint
    chat = vars(endpoint.client).get("chat")  # where the SDK's cached_property keeps what it built
    assert chat is not None and vars(chat).get("completions") is endpoint.completions

"""The Together roaster over real HTTP against the LLM fake: answers, faults, one request per call."""

from __future__ import annotations

import email.utils
import threading
import time

import httpx
import pytest
import together

from roastbot.outcomes import Permanent, RateLimited, Transient
from roastbot.roasting import RoastRequest, TogetherRoaster
from roastbot.roasting.chat_roaster import roast_text
from roastbot.roasting.llm_client import reset_at as _reset_at
from roastbot.roasting.llm_client import status_outcome as _status_outcome
from tests.roasting.conftest import MODEL, FakeLLM, free_port

TABS = RoastRequest(mention_id="1", text="@roastbot roast my 14 browser tabs", author_username="alice")


def assert_one_request(fake: FakeLLM) -> dict[str, object]:
    """Our retry policy is the only one: the SDK must not have retried behind our back."""
    stats = fake.stats()
    assert stats["requests"] == 1, stats
    assert stats["chat_completions"] == 1, stats
    return stats


def test_happy_path(llm_fake: FakeLLM) -> None:
    draft = llm_fake.roaster().roast(TABS)
    assert draft.roaster == "together"
    assert draft.model == MODEL
    assert "browser" in draft.text or "tabs" in draft.text
    stats = assert_one_request(llm_fake)
    assert stats["errors"] == 0
    sent = llm_fake.http.get(f"{llm_fake.url}/sandbox/last_request").json()
    assert sent["model"] == MODEL
    assert [message["role"] for message in sent["messages"]] == ["system", "user"]
    assert "browser tabs" not in sent["messages"][0]["content"]  # the mention stays out of the rules
    assert "browser tabs" in sent["messages"][1]["content"]
    assert sent["max_tokens"] > 0


def test_regenerations_ask_for_more_variety(llm_fake: FakeLLM) -> None:
    roaster = llm_fake.roaster()
    temperatures = []
    for attempt in range(3):
        roaster.roast(RoastRequest("1", TABS.text, "alice", attempt=attempt))
        temperatures.append(llm_fake.http.get(f"{llm_fake.url}/sandbox/last_request").json()["temperature"])
    assert temperatures == sorted(temperatures) and len(set(temperatures)) == 3


def test_429_is_rate_limited_until_retry_after(llm_fake: FakeLLM) -> None:
    llm_fake.faults(rate_limit_rate=1.0, retry_after_s=7)
    before = time.time()
    with pytest.raises(RateLimited) as caught:
        llm_fake.roaster().roast(TABS)
    assert before + 6.5 <= caught.value.reset_at <= time.time() + 7.5
    assert_one_request(llm_fake)


def test_5xx_is_transient(llm_fake: FakeLLM) -> None:
    llm_fake.faults(error_rate=1.0)
    with pytest.raises(Transient, match="server error 50"):
        llm_fake.roaster().roast(TABS)
    stats = assert_one_request(llm_fake)
    assert stats["errors"] == 1


def test_timeout_is_transient_and_not_retried(llm_fake: FakeLLM) -> None:
    llm_fake.faults(timeout_rate=1.0, hang_s=10)
    start = time.monotonic()
    with pytest.raises(Transient, match="timed out"):
        llm_fake.roaster(timeout_s=0.4).roast(TABS)
    assert time.monotonic() - start < 3
    assert_one_request(llm_fake)
    # The fake notices the client left and stops hanging.
    deadline = time.monotonic() + 5
    while llm_fake.stats()["in_flight"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert llm_fake.stats()["in_flight"] == 0


@pytest.mark.parametrize("kind", ["empty", "null", "symbols", "json_debris", "no_choices", "not_json"])
def test_garbage_is_transient(llm_fake: FakeLLM, kind: str) -> None:
    llm_fake.faults(garbage_rate=1.0, garbage_kind=kind)
    with pytest.raises(Transient, match="no usable text"):
        llm_fake.roaster().roast(TABS)
    stats = assert_one_request(llm_fake)
    assert stats["by_outcome"] == {f"outcome:garbage_{kind}": 1}


@pytest.mark.parametrize(
    ("status", "outcome", "code"),
    [
        (400, Permanent, "llm_bad_request"),
        (401, Permanent, "llm_auth"),
        (403, Permanent, "llm_forbidden"),
        (404, Permanent, "llm_not_found"),
        (422, Permanent, "llm_bad_request"),
        (418, Permanent, "llm_http_418"),
        (408, Transient, None),
        (500, Transient, None),
        (503, Transient, None),
    ],
)
def test_status_codes_map_to_outcomes(status: int, outcome: type[Exception], code: str | None) -> None:
    body = {"error": {"message": "Invalid API key provided.", "type": "invalid_request_error", "code": "x"}}
    response = httpx.Response(
        status, json=body, request=httpx.Request("POST", "http://x/v1/chat/completions")
    )
    error = together.APIStatusError("refused", response=response, body=body)
    mapped = _status_outcome(error)
    assert type(mapped) is outcome
    assert "Invalid API key provided." in mapped.reason
    if code is not None:
        assert mapped.code == code


def test_an_unknown_path_is_permanent(llm_fake: FakeLLM) -> None:
    roaster = TogetherRoaster(api_key="k", base_url=f"{llm_fake.url}/nowhere", model=MODEL, timeout_s=5)
    with pytest.raises(Permanent) as caught:
        roaster.roast(TABS)
    assert caught.value.code == "llm_not_found"


def test_nobody_listening_is_transient() -> None:
    roaster = TogetherRoaster(
        api_key="k", base_url=f"http://127.0.0.1:{free_port()}", model=MODEL, timeout_s=2
    )
    with pytest.raises(Transient, match="connection"):
        roaster.roast(TABS)


def test_base_url_with_v1_is_refused_up_front() -> None:
    with pytest.raises(ValueError, match="/v1"):
        TogetherRoaster(api_key="k", base_url="http://127.0.0.1:8701/v1", model=MODEL, timeout_s=5)


def test_concurrent_roasts_share_one_roaster(llm_fake: FakeLLM) -> None:
    llm_fake.faults(latency_ms=300)
    roaster = llm_fake.roaster()
    drafts: list[str] = []
    errors: list[Exception] = []

    def roast(index: int) -> None:
        try:
            drafts.append(
                roaster.roast(RoastRequest(str(index), f"@roastbot roast my {index} hobbies", "bob")).text
            )
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=roast, args=(index,)) for index in range(16)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    elapsed = time.monotonic() - start
    assert errors == []
    assert len(drafts) == 16
    assert elapsed < 2.0, f"16 concurrent roasts at 300 ms each took {elapsed:.2f}s"
    assert llm_fake.stats()["max_in_flight"] >= 8


# --- answer clean-up and reset headers (no HTTP) -------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('  "Your tabs are a lifestyle."  ', "Your tabs are a lifestyle."),
        ("“Your tabs are a lifestyle.”", "Your tabs are a lifestyle."),
        ("Roast: Your tabs are a lifestyle.", "Your tabs are a lifestyle."),
        ("Your tabs are a lifestyle.\n\nHope that helps! Let me know.", "Your tabs are a lifestyle."),
        ("Your tabs\nare a lifestyle.", "Your tabs are a lifestyle."),
        ("", ""),
        (None, ""),
        ("   \n  ", ""),
        ("#$%^&*", ""),
        ("\ufffd\ufffd\ufffd", ""),
        ('{"choices": [{"text": null}]}', ""),
    ],
)
def test_roast_text(content: str | None, expected: str) -> None:
    assert roast_text(content) == expected


SDK = together.Together(api_key="k", base_url="http://127.0.0.1:9", max_retries=0)  # reads retry-after


def test_our_own_errors_are_not_called_network_errors(
    llm_fake: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A TypeError of ours (here in building the prompt) was reported as a Transient "llm
    # returned an unreadable answer" and retried as if the LLM had sent garbage.
    def broken(_request: RoastRequest, _persona: object = None) -> list[dict[str, str]]:
        raise TypeError("unsupported operand type(s) for +: 'int' and 'str'")

    monkeypatch.setattr("roastbot.roasting.chat_roaster.build_messages", broken)
    with pytest.raises(TypeError, match="unsupported operand"):
        llm_fake.roaster().roast(TABS)


def _response(headers: dict[str, str]) -> httpx.Response:
    return httpx.Response(429, headers=headers, request=httpx.Request("POST", "http://x/v1/chat/completions"))


def test_reset_from_retry_after_seconds_and_date() -> None:
    now = time.time()
    assert _reset_at(_response({"retry-after": "12"}), 99, SDK) == pytest.approx(now + 12, abs=1)
    assert _reset_at(_response({"retry-after-ms": "1500"}), 99, SDK) == pytest.approx(now + 1.5, abs=1)
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert _reset_at(_response({"retry-after": date}), 99, SDK) == pytest.approx(now + 30, abs=2)


def test_reset_from_x_ratelimit_reset_forms() -> None:
    now = time.time()
    assert _reset_at(_response({"x-ratelimit-reset": "20"}), 99, SDK) == pytest.approx(now + 20, abs=1)
    assert _reset_at(_response({"x-ratelimit-reset": str(int(now) + 40)}), 99, SDK) == pytest.approx(
        now + 40, abs=1
    )
    assert _reset_at(_response({"x-ratelimit-reset": "1m30s"}), 99, SDK) == pytest.approx(now + 90, abs=1)


def test_reset_falls_back_to_the_backoff_hint() -> None:
    now = time.time()
    assert _reset_at(_response({}), 10, SDK) == pytest.approx(now + 10, abs=1)
    assert _reset_at(_response({"retry-after": "soon"}), 10, SDK) == pytest.approx(now + 10, abs=1)

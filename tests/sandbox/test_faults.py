"""Injected faults: 5xx, garbage bodies, 429 storms, dropped connections, refused posts."""

from __future__ import annotations

import json
import math
import time

import httpx
import pytest
import requests
import tweepy

from tests.helpers import wait_for
from tests.sandbox.conftest import BEARER, BOT_ID, mention
from tests.sandbox.test_x_api import TOO_MANY


def faults(control: httpx.Client, **body: object) -> dict:
    answer = control.post("/sandbox/faults", json=body)
    answer.raise_for_status()
    return answer.json()


def test_error_rate_one_serves_5xx_problems(x: tweepy.Client, control: httpx.Client) -> None:
    faults(control, error_rate=1.0)
    with pytest.raises(tweepy.TwitterServerError) as raised:
        x.get_users_mentions(BOT_ID)
    status = raised.value.response.status_code
    assert status in (500, 503)
    body = raised.value.response.json()
    assert (body["status"], body["type"]) == (status, "about:blank")
    assert control.get("/sandbox/stats").json()["server_errors_served"] == 1


def test_faults_limited_to_endpoints(x: tweepy.Client, control: httpx.Client) -> None:
    faults(control, error_rate=1.0, endpoints=["post"])
    assert x.get_users_mentions(BOT_ID).meta["result_count"] == 0
    with pytest.raises(tweepy.TwitterServerError):
        x.create_tweet(text="will fail", user_auth=True)
    assert control.get("/sandbox/stats").json()["posts_created"] == 0  # the 5xx came before posting


def test_malformed_answers_are_2xx_garbage(x: tweepy.Client, control: httpx.Client) -> None:
    mention(control, "parse me")
    faults(control, malformed_rate=1.0)
    answers = [control.get(f"/2/users/{BOT_ID}/mentions", headers=BEARER) for _ in range(6)]
    for answer in answers:
        assert answer.status_code == 200
        with pytest.raises(ValueError):  # JSONDecodeError, or UnicodeDecodeError for raw bytes
            json.loads(answer.content)
    with pytest.raises(ValueError):
        x.get_users_mentions(BOT_ID)
    assert control.get("/sandbox/stats").json()["malformed_responses"] == 7


def test_rate_limit_storm_with_honest_reset(x: tweepy.Client, control: httpx.Client) -> None:
    before = time.time()
    described = faults(control, rate_limit_storm_s=1)
    assert 0 < described["storm_remaining_s"] <= 1
    refused = control.get(f"/2/users/{BOT_ID}/mentions", headers=BEARER)
    assert refused.status_code == 429 and refused.json() == TOO_MANY
    reset = int(refused.headers["x-rate-limit-reset"])
    assert reset == math.ceil(before + 1) or reset == math.ceil(before + 1) + 1
    with pytest.raises(tweepy.TooManyRequests):
        x.create_tweet(text="storm", user_auth=True)
    wait_for(lambda: time.time() >= reset, 5, "the storm's reset second")
    assert control.get(f"/2/users/{BOT_ID}/mentions", headers=BEARER).status_code == 200


def test_dropped_connections_get_no_answer(x: tweepy.Client, control: httpx.Client) -> None:
    faults(control, drop_rate=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        control.get(f"/2/users/{BOT_ID}/mentions", headers=BEARER)
    with pytest.raises(requests.ConnectionError):
        x.get_users_mentions(BOT_ID)
    assert control.get("/sandbox/stats").json()["dropped_connections"] == 2


def test_latency(control: httpx.Client) -> None:
    faults(control, latency_ms=300, endpoints=["mentions"])
    began = time.monotonic()
    assert control.get(f"/2/users/{BOT_ID}/mentions", headers=BEARER).status_code == 200
    assert time.monotonic() - began >= 0.3


@pytest.mark.parametrize(
    ("refusal", "words"),
    [
        ("duplicate", "duplicate content"),
        ("reply_restricted", "You can only reply to or quote posts where you are mentioned"),
        ("automation_block", "looks like it might be automated"),
        ("suspended", "suspended"),
        ("deleted", "deleted or not visible"),
    ],
)
def test_post_refusals_counted_then_cleared(
    x: tweepy.Client, control: httpx.Client, refusal: str, words: str
) -> None:
    target = mention(control, "roast me")
    faults(control, post_refusal=refusal, post_refusal_count=2)
    for attempt in range(2):
        with pytest.raises(tweepy.Forbidden) as refused:
            x.create_tweet(text=f"attempt {attempt}", in_reply_to_tweet_id=target, user_auth=True)
        body = refused.value.response.json()
        assert (body["status"], body["title"], body["type"]) == (403, "Forbidden", "about:blank")
        assert words in body["detail"]
    assert x.create_tweet(text="third time lucky", in_reply_to_tweet_id=target, user_auth=True).data["id"]
    assert control.get("/sandbox/faults").json()["post_refusal"] is None
    assert control.get("/sandbox/stats").json()["posts_refused_by_reason"] == {refusal: 2}


def test_clearing_faults(control: httpx.Client) -> None:
    assert faults(control, error_rate=1.0, post_refusal="suspended")["active"] is True
    assert control.delete("/sandbox/faults").json()["active"] is False
    faults(control, error_rate=1.0)
    assert faults(control)["active"] is False  # POST {} clears too
    assert control.get(f"/2/users/{BOT_ID}/mentions", headers=BEARER).status_code == 200
    bad = control.post("/sandbox/faults", json={"error_rate": 2})
    assert bad.status_code == 422
    unknown = control.post("/sandbox/faults", json={"endpoints": ["timeline"]})
    assert unknown.status_code == 422

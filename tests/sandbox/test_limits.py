"""Rate limits: X's 429 body and headers, 24-hour posting caps, and time-scaled windows."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
import requests
import tweepy

from tests.helpers import wait_for
from tests.sandbox.conftest import BEARER, BOT_ID, mention
from tests.sandbox.test_x_api import TOO_MANY

RATE_HEADERS = ("x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset")


def limits(control: httpx.Client, tier: str, time_scale: float) -> None:
    control.post("/sandbox/limits", json={"tier": tier, "time_scale": time_scale}).raise_for_status()


def test_every_answer_carries_rate_limit_headers(
    make_client: Callable[..., tweepy.Client], control: httpx.Client
) -> None:
    first = control.get(f"/2/users/{BOT_ID}/mentions", headers=BEARER)
    second = control.get(f"/2/users/{BOT_ID}/mentions", headers=BEARER)
    for answer in (first, second):
        assert all(answer.headers[h].isdigit() for h in RATE_HEADERS)
    assert int(second.headers["x-rate-limit-remaining"]) == int(first.headers["x-rate-limit-remaining"]) - 1
    assert int(first.headers["x-rate-limit-reset"]) > time.time()

    raw = make_client(return_type=requests.Response)
    posted = raw.create_tweet(text="headers please", user_auth=True)
    assert posted.status_code == 201
    for prefix in ("x-rate-limit-", "x-app-limit-24hour-", "x-user-limit-24hour-"):
        assert all(posted.headers[prefix + part].isdigit() for part in ("limit", "remaining", "reset"))
    refused = control.get(f"/2/users/{BOT_ID}/mentions")
    assert refused.status_code == 401 and refused.headers["x-rate-limit-reset"].isdigit()


def test_free_tier_mentions_429_in_x_shape(x: tweepy.Client, control: httpx.Client) -> None:
    limits(control, "free", 1)
    mention(control, "hello")
    ok = control.get(f"/2/users/{BOT_ID}/mentions", headers=BEARER)
    assert ok.status_code == 200
    assert (ok.headers["x-rate-limit-limit"], ok.headers["x-rate-limit-remaining"]) == ("1", "0")
    refused = control.get(f"/2/users/{BOT_ID}/mentions", headers=BEARER)
    assert refused.status_code == 429
    assert refused.json() == TOO_MANY
    assert refused.headers["x-rate-limit-remaining"] == "0"
    reset = int(refused.headers["x-rate-limit-reset"])
    assert time.time() + 890 < reset <= time.time() + 901  # a 15-minute window
    with pytest.raises(tweepy.TooManyRequests) as raised:
        x.get_users_mentions(BOT_ID)
    assert raised.value.reset_time == reset
    # per-user and per-app limits are separate buckets: the user context still has its one call
    assert x.get_users_mentions(BOT_ID, user_auth=True).meta["result_count"] == 1
    assert control.get("/sandbox/stats").json()["rate_limited_responses"] == 2


def test_free_tier_24_hour_posting_cap(x: tweepy.Client, control: httpx.Client) -> None:
    limits(control, "free", 1)
    for n in range(17):
        x.create_tweet(text=f"roast {n}", user_auth=True)
    with pytest.raises(tweepy.TooManyRequests) as raised:
        x.create_tweet(text="roast 17", user_auth=True)
    headers = raised.value.response.headers
    assert raised.value.response.json() == TOO_MANY
    assert headers["x-user-limit-24hour-limit"] == "17" and headers["x-user-limit-24hour-remaining"] == "0"
    assert headers["x-app-limit-24hour-limit"] == "17" and headers["x-app-limit-24hour-remaining"] == "0"
    assert int(headers["x-user-limit-24hour-reset"]) > time.time() + 86_000
    assert control.get("/sandbox/stats").json()["posts_created"] == 17


def test_pro_tier_numbers(x: tweepy.Client, control: httpx.Client) -> None:
    limits(control, "pro", 1)
    bearer = control.get(f"/2/users/{BOT_ID}/mentions", headers=BEARER)
    user = x.get_users_mentions(BOT_ID, user_auth=True)
    assert bearer.headers["x-rate-limit-limit"] == "450"  # per app
    posted = control.get("/sandbox/limits").json()["counters"]
    assert posted["mentions:app"]["limit"] == 450 and posted["mentions:user"]["limit"] == 300
    assert user.meta["result_count"] == 0
    post = x.create_tweet(text="pro post", user_auth=True)
    assert post.data["id"]
    counters = control.get("/sandbox/limits").json()["counters"]
    assert counters["post:user"]["limit"] == 100 and counters["post:user"]["window_s"] == 900
    assert counters["post-24h:app"]["limit"] == 10_000


def test_time_scaled_window_resets_at_the_advertised_second(x: tweepy.Client, control: httpx.Client) -> None:
    limits(control, "free", 900)  # a 15-minute window lasts one second
    assert x.get_users_mentions(BOT_ID).meta["result_count"] == 0
    with pytest.raises(tweepy.TooManyRequests) as raised:
        x.get_users_mentions(BOT_ID)
    reset = raised.value.reset_time
    assert reset is not None and reset <= time.time() + 2
    wait_for(lambda: time.time() >= reset, 5, "the advertised reset second")
    again = x.get_users_mentions(BOT_ID)  # waited until reset: never refused again
    assert again.meta["result_count"] == 0

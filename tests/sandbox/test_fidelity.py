"""Sandbox answers the way X's OpenAPI specification declares them, seen through tweepy and httpx:
error answers are `application/problem+json` problems (RFC 7807); timelines carry
`meta.previous_token`, so a client paging backward gets the newer page, not the first again."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
import tweepy

from tests.sandbox.conftest import BEARER, BOT_ID, mention

PROBLEM = "application/problem+json"


def media_type(response: httpx.Response | object) -> str:
    return response.headers["content-type"].split(";")[0].strip()  # type: ignore[attr-defined]


def test_error_answers_are_problem_json(
    x: tweepy.Client, make_client: Callable[..., tweepy.Client], control: httpx.Client
) -> None:
    target = mention(control, "roast my duplicate jokes")
    x.create_tweet(text="the same line twice", in_reply_to_tweet_id=target, user_auth=True)
    with pytest.raises(tweepy.Forbidden) as duplicate:
        x.create_tweet(text="the same line twice", in_reply_to_tweet_id=target, user_auth=True)
    assert media_type(duplicate.value.response) == PROBLEM
    assert duplicate.value.response.json()["type"] == "about:blank"

    with pytest.raises(tweepy.BadRequest) as invalid:
        x.get_users_mentions(BOT_ID, max_results=1)
    assert media_type(invalid.value.response) == PROBLEM

    with pytest.raises(tweepy.Unauthorized) as refused:
        make_client(consumer_secret="wrong-secret").get_me(user_auth=True)
    assert media_type(refused.value.response) == PROBLEM

    wrong_bearer = control.get(f"/2/users/{BOT_ID}/mentions", headers={"Authorization": "Bearer nope"})
    assert (wrong_bearer.status_code, media_type(wrong_bearer)) == (401, PROBLEM)
    assert wrong_bearer.json()["status"] == 401
    # Successful answers stay plain JSON.
    assert media_type(control.get(f"/2/users/{BOT_ID}/mentions", headers=BEARER)) == "application/json"


def test_previous_token_pages_backward(x: tweepy.Client, control: httpx.Client) -> None:
    ids = control.post("/sandbox/mentions", json={"text": "page me", "count": 25}).json()["ids"]
    newest_first = list(reversed(ids))

    first = x.get_users_mentions(BOT_ID, max_results=10)
    assert "previous_token" not in first.meta  # nothing is newer than the first page
    second = x.get_users_mentions(BOT_ID, max_results=10, pagination_token=first.meta["next_token"])
    third = x.get_users_mentions(BOT_ID, max_results=10, pagination_token=second.meta["next_token"])
    assert [str(t.id) for t in third.data] == newest_first[20:]
    assert "next_token" not in third.meta

    back = x.get_users_mentions(BOT_ID, max_results=10, pagination_token=third.meta["previous_token"])
    assert [str(t.id) for t in back.data] == newest_first[10:20] == [str(t.id) for t in second.data]
    assert back.meta["next_token"] == second.meta["next_token"]
    front = x.get_users_mentions(BOT_ID, max_results=10, pagination_token=back.meta["previous_token"])
    assert [str(t.id) for t in front.data] == newest_first[:10]
    assert "previous_token" not in front.meta
    assert front.meta["next_token"] == first.meta["next_token"]

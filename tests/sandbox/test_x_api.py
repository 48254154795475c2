"""The sandbox's X API v2 endpoints against X's documented shapes, through real tweepy and raw HTTP.

Expected shapes are written from X's OpenAPI spec (components.schemas Tweet, User, Problem,
ResourceNotFoundProblem, InvalidRequestProblem, Get2UsersIdMentionsResponse) and the bodies
in /work/shared/FACTS.md, not from the sandbox's code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import requests
import tweepy

from tests.sandbox.conftest import BEARER, BOT_ID, mention

# --- X's documented shapes --------------------------------------------------------------
TWEET_PROPERTIES = {
    "attachments", "author_id", "context_annotations", "conversation_id", "created_at", "edit_controls",
    "edit_history_tweet_ids", "entities", "geo", "id", "in_reply_to_user_id", "lang", "non_public_metrics",
    "organic_metrics", "possibly_sensitive", "promoted_metrics", "public_metrics", "referenced_tweets",
    "reply_settings", "source", "text", "withheld",
}  # fmt: skip
TWEET_REQUIRED = {"id", "text", "edit_history_tweet_ids"}
USER_PROPERTIES = {
    "created_at", "description", "entities", "id", "location", "name", "pinned_tweet_id", "profile_image_url",
    "protected", "public_metrics", "url", "username", "verified", "withheld",
}  # fmt: skip
USER_REQUIRED = {"id", "name", "username"}
TIMELINE_RESPONSE = {"data", "errors", "includes", "meta"}
TIMELINE_META = {"newest_id", "next_token", "oldest_id", "previous_token", "result_count"}
NOT_FOUND_REQUIRED = {"title", "type", "parameter", "resource_id", "resource_type", "value"}
NOT_FOUND_TYPE = "https://api.twitter.com/2/problems/resource-not-found"
INVALID_REQUEST_TYPE = "https://api.twitter.com/2/problems/invalid-request"
X_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")  # e.g. 2021-01-06T18:40:40.000Z
UNAUTHORIZED = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
TOO_MANY = {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429}
DUPLICATE = {
    "detail": "You are not allowed to create a Tweet with duplicate content.",
    "type": "about:blank",
    "title": "Forbidden",
    "status": 403,
}
ALL_TWEET_FIELDS = (
    "id,text,author_id,conversation_id,created_at,referenced_tweets,in_reply_to_user_id,entities"
)
USER_FIELDS = "id,name,username,description,created_at,protected,verified"


def assert_tweet_shape(tweet: dict) -> None:
    assert TWEET_REQUIRED <= tweet.keys() <= TWEET_PROPERTIES, tweet.keys()
    assert re.fullmatch(r"[0-9]{1,19}", tweet["id"])
    assert tweet["edit_history_tweet_ids"] == [tweet["id"]]
    if "created_at" in tweet:
        assert X_TIMESTAMP.match(tweet["created_at"]), tweet["created_at"]


def assert_user_shape(user: dict) -> None:
    assert USER_REQUIRED <= user.keys() <= USER_PROPERTIES, user.keys()


def get(control: httpx.Client, path: str, **params: str) -> httpx.Response:
    return control.get(path, params=params, headers=BEARER)


# --- users/me -----------------------------------------------------------------------------


def test_me_is_the_bot_in_user_context(x: tweepy.Client, control: httpx.Client) -> None:
    me = x.get_me(user_auth=True, user_fields=["description", "created_at", "protected", "verified"])
    assert (str(me.data.id), me.data.username) == (BOT_ID, "roastbot")
    raw = x.get_me(user_auth=True, user_fields=["created_at"])
    assert raw.data.created_at is not None  # tweepy parsed X's timestamp format

    refused = control.get("/2/users/me", headers=BEARER)
    assert refused.status_code == 403
    body = refused.json()
    assert body["type"] == "https://api.twitter.com/2/problems/unsupported-authentication"
    assert body["status"] == 403 and body["title"] == "Unsupported Authentication"


# --- mentions -----------------------------------------------------------------------------


def test_mentions_page_past_100_with_next_token_newest_first(x: tweepy.Client, control: httpx.Client) -> None:
    ids = control.post("/sandbox/mentions", json={"text": "roast my commit history", "count": 150}).json()[
        "ids"
    ]
    assert len(ids) == 150 and ids == sorted(ids, key=int)  # ids grow with time
    assert all(re.fullmatch(r"[1-9][0-9]{18}", i) for i in ids)  # snowflake-like, 19 digits

    first = x.get_users_mentions(BOT_ID, max_results=100)
    assert len(first.data) == 100
    assert first.meta["result_count"] == 100
    assert first.meta["newest_id"] == ids[-1] and first.meta["oldest_id"] == ids[50]
    assert "next_token" in first.meta
    second = x.get_users_mentions(BOT_ID, max_results=100, pagination_token=first.meta["next_token"])
    assert len(second.data) == 50
    assert "next_token" not in second.meta
    seen = [str(t.id) for t in first.data + second.data]
    assert seen == list(reversed(ids))


def test_only_the_800_most_recent_mentions_are_reachable(x: tweepy.Client, control: httpx.Client) -> None:
    ids = control.post("/sandbox/mentions", json={"text": "pile on", "count": 850}).json()["ids"]
    seen: list[str] = []
    token = None
    for _ in range(20):
        page = x.get_users_mentions(BOT_ID, max_results=100, pagination_token=token)
        seen += [str(t.id) for t in page.data or []]
        token = page.meta.get("next_token")
        if not token:
            break
    assert len(seen) == 800
    assert seen == list(reversed(ids))[:800]


def test_since_id_and_until_id(x: tweepy.Client, control: httpx.Client) -> None:
    ids = [mention(control, f"roast number {n}") for n in range(4)]
    newer = x.get_users_mentions(BOT_ID, since_id=ids[1])
    assert [str(t.id) for t in newer.data] == [ids[3], ids[2]]
    older = x.get_users_mentions(BOT_ID, until_id=ids[2])
    assert [str(t.id) for t in older.data] == [ids[1], ids[0]]
    now = datetime.now(UTC)
    assert len(x.get_users_mentions(BOT_ID, start_time=now - timedelta(minutes=1)).data) == 4
    assert x.get_users_mentions(BOT_ID, start_time=now + timedelta(minutes=1)).data is None
    assert x.get_users_mentions(BOT_ID, end_time=now - timedelta(minutes=1)).data is None


def test_empty_mentions_shape(x: tweepy.Client, control: httpx.Client) -> None:
    mention_id = mention(control, "only one")
    raw = get(control, f"/2/users/{BOT_ID}/mentions", since_id=mention_id)
    assert raw.status_code == 200
    assert raw.json() == {"meta": {"result_count": 0}}
    assert x.get_users_mentions(BOT_ID, since_id=mention_id).data is None


def test_mentions_fields_and_expansions(control: httpx.Client, x: tweepy.Client) -> None:
    target = control.post(
        "/sandbox/tweets",
        json={"text": "pineapple belongs on pizza", "author": {"username": "victim", "name": "Vic Tim"}},
    ).json()["id"]
    mention_id = mention(
        control,
        "@victim @roastbot roast this #hot take https://example.com/x?y=1",
        author={"username": "alice", "name": "Alice", "description": "coffee first"},
        in_reply_to_tweet_id=target,
    )
    raw = get(
        control,
        f"/2/users/{BOT_ID}/mentions",
        **{
            "tweet.fields": ALL_TWEET_FIELDS,
            "user.fields": USER_FIELDS,
            "expansions": "author_id,referenced_tweets.id,referenced_tweets.id.author_id",
        },
    )
    assert raw.status_code == 200
    assert raw.headers["content-type"].startswith("application/json")
    body = raw.json()
    assert body.keys() <= TIMELINE_RESPONSE and body["meta"].keys() <= TIMELINE_META
    [tweet] = body["data"]
    assert_tweet_shape(tweet)
    assert tweet["id"] == mention_id
    assert tweet["conversation_id"] == target
    assert tweet["referenced_tweets"] == [{"type": "replied_to", "id": target}]
    users = {u["username"]: u for u in body["includes"]["users"]}
    assert set(users) == {"alice", "victim"}
    for user in users.values():
        assert_user_shape(user)
        assert isinstance(user["protected"], bool) and isinstance(user["verified"], bool)
        assert X_TIMESTAMP.match(user["created_at"])
    assert users["alice"]["description"] == "coffee first"
    assert tweet["author_id"] == users["alice"]["id"]
    assert tweet["in_reply_to_user_id"] == users["victim"]["id"]
    [parent] = body["includes"]["tweets"]
    assert_tweet_shape(parent)
    assert parent["id"] == target and parent["author_id"] == users["victim"]["id"]

    text, found = tweet["text"], tweet["entities"]
    assert [text[m["start"] : m["end"]] for m in found["mentions"]] == ["@victim", "@roastbot"]
    assert found["mentions"][1]["id"] == BOT_ID
    assert [(text[h["start"] : h["end"]], h["tag"]) for h in found["hashtags"]] == [("#hot", "hot")]
    [link] = found["urls"]
    assert text[link["start"] : link["end"]] == "https://example.com/x?y=1"

    # a deleted referenced tweet turns into an error entry, the mention itself stays
    control.delete(f"/sandbox/tweets/{target}").raise_for_status()
    orphan = get(control, f"/2/users/{BOT_ID}/mentions", expansions="referenced_tweets.id").json()
    assert [t["id"] for t in orphan["data"]] == [mention_id] and "includes" not in orphan
    [error] = orphan["errors"]
    assert error.keys() >= NOT_FOUND_REQUIRED
    assert (error["parameter"], error["resource_id"]) == ("referenced_tweets.id", target)

    # post.fields is the newer name of the same parameter
    newer = get(control, f"/2/users/{BOT_ID}/mentions", **{"post.fields": "created_at"}).json()
    assert X_TIMESTAMP.match(newer["data"][0]["created_at"])
    # tweepy reads it into its models
    typed = x.get_users_mentions(BOT_ID, tweet_fields=["created_at", "referenced_tweets"])
    assert typed.data[0].referenced_tweets[0].type == "replied_to"
    assert str(typed.data[0].referenced_tweets[0].id) == target


def test_default_fields_only(control: httpx.Client) -> None:
    mention(control, "plain")
    [tweet] = get(control, f"/2/users/{BOT_ID}/mentions").json()["data"]
    assert set(tweet) == TWEET_REQUIRED


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"max_results": "4"}, "max_results"),
        ({"max_results": "101"}, "max_results"),
        ({"since_id": "abc"}, "since_id"),
        ({"tweet.fields": "text,colour"}, "tweet.fields"),
        ({"pagination_token": "not-a-token!"}, "pagination_token"),
        ({"bogus": "1"}, "bogus"),
    ],
)
def test_invalid_parameters_are_400_in_x_shape(control: httpx.Client, params: dict, parameter: str) -> None:
    answer = get(control, f"/2/users/{BOT_ID}/mentions", **params)
    assert answer.status_code == 400
    body = answer.json()
    assert body["type"] == INVALID_REQUEST_TYPE
    assert body["title"] == "Invalid Request"
    assert [list(e["parameters"]) for e in body["errors"]] == [[parameter]]
    assert all(isinstance(e["message"], str) and e["message"] for e in body["errors"])


def test_mentions_of_unknown_user_is_a_not_found_error(control: httpx.Client) -> None:
    body = get(control, "/2/users/42/mentions").json()
    [error] = body["errors"]
    assert error.keys() >= NOT_FOUND_REQUIRED
    assert (error["type"], error["resource_type"], error["value"]) == (NOT_FOUND_TYPE, "user", "42")
    assert "data" not in body


# --- tweet lookup -------------------------------------------------------------------------


def test_lookup_by_ids_reports_missing_ones(control: httpx.Client) -> None:
    kept = mention(control, "kept")
    gone = mention(control, "gone")
    control.delete(f"/sandbox/tweets/{gone}").raise_for_status()
    answer = get(control, "/2/tweets", ids=f"{kept},{gone},5")
    assert answer.status_code == 200
    body = answer.json()
    assert [t["id"] for t in body["data"]] == [kept]
    errors = body["errors"]
    assert [e["resource_id"] for e in errors] == [gone, "5"]
    for error in errors:
        assert error.keys() >= NOT_FOUND_REQUIRED
        assert (error["title"], error["type"], error["parameter"]) == (
            "Not Found Error",
            NOT_FOUND_TYPE,
            "ids",
        )


def test_lookup_of_deleted_tweet_is_200_with_errors_only(x: tweepy.Client, control: httpx.Client) -> None:
    tweet_id = mention(control, "soon gone")
    assert get(control, f"/2/tweets/{tweet_id}").json()["data"]["id"] == tweet_id
    control.delete(f"/sandbox/tweets/{tweet_id}").raise_for_status()
    answer = get(control, f"/2/tweets/{tweet_id}")
    assert answer.status_code == 200
    body = answer.json()
    assert list(body) == ["errors"]
    [error] = body["errors"]
    assert error.keys() >= NOT_FOUND_REQUIRED
    assert (error["parameter"], error["resource_id"], error["resource_type"]) == ("id", tweet_id, "tweet")
    assert error["detail"] == f"Could not find tweet with id: [{tweet_id}]."
    typed = x.get_tweet(tweet_id)
    assert typed.data is None and typed.errors[0]["resource_id"] == tweet_id


# --- posting ------------------------------------------------------------------------------


def test_reply_is_201_and_shows_in_the_bots_timeline(x: tweepy.Client, control: httpx.Client) -> None:
    mention_id = mention(control, "roast my sourdough")
    posted = x.create_tweet(
        text="Your starter has more ambition than you.", in_reply_to_tweet_id=mention_id, user_auth=True
    )
    assert set(posted.data) == {"id", "text", "edit_history_tweet_ids"}
    assert posted.data["edit_history_tweet_ids"] == [posted.data["id"]]

    for client_auth in (True, False):
        timeline = x.get_users_tweets(
            BOT_ID,
            since_id=mention_id,
            tweet_fields=["referenced_tweets", "in_reply_to_user_id"],
            user_auth=client_auth,
        )
        [reply] = timeline.data
        assert str(reply.id) == posted.data["id"]
        assert [(r.type, str(r.id)) for r in reply.referenced_tweets] == [("replied_to", mention_id)]
    replies = control.get(f"/sandbox/tweets/{mention_id}/replies").json()["replies"]
    assert [(r["id"], r["by_bot"]) for r in replies] == [(posted.data["id"], True)]


def test_post_needs_user_context(control: httpx.Client) -> None:
    answer = control.post("/2/tweets", json={"text": "app-only"}, headers=BEARER)
    assert answer.status_code == 403
    assert answer.json()["title"] == "Unsupported Authentication"


def test_duplicate_text_is_403_in_x_shape(x: tweepy.Client) -> None:
    x.create_tweet(text="Same joke twice", user_auth=True)
    with pytest.raises(tweepy.Forbidden) as refused:
        x.create_tweet(text="Same joke twice", user_auth=True)
    assert refused.value.response.json() == DUPLICATE
    assert refused.value.api_messages == [DUPLICATE["detail"]]


def test_280_weighted_characters_pass_281_do_not(x: tweepy.Client) -> None:
    assert x.create_tweet(text="a" * 280, user_auth=True).data["text"] == "a" * 280
    with pytest.raises(tweepy.BadRequest) as refused:
        x.create_tweet(text="b" * 281, user_auth=True)
    body = refused.value.response.json()
    assert body["type"] == INVALID_REQUEST_TYPE
    assert "too long" in body["errors"][0]["message"]
    with pytest.raises(tweepy.BadRequest):
        x.create_tweet(text="日" * 141, user_auth=True)  # CJK weighs 2: 282


@pytest.mark.parametrize("make_target", ["deleted", "unknown"])
def test_reply_to_a_deleted_or_unknown_tweet_is_refused(
    x: tweepy.Client, control: httpx.Client, make_target: str
) -> None:
    target = mention(control, "here today")
    if make_target == "deleted":
        control.delete(f"/sandbox/tweets/{target}").raise_for_status()
    else:
        target = "1234567890"
    with pytest.raises(tweepy.Forbidden) as refused:
        x.create_tweet(text="too late", in_reply_to_tweet_id=target, user_auth=True)
    body = refused.value.response.json()
    assert body["status"] == 403 and body["title"] == "Forbidden"
    assert "deleted or not visible" in body["detail"]
    stats = control.get("/sandbox/stats").json()
    assert stats["posts_refused_by_reason"] == {"deleted": 1} and stats["replies_posted"] == 0


# --- auth ---------------------------------------------------------------------------------


def test_bad_signature_bad_bearer_and_no_auth_are_401(
    make_client: Callable[..., tweepy.Client], control: httpx.Client
) -> None:
    forged = make_client(consumer_secret="not-the-secret")
    with pytest.raises(tweepy.Unauthorized) as refused:
        forged.get_me(user_auth=True)
    assert refused.value.response.json() == UNAUTHORIZED
    stranger = make_client(access_token="someone-else")
    with pytest.raises(tweepy.Unauthorized):
        stranger.create_tweet(text="hi", user_auth=True)
    wrong_bearer = make_client(bearer_token="nope")
    with pytest.raises(tweepy.Unauthorized) as refused:
        wrong_bearer.get_users_mentions(BOT_ID)
    assert refused.value.response.json() == UNAUTHORIZED
    anonymous = control.get(f"/2/users/{BOT_ID}/mentions")
    assert (anonymous.status_code, anonymous.json()) == (401, UNAUTHORIZED)


def test_signature_covers_the_query(sandbox_url: str, control: httpx.Client) -> None:
    """A valid OAuth header replayed on a different query no longer verifies."""
    auth = tweepy.OAuth1UserHandler(
        "sandbox-api-key", "sandbox-api-secret", "sandbox-access-token", "sandbox-access-token-secret"
    ).apply_auth()
    url = f"{sandbox_url}/2/users/{BOT_ID}/mentions"
    prepared = requests.Request("GET", url, params={"max_results": "5"}, auth=auth).prepare()
    header = prepared.headers["Authorization"]
    header = header.decode() if isinstance(header, bytes) else header
    ok = control.get(url, params={"max_results": "5"}, headers={"Authorization": header})
    tampered = control.get(url, params={"max_results": "6"}, headers={"Authorization": header})
    assert ok.status_code == 200
    assert (tampered.status_code, tampered.json()) == (401, UNAUTHORIZED)

"""The /sandbox control API: seeding mentions and tweets, views, stats, reset, traffic."""

from __future__ import annotations

import httpx
import tweepy

from tests.helpers import wait_for
from tests.sandbox.conftest import BOT_ID, mention
from tests.sandbox.test_x_api import assert_tweet_shape


def test_mentions_get_the_bot_handle_once(x: tweepy.Client, control: httpx.Client) -> None:
    bare = mention(control, "roast my cat")
    named = mention(control, "hey @RoastBot roast my dog")
    texts = {str(t.id): t.text for t in x.get_users_mentions(BOT_ID).data}
    assert texts == {bare: "@roastbot roast my cat", named: "hey @RoastBot roast my dog"}


def test_authors_are_created_on_first_sight(control: httpx.Client) -> None:
    first = mention(control, "one", author={"username": "newbie", "name": "New Bie", "description": "hi"})
    second = mention(control, "two", author={"username": "newbie"})
    authors = [control.get(f"/sandbox/tweets/{i}").json()["author"] for i in (first, second)]
    assert authors[0]["id"] == authors[1]["id"]
    assert (authors[0]["username"], authors[0]["name"], authors[0]["description"]) == (
        "newbie",
        "New Bie",
        "hi",
    )
    anonymous = control.get(f"/sandbox/tweets/{mention(control, 'three')}").json()["author"]
    assert anonymous["id"] != authors[0]["id"] and anonymous["username"] == "sandbox_user"


def test_count_and_replies_in_a_conversation(control: httpx.Client) -> None:
    root = control.post(
        "/sandbox/tweets", json={"text": "my hot take", "author": {"username": "taker"}}
    ).json()["id"]
    ids = control.post(
        "/sandbox/mentions", json={"text": "roast this", "in_reply_to_tweet_id": root, "count": 3}
    ).json()["ids"]
    assert len(set(ids)) == 3
    view = control.get(f"/sandbox/tweets/{ids[0]}").json()
    assert view["tweet"]["conversation_id"] == root
    assert view["in_reply_to"]["id"] == root
    assert_tweet_shape({k: v for k, v in view["tweet"].items() if k not in {"deleted", "category"}})
    replies = control.get(f"/sandbox/tweets/{root}/replies").json()["replies"]
    assert [r["id"] for r in replies] == ids and not any(r["by_bot"] for r in replies)
    missing = control.post("/sandbox/mentions", json={"text": "x", "in_reply_to_tweet_id": "999"})
    assert missing.status_code == 404


def test_a_batch_of_mentions_each_its_own_text_and_author_in_one_request(
    x: tweepy.Client, control: httpx.Client
) -> None:
    batch = [
        {"text": f"roast my number {n}", "author": {"username": f"batcher_{n}", "name": f"B {n}"}}
        for n in range(5)
    ]
    ids = control.post("/sandbox/mentions/batch", json={"mentions": batch}).json()["ids"]
    assert len(set(ids)) == 5
    for n, mention_id in enumerate(ids):  # in the order given
        view = control.get(f"/sandbox/tweets/{mention_id}").json()
        assert view["tweet"]["text"] == f"@roastbot roast my number {n}"
        assert view["author"]["username"] == f"batcher_{n}"
    served = {str(t.id) for t in x.get_users_mentions(BOT_ID, max_results=100).data}
    assert set(ids) <= served
    # A reply target that does not exist refuses the whole batch: none of it is created.
    before = control.get("/sandbox/stats").json()
    refused = control.post(
        "/sandbox/mentions/batch",
        json={"mentions": [{"text": "fine"}, {"text": "x", "in_reply_to_tweet_id": "999"}]},
    )
    assert refused.status_code == 404
    assert control.get("/sandbox/stats").json() == before
    assert control.post("/sandbox/mentions/batch", json={"mentions": []}).status_code == 422


def test_html_view_escapes_text(control: httpx.Client, x: tweepy.Client) -> None:
    tweet_id = mention(control, "<script>alert('roast')</script> & more")
    x.create_tweet(text="Nice try, hacker.", in_reply_to_tweet_id=tweet_id, user_auth=True)
    page = control.get(f"/sandbox/tweets/{tweet_id}", params={"format": "html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "&lt;script&gt;" in page.text and "<script>" not in page.text
    assert "Nice try, hacker." in page.text


def test_delete_then_view_and_404s(control: httpx.Client) -> None:
    tweet_id = mention(control, "regrettable")
    assert control.delete(f"/sandbox/tweets/{tweet_id}").json() == {"id": tweet_id, "deleted": True}
    assert control.get(f"/sandbox/tweets/{tweet_id}").json()["tweet"]["deleted"] is True
    assert control.delete(f"/sandbox/tweets/{tweet_id}").status_code == 404
    assert control.get("/sandbox/tweets/5").status_code == 404


def test_stats_count_tweets_with_two_bot_replies(x: tweepy.Client, control: httpx.Client) -> None:
    twice = mention(control, "roast me twice")
    once = mention(control, "roast me once")
    for text in ("first roast", "second roast"):
        x.create_tweet(text=text, in_reply_to_tweet_id=twice, user_auth=True)
    x.create_tweet(text="only roast", in_reply_to_tweet_id=once, user_auth=True)
    x.create_tweet(text="not a reply", user_auth=True)
    stats = control.get("/sandbox/stats").json()
    assert stats["tweets_with_multiple_bot_replies"] == 1
    assert stats["tweets_with_multiple_bot_replies_ids"] == [twice]
    assert (stats["mentions_created"], stats["replies_posted"], stats["posts_created"]) == (2, 3, 4)
    assert stats["requests_per_endpoint"]["post"] == 4
    by_bot = control.get(f"/sandbox/tweets/{twice}/replies").json()["replies"]
    assert [r["by_bot"] for r in by_bot] == [True, True]


def test_reset_keeps_only_the_bot(x: tweepy.Client, control: httpx.Client) -> None:
    tweet_id = mention(control, "forget me")
    control.post("/sandbox/faults", json={"post_refusal": "suspended"})
    control.post("/sandbox/reset").raise_for_status()
    assert control.get(f"/sandbox/tweets/{tweet_id}").status_code == 404
    stats = control.get("/sandbox/stats").json()
    assert stats["mentions_created"] == 0 and stats["requests_per_endpoint"] == {}
    assert control.get("/sandbox/faults").json()["active"] is False
    assert str(x.get_me(user_auth=True).data.id) == BOT_ID


def test_limits_switch_and_validate(control: httpx.Client) -> None:
    shown = control.post("/sandbox/limits", json={"tier": "basic", "time_scale": 60}).json()
    assert (shown["tier"], shown["time_scale"]) == ("basic", 60)
    assert control.post("/sandbox/limits", json={"tier": "gold"}).status_code == 422
    assert control.post("/sandbox/limits", json={"time_scale": 0}).status_code == 422


def test_traffic_job_mentions_the_bot_at_the_rate(x: tweepy.Client, control: httpx.Client) -> None:
    started = control.post("/sandbox/traffic", json={"rate_per_s": 200, "duration_s": 0.5, "seed": 3}).json()
    assert started["target"] == 100

    def finished() -> dict | None:
        jobs = {j["job_id"]: j for j in control.get("/sandbox/traffic").json()["jobs"]}
        job = jobs[started["job_id"]]
        return job if job["state"] == "done" else None

    job = wait_for(finished, 10, "the traffic job to finish")
    assert job["created"] == 100 and sum(job["by_category"].values()) == 100
    assert len(job["by_category"]) >= 6  # varied, not one template
    assert control.get("/sandbox/stats").json()["mentions_created"] == 100

    mentions = x.get_users_mentions(
        BOT_ID,
        max_results=100,
        tweet_fields=["referenced_tweets", "lang"],
        expansions=["referenced_tweets.id"],
    )
    assert len(mentions.data) == 100
    assert all("@roastbot" in t.text.lower() for t in mentions.data)
    replies = [t for t in mentions.data if t.referenced_tweets]
    assert len(replies) == job["by_category"].get("roast_this", 0) > 0  # "roast this" points at a tweet
    assert len(mentions.includes["tweets"]) == len(replies)
    assert {t.lang for t in mentions.data} - {"en"}  # some non-English
    too_much = control.post("/sandbox/traffic", json={"rate_per_s": 10_000, "duration_s": 3600})
    assert too_much.status_code == 422

"""Engagement on the bot's replies: grown with simulated time, deterministic from seed and
roast, served as X's public_metrics on GET /2/tweets (at most 100 ids, rate-limited); some
authors answer the bot, and the answer is a mention replying to the bot's reply."""

from __future__ import annotations

import httpx
import tweepy

from sandbox.x_api.engagement import Growth
from tests.helpers import wait_for
from tests.sandbox.conftest import BEARER, BOT_ID, mention

METRICS = {"like_count", "reply_count", "retweet_count", "quote_count", "bookmark_count", "impression_count"}


def _metrics(x: tweepy.Client, ids: list[str]) -> dict[str, dict[str, int]]:
    answer = x.get_tweets(ids, tweet_fields=["public_metrics"], user_auth=True)
    return {str(t.id): t.public_metrics for t in answer.data}


def test_a_reply_gains_engagement_with_simulated_time_in_xs_shape(
    control: httpx.Client, x: tweepy.Client
) -> None:
    control.post("/sandbox/limits", json={"tier": "unlimited", "time_scale": 3600}).raise_for_status()
    mention_id = mention(control, "roast my sourdough starter")
    reply = x.create_tweet(
        text="Your sourdough starter has more ambition than you",
        in_reply_to_tweet_id=mention_id,
        user_auth=True,
    )
    reply_id = str(reply.data["id"])
    first = _metrics(x, [reply_id])[reply_id]
    assert set(first) == METRICS
    wait_for(
        lambda: _metrics(x, [reply_id])[reply_id]["like_count"] > first["like_count"], 10, "likes to grow"
    )
    later = wait_for(
        lambda: (m := _metrics(x, [reply_id])[reply_id])["impression_count"] > 0 and m, 10, "impressions"
    )
    assert later["like_count"] <= Growth.of(7, reply.data["text"], "roast my sourdough starter").likes
    # A mention (not the bot's reply) keeps its own counts: nothing grows on it.
    assert _metrics(x, [mention_id])[mention_id]["impression_count"] == 0
    # Impressions are the owner's to see: app-only auth gets the likes, not the impressions.
    public = control.get(
        "/2/tweets", params={"ids": reply_id, "tweet.fields": "public_metrics"}, headers=BEARER
    )
    assert public.json()["data"][0]["public_metrics"]["impression_count"] == 0
    assert public.json()["data"][0]["public_metrics"]["like_count"] >= first["like_count"]


def test_growth_is_fixed_by_seed_and_roast_and_rewards_naming_the_subject() -> None:
    on_topic = Growth.of(
        7, "That sourdough starter is the only thing rising in your life", "roast my sourdough"
    )
    assert on_topic == Growth.of(
        7, "That sourdough starter is the only thing rising in your life", "roast my sourdough"
    )
    assert (
        Growth.of(8, "That sourdough starter is the only thing rising in your life", "roast my sourdough")
        != on_topic
    )
    roasts = [f"Roast number {i} of your life choices, friend" for i in range(40)]
    off = sum(Growth.of(7, r, "roast my sourdough").likes for r in roasts)
    named = sum(Growth.of(7, r + " and sourdough", "roast my sourdough").likes for r in roasts)
    assert named > 2 * off
    assert on_topic.at(0)["like_count"] == 0 and on_topic.at(48 * 3600)["like_count"] == on_topic.likes


def test_lookup_takes_at_most_100_ids_and_counts_against_its_own_window(control: httpx.Client) -> None:
    control.post("/sandbox/limits", json={"tier": "basic", "time_scale": 1}).raise_for_status()
    ids = ",".join(str(10**18 + i) for i in range(101))
    refused = control.get("/2/tweets", params={"ids": ids, "tweet.fields": "public_metrics"}, headers=BEARER)
    assert refused.status_code == 400
    ok = control.get(
        "/2/tweets", params={"ids": ids.rsplit(",", 1)[0], "tweet.fields": "public_metrics"}, headers=BEARER
    )
    assert int(ok.headers["x-rate-limit-limit"]) == 15
    assert int(ok.headers["x-rate-limit-remaining"]) < 15
    poll = control.get(f"/2/users/{BOT_ID}/mentions", headers=BEARER)
    assert poll.headers["x-rate-limit-limit"] == "15" and poll.headers["x-rate-limit-remaining"] == "14"


def test_an_author_answers_the_bots_reply_as_a_new_mention(control: httpx.Client, x: tweepy.Client) -> None:
    control.post("/sandbox/limits", json={"tier": "unlimited", "time_scale": 100_000}).raise_for_status()
    control.post("/sandbox/engagement", json={"author_reply_rate": 1.0}).raise_for_status()
    mention_id = mention(control, "roast my gym routine", author={"username": "lifter"})
    reply = x.create_tweet(
        text="Your gym routine is mostly selfies", in_reply_to_tweet_id=mention_id, user_auth=True
    )
    reply_id = str(reply.data["id"])

    def answer() -> tweepy.Tweet | None:
        page = x.get_users_mentions(BOT_ID, tweet_fields=["referenced_tweets", "author_id"], user_auth=True)
        return next(
            (
                t
                for t in page.data or []
                if t.referenced_tweets and str(t.referenced_tweets[0].id) == reply_id
            ),
            None,
        )

    found = wait_for(answer, 10, "the author's answer to arrive as a mention")
    original = x.get_tweet(mention_id, tweet_fields=["author_id"], user_auth=True).data
    assert str(found.author_id) == str(original.author_id)
    assert _metrics(x, [reply_id])[reply_id]["reply_count"] == 1
    assert control.get("/sandbox/stats").json()["author_answers"] == 1

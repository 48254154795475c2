"""The sandbox's own control API under /sandbox/ (not X's): seed data, faults, limits, stats."""

from __future__ import annotations

import html
import time
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sandbox.x_api import render
from sandbox.x_api.faults import FaultSettings
from sandbox.x_api.params import TWEET_FIELDS, USER_FIELDS
from sandbox.x_api.state import Sandbox, UnknownTweet
from sandbox.x_api.store import ServedAs, Tweet
from sandbox.x_api.traffic import Traffic

router = APIRouter(prefix="/sandbox")

# The same names as faults.ENDPOINTS and faults.POST_REFUSALS (FaultSettings checks again).
Endpoint = Literal["mentions", "post", "me", "user_tweets", "tweets_lookup"]
Refusal = Literal["duplicate", "reply_restricted", "automation_block", "suspended", "deleted"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AuthorIn(Strict):
    username: str = Field(pattern=r"^[A-Za-z0-9_]{1,15}$")
    name: str | None = Field(default=None, max_length=50)
    description: str | None = Field(default=None, max_length=160)
    followers_count: int | None = Field(default=None, ge=0)


LONG_POST_MAX_CHARS = 25_000  # X's longest posts (Premium's long posts)


class TweetIn(Strict):
    text: str = Field(min_length=1, max_length=LONG_POST_MAX_CHARS)
    author: AuthorIn | None = None
    in_reply_to_tweet_id: str | None = Field(default=None, pattern=r"^[0-9]{1,19}$")
    lang: str | None = Field(default=None, max_length=8)


class ServedAsIn(Strict):
    """How X's answers get this mention wrong: tweet fields left out (``omit``) or served with
    other values, any JSON (``replace``), for tests of a client's robustness."""

    omit: list[str] = Field(default_factory=list, max_length=50)
    replace: dict[str, Any] = Field(default_factory=dict, max_length=50)


class MentionIn(TweetIn):
    count: int = Field(default=1, ge=1, le=10_000)
    like_count: int = Field(default=0, ge=0)
    served_as: ServedAsIn | None = None


MENTION_BATCH_MAX = 1_000


class MentionBatchIn(Strict):
    mentions: list[MentionIn] = Field(min_length=1, max_length=MENTION_BATCH_MAX)


class FaultsIn(Strict):
    latency_ms: float = Field(default=0, ge=0, le=120_000)
    error_rate: float = Field(default=0, ge=0, le=1)
    rate_limit_storm_s: float = Field(default=0, ge=0, le=86_400)
    drop_rate: float = Field(default=0, ge=0, le=1)
    malformed_rate: float = Field(default=0, ge=0, le=1)
    endpoints: list[Endpoint] | None = None
    post_refusal: Refusal | None = None
    post_refusal_count: int | None = Field(default=None, ge=1)


class CredentialsIn(Strict):
    user_token_revoked: bool


class LimitsIn(Strict):
    tier: Literal["free", "basic", "pro", "unlimited"] | None = None
    time_scale: float | None = Field(default=None, gt=0, le=1_000_000)


class EngagementIn(Strict):
    author_reply_rate: float = Field(ge=0, le=1)


MAX_TRAFFIC_MENTIONS = 1_000_000  # all of it lives in memory


class TrafficIn(Strict):
    rate_per_s: float = Field(gt=0, le=10_000)
    duration_s: float = Field(gt=0, le=86_400)
    seed: int | None = None

    @model_validator(mode="after")
    def bounded(self) -> TrafficIn:
        if self.rate_per_s * self.duration_s > MAX_TRAFFIC_MENTIONS:
            raise ValueError(f"rate_per_s * duration_s must be at most {MAX_TRAFFIC_MENTIONS}")
        return self


def _sandbox(request: Request) -> Sandbox:
    return request.app.state.sandbox


def _traffic(request: Request) -> Traffic:
    return request.app.state.traffic


def _author_args(author: AuthorIn | None) -> dict[str, str | None]:
    if author is None:
        return {}
    return {"username": author.username, "name": author.name, "description": author.description}


def _unknown(tweet_id: str) -> HTTPException:
    return HTTPException(404, f"no tweet {tweet_id} (unknown or deleted)")


@router.get("/health")
async def health() -> dict[str, bool]:
    return {"ok": True}


def _create_mentions(sandbox: Sandbox, body: MentionIn) -> list[str]:
    quirks = body.served_as
    served_as = ServedAs(tuple(quirks.omit), dict(quirks.replace)) if quirks is not None else None
    return [
        sandbox.create_mention(
            body.text,
            in_reply_to_tweet_id=body.in_reply_to_tweet_id,
            lang=body.lang,
            served_as=served_as,
            followers_count=body.author.followers_count if body.author else None,
            like_count=body.like_count,
            **_author_args(body.author),
        ).id
        for _ in range(body.count)
    ]


@router.post("/mentions")
async def create_mentions(request: Request, body: MentionIn) -> dict[str, list[str]]:
    try:
        return {"ids": _create_mentions(_sandbox(request), body)}
    except UnknownTweet as missing:
        raise _unknown(str(missing)) from None


@router.post("/mentions/batch")
async def create_mention_batch(request: Request, body: MentionBatchIn) -> dict[str, list[str]]:
    """Many mentions, each its own text and author, in one request (a load run's injector: one
    request a mention cost the sandbox more CPU than serving the bot). The ids in the order
    given; all or none (every reply target is checked first)."""
    sandbox = _sandbox(request)
    # Under the sandbox's lock: no tweet is deleted between the check and the last creation.
    with sandbox.lock:
        for mention in body.mentions:
            target = mention.in_reply_to_tweet_id
            if target is not None and sandbox.store.visible(target) is None:
                raise _unknown(target)
        return {"ids": [i for mention in body.mentions for i in _create_mentions(sandbox, mention)]}


@router.post("/tweets")
async def create_tweet(request: Request, body: TweetIn) -> dict[str, str]:
    sandbox = _sandbox(request)
    try:
        tweet = sandbox.create_tweet(
            body.text,
            in_reply_to_tweet_id=body.in_reply_to_tweet_id,
            lang=body.lang,
            **_author_args(body.author),
        )
    except UnknownTweet as missing:
        raise _unknown(str(missing)) from None
    return {"id": tweet.id}


@router.delete("/tweets/{tweet_id}")
async def delete_tweet(request: Request, tweet_id: str) -> dict[str, Any]:
    try:
        tweet = _sandbox(request).delete(tweet_id)
    except UnknownTweet:
        raise _unknown(tweet_id) from None
    return {"id": tweet.id, "deleted": True}


def _reply_json(sandbox: Sandbox, tweet: Tweet) -> dict[str, Any]:
    return {
        "id": tweet.id,
        "text": tweet.text,
        "author_id": tweet.author_id,
        "created_at": render.iso(tweet.created_at),
        "by_bot": tweet.author_id == sandbox.store.bot.id,
    }


@router.get("/tweets/{tweet_id}/replies")
async def tweet_replies(request: Request, tweet_id: str) -> dict[str, Any]:
    sandbox = _sandbox(request)
    with sandbox.lock:
        if tweet_id not in sandbox.store.tweets:
            raise _unknown(tweet_id)
        return {"replies": [_reply_json(sandbox, t) for t in sandbox.store.replies_to(tweet_id)]}


@router.get("/tweets/{tweet_id}", response_model=None)
async def tweet_view(request: Request, tweet_id: str, format: str = "json") -> dict[str, Any] | HTMLResponse:
    sandbox = _sandbox(request)
    with sandbox.lock:
        store = sandbox.store
        tweet = store.tweets.get(tweet_id)
        if tweet is None:
            raise _unknown(tweet_id)
        view = {
            "tweet": {
                **render.tweet_json(store, tweet, TWEET_FIELDS),
                "deleted": tweet.deleted,
                "category": tweet.category,
            },
            "author": render.user_json(store, store.users[tweet.author_id], USER_FIELDS),
            "replies": [_reply_json(sandbox, t) for t in store.replies_to(tweet_id)],
        }
        parent = store.tweets.get(tweet.in_reply_to_tweet_id or "")
        view["in_reply_to"] = _reply_json(sandbox, parent) if parent else None
    if format == "html":
        return HTMLResponse(_html(view))
    return view


def _html(view: dict[str, Any]) -> str:
    tweet, author = view["tweet"], view["author"]
    esc = html.escape
    parent = view["in_reply_to"]
    parent_html = (
        f'<p class="parent">in reply to <a href="/sandbox/tweets/{esc(parent["id"])}?format=html">'
        f"{esc(parent['text'])}</a></p>"
        if parent
        else ""
    )
    replies = "".join(
        f'<li class="{"bot" if r["by_bot"] else "user"}"><a href="/sandbox/tweets/{esc(r["id"])}?format=html">'
        f"{esc(r['created_at'])}</a> {'🤖 ' if r['by_bot'] else ''}{esc(r['text'])}</li>"
        for r in view["replies"]
    )
    deleted = ' <em class="deleted">(deleted)</em>' if tweet["deleted"] else ""
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Tweet {esc(tweet['id'])} · X sandbox</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto}"
        "blockquote{font-size:1.2rem;border-left:4px solid #1d9bf0;padding-left:1rem}"
        "li.bot{color:#0a5}.deleted{color:#c00}</style></head><body>"
        f"<p><strong>{esc(author['name'])}</strong> @{esc(author['username'])}</p>"
        f"{parent_html}<blockquote>{esc(tweet['text'])}</blockquote>"
        f"<p><small>{esc(tweet['created_at'])} · id {esc(tweet['id'])}{deleted}</small></p>"
        f"<h2>Replies ({len(view['replies'])})</h2><ul>{replies or '<li>none yet</li>'}</ul>"
        "</body></html>"
    )


@router.get("/stats")
async def stats(request: Request) -> dict[str, Any]:
    sandbox = _sandbox(request)
    with sandbox.lock:
        return sandbox.stats.snapshot(sandbox.store)


@router.get("/faults")
async def get_faults(request: Request) -> dict[str, Any]:
    sandbox = _sandbox(request)
    with sandbox.lock:
        return sandbox.faults.describe(time.time())


@router.post("/faults")
async def set_faults(request: Request, body: FaultsIn | None = None) -> dict[str, Any]:
    """Replace every fault with the body's (`{}` clears)."""
    body = body or FaultsIn()
    settings = FaultSettings(
        **{**body.model_dump(), "endpoints": tuple(body.endpoints) if body.endpoints is not None else None}
    )
    sandbox = _sandbox(request)
    with sandbox.lock:
        sandbox.faults.apply(settings, time.time())
        return sandbox.faults.describe(time.time())


@router.delete("/faults")
async def clear_faults(request: Request) -> dict[str, Any]:
    sandbox = _sandbox(request)
    with sandbox.lock:
        sandbox.faults.clear()
        return sandbox.faults.describe(time.time())


@router.get("/credentials")
async def get_credentials(request: Request) -> dict[str, bool]:
    return {"user_token_revoked": _sandbox(request).user_token_revoked}


@router.post("/credentials")
async def set_credentials(request: Request, body: CredentialsIn) -> dict[str, bool]:
    """Revoke (or restore) the bot's user access token: user-context calls get X's 401."""
    sandbox = _sandbox(request)
    with sandbox.lock:
        sandbox.user_token_revoked = body.user_token_revoked
    return {"user_token_revoked": sandbox.user_token_revoked}


@router.get("/limits")
async def get_limits(request: Request) -> dict[str, Any]:
    sandbox = _sandbox(request)
    with sandbox.lock:
        return sandbox.limiter.snapshot()


@router.post("/limits")
async def set_limits(request: Request, body: LimitsIn) -> dict[str, Any]:
    """Switch tier and/or time scale; counters start afresh."""
    sandbox = _sandbox(request)
    sandbox.configure_limits(body.tier, body.time_scale)
    with sandbox.lock:
        return sandbox.limiter.snapshot()


@router.post("/engagement")
async def set_engagement(request: Request, body: EngagementIn) -> dict[str, float]:
    """The share of roasted authors who answer the bot (from replies posted from now on)."""
    _sandbox(request).configure_engagement(body.author_reply_rate)
    return {"author_reply_rate": body.author_reply_rate}


@router.post("/traffic")
async def start_traffic(request: Request, body: TrafficIn) -> dict[str, Any]:
    job = _traffic(request).start(body.rate_per_s, body.duration_s, body.seed)
    return {"job_id": job.id, "target": job.target}


@router.get("/traffic")
async def traffic_progress(request: Request) -> dict[str, Any]:
    return _traffic(request).describe()


@router.delete("/traffic")
async def stop_traffic(request: Request) -> dict[str, Any]:
    _traffic(request).cancel_all()
    return _traffic(request).describe()


@router.post("/reset")
async def reset(request: Request) -> dict[str, bool]:
    """Tweets, users (but the bot), stats, faults, limit counters and traffic jobs: gone."""
    _traffic(request).forget()
    _sandbox(request).reset()
    return {"reset": True}

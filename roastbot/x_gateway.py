"""The one X gateway: tweepy's v2 Client for the real API or the local sandbox.

tweepy hard-codes https://api.twitter.com; we hand the client a Session
(``roastbot.x_session``) that rewrites that prefix to ``X_API_BASE_URL`` (no global
patching) and sets a timeout tweepy never sets; every rate-limit header it hands back is
recorded in the shared QuotaBook. Every answer becomes a Mention or one of the typed
outcomes in ``roastbot.outcomes``.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import requests
import tweepy

from roastbot.batch import Op
from roastbot.models import Author, utc_now
from roastbot.outcomes import Permanent, RateLimited, Transient
from roastbot.quota import QuotaBook
from roastbot.settings import Settings
from roastbot.spend import X_OTHER_READ, X_READ, Reservation, SpendLedger
from roastbot.x_mentions import FetchedMention, MalformedAnswer, ParsedPage, parse_mentions_page
from roastbot.x_refusals import refusal_code
from roastbot.x_session import NotJsonAnswer, XSession

__all__ = ["FetchedMention", "ParsedPage", "PostedReply", "XGateway"]

log = logging.getLogger(__name__)

# public_metrics: likes and replies of a mention, followers of its author (quota triage).
TWEET_FIELDS = [
    "id",
    "text",
    "author_id",
    "conversation_id",
    "created_at",
    "referenced_tweets",
    "public_metrics",
]
USER_FIELDS = ["id", "name", "username", "description", "public_metrics"]
PAGE_MAX = 100  # the largest page X serves for timelines
EXPANSIONS = ["author_id", "referenced_tweets.id", "referenced_tweets.id.author_id"]

T = TypeVar("T")
CLOCK_SKEW_S = 10.0  # our clock against X's, when searching the bot's tweets by time
# Reads of the account's own data are X's cheap "owned reads"; anything else is a post read.
OWNED_READS = {"mentions", "user_tweets", "me"}


def endpoint_name(method: str, path: str) -> str:
    """A stable quota name for an X API path (ids stripped)."""
    if method == "POST" and path.rstrip("/").endswith("/2/tweets"):
        return "post"
    if re.search(r"/2/users/[^/]+/mentions", path):
        return "mentions"
    if re.search(r"/2/users/me\b", path):
        return "me"
    if re.search(r"/2/users/[^/]+/tweets", path):
        return "user_tweets"
    if "/2/tweets" in path:
        return "tweets_lookup"
    return "other"


def _refusal_code(error: tweepy.HTTPException) -> str:
    """Name X's refusal from its structured problem (roastbot.x_refusals)."""
    try:
        body = error.response.json()
    except ValueError:
        body = None
    return refusal_code(error.response.status_code, body if isinstance(body, dict) else None, error.api_codes)


def _reset_at(response: requests.Response | None) -> float:
    """When a 429 ends: the latest reset among exhausted limits, else a minute from now."""
    if response is None:
        return time.time() + 60
    headers = {k.lower(): v for k, v in response.headers.items()}
    resets = []
    for prefix in ("x-rate-limit-", "x-app-limit-24hour-", "x-user-limit-24hour-"):
        remaining, reset = headers.get(prefix + "remaining"), headers.get(prefix + "reset")
        if reset and reset.isdigit() and (remaining is None or remaining == "0"):
            resets.append(float(reset))
    return max(resets) if resets else time.time() + 60


@dataclass(frozen=True)
class PostedReply:
    """A reply X took: its id, and its bookkeeping (the POST's quota, its price) as ops for
    the caller to write with its own next round trip."""

    tweet_id: str
    ops: tuple[Op, ...] = ()


class XGateway:
    """Every call the bot makes to X."""

    def __init__(
        self, settings: Settings, quota: QuotaBook | None = None, spend: SpendLedger | None = None
    ) -> None:
        self._quota = quota
        self._spend = spend  # prices every call: posts reserved against the budget, reads billed
        credentials = {
            "bearer_token": settings.x_bearer_token.get_secret_value() or None,
            "consumer_key": settings.x_api_key.get_secret_value() or None,
            "consumer_secret": settings.x_api_secret.get_secret_value() or None,
            "access_token": settings.x_access_token.get_secret_value() or None,
            "access_token_secret": settings.x_access_token_secret.get_secret_value() or None,
        }
        self._client = tweepy.Client(**credentials, wait_on_rate_limit=False)
        self._client.session = XSession(
            settings.x_api_base_url,
            settings.x_timeout_s,
            self._answered,
            pool_size=max(10, settings.consumer_concurrency),
            on_data=self._record_reads,
        )
        # Mentions are read as plain JSON (roastbot.x_mentions says why), on the same session.
        self._json_client = tweepy.Client(**credentials, return_type=dict, wait_on_rate_limit=False)
        self._json_client.session = self._client.session
        # Posts get X's answer as requests has it: post_reply books the quota in its headers.
        self._post_client = tweepy.Client(
            **credentials, return_type=requests.Response, wait_on_rate_limit=False
        )
        self._post_client.session = self._client.session
        self._bot: Author | None = None
        self._bot_lock = threading.Lock()
        self._read_item = threading.local()  # a call's own billing item (post_metrics)

    @property
    def spend(self) -> SpendLedger | None:
        return self._spend

    def _answered(self, response: requests.Response, taken: bool) -> None:
        """The session's callback, on every answer: its quota recorded now, but for a POST's
        answer its caller takes (``post_reply`` books that one from the answer it gets)."""
        endpoint = endpoint_name(response.request.method or "GET", response.request.path_url)
        if not (taken and endpoint == "post"):
            self._record_quota(endpoint, response)

    def _record_quota(self, endpoint: str, response: requests.Response) -> None:
        if self._quota is None:
            return
        try:
            self._quota.record(endpoint, response.headers, refused=response.status_code == 429)
        except Exception:  # quota bookkeeping must never break the call itself
            log.warning("could not record quota for %s", endpoint, exc_info=True)

    def _record_reads(self, response: requests.Response, body: dict[str, Any]) -> None:
        """Bill the resources a read returned (none: not billed), whichever call read them."""
        if self._spend is None or response.request.method != "GET":
            return
        data = body.get("data")
        resources = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
        ids = [str(item["id"]) for item in resources if isinstance(item, dict) and "id" in item]
        endpoint = endpoint_name("GET", response.request.path_url)
        item = getattr(self._read_item, "item", None) or (X_READ if endpoint in OWNED_READS else X_OTHER_READ)
        try:
            self._spend.record_reads(item, ids)
        except Exception:  # spend bookkeeping must never break the call itself
            log.warning("could not record the spend of a %s read", endpoint, exc_info=True)

    def _call(self, what: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except tweepy.TooManyRequests as error:
            raise RateLimited(f"{what}: rate limited", _reset_at(error.response)) from None
        except tweepy.TwitterServerError as error:
            raise Transient(f"{what}: X server error {error.response.status_code}") from None
        except tweepy.HTTPException as error:
            code = _refusal_code(error)
            detail = "; ".join(str(m) for m in error.api_messages)[:300]
            raise Permanent(f"{what}: {code}: {detail}", code=code) from None
        except NotJsonAnswer as error:
            raise Transient(f"{what}: malformed answer: {error}") from None
        except (
            requests.ConnectionError,
            requests.Timeout,
            requests.exceptions.ChunkedEncodingError,
        ) as error:
            raise Transient(f"{what}: network error: {type(error).__name__}") from None

    @property
    def known_bot_user(self) -> Author | None:
        """The account, once ``bot_user`` has read it (no call, no retry needed)."""
        return self._bot

    def bot_user(self) -> Author:
        """The account the credentials belong to (cached)."""
        if self._bot is not None:
            return self._bot
        # One request, not one per handler thread: a consumer starts 32 at once, and X
        # limits /2/users/me per 15 minutes like any other endpoint.
        with self._bot_lock:
            if self._bot is not None:
                return self._bot
            response = self._call(
                "get_me", lambda: self._client.get_me(user_fields=USER_FIELDS, user_auth=True)
            )
            if response.data is None:
                raise Transient("get_me: answer without data")
            user = response.data
            self._bot = Author(id=str(user.id), username=user.username or "", name=user.name or "")
            return self._bot

    def mentions_page(
        self, since_id: str | None, pagination_token: str | None = None, max_results: int = PAGE_MAX
    ) -> ParsedPage:
        """One page of mentions newer than since_id, newest first, as X returns them; a tweet
        that cannot become a mention is in ``skipped`` with its reason."""
        bot = self.bot_user()
        answer = self._call(
            "mentions",
            lambda: self._json_client.get_users_mentions(
                bot.id,
                since_id=since_id,
                pagination_token=pagination_token,
                max_results=max_results,
                tweet_fields=TWEET_FIELDS,
                user_fields=USER_FIELDS,
                expansions=EXPANSIONS,
            ),
        )
        try:
            return parse_mentions_page(answer, utc_now())
        except MalformedAnswer as error:
            raise Transient(f"mentions: malformed answer: {error}") from None

    def post_metrics(self, post_ids: list[str], read_item: str = X_READ) -> dict[str, dict[str, int]]:
        """``public_metrics`` of up to 100 of the bot's posts (user context: X shows impressions
        only to the owner), billed as ``read_item``; a deleted post is simply absent."""
        if not 1 <= len(post_ids) <= PAGE_MAX:
            raise ValueError(f"post_metrics takes 1..{PAGE_MAX} ids, not {len(post_ids)}")
        self._read_item.item = read_item
        try:
            response = self._call(
                "tweets_lookup",
                lambda: self._client.get_tweets(post_ids, tweet_fields=["public_metrics"], user_auth=True),
            )
        finally:
            self._read_item.item = None
        return {str(tweet.id): dict(tweet.public_metrics or {}) for tweet in response.data or []}

    def post_reply(self, text: str, in_reply_to_tweet_id: str, reservation: Reservation | None = None) -> str:
        """Post a reply; returns the new tweet's id. Its bookkeeping (its quota, its price) is
        written at once: for a caller without a round trip of its own to carry it."""
        tweet_id, answer, reservation = self._post(text, in_reply_to_tweet_id, reservation)
        self._record_quota("post", answer)
        self._book_post(reservation, posted=True)
        return tweet_id

    def post_reply_deferred(
        self, text: str, in_reply_to_tweet_id: str, reservation: Reservation | None = None
    ) -> PostedReply:
        """``post_reply``, the posted reply's bookkeeping left to the caller (``PostedReply.ops``)
        to write with its own next round trip."""
        tweet_id, answer, reservation = self._post(text, in_reply_to_tweet_id, reservation)
        quota = self._quota.record_op("post", answer.headers) if self._quota is not None else None
        ops = [quota] if quota is not None else []
        if self._spend is not None and reservation is not None:
            ops.extend(self._spend.settle_ops(reservation))
        return PostedReply(tweet_id, tuple(ops))

    def _post(
        self, text: str, in_reply_to_tweet_id: str, reservation: Reservation | None
    ) -> tuple[str, requests.Response, Reservation | None]:
        """The POST: the new tweet's id, X's answer (its quota headers, to book) and the price
        reserved. The price is reserved against the daily budget first (``spend.BudgetReached``
        when it would pass the cap) unless the caller did: the mention is the one that mentioned
        the bot, so it is a summoned reply. A POST that fails has its price given back and its
        quota written at once (by the session's callback, or here when X answered in full)."""
        if reservation is None and self._spend is not None:
            reservation = self._spend.reserve_post(text)
        answer: requests.Response | None = None
        try:
            answer = self._call(
                "post",
                lambda: self._post_client.create_tweet(
                    text=text, in_reply_to_tweet_id=in_reply_to_tweet_id, user_auth=True
                ),
            )
            data = answer.json().get("data")
            if not isinstance(data, dict) or "id" not in data:
                raise Transient("post: answer without an id")
        except BaseException:
            if answer is not None:
                self._record_quota("post", answer)
            self._book_post(reservation, posted=False)
            raise
        return str(data["id"]), answer, reservation

    def _book_post(self, reservation: Reservation | None, posted: bool) -> None:
        if self._spend is None or reservation is None:
            return
        try:
            if posted:
                self._spend.settle(reservation)
            else:
                self._spend.refund(reservation)
        except Exception:  # the post itself is done (or failed): bookkeeping must not change that
            log.warning("could not book the spend of a post", exc_info=True)

    def find_reply_to(
        self, mention_id: str, posted_after: float | None = None, max_pages: int = 32
    ) -> str | None:
        """The id of the bot's own reply to a mention, if X has one (reconciliation).

        ``posted_after`` (Unix seconds: when the first POST for it was attempted) limits the
        walk to the bot's tweets since then, so a reply behind many newer ones is still found;
        X reaches back 3,200 tweets (32 pages) at most.
        """
        bot = self.bot_user()
        since: dict[str, object] = (
            {"start_time": datetime.fromtimestamp(posted_after - CLOCK_SKEW_S, UTC)}
            if posted_after
            else {"since_id": mention_id}
        )
        token = None
        for _ in range(max_pages):
            response = self._call(
                "user_tweets",
                lambda token=token: self._client.get_users_tweets(
                    bot.id,
                    **since,
                    max_results=PAGE_MAX,
                    pagination_token=token,
                    tweet_fields=["id", "referenced_tweets"],
                    user_auth=True,
                ),
            )
            for tweet in response.data or []:
                for ref in tweet.referenced_tweets or []:
                    if ref.type == "replied_to" and str(ref.id) == mention_id:
                        return str(tweet.id)
            token = (response.meta or {}).get("next_token")
            if not token:
                return None
        return None

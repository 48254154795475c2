"""The X API v2 endpoints the bot uses. Auth and rate limits happened in the front door."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response

from sandbox.x_api import params, problems, render
from sandbox.x_api.params import QueryReader
from sandbox.x_api.problems import ParameterError
from sandbox.x_api.state import Refusal, Sandbox
from sandbox.x_api.store import TimelinePage, TimelineQuery

router = APIRouter()

FIELD_NAMES = ("tweet.fields", "post.fields", "user.fields", "media.fields", "poll.fields", "place.fields")
TIMELINE_PARAMS = {
    "since_id",
    "until_id",
    "max_results",
    "pagination_token",
    "start_time",
    "end_time",
    "expansions",
    *FIELD_NAMES,
}


def x_json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(problems.encode(body), status_code=status, media_type=problems.content_type(status))


def _sandbox(request: Request) -> Sandbox:
    return request.app.state.sandbox


def _selection(reader: QueryReader) -> render.Selection:
    return render.Selection(
        tweet_fields=reader.fields("tweet.fields", "post.fields"),
        user_fields=reader.fields("user.fields"),
        expansions=reader.expansions(params.TWEET_EXPANSIONS),
    )


def _timeline_query(reader: QueryReader) -> TimelineQuery:
    return TimelineQuery(
        since_id=reader.tweet_id("since_id"),
        until_id=reader.tweet_id("until_id"),
        start_time=reader.time("start_time"),
        end_time=reader.time("end_time"),
        page=reader.token("pagination_token"),
        max_results=reader.integer("max_results", 5, 100, 10),
    )


def _timeline_answer(sandbox: Sandbox, page: TimelinePage, selection: render.Selection) -> dict[str, Any]:
    answer = render.tweets_answer(sandbox.store, page.tweets, selection)
    meta: dict[str, Any] = {"result_count": len(page.tweets)}
    if page.tweets:
        meta = {"newest_id": page.tweets[0].id, "oldest_id": page.tweets[-1].id, **meta}
    if page.has_older:
        meta["next_token"] = params.encode_token(page.tweets[-1].id)
    if page.has_newer:  # X's previous_token: the page before this one, for backward paging
        meta["previous_token"] = params.encode_token(page.tweets[0].id, newer=True)
    answer["meta"] = meta
    return answer


@router.get("/2/users/me")
async def users_me(request: Request) -> Response:
    reader = QueryReader(request.query_params, {"expansions", *FIELD_NAMES})
    user_fields = reader.fields("user.fields")
    reader.fields("tweet.fields", "post.fields")
    reader.expansions(params.USER_EXPANSIONS)
    reader.check()
    sandbox = _sandbox(request)
    with sandbox.lock:
        me = sandbox.store.users[request.state.principal.user_id]
        return x_json({"data": render.user_json(sandbox.store, me, user_fields)})


@router.get("/2/users/{user_id}/mentions")
async def users_mentions(request: Request, user_id: str) -> Response:
    return _timeline(request, user_id, mentions=True)


@router.get("/2/users/{user_id}/tweets")
async def users_tweets(request: Request, user_id: str) -> Response:
    return _timeline(request, user_id, mentions=False)


def _timeline(request: Request, user_id: str, mentions: bool) -> Response:
    params.path_id("id", user_id)
    allowed = TIMELINE_PARAMS if mentions else TIMELINE_PARAMS | {"exclude"}
    reader = QueryReader(request.query_params, allowed)
    selection = _selection(reader)
    query = _timeline_query(reader)
    excluded = set() if mentions else reader.choice_list("exclude", frozenset({"replies", "retweets"}))
    reader.check()
    if "replies" in excluded:
        query = TimelineQuery(**{**query.__dict__, "exclude_replies": True})
    sandbox = _sandbox(request)
    with sandbox.lock:
        if user_id not in sandbox.store.users:
            return x_json({"errors": [problems.not_found("user", "id", user_id)]})
        store = sandbox.store
        page = store.mentions(user_id, query) if mentions else store.authored(user_id, query)
        return x_json(_timeline_answer(sandbox, page, selection))


def _owner_view(request: Request, answer: dict[str, Any]) -> dict[str, Any]:
    """X shows a post's impression_count only to its owner, asking with user context.
    Callers hold the sandbox lock."""
    principal, tweets = request.state.principal, _sandbox(request).store.tweets
    data = answer.get("data")
    for tweet in data if isinstance(data, list) else [data] if isinstance(data, dict) else []:
        metrics = tweet.get("public_metrics") if isinstance(tweet, dict) else None
        stored = tweets.get(str(tweet.get("id"))) if isinstance(metrics, dict) else None
        if stored is not None and not (principal.kind == "user" and stored.author_id == principal.user_id):
            metrics["impression_count"] = 0  # type: ignore[index]
    return answer


@router.get("/2/tweets")
async def tweets_lookup(request: Request) -> Response:
    reader = QueryReader(request.query_params, {"ids", "expansions", *FIELD_NAMES})
    ids = reader.ids("ids")
    selection = _selection(reader)
    reader.check()
    sandbox = _sandbox(request)
    with sandbox.lock:
        found = [t for t in (sandbox.store.visible(i) for i in ids) if t is not None]
        answer = _owner_view(request, render.tweets_answer(sandbox.store, found, selection))
        missing = [problems.not_found("tweet", "ids", i) for i in ids if sandbox.store.visible(i) is None]
    if missing:
        answer["errors"] = missing + answer.get("errors", [])
    return x_json(answer)


@router.get("/2/tweets/{tweet_id}")
async def tweet_by_id(request: Request, tweet_id: str) -> Response:
    params.path_id("id", tweet_id)
    reader = QueryReader(request.query_params, {"expansions", *FIELD_NAMES})
    selection = _selection(reader)
    reader.check()
    sandbox = _sandbox(request)
    with sandbox.lock:
        tweet = sandbox.store.visible(tweet_id)
        if tweet is None:
            return x_json({"errors": [problems.not_found("tweet", "id", tweet_id)]})
        return x_json(
            _owner_view(request, render.tweets_answer(sandbox.store, [tweet], selection, single=True))
        )


def _body_error(message: str, name: str, value: object) -> Response:
    error = ParameterError(message, {name: [json.dumps(value) if not isinstance(value, str) else value]})
    return x_json(problems.invalid_request([error]), 400)


@router.post("/2/tweets")
async def create_tweet(request: Request) -> Response:
    raw = await request.body()
    try:
        body = json.loads(raw or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _body_error("The request body is not valid JSON.", "body", raw.decode("utf-8", "replace"))
    if not isinstance(body, dict):
        return _body_error("The request body must be a JSON object.", "body", body)
    text = body.get("text", "")
    if not isinstance(text, str):
        return _body_error("$.text: is not a string", "text", text)
    reply = body.get("reply")
    reply_to = None
    if reply is not None:
        reply_to = reply.get("in_reply_to_tweet_id") if isinstance(reply, dict) else None
        if not isinstance(reply_to, str) or not params.ID_PATTERN.match(reply_to):
            return _body_error(
                "$.reply.in_reply_to_tweet_id: does not match the regex pattern ^[0-9]{1,19}$",
                "reply.in_reply_to_tweet_id",
                reply_to,
            )
    outcome = _sandbox(request).post(request.state.principal.user_id, text, reply_to)
    if isinstance(outcome, Refusal):
        return x_json(outcome.body, outcome.status)
    data = {"edit_history_tweet_ids": [outcome.id], "id": outcome.id, "text": outcome.text}
    return x_json({"data": data}, 201)


@router.api_route(
    "/2/{rest:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"], include_in_schema=False
)
async def unknown_route(rest: str) -> Response:
    # Not one of X's documented endpoints: its old v1.1-style answer, plain JSON.
    return Response(
        problems.encode(problems.route_not_found()), status_code=404, media_type=problems.JSON_TYPE
    )

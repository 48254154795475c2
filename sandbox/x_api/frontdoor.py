"""What every X API request meets before a route: faults, auth, rate limits, one log line.

A pure ASGI middleware, so it can hold the answer back (malformed bodies) or hang up
without answering (dropped connections).
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from sandbox.x_api import problems
from sandbox.x_api.auth import SignedRequest, auth_kind, authenticate
from sandbox.x_api.state import Sandbox

log = logging.getLogger("sandbox.x_api")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

RAW_SEND = "sandbox.raw_send"  # scope key: the server's own send, for hanging up
USER_CONTEXT_ONLY = {"me", "post"}


def endpoint_name(method: str, path: str) -> str:
    """The X endpoint a request is for, in the names the bot's quota book uses."""
    path = path.rstrip("/")
    if path == "/2/tweets" and method == "POST":
        return "post"
    if path == "/2/users/me":
        return "me"
    if re.fullmatch(r"/2/users/[^/]+/mentions", path):
        return "mentions"
    if re.fullmatch(r"/2/users/[^/]+/tweets", path):
        return "user_tweets"
    if path == "/2/tweets" or re.fullmatch(r"/2/tweets/[^/]+", path):
        return "tweets_lookup"
    return "other"


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


def _signed_request(scope: Scope) -> SignedRequest:
    host = _header(scope, b"host") or "{}:{}".format(*scope.get("server", ("127.0.0.1", 80)))
    raw_path = scope.get("raw_path") or scope["path"].encode()
    return SignedRequest(
        method=scope["method"],
        url=f"{scope.get('scheme', 'http')}://{host}{raw_path.decode('latin-1')}",
        query=scope.get("query_string", b"").decode("latin-1"),
        authorization=_header(scope, b"authorization"),
    )


async def _answer(send: Send, status: int, body: bytes, headers: dict[str, str]) -> None:
    raw_headers = [
        (b"content-type", problems.content_type(status).encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    raw_headers += [(k.encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


class FrontDoor:
    def __init__(self, app: ASGIApp, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.monotonic()
        status: list[int] = []

        async def observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
                if scope["path"].startswith("/2/"):
                    self._count_status(message["status"])
            await send(message)

        try:
            if scope["path"].startswith("/2/"):
                await self._x_request(scope, receive, observed)
            else:
                await self.app(scope, receive, observed)
        finally:
            answer = str(status[0]) if status else "dropped"
            log.info(
                "%s %s %s %.1fms", scope["method"], scope["path"], answer, (time.monotonic() - began) * 1000
            )

    def _count_status(self, status: int) -> None:
        with self.sandbox.lock:
            if status == 429:
                self.sandbox.stats.rate_limited_responses += 1
            elif status >= 500:
                self.sandbox.stats.server_errors_served += 1

    async def _x_request(self, scope: Scope, receive: Receive, send: Send) -> None:
        sandbox = self.sandbox
        endpoint = endpoint_name(scope["method"], scope["path"])
        request = _signed_request(scope)
        kind = auth_kind(request.authorization)
        sandbox.advance_engagement(time.time())  # authors' answers due by now exist before any read
        with sandbox.lock:
            sandbox.stats.requests_per_endpoint[endpoint] += 1
            plan = sandbox.faults.plan(endpoint, time.time())

        if plan.latency_s:
            await asyncio.sleep(plan.latency_s)
        if plan.drop:
            await self._hang_up(scope, send)
            return
        if plan.storm_until is not None:
            with sandbox.lock:
                headers = sandbox.limiter.peek(endpoint, kind)
            # The storm is the limit in force: its end is the reset a client should wait for.
            headers.update(
                {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(math.ceil(plan.storm_until))}
            )
            headers.setdefault("x-rate-limit-limit", "0")
            await _answer(send, 429, problems.encode(problems.too_many_requests()), headers)
            return
        if plan.error_status is not None:
            with sandbox.lock:
                headers = sandbox.limiter.peek(endpoint, kind)
            await _answer(
                send, plan.error_status, problems.encode(problems.about_blank(plan.error_status)), headers
            )
            return

        principal = authenticate(request, sandbox.config.credentials, sandbox.config.bot_id)
        if principal is not None and principal.kind == "user" and sandbox.user_token_revoked:
            principal = None
        if principal is None:
            with sandbox.lock:
                headers = sandbox.limiter.peek(endpoint, kind)
            await _answer(send, 401, problems.encode(problems.unauthorized()), headers)
            return
        if endpoint in USER_CONTEXT_ONLY and principal.kind != "user":
            with sandbox.lock:
                headers = sandbox.limiter.peek(endpoint, kind)
            await _answer(send, 403, problems.encode(problems.unsupported_authentication()), headers)
            return
        with sandbox.lock:
            decision = sandbox.limiter.acquire(endpoint, principal.kind)
        if not decision.allowed:
            await _answer(send, 429, problems.encode(problems.too_many_requests()), decision.headers)
            return

        scope.setdefault("state", {})["principal"] = principal
        extra = [(k.encode(), v.encode()) for k, v in decision.headers.items()]
        if plan.malformed:
            await self._malformed(scope, receive, send, extra)
            return

        async def with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_limits)

    async def _malformed(
        self, scope: Scope, receive: Receive, send: Send, extra: list[tuple[bytes, bytes]]
    ) -> None:
        """Run the request for real, then answer 2xx with a body no JSON parser accepts."""
        start: Message = {}
        chunks: list[bytes] = []

        async def hold(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, hold)
        with self.sandbox.lock:
            body = self.sandbox.faults.garbage(b"".join(chunks))
            self.sandbox.stats.malformed_responses += 1
        status = start.get("status", 200)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in extra}
        await _answer(send, status if 200 <= status < 300 else 200, body, headers)

    async def _hang_up(self, scope: Scope, send: Send) -> None:
        """Close the connection without a byte of answer."""
        with self.sandbox.lock:
            self.sandbox.stats.dropped_connections += 1
        raw_send = scope.get(RAW_SEND)
        cycle = getattr(raw_send, "__self__", None)
        transport = getattr(cycle, "transport", None)
        if transport is None:  # not under uvicorn: the closest we can do is fail the request
            raise ConnectionAbortedError("sandbox fault: connection dropped")
        transport.close()
        for _ in range(100):  # let the server notice, so it does not try to answer
            if getattr(cycle, "disconnected", True):
                return
            await asyncio.sleep(0.001)

"""The LLM endpoint fake: the slice of the chat-completions API our roasters call, as
Together serves it and as OpenAI's schema requires it (``choices[].logprobs`` and
``choices[].message.refusal`` present, null), so the together SDK (base URL without /v1)
and the openai SDK (base URL ending in /v1) both reach POST /v1/chat/completions.

POST /v1/chat/completions and GET /v1/models behind a Bearer key (any non-empty one),
with injectable latency, hangs, 429s, 5xx, garbage and unsafe answers; models named
"...guard..." answer as guard models (``sandbox.llm_fake.model.guard_answer``). The fault
dials and counters live under /sandbox/.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, ValidationError

from sandbox.llm_fake.config import GARBAGE_KINDS, FakeConfig, Faults, FaultUpdate
from sandbox.llm_fake.model import complete, guard_answer, is_guard_model

log = logging.getLogger("sandbox.llm_fake")

MODELS = ("meta-llama/Llama-3.3-70B-Instruct-Turbo", "fake/roaster-1", "meta-llama/Llama-Guard-4-12B")


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | None = None


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str
    messages: list[ChatMessage]
    max_tokens: int | None = None
    temperature: float | None = None


@dataclass
class FakeState:
    """What the fake serves now and what it has served so far."""

    initial: Faults
    faults: Faults
    dice: random.Random
    seed: int
    counts: Counter[str] = field(default_factory=Counter)
    last_request: dict[str, object] | None = None
    in_flight: int = 0
    max_in_flight: int = 0
    revoked_keys: set[str] = field(default_factory=set)  # refused with a 401, as a revoked key is
    # The client ends (host, port) chat completions came from: one per TCP connection, so a
    # client that reuses its connections shows as few as it keeps open.
    peers: set[tuple[str, int]] = field(default_factory=set)

    def stats(self) -> dict[str, object]:
        return {
            "requests": self.counts["requests"],
            "chat_completions": self.counts["chat_completions"],
            "errors": self.counts["errors"],
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "connections": len(self.peers),
            "by_outcome": {k: v for k, v in sorted(self.counts.items()) if k.startswith("outcome:")},
        }


def _error(
    status: int, message: str, kind: str, code: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    # Together's error shape (OpenAI-compatible).
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


def create_app(config: FakeConfig | None = None) -> FastAPI:
    """The fake as an ASGI app (one state per app: tests can run several side by side)."""
    config = config or FakeConfig()
    seed = config.seed if config.seed is not None else random.SystemRandom().randrange(2**32)
    state = FakeState(
        initial=config.faults, faults=config.faults.model_copy(), dice=random.Random(seed), seed=seed
    )
    app = FastAPI(title="LLM endpoint fake", docs_url=None, redoc_url=None)
    app.state.fake = state

    def count_error(outcome: str) -> None:
        state.counts["errors"] += 1
        state.counts[f"outcome:{outcome}"] += 1

    def authorized(request: Request) -> bool:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and bool(key.strip()) and key.strip() not in state.revoked_keys

    def refuse_unauthorized(request: Request) -> Response | None:
        # Counted per endpoint rather than in a middleware: BaseHTTPMiddleware would hide
        # the client's disconnect from a hanging handler.
        state.counts["requests"] += 1
        if authorized(request):
            return None
        count_error("unauthorized")
        return _error(
            401,
            "Invalid API key provided. You can find your API key at https://api.together.xyz/settings/api-keys.",
            "invalid_request_error",
            "invalid_api_key",
        )

    @app.get("/v1/models")
    async def list_models(request: Request) -> Response:
        refused = refuse_unauthorized(request)
        if refused is not None:
            return refused
        created = int(time.time())
        models = [{"id": m, "object": "model", "created": created, "owned_by": "sandbox"} for m in MODELS]
        return JSONResponse({"object": "list", "data": models})

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        refused = refuse_unauthorized(request)
        if refused is not None:
            return refused
        state.counts["chat_completions"] += 1
        if request.client is not None:
            state.peers.add((request.client.host, request.client.port))
        state.in_flight += 1
        state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            return await _answer(request)
        finally:
            state.in_flight -= 1

    async def _answer(request: Request) -> Response:
        try:
            chat = ChatRequest.model_validate(json.loads(await request.body()))
        except (ValueError, ValidationError) as error:
            count_error("bad_request")
            return _error(
                400, f"invalid request body: {str(error)[:300]}", "invalid_request_error", "invalid_request"
            )
        state.last_request = chat.model_dump()
        faults = state.faults
        delay_ms = faults.latency_ms + state.dice.uniform(-faults.jitter_ms, faults.jitter_ms)
        if delay_ms > 0:
            await asyncio.sleep(delay_ms / 1000)
        if state.dice.random() < faults.timeout_rate:
            state.counts["outcome:timeout"] += 1
            if await _hang(request, faults.hang_s):
                return Response(status_code=499)  # nobody is listening any more
            count_error("timeout_answered")
            return _error(504, "upstream timed out", "server_error", "timeout")
        if state.dice.random() < faults.rate_limit_rate:
            count_error("rate_limited")
            retry_after = faults.retry_after_s
            headers = {
                "retry-after": f"{retry_after:g}",
                "x-ratelimit-reset": f"{retry_after:g}",
                "x-ratelimit-remaining": "0",
            }
            return _error(
                429, "Rate limit exceeded: slow down.", "rate_limit_exceeded", "rate_limit_exceeded", headers
            )
        if state.dice.random() < faults.error_rate:
            status = state.dice.choice((500, 502, 503))
            count_error(f"server_error_{status}")
            return _error(
                status,
                "The server had an error while processing your request.",
                "server_error",
                "server_error",
            )
        messages = [message.model_dump() for message in chat.messages]
        if is_guard_model(chat.model):
            verdict = guard_answer(messages)
            state.counts[f"outcome:{verdict.kind}"] += 1
            return JSONResponse(_completion(chat, verdict.text, "stop"))
        if state.dice.random() < faults.garbage_rate:
            return _garbage(chat, faults.garbage_kind or state.dice.choice(GARBAGE_KINDS))
        unsafe = state.dice.random() < faults.unsafe_rate
        answer = complete(messages, _model_rng(state.seed, chat), unsafe, faults.unsafe_kind)
        state.counts[f"outcome:{answer.kind}"] += 1
        text, finish = answer.text, "stop"
        if chat.max_tokens and len(text) > chat.max_tokens * 4:  # about four characters a token
            text, finish = text[: chat.max_tokens * 4], "length"
        return JSONResponse(_completion(chat, text, finish))

    async def _hang(request: Request, seconds: float) -> bool:
        """Hang up to ``seconds``; True when the client gave up first (so shutdown never waits)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if await request.is_disconnected():
                return True
            await asyncio.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        return False

    def _garbage(chat: ChatRequest, kind: str) -> Response:
        state.counts[f"outcome:garbage_{kind}"] += 1
        if kind == "not_json":
            return Response(
                "<html><body>502 upstream said something</body></html>", media_type="application/json"
            )
        if kind == "no_choices":
            body = _completion(chat, "", "stop")
            body["choices"] = []
            return JSONResponse(body)
        content = {
            "empty": "",
            "null": None,
            "symbols": "#$%&*!?\ufffd\ufffd ~~~ ^^^ }{ ][ \ufffd",
            "json_debris": '{"choices": [{"text": null, "logprobs": {}}]}',
        }[kind]
        return JSONResponse(_completion(chat, content, "stop"))

    @app.get("/sandbox/faults")
    async def get_faults() -> dict[str, object]:
        return state.faults.model_dump()

    @app.post("/sandbox/faults")
    async def set_faults(update: FaultUpdate) -> Response:
        """Change the fields given (null puts a kind back to "any"); the rest stay."""
        changes = update.model_dump(exclude_unset=True)
        try:
            state.faults = Faults.model_validate({**state.faults.model_dump(), **changes})
        except ValidationError as error:
            return JSONResponse({"detail": error.errors(include_url=False)}, status_code=422)
        log.info("faults changed: %s", changes)
        return JSONResponse(state.faults.model_dump())

    @app.post("/sandbox/keys")
    async def set_keys(body: dict[str, list[str]]) -> dict[str, list[str]]:
        """``{"revoked": [key, ...]}``: these keys get the 401 of an invalid key from now on."""
        state.revoked_keys = {str(key) for key in body.get("revoked", [])}
        return {"revoked": sorted(state.revoked_keys)}

    @app.post("/sandbox/reset")
    async def reset() -> dict[str, object]:
        """Faults back to the start-up configuration, counters to zero."""
        state.faults = state.initial.model_copy()
        state.counts.clear()
        state.peers.clear()
        state.max_in_flight = state.in_flight
        state.last_request = None
        state.revoked_keys = set()
        return {"faults": state.faults.model_dump(), "stats": state.stats()}

    @app.get("/sandbox/last_request")
    async def last_request() -> Response:
        """The last chat completion body received (to check what a client really sends)."""
        if state.last_request is None:
            return JSONResponse({"detail": "no chat completion received yet"}, status_code=404)
        return JSONResponse(state.last_request)

    @app.get("/sandbox/stats")
    async def stats() -> dict[str, object]:
        return state.stats()

    @app.get("/sandbox/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _model_rng(seed: int, chat: ChatRequest) -> random.Random:
    # Same conversation and temperature, same answer; a regeneration (higher temperature) differs.
    digest = hashlib.sha256(
        json.dumps([seed, chat.temperature, [m.model_dump() for m in chat.messages]]).encode()
    ).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _completion(chat: ChatRequest, content: str | None, finish_reason: str) -> dict[str, object]:
    prompt_tokens = sum(len((m.content or "").split()) for m in chat.messages)
    completion_tokens = len((content or "").split())
    return {
        "id": f"fake-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": chat.model,
        "prompt": [],
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                # OpenAI's schema requires both (nullable): a client may read them unguarded.
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }

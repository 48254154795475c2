"""One chat-completions call through a Stainless-generated SDK (together, openai), and the
one mapping of its failures to ``roastbot.outcomes``.

Both SDKs raise the same family of exceptions (RateLimitError, APITimeoutError,
APIConnectionError, APIStatusError, APIResponseValidationError) from their own modules,
so an ``SdkErrors`` names a module's classes and everything else here is shared: a 429
is ``RateLimited`` until its reset, 5xx and timeouts are ``Transient``, 401/403 are the
``Permanent`` codes that hold generation for an operator (``roastbot.holds``). The SDKs'
own retries are off (``max_retries=0``) wherever a client is built: the consumer's retry
policy is the only one.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol

from roastbot.outcomes import Permanent, RateLimited, Transient

RATE_LIMIT_BACKOFF_S = 10.0
"""Wait after a 429 that names no reset time."""

_PERMANENT_CODES = {
    400: "bad_request",
    401: "auth",
    403: "forbidden",
    404: "not_found",
    413: "request_too_large",
    422: "bad_request",
}
_TRANSIENT_STATUSES = {408, 409, 425}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")


@dataclass(frozen=True)
class SdkErrors:
    """One SDK's exception classes (the shared mapping below needs nothing else of it)."""

    rate_limit: type[Exception]
    timeout: type[Exception]
    connection: type[Exception]
    status: type[Exception]
    validation: type[Exception]
    base: type[Exception]

    @classmethod
    def of(cls, module: ModuleType, base: type[Exception]) -> SdkErrors:
        return cls(
            module.RateLimitError,
            module.APITimeoutError,
            module.APIConnectionError,
            module.APIStatusError,
            module.APIResponseValidationError,
            base,
        )


class _HeaderReader(Protocol):
    def _parse_retry_after_header(self, headers: Any) -> float | None: ...


@dataclass(frozen=True)
class ChatAnswer:
    content: str | None
    model: str
    prompt_tokens: int
    completion_tokens: int


class ChatEndpoint:
    """A chat-completions endpoint behind one SDK client; thread-safe (one shared HTTP client).

    ``what`` names the caller in reasons and Permanent codes: "llm" for a roaster
    (``llm_auth``...), "guard" for the guard model (``guard_auth``...).
    """

    def __init__(
        self,
        client: Any,
        errors: SdkErrors,
        *,
        base_url: str,
        rate_limit_backoff_s: float = RATE_LIMIT_BACKOFF_S,
    ) -> None:
        self.client = client
        self.errors = errors
        self.base_url = base_url
        self.rate_limit_backoff_s = rate_limit_backoff_s
        # Built now, once: the SDKs build a client's resources on first use, without a lock, and
        # every pool thread that came to a burst's first mentions before it was done built its
        # own (a module import and a few objects each, under the GIL the others wait for).
        self.completions = client.chat.completions

    def complete(self, what: str, **request: Any) -> ChatAnswer:
        """One chat completion; every failure of the call leaves as an outcome error."""
        errors = self.errors
        try:
            response = self.completions.create(**request)
        except errors.rate_limit as error:
            reset = reset_at(error.response, self.rate_limit_backoff_s, self.client)  # type: ignore[attr-defined]
            raise RateLimited(f"{what} rate limited (429)", reset) from None
        except errors.timeout:
            raise Transient(f"{what} request timed out") from None
        except errors.connection as error:
            raise Transient(f"{what} connection failed: {error}") from None
        except errors.status as error:
            raise status_outcome(error, what) from None  # type: ignore[arg-type]
        except errors.validation as error:
            raise Transient(f"{what} answer did not match the API schema: {error}") from None
        except errors.base as error:
            raise Transient(f"{what} call failed: {type(error).__name__}: {error}") from None
        except ValueError:  # a 200 whose body is not JSON
            raise Transient(f"{what} returned no usable text (the answer is not JSON)") from None
        # Any other error is ours, not the server's: it reaches the consumer as a bug. (The SDKs
        # hand an answer of another shape back as it is, a list or a string: read below.)
        model = getattr(response, "model", None)
        usage = getattr(response, "usage", None)
        return ChatAnswer(
            content=_first_content(response),
            model=model if isinstance(model, str) and model else str(request.get("model", "")),
            prompt_tokens=_count(getattr(usage, "prompt_tokens", 0)),
            completion_tokens=_count(getattr(usage, "completion_tokens", 0)),
        )


def together_endpoint(
    *, api_key: str, base_url: str, timeout_s: float, connections: int | None = None, **options: Any
) -> ChatEndpoint:
    """Together's SDK adds /v1/ itself: ``base_url`` is the host (https://api.together.ai).
    ``connections``: calls made at once (``http_client``)."""
    import together  # here, not at the top: the SDK costs a worker ~1 s of CPU to import, and
    # the offline roaster, the producer and the console never call it

    client = together.Together(**_client_options(together, api_key, base_url, timeout_s, connections))
    return ChatEndpoint(client, SdkErrors.of(together, together.TogetherError), base_url=base_url, **options)


def openai_endpoint(
    *, api_key: str, base_url: str, timeout_s: float, connections: int | None = None, **options: Any
) -> ChatEndpoint:
    """The OpenAI SDK appends /chat/completions: ``base_url`` usually ends in /v1.
    ``connections``: calls made at once (``http_client``)."""
    import openai  # here for the reason together_endpoint gives

    client = openai.OpenAI(**_client_options(openai, api_key, base_url, timeout_s, connections))
    return ChatEndpoint(client, SdkErrors.of(openai, openai.OpenAIError), base_url=base_url, **options)


def _client_options(
    sdk: ModuleType, api_key: str, base_url: str, timeout_s: float, connections: int | None
) -> dict[str, Any]:
    """What either SDK's client is built with: no retries of its own (ours is the only policy)."""
    return {
        "api_key": api_key,
        "base_url": base_url,
        "timeout": timeout_s,
        "max_retries": 0,
        "http_client": http_client(sdk, timeout_s, connections),
    }


def http_client(sdk: ModuleType, timeout_s: float, connections: int | None) -> Any:
    """The SDK's own HTTP client (its defaults) keeping at least ``connections`` connections
    open between calls; None (no ``connections``): the SDK builds its default one.

    Together's pool keeps 20 idle connections, and a consumer makes CONSUMER_CONCURRENCY calls
    at once (32 by default): past 20 a connection finished with was closed, and the next call
    opened a new one (32 threads making 3 calls each on the LLM fake opened 96 connections)."""
    if connections is None:
        return None
    limits = sdk.DEFAULT_CONNECTION_LIMITS  # an httpx (together) or httpx2 (openai) Limits
    pool = type(limits)(
        max_connections=_at_least(limits.max_connections, connections),
        max_keepalive_connections=_at_least(limits.max_keepalive_connections, connections),
        keepalive_expiry=limits.keepalive_expiry,
    )
    return sdk.DefaultHttpxClient(timeout=timeout_s, limits=pool)


def _at_least(limit: int | None, floor: int) -> int | None:
    return None if limit is None else max(limit, floor)  # None: no limit


def _count(value: object) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def _first_content(response: object) -> str | None:
    choices = getattr(response, "choices", None)
    if not isinstance(choices, list) or not choices:
        return None
    message = getattr(choices[0], "message", None)
    content = getattr(message, "content", None)
    if content is None:
        content = getattr(choices[0], "text", None)
    return content if isinstance(content, str) else None


def status_outcome(error: Any, what: str = "llm") -> Exception:
    """An HTTP refusal as an outcome: 5xx and a few others transient, the rest permanent
    with a code (``llm_auth`` for a 401: ``roastbot.holds`` holds generation on it)."""
    status = error.status_code
    detail = _error_message(error)
    if status >= 500 or status in _TRANSIENT_STATUSES:
        return Transient(f"{what} server error {status}{detail}")
    code = f"{what}_{_PERMANENT_CODES.get(status, f'http_{status}')}"
    return Permanent(f"{what} refused the request: {status}{detail}", code)


def _error_message(error: Any) -> str:
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else inner
        if isinstance(message, str) and message:
            return f": {message[:200]}"
    return ""


def reset_at(response: Any, fallback_s: float, client: _HeaderReader) -> float:
    """When a 429 ends (Unix seconds): retry-after(-ms) as the SDK reads it, then
    x-ratelimit-reset[-requests|-tokens] (which the SDKs do not read), else a fallback."""
    now = time.time()
    headers = response.headers
    retry_after = client._parse_retry_after_header(headers)  # seconds, date or -ms forms
    if retry_after is not None and retry_after >= 0:
        return now + retry_after
    for name in ("x-ratelimit-reset", "x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"):
        reset = _reset_header(headers.get(name), now)
        if reset is not None:
            return reset
    return now + fallback_s


def _reset_header(value: str | None, now: float) -> float | None:
    number = _number(value)
    if number is not None and number >= 0:
        # Large values are a Unix time, small ones a delay in seconds.
        return number if number > 1_000_000_000 else now + number
    if value:
        parts = _DURATION_PART.findall(value.strip())
        if parts and "".join(a + b for a, b in parts) == value.strip():
            scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
            return now + sum(float(amount) * scale[unit] for amount, unit in parts)
    return None


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None

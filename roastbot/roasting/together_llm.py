"""A roaster backed by a chat model on Together (or anything speaking its API).

One HTTP request per ``roast`` call: the SDK's own retries are off (``max_retries=0``)
because the consumer's retry policy is the only one. Every failure leaves as a
``roastbot.outcomes`` error.
"""

from __future__ import annotations

import logging
import re
import time

import httpx
import together

from roastbot.outcomes import Permanent, RateLimited, Transient
from roastbot.roasting.base import RoastDraft, RoastRequest
from roastbot.roasting.normalize import clean
from roastbot.roasting.prompt import build_messages

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.together.ai"
RATE_LIMIT_BACKOFF_S = 10.0
"""Wait after a 429 that names no reset time."""

_PERMANENT_CODES = {
    400: "llm_bad_request",
    401: "llm_auth",
    403: "llm_forbidden",
    404: "llm_not_found",
    413: "llm_request_too_large",
    422: "llm_bad_request",
}
_TRANSIENT_STATUSES = {408, 409, 425}
_QUOTES = "\"'`“”‘’«»„‚‹›「」『』"
_STRUCTURAL = set("{}[]<>\\|=^~_")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_LABEL = re.compile(r"^(?:roast|reply|response|answer|here'?s (?:a|your|my) roast)\s*[:\-–—]\s*", re.I)
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")


class TogetherRoaster:
    """Roasts with ``model`` through the together SDK; thread-safe (one shared httpx client)."""

    name = "together"

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None,
        model: str,
        timeout_s: float,
        max_tokens: int = 120,
        temperature: float = 0.9,
        rate_limit_backoff_s: float = RATE_LIMIT_BACKOFF_S,
    ) -> None:
        if not api_key:
            raise ValueError("the together roaster needs an api_key")
        if not model:
            raise ValueError("the together roaster needs a model name")
        # Passing the default explicitly keeps TOGETHER_BASE_URL in the environment out of it.
        url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        if url.endswith("/v1"):
            raise ValueError(
                f"base_url {url!r} must not end in /v1: the together SDK adds /v1/ to every path"
            )
        self.model = model
        self.base_url = url
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.rate_limit_backoff_s = rate_limit_backoff_s
        self._client = together.Together(api_key=api_key, base_url=url, timeout=timeout_s, max_retries=0)

    def roast(self, request: RoastRequest) -> RoastDraft:
        try:
            response = self._client.chat.completions.create(
                model=self.model,
                messages=build_messages(request),  # type: ignore[arg-type]
                max_tokens=self.max_tokens,
                # A regeneration asks for more variety.
                temperature=min(1.3, self.temperature + 0.15 * request.attempt),
            )
        except together.RateLimitError as error:
            raise RateLimited(
                "llm rate limited (429)", _reset_at(error.response, self.rate_limit_backoff_s, self._client)
            ) from None
        except together.APITimeoutError:
            raise Transient("llm request timed out") from None
        except together.APIConnectionError as error:
            raise Transient(f"llm connection failed: {error}") from None
        except together.APIStatusError as error:
            raise _status_outcome(error) from None
        except together.APIResponseValidationError as error:
            raise Transient(f"llm answer did not match the API schema: {error}") from None
        except together.TogetherError as error:
            raise Transient(f"llm call failed: {type(error).__name__}: {error}") from None
        except ValueError:  # a 200 whose body is not JSON
            raise Transient("llm returned no usable text (the answer is not JSON)") from None
        # Any other error is ours, not the server's: it reaches the consumer as a bug. (The SDK
        # hands an answer of another shape back as it is, a list or a string: read below.)
        text = roast_text(_first_content(response))
        if not text:
            raise Transient("llm returned no usable text")
        model = getattr(response, "model", None)
        return RoastDraft(
            text=text, roaster=self.name, model=model if isinstance(model, str) and model else self.model
        )


def _first_content(response: object) -> str | None:
    choices = getattr(response, "choices", None)
    if not isinstance(choices, list) or not choices:
        return None
    message = getattr(choices[0], "message", None)
    content = getattr(message, "content", None)
    if content is None:
        content = getattr(choices[0], "text", None)
    return content if isinstance(content, str) else None


def roast_text(content: str | None) -> str:
    """The roast inside a model's answer: first paragraph, no wrapping quotes or label; "" if garbage."""
    if not content:
        return ""
    text = clean(content).strip()
    text = _PARAGRAPH_BREAK.split(text, maxsplit=1)[0].strip()
    text = _LABEL.sub("", text).strip()
    while len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
        text = text[1:-1].strip()
    text = " ".join(text.split())
    return text if _looks_like_words(text) else ""


def _looks_like_words(text: str) -> bool:
    # Garbage is symbol soup, replacement characters or JSON/markup debris. A short or
    # odd answer is still text: the safety gate and the pipeline judge it.
    letters = sum(char.isalpha() for char in text)
    visible = sum(not char.isspace() for char in text)
    structural = sum(char in _STRUCTURAL for char in text)
    return (
        "\ufffd" not in text
        and letters >= 2
        and letters / visible >= 0.5
        and structural <= max(2, visible // 20)
    )


def _status_outcome(error: together.APIStatusError) -> Exception:
    status = error.status_code
    detail = _error_message(error)
    if status >= 500 or status in _TRANSIENT_STATUSES:
        return Transient(f"llm server error {status}{detail}")
    code = _PERMANENT_CODES.get(status, f"llm_http_{status}")
    return Permanent(f"llm refused the request: {status}{detail}", code)


def _error_message(error: together.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else inner
        if isinstance(message, str) and message:
            return f": {message[:200]}"
    return ""


def _reset_at(response: httpx.Response, fallback_s: float, client: together.Together) -> float:
    """When a 429 ends (Unix seconds): retry-after(-ms) as the SDK reads it, then
    x-ratelimit-reset (which the SDK does not read), else a fallback."""
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

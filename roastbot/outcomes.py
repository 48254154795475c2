"""Typed outcomes at the edges (X, the LLM): every caller decides in one place.

Gateways raise these instead of library-specific exceptions, so retry policy lives
in the workers and never depends on tweepy's or together's exception classes.
"""

from __future__ import annotations


class ExternalError(Exception):
    """Base for a failed call to an external service."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RateLimited(ExternalError):
    """Refused for quota; do not call again before ``reset_at`` (Unix seconds)."""

    def __init__(self, reason: str, reset_at: float) -> None:
        super().__init__(reason)
        self.reset_at = reset_at


class Transient(ExternalError):
    """Timeout, 5xx, dropped connection, garbage answer: worth retrying with backoff."""


class Permanent(ExternalError):
    """Retrying cannot help (duplicate content, deleted tweet, bad credentials...)."""

    def __init__(self, reason: str, code: str = "permanent") -> None:
        super().__init__(reason)
        self.code = code

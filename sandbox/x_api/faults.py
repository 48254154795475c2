"""Injected trouble: latency, 5xx, 429 storms, dropped connections, garbage bodies, refused posts."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any

ENDPOINTS = ("mentions", "post", "me", "user_tweets", "tweets_lookup")
POST_REFUSALS = ("duplicate", "reply_restricted", "automation_block", "suspended", "deleted")
SERVER_ERRORS = (500, 503)


@dataclass(frozen=True)
class FaultSettings:
    latency_ms: float = 0.0
    error_rate: float = 0.0
    rate_limit_storm_s: float = 0.0
    drop_rate: float = 0.0
    malformed_rate: float = 0.0
    endpoints: tuple[str, ...] | None = None  # None: every X endpoint
    post_refusal: str | None = None
    post_refusal_count: int | None = None  # None: until cleared

    def __post_init__(self) -> None:
        for name in ("error_rate", "drop_rate", "malformed_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.latency_ms < 0 or self.rate_limit_storm_s < 0:
            raise ValueError("latency_ms and rate_limit_storm_s must be >= 0")
        if self.endpoints is not None and not set(self.endpoints) <= set(ENDPOINTS):
            raise ValueError(f"endpoints must be among {', '.join(ENDPOINTS)}")
        if self.post_refusal is not None and self.post_refusal not in POST_REFUSALS:
            raise ValueError(f"post_refusal must be one of {', '.join(POST_REFUSALS)}")
        if self.post_refusal_count is not None and self.post_refusal_count < 1:
            raise ValueError("post_refusal_count must be >= 1")


@dataclass(frozen=True)
class Plan:
    """What happens to one request, decided on arrival."""

    latency_s: float = 0.0
    drop: bool = False
    storm_until: float | None = None
    error_status: int | None = None
    malformed: bool = False


class Faults:
    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()
        self.settings = FaultSettings()
        self._storm_until = 0.0
        self._refusals_left: int | None = None

    def apply(self, settings: FaultSettings, now: float) -> None:
        """Replace every fault with these (an empty FaultSettings clears them)."""
        self.settings = settings
        self._storm_until = now + settings.rate_limit_storm_s if settings.rate_limit_storm_s else 0.0
        self._refusals_left = settings.post_refusal_count

    def clear(self) -> None:
        self.apply(FaultSettings(), 0.0)

    def _roll(self, rate: float) -> bool:
        return rate > 0 and self._rng.random() < rate

    def plan(self, endpoint: str, now: float) -> Plan:
        s = self.settings
        if s.endpoints is not None and endpoint not in s.endpoints:
            return Plan()
        drop = self._roll(s.drop_rate)
        error = self._roll(s.error_rate)
        return Plan(
            latency_s=s.latency_ms / 1000,
            drop=drop,
            storm_until=self._storm_until if now < self._storm_until else None,
            error_status=self._rng.choice(SERVER_ERRORS) if error else None,
            malformed=self._roll(s.malformed_rate),
        )

    def take_post_refusal(self) -> str | None:
        """The refusal the next post gets, if one is armed (and count it)."""
        refusal = self.settings.post_refusal
        if refusal is None:
            return None
        if self._refusals_left is not None:
            self._refusals_left -= 1
            if self._refusals_left <= 0:
                self.settings = FaultSettings(
                    **{**asdict(self.settings), "post_refusal": None, "post_refusal_count": None}
                )
                self._refusals_left = None
        return refusal

    def describe(self, now: float) -> dict[str, Any]:
        s = asdict(self.settings)
        s["endpoints"] = list(self.settings.endpoints) if self.settings.endpoints is not None else None
        s["storm_remaining_s"] = round(max(self._storm_until - now, 0.0), 3)
        s["post_refusals_left"] = self._refusals_left
        s["active"] = self.settings != FaultSettings() or s["storm_remaining_s"] > 0
        return s

    def garbage(self, body: bytes) -> bytes:
        """A broken body: the real one cut short, or bytes that are not JSON at all."""
        if body and self._rng.random() < 0.5:
            return body[: max(len(body) // 2, 1)]
        return self._rng.choice([b'{"data": [{"id": "', b"<html><body>upstream hiccup", b"\x00\xff\xfe{]"])

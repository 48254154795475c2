"""Sandbox settings: credentials it accepts, the bot account, tier and time scale."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

BOT_USER_ID = "1000000000000000001"
TIERS = ("free", "basic", "pro", "unlimited")


@dataclass(frozen=True)
class Credentials:
    """The one X app (and its one user's access token) the sandbox accepts."""

    api_key: str = "sandbox-api-key"
    api_secret: str = "sandbox-api-secret"
    access_token: str = "sandbox-access-token"
    access_token_secret: str = "sandbox-access-token-secret"
    bearer_token: str = "sandbox-bearer-token"

    def __repr__(self) -> str:  # secrets never reach logs or tracebacks
        return "Credentials(<redacted>)"


@dataclass(frozen=True)
class SandboxConfig:
    host: str = "127.0.0.1"
    port: int = 8700
    tier: str = "unlimited"
    time_scale: float = 1.0
    bot_username: str = "roastbot"
    bot_id: str = BOT_USER_ID
    credentials: Credentials = field(default_factory=Credentials)
    seed: int | None = None  # seeds fault dice; None draws from the OS
    author_reply_rate: float = 0.0  # share of roasted authors who answer the bot's reply

    def __post_init__(self) -> None:
        if self.tier not in TIERS:
            raise ValueError(f"tier must be one of {', '.join(TIERS)}, not {self.tier!r}")
        if not 0 <= self.author_reply_rate <= 1:
            raise ValueError(f"author_reply_rate must be within 0..1, not {self.author_reply_rate!r}")
        if not self.time_scale > 0:
            raise ValueError(f"time_scale must be > 0, not {self.time_scale!r}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> SandboxConfig:
        """Defaults, then X_* / X_SANDBOX_* variables, then explicit overrides."""
        env = os.environ if env is None else env
        defaults = Credentials()
        credentials = Credentials(
            api_key=env.get("X_API_KEY") or defaults.api_key,
            api_secret=env.get("X_API_SECRET") or defaults.api_secret,
            access_token=env.get("X_ACCESS_TOKEN") or defaults.access_token,
            access_token_secret=env.get("X_ACCESS_TOKEN_SECRET") or defaults.access_token_secret,
            bearer_token=env.get("X_BEARER_TOKEN") or defaults.bearer_token,
        )
        values: dict[str, object] = {
            "host": env.get("X_SANDBOX_HOST") or cls.host,
            "port": int(env.get("X_SANDBOX_PORT") or cls.port),
            "tier": env.get("X_SANDBOX_TIER") or cls.tier,
            "time_scale": float(env.get("X_SANDBOX_TIME_SCALE") or cls.time_scale),
            "bot_username": env.get("X_SANDBOX_BOT_USERNAME") or cls.bot_username,
            "author_reply_rate": float(env.get("X_SANDBOX_AUTHOR_REPLY_RATE") or cls.author_reply_rate),
            "credentials": credentials,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

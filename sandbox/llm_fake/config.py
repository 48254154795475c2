"""The fake's settings: where it listens and which faults it injects (changeable at run time)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ENV_PREFIX = "LLM_FAKE_"
GarbageKind = Literal["empty", "null", "symbols", "json_debris", "no_choices", "not_json"]
UnsafeKind = Literal["link", "mention", "too_long", "email", "phone"]
GARBAGE_KINDS: tuple[GarbageKind, ...] = ("empty", "null", "symbols", "json_debris", "no_choices", "not_json")
UNSAFE_KINDS: tuple[UnsafeKind, ...] = ("link", "mention", "too_long", "email", "phone")


class Faults(BaseModel):
    """Fault dice, rolled per chat completion in this order: timeout, 429, 5xx, garbage, unsafe."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    latency_ms: float = Field(0.0, ge=0, le=600_000, description="added to every chat completion")
    jitter_ms: float = Field(0.0, ge=0, le=600_000, description="uniform +/- around latency_ms")
    timeout_rate: float = Field(0.0, ge=0, le=1, description="share of requests that hang for hang_s")
    hang_s: float = Field(30.0, ge=0, le=3600, description="how long a 'timeout' request hangs")
    rate_limit_rate: float = Field(0.0, ge=0, le=1, description="share answered 429")
    retry_after_s: float = Field(1.0, ge=0, le=3600, description="retry-after sent with a 429")
    error_rate: float = Field(0.0, ge=0, le=1, description="share answered 500/502/503")
    garbage_rate: float = Field(0.0, ge=0, le=1, description="share answered 200 with unusable content")
    unsafe_rate: float = Field(
        0.0, ge=0, le=1, description="share answered with a link, @mention or too long"
    )
    garbage_kind: GarbageKind | None = Field(None, description="one kind of garbage (default: any)")
    unsafe_kind: UnsafeKind | None = Field(None, description="one kind of unsafe answer (default: any)")


class FaultUpdate(BaseModel):
    """Body of POST /sandbox/faults: only the fields given change."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: float | None = Field(None, ge=0, le=600_000)
    jitter_ms: float | None = Field(None, ge=0, le=600_000)
    timeout_rate: float | None = Field(None, ge=0, le=1)
    hang_s: float | None = Field(None, ge=0, le=3600)
    rate_limit_rate: float | None = Field(None, ge=0, le=1)
    retry_after_s: float | None = Field(None, ge=0, le=3600)
    error_rate: float | None = Field(None, ge=0, le=1)
    garbage_rate: float | None = Field(None, ge=0, le=1)
    unsafe_rate: float | None = Field(None, ge=0, le=1)
    garbage_kind: GarbageKind | None = None
    unsafe_kind: UnsafeKind | None = None


@dataclass(frozen=True)
class FakeConfig:
    host: str = "127.0.0.1"
    port: int = 8701
    faults: Faults = field(default_factory=Faults)
    seed: int | None = None
    """Seed for the fault dice and the fake model (None: a fresh seed each start)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> FakeConfig:
        """LLM_FAKE_HOST, LLM_FAKE_PORT, LLM_FAKE_SEED and LLM_FAKE_<FAULT> (e.g. LLM_FAKE_LATENCY_MS)."""
        env = os.environ if env is None else env
        faults = {
            name: env[ENV_PREFIX + name.upper()]
            for name in Faults.model_fields
            if env.get(ENV_PREFIX + name.upper(), "") != ""
        }
        seed = env.get(ENV_PREFIX + "SEED", "")
        values: dict[str, object] = {
            "host": env.get(ENV_PREFIX + "HOST", "127.0.0.1"),
            "port": int(env.get(ENV_PREFIX + "PORT", "8701")),
            "faults": Faults.model_validate(faults),
            "seed": int(seed) if seed else None,
        }
        fault_overrides = {k: v for k, v in overrides.items() if k in Faults.model_fields and v is not None}
        if fault_overrides:
            values["faults"] = Faults.model_validate({**values["faults"].model_dump(), **fault_overrides})  # type: ignore[union-attr]
        values.update({k: v for k, v in overrides.items() if k not in Faults.model_fields and v is not None})
        return cls(**values)  # type: ignore[arg-type]

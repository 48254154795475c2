"""Operator commands and run-time switches, through Redis (the workers read, the console writes).

Like rq's suspension and command modules: operators act on workers by writing Redis
keys that the workers watch, never by signalling processes behind Supervisor's back.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from roastbot.batch import Op, command, flat_to_dict
from roastbot.keys import AUDIT_STREAM_CAP, RedisKeys
from roastbot.redis_conn import RedisClient


@dataclass(frozen=True)
class RuntimeSwitches:
    """The run-time overrides in effect; None means 'use the configured setting'."""

    paused: bool = False
    poll_interval_s: float | None = None
    dry_run: bool | None = None
    approval_mode: bool = False
    per_author_limit_per_hour: int | None = None

    @classmethod
    def of(cls, answer: object) -> RuntimeSwitches:
        """From the runtime hash (HGETALL's answer, in a script or from redis-py)."""
        raw = flat_to_dict(answer)
        interval = raw.get("poll_interval_s")
        limit = raw.get("per_author_limit_per_hour")
        return cls(
            paused=raw.get("paused") == "1",
            poll_interval_s=float(interval) if interval else None,
            dry_run=_flag(raw.get("dry_run")),
            approval_mode=raw.get("approval_mode") == "1",
            per_author_limit_per_hour=int(limit) if limit else None,
        )


def _flag(value: str | None) -> bool | None:
    return None if value is None else value == "1"


class Control:
    def __init__(self, client: RedisClient, keys: RedisKeys) -> None:
        self.client = client
        self.keys = keys

    def switches_op(self) -> Op:
        """The switches as an op (``RuntimeSwitches.of`` reads its answer), for a batch."""
        return command("HGETALL", self.keys.runtime)

    def switches(self) -> RuntimeSwitches:
        return RuntimeSwitches.of(self.client.hgetall(self.keys.runtime))

    def set_switch(self, name: str, value: str | float | int | bool | None) -> None:
        if value is None:
            self.client.hdel(self.keys.runtime, name)
        else:
            encoded = ("1" if value else "0") if isinstance(value, bool) else str(value)
            self.client.hset(self.keys.runtime, name, encoded)

    def request_fetch_now(self) -> None:
        """Wake the producer for an immediate poll (it blocks on this list)."""
        pipe = self.client.pipeline(transaction=True)
        pipe.rpush(self.keys.fetch_now, str(time.time()))
        pipe.ltrim(self.keys.fetch_now, -10, -1)
        pipe.execute()

    def wait_for_fetch_now(self, timeout_s: float) -> bool:
        """Block until a fetch-now command or the timeout; True when woken by a command."""
        woken = self.client.blpop([self.keys.fetch_now], timeout=max(0.01, timeout_s)) is not None
        if woken:
            self.client.delete(self.keys.fetch_now)  # several clicks make one fetch
        return woken

    def audit(self, actor: str, action: str, result: str, **details: object) -> None:
        self.client.xadd(
            self.keys.audit,
            {"actor": actor, "action": action, "result": result, "details": json.dumps(details, default=str)},
            maxlen=AUDIT_STREAM_CAP,
            approximate=True,
        )

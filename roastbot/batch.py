"""Several pieces of Redis work in one round trip: one script runs a list of operations.

A step of a mention's life used to make a round trip for each thing it read or wrote (the
rules, triage, the holds, the switches, the move, the author's memory...). Each of those
modules now also says its work as ``Op`` values, and the store runs a step's ops in one call
of ``lua/batch.lua``: atomically, in order, and stopping at a *gate* whose answer is not the
expected one (a rule that refuses, a text posted already), so nothing after it is written.
An op is a script of ``roastbot/lua`` (``OPERATIONS``) or a plain Redis command whose keys
come first. Every key is passed in KEYS (one bot's keys share one hash tag: one slot).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import redis

from roastbot.redis_conn import RedisClient

LUA_DIR = Path(__file__).with_name("lua")
# The scripts a batch can run by name (post_slot runs triage and quota_take).
OPERATIONS = (
    "claim",
    "held",
    "transition",
    "triage",
    "quota_take",
    "quota_record",
    "post_slot",
    "rules_reserve",
    "spend_reserve",
)


def load_script(client: RedisClient, name: str) -> redis.commands.core.Script:
    return client.register_script((LUA_DIR / f"{name}.lua").read_text())


@dataclass(frozen=True)
class Op:
    name: str  # one of OPERATIONS, or a Redis command whose keys come first
    keys: tuple[str, ...] = ()
    args: tuple[object, ...] = ()
    gate: str | None = None
    """The answer (its first element, for a list) that lets the batch go on; None: no gate."""


def command(name: str, *keys: str, args: Sequence[object] = ()) -> Op:
    """A plain Redis command as an op."""
    return Op(name, tuple(keys), tuple(args))


def batch_source() -> str:
    """``lua/batch.lua`` with every operation of OPERATIONS defined before it, each a function
    of its own KEYS and ARGV (the text of its script, unchanged)."""
    parts = ["local ops = {}"]
    for name in OPERATIONS:
        body = (LUA_DIR / f"{name}.lua").read_text()
        parts.append(f"ops['{name}'] = function(KEYS, ARGV)\n{body}\nend")
    parts.append((LUA_DIR / "batch.lua").read_text())
    return "\n".join(parts)


class Batch:
    def __init__(self, client: RedisClient) -> None:
        self._script = client.register_script(batch_source())

    def run(self, ops: Sequence[Op]) -> list[object]:
        """Every op's answer, in order (None for those after a gate that stopped the batch)."""
        keys: list[str] = []
        args: list[object] = [len(ops)]
        for op in ops:
            keys.extend(op.keys)
            gated = op.gate is not None
            args.extend([op.name, len(op.keys), len(op.args), int(gated), op.gate or "", *op.args])
        answers = list(self._script(keys=keys, args=args))
        return answers + [None] * (len(ops) - len(answers))


def passed(op: Op, answer: object) -> bool:
    """Whether a gate's answer let the batch go on (as ``lua/batch.lua`` decides)."""
    first = answer[0] if isinstance(answer, list) and answer else answer
    return op.gate is None or (answer is not None and str(first) == op.gate)


def flat_to_dict(answer: object) -> dict[str, str]:
    """HGETALL's answer: a flat list inside a script, a dict from redis-py."""
    if isinstance(answer, dict):
        return answer
    flat = list(answer or [])  # type: ignore[call-overload]
    return dict(zip(flat[::2], flat[1::2], strict=True))

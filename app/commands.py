"""Every command the console sends. Never cached: each one is written to the audit stream
with who, what and the result, then clears the reads it made stale so the operator sees the
effect on the next render. A command never raises: it returns what happened."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import redis

from app.connections import (
    REDIS_REMEDY,
    SUPERVISOR_REMEDY,
    Unavailable,
    console_redis,
    kafka_producer,
    kafka_reachable,
    supervisor,
)
from app.reads import (
    audit_log,
    author_list,
    dead_letter_marks,
    holds,
    pending_approvals,
    processes,
    replays,
    switches,
)
from app.redaction import redact
from app.roles import command_refusal
from roastbot import dlq_admin, operations
from roastbot.approvals import ApprovalQueue, Decision
from roastbot.control import Control
from roastbot.holds import Holds
from roastbot.settings import Settings
from roastbot.supervisor_rpc import SupervisorRefused, SupervisorUnavailable


class Refused(Exception):
    """A command that was not carried out, with the reason for the operator."""


CommandResult = operations.Outcome  # the shell's commands return the same


def _clear_reads(*reads: Any) -> None:
    for read in reads:
        read.clear()


def _carry_out(settings: Settings, perform: Callable[[], str]) -> CommandResult:
    try:
        return CommandResult(True, perform())
    except Unavailable as error:
        return CommandResult(False, f"{error.service} is unreachable: {error.detail}. {error.remedy}")
    except redis.RedisError as error:
        detail = redact(str(error), settings)
        return CommandResult(False, f"Redis is unreachable: {detail}. {REDIS_REMEDY}")
    except SupervisorUnavailable as error:
        detail = redact(str(error), settings)
        return CommandResult(False, f"Supervisor is unreachable: {detail}. {SUPERVISOR_REMEDY}")
    except SupervisorRefused as refused:
        return CommandResult(False, f"Supervisor refused: {redact(str(refused), settings)}")
    except Refused as refused:
        return CommandResult(False, str(refused))


def audited_command(
    settings: Settings,
    actor: str,
    action: str,
    perform: Callable[[], str],
    stale: Sequence[Any] = (),
    **details: object,
) -> CommandResult:
    """Run one operator action and audit it (who, what, result); never raises. An actor who is
    not an operator is refused here whatever the page showed them (a forged click included)."""
    client, keys = console_redis(settings)
    refusal = command_refusal(settings, actor)
    if refusal is None:
        result = _carry_out(settings, perform)
        recorded = None
    else:
        result = CommandResult(False, f"Refused: {refusal}.")
        recorded = f"refused: {refusal}"
    control = Control(client, keys)
    result = operations.audit(control, actor or "operator", action, result, recorded, **details)
    _clear_reads(audit_log, *stale)
    return result


def fetch_now(settings: Settings, actor: str) -> CommandResult:
    client, keys = console_redis(settings)
    return audited_command(settings, actor, "fetch_now", lambda: operations.fetch_now(Control(client, keys)))


def set_switch(
    settings: Settings, actor: str, name: str, value: str | float | int | bool | None
) -> CommandResult:
    """Set a run-time switch (None removes the override: the configured setting applies)."""
    client, keys = console_redis(settings)

    def perform() -> str:
        if name == "paused" and isinstance(value, bool):  # the console's two buttons
            return operations.set_paused(Control(client, keys), value)
        Control(client, keys).set_switch(name, value)
        if value is None:
            return f"{name} is back to the configured setting."
        return f"{name} set to {value}."

    return audited_command(settings, actor, f"set:{name}", perform, stale=[switches], value=value)


def lift_hold(settings: Settings, actor: str) -> CommandResult:
    client, keys = console_redis(settings)

    def perform() -> str:
        return operations.lift_hold(Holds(client, keys))

    return audited_command(settings, actor, "lift_posting_hold", perform, stale=[holds])


def change_author_list(settings: Settings, actor: str, which: str, member: str, add: bool) -> CommandResult:
    """Add to or remove from the opt-out or block list (usernames are stored lower-case)."""
    client, keys = console_redis(settings)
    key = keys.opt_out if which == "opt_out" else keys.block_list
    member = member.strip().lstrip("@")
    if which == "block_list":
        member = member.lower()

    def perform() -> str:
        changed = client.sadd(key, member) if add else client.srem(key, member)
        verb = "added to" if add else "removed from"
        return f"{member} {verb} the {which.replace('_', ' ')}" + ("" if changed else " (no change)")

    if not member:
        return CommandResult(False, "Enter an author id or username.")
    return audited_command(
        settings, actor, f"{'add' if add else 'remove'}:{which}", perform, stale=[author_list], member=member
    )


def decide(
    settings: Settings, actor: str, mention_id: str, decision: Decision, text: str = ""
) -> CommandResult:
    """Queue an approval decision for the consumers (approve, edited approve, reject)."""
    client, keys = console_redis(settings)

    def perform() -> str:
        if not ApprovalQueue(client, keys).decide(mention_id, decision, text, actor):
            raise Refused(f"Mention {mention_id} is no longer pending.")
        return f"{decision.value}d mention {mention_id}" + (" with an edit" if text else "")

    return audited_command(
        settings,
        actor,
        f"approval:{decision.value}",
        perform,
        stale=[pending_approvals],
        mention_id=mention_id,
        edited=bool(text),
    )


def replay_dead_letters(
    settings: Settings, actor: str, letters: Sequence[dlq_admin.DeadLetterMessage], click_id: str
) -> tuple[CommandResult, list[dlq_admin.ReplayOutcome]]:
    """Publish dead letters back to the mentions topic, each at most once for this click."""
    client, keys = console_redis(settings)
    outcomes: list[dlq_admin.ReplayOutcome] = []

    def perform() -> str:
        kafka_reachable(settings)
        outcomes.extend(
            dlq_admin.replay(client, keys, kafka_producer(settings), settings, letters, actor, click_id)
        )
        return operations.replayed(outcomes)

    result = audited_command(
        settings,
        actor,
        "replay_dead_letters",
        perform,
        stale=[replays, dead_letter_marks],
        count=len(letters),
        click_id=click_id,
        letters=[letter.coordinates for letter in letters][:50],
    )
    failures = operations.replay_failures(outcomes)
    if result.ok and failures:
        result = CommandResult(False, result.message + failures)
    return result, outcomes


def discard_dead_letters(settings: Settings, actor: str, names: Sequence[str]) -> CommandResult:
    client, keys = console_redis(settings)

    def perform() -> str:
        return f"Hid {dlq_admin.discard(client, keys, names)} dead letters."

    return audited_command(
        settings, actor, "discard_dead_letters", perform, stale=[dead_letter_marks], letters=list(names)[:50]
    )


def process_action(settings: Settings, actor: str, program: str, action: str) -> CommandResult:
    """start | stop | restart one Supervisor process (``group:name``) or a group (``group:*``)."""
    rpc = supervisor(settings)
    if action not in {"start", "stop", "restart"}:
        raise ValueError(action)

    def perform() -> str:
        if program.endswith(":*"):
            getattr(rpc, f"{action}_group")(program[:-2])
        else:
            getattr(rpc, action)(program)
        return f"{action} {program}: done"

    return audited_command(settings, actor, f"process:{action}", perform, stale=[processes], program=program)

"""Operator commands from a shell (`roastbot pause`, `hold`, `lift`, `replay`, ...).

Each acts the way the console does (Redis keys the workers watch, dead letters published
again) and is audited in the same stream, with the shell's user as the actor; an error is
reported with every configured secret masked, never raised at the operator.
"""

from __future__ import annotations

import getpass
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import redis
from confluent_kafka import KafkaException

from roastbot import dlq_admin
from roastbot.control import Control
from roastbot.holds import Holds
from roastbot.kafka_wiring import make_producer
from roastbot.keys import RedisKeys
from roastbot.logs import RedactSecrets
from roastbot.redis_conn import connect_redis
from roastbot.settings import Settings


class CommandRefused(Exception):
    """The command cannot be done as asked (the message says why)."""


def shell_actor() -> str:
    """The audit log's actor for a command typed at a shell."""
    return f"shell:{getpass.getuser()}"


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str


# --- what the console (app/commands.py) and the shell both do, worded once -----------------
def set_paused(control: Control, paused: bool) -> str:
    control.set_switch("paused", paused)
    return "Consumers paused." if paused else "Consumers resumed."


def fetch_now(control: Control) -> str:
    control.request_fetch_now()
    return "Asked the producer to poll X now."


def lift_hold(holds: Holds) -> str:
    lifted = holds.lift()
    return f"Hold lifted (was: {', '.join(h.code for h in lifted) if lifted else 'not set'})."


def replayed(outcomes: Sequence[dlq_admin.ReplayOutcome]) -> str:
    sent = sum(o.status == "sent" for o in outcomes)
    return f"Replayed {sent} of {len(outcomes)} dead letters."


def replay_failures(outcomes: Sequence[dlq_admin.ReplayOutcome]) -> str | None:
    """What to add to a replay's message when some letters were not sent (None: all were)."""
    failed = [o for o in outcomes if o.status in {"failed", "not_replayable"}]
    return f" {len(failed)} failed: {failed[0].detail}" if failed else None


def audit(
    control: Control,
    actor: str,
    action: str,
    outcome: Outcome,
    recorded: str | None = None,
    **details: object,
) -> Outcome:
    """Write the command to the audit stream (``recorded``, or else ok / failed: why); a command
    that worked still reports success when Redis cannot take the line, saying so."""
    try:
        control.audit(
            actor, action, recorded or ("ok" if outcome.ok else f"failed: {outcome.message}"), **details
        )
    except redis.RedisError:
        if outcome.ok:
            return Outcome(True, outcome.message + " (not audited: Redis is unreachable)")
    return outcome


class Operations:
    def __init__(self, settings: Settings, actor: str | None = None) -> None:
        self.settings = settings
        self.actor = actor or shell_actor()
        self.client = connect_redis(settings)
        self.keys = RedisKeys.of(settings)

    def _audited(self, action: str, perform: Callable[[], str], **details: object) -> Outcome:
        try:
            outcome = Outcome(True, perform())
        except (redis.RedisError, KafkaException, dlq_admin.DeadLetterBrowseError, CommandRefused) as error:
            masked = RedactSecrets(self.settings.secret_values()).redact(str(error))
            outcome = Outcome(
                False, masked if isinstance(error, CommandRefused) else f"{type(error).__name__}: {masked}"
            )
        return audit(self.control, self.actor, action, outcome, via="shell", **details)

    @property
    def control(self) -> Control:
        return Control(self.client, self.keys)

    def set_paused(self, paused: bool) -> Outcome:
        return self._audited("set:paused", lambda: set_paused(self.control, paused), value=paused)

    def fetch_now(self) -> Outcome:
        return self._audited("fetch_now", lambda: fetch_now(self.control))

    def hold(self, reason: str) -> Outcome:
        def perform() -> str:
            Holds(self.client, self.keys).raise_hold("operator", reason)
            return "Posting is held: consumers keep mentions waiting until `roastbot lift`."

        return self._audited("hold_posting", perform, reason=reason)

    def lift(self) -> Outcome:
        return self._audited("lift_posting_hold", lambda: lift_hold(Holds(self.client, self.keys)))

    def replay(self, wanted: Sequence[str], every: bool) -> Outcome:
        """Publish the named dead letters (topic:partition:offset), or all shown, once each."""
        outcomes: list[dlq_admin.ReplayOutcome] = []
        click_id = f"shell-{uuid.uuid4().hex}"

        def perform() -> str:
            letters = dlq_admin.browse(self.settings)
            chosen = letters if every else [letter for letter in letters if letter.coordinates in wanted]
            unknown = sorted(set(wanted) - {letter.coordinates for letter in chosen})
            if unknown:
                raise CommandRefused(f"no such dead letter: {', '.join(unknown)}")
            producer = make_producer(self.settings)
            outcomes.extend(
                dlq_admin.replay(
                    self.client, self.keys, producer, self.settings, chosen, self.actor, click_id
                )
            )
            return replayed(outcomes)

        outcome = self._audited("replay_dead_letters", perform, click_id=click_id, letters=list(wanted)[:50])
        failures = replay_failures(outcomes)
        if outcome.ok and failures:
            return Outcome(False, outcome.message + failures)
        return outcome

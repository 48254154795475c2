"""The dead-letter topic: what could not be finished, with the original bytes and why."""

from __future__ import annotations

import time
from dataclasses import dataclass

from confluent_kafka import KafkaError, Message, Producer

from roastbot.settings import Settings


@dataclass(frozen=True)
class DeadLetter:
    """Why a message was given up on."""

    reason: str  # short stable code: invalid_message, retries_exhausted, bug:<Type>, ...
    error: str  # human-readable detail (for a bug: the traceback's last frame)
    attempts: int
    first_seen: float

    def __post_init__(self) -> None:
        # An operator reads these in the console: neither is ever blank (an exception's str()
        # may be, e.g. KeyError()).
        reason = self.reason.strip() or "unknown"
        object.__setattr__(self, "reason", reason)
        object.__setattr__(self, "error", self.error.strip() or f"{reason} (no detail was given)")


@dataclass(frozen=True)
class LetterSource:
    """What is dead-lettered: the original bytes, their key, and where they came from."""

    key: bytes | None
    value: bytes
    origin: str  # topic:partition:offset of a Kafka message, approvals:<entry> for a decision

    @classmethod
    def of_message(cls, message: Message) -> LetterSource:
        return cls(
            message.key(),
            message.value() or b"",
            f"{message.topic()}:{message.partition()}:{message.offset()}",
        )


class DeadLetterError(Exception):
    """The DLQ did not acknowledge: the source message must not be committed."""


def dead_letter_headers(letter: DeadLetter, source: LetterSource) -> list[tuple[str, bytes]]:
    return [
        ("dlq.reason", letter.reason.encode()),
        ("dlq.error", letter.error[:1000].encode()),
        ("dlq.attempts", str(letter.attempts).encode()),
        ("dlq.first_seen", f"{letter.first_seen:.3f}".encode()),
        ("dlq.dead_lettered_at", f"{time.time():.3f}".encode()),
        ("dlq.source", source.origin.encode()),
    ]


def send_to_dead_letters(
    producer: Producer, settings: Settings, source: LetterSource, letter: DeadLetter, timeout_s: float = 30.0
) -> None:
    """Publish the original bytes with the reason as headers; returns only once acknowledged."""
    outcome: list[KafkaError | None] = []

    def on_delivery(error: KafkaError | None, _message: Message) -> None:
        outcome.append(error)

    producer.produce(
        settings.kafka_topic_dlq,
        key=source.key,
        value=source.value,
        headers=dead_letter_headers(letter, source),
        on_delivery=on_delivery,
    )
    deadline = time.monotonic() + timeout_s
    while not outcome and time.monotonic() < deadline:
        producer.poll(0.1)
    if not outcome or outcome[0] is not None:
        raise DeadLetterError(f"dead-letter publish failed: {outcome[0] if outcome else 'timeout'}")

"""The one retry policy (tenacity): what is tried again, how long to wait, when to stop.

Every failure kind is bounded:

============================  ==============================  ===================================
failure                       wait between attempts           after the last attempt
============================  ==============================  ===================================
X or the LLM: ``Transient``   exponential, full jitter (30 s)  ``GaveUp``: dead letter
X or the LLM: ``RateLimited``  until the reset it names        ``GaveUp``: dead letter
X or the LLM: ``Permanent``   not retried                      dead letter, skip, or a global hold
our own bug (any other error)  exponential (30 s), N attempts  dead letter ``bug:<Type>``
Redis or Kafka down           exponential (30 s), a patience   the consumer loop restarts
a restarted loop failing      exponential (30 s), N restarts   the process exits (named code)
============================  ==============================  ===================================

Waits are interruptible: a shutdown raises ``Interrupted`` out of any of them.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import redis
import tenacity
from confluent_kafka import KafkaException

from roastbot.dead_letters import DeadLetterError
from roastbot.outcomes import RateLimited, Transient

log = logging.getLogger(__name__)
T = TypeVar("T")

BACKOFF_CAP_S = 30.0


class Outage(Exception):
    """A worker's loop stopped because Redis or Kafka kept failing; a new loop may work."""


INFRASTRUCTURE_ERRORS: tuple[type[BaseException], ...] = (
    redis.RedisError,
    KafkaException,
    DeadLetterError,
    BufferError,  # librdkafka's local queue is full: Kafka is not taking messages
    OSError,
    Outage,
)
"""Failures of the servers we depend on, not of a mention: no mention is given up for them."""
HEALTHY_RUN_S = 60.0
"""A loop that ran this long before failing starts its count of restarts afresh."""


class Interrupted(Exception):
    """Shutdown while waiting: leave the work unfinished, to be picked up again."""


class GaveUp(Exception):
    """Every attempt allowed for one call failed."""

    def __init__(self, what: str, attempts: int, last_error: BaseException) -> None:
        super().__init__(f"{what}: gave up after {attempts} attempts: {last_error}")
        self.what = what
        self.attempts = attempts
        self.last_error = last_error


def is_infrastructure(error: BaseException) -> bool:
    return isinstance(error, INFRASTRUCTURE_ERRORS)


def last_frame(error: BaseException) -> str:
    """Where an exception was raised: ``path:line in function`` of the innermost frame."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return "unknown"
    frame = frames[-1]
    path = Path(frame.filename)
    parts = path.parts
    shown = Path(*parts[parts.index("roastbot") :]) if "roastbot" in parts else path.name
    return f"{shown}:{frame.lineno} in {frame.name}"


def describe_bug(error: BaseException) -> str:
    return f"{type(error).__name__}: {error} (at {last_frame(error)})"


def full_jitter(failures: int, cap_s: float, first_s: float = 0.5) -> float:
    """A delay after ``failures`` failures in a row: anywhere up to first_s * 2**failures, capped."""
    wait = tenacity.wait_random_exponential(multiplier=first_s * 2, max=cap_s)
    return wait(_Attempt(failures))  # type: ignore[arg-type]


def backoff() -> tenacity.wait.wait_base:
    """Exponential from 0.5 s with jitter, at most BACKOFF_CAP_S."""
    return tenacity.wait_exponential_jitter(multiplier=0.5, max=BACKOFF_CAP_S, jitter=1.0)


class _WaitForOutcome(tenacity.wait.wait_base):
    """Until the reset after a rate limit; full-jitter exponential backoff after the rest."""

    def __init__(self) -> None:
        self._backoff = tenacity.wait_random_exponential(multiplier=0.4, max=BACKOFF_CAP_S)

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(error, RateLimited):
            return max(0.0, error.reset_at - time.time()) + random.uniform(0, 0.5)
        return self._backoff(retry_state)


class RetryPolicy:
    """Retries for one consumer: its limits and the stop event every wait listens to."""

    def __init__(
        self,
        *,
        max_retries: int,
        stop_event: threading.Event,
        on_failure: Callable[[str, BaseException], None] = lambda what, error: None,
        bug_attempts: int = 3,
        outage_patience_s: float = 60.0,
    ) -> None:
        self.max_retries = max_retries
        self.stop_event = stop_event
        self._listeners = [on_failure]
        self.bug_attempts = bug_attempts
        self.outage_patience_s = outage_patience_s

    def on_failure(self, what: str, error: BaseException) -> None:
        """Tell every listener (counters, the consumer's heartbeat) about one failed attempt."""
        for listener in self._listeners:
            listener(what, error)

    def listen(self, listener: Callable[[str, BaseException], None]) -> None:
        self._listeners.append(listener)

    def pause(self, seconds: float) -> None:
        """Wait, unless the consumer stops first (then Interrupted)."""
        if self.stop_event.wait(max(0.0, seconds)):
            raise Interrupted()

    def call(self, what: str, attempt: Callable[[], T]) -> T:
        """``attempt`` until it succeeds; Transient and RateLimited are retried up to
        max_retries times, then GaveUp. Permanent (and anything else) goes straight up."""
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type((Transient, RateLimited)),
            stop=tenacity.stop_after_attempt(self.max_retries + 1),
            wait=_WaitForOutcome(),
            sleep=self.pause,
            after=lambda state: self._failed(what, state),
            reraise=False,
        )
        try:
            return retrying(attempt)
        except tenacity.RetryError as error:
            last = error.last_attempt
            raise GaveUp(what, last.attempt_number, last.exception() or error) from None

    def _failed(self, what: str, state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        if error is not None:
            log.info("%s failed (attempt %d): %s", what, state.attempt_number, error)
            self.on_failure(what, error)

    def handling(self) -> tenacity.Retrying:
        """Attempts at handling one piece of work (``for attempt in ...: with attempt:``):
        a bug is tried ``bug_attempts`` times, an outage of Redis or Kafka for
        ``outage_patience_s``; then the last error is raised again."""

        def give_up(state: tenacity.RetryCallState) -> bool:
            error = state.outcome.exception() if state.outcome else None
            if error is not None and is_infrastructure(error):
                return state.seconds_since_start >= self.outage_patience_s
            return state.attempt_number >= self.bug_attempts

        def report(state: tenacity.RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            if error is not None:
                kind = "infrastructure" if is_infrastructure(error) else "bug"
                log.warning(
                    "handling failed (%s, attempt %d): %s",
                    kind,
                    state.attempt_number,
                    error,
                    exc_info=state.attempt_number == 1,
                )
                self.on_failure(kind, error)

        return tenacity.Retrying(
            retry=tenacity.retry_if_not_exception_type(Interrupted),
            stop=give_up,
            wait=backoff(),
            sleep=self.pause,
            after=report,
            reraise=True,
        )


class QuickFailures:
    """Restarts of a worker's loop: it gives up after ``limit`` failures in a row of loops
    that each ran under HEALTHY_RUN_S (one that ran longer starts the count afresh), and
    its backoff starts afresh with the count."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_a_row = 0
        self._started = time.monotonic()
        self._backoff = backoff()

    def started(self, _state: tenacity.RetryCallState) -> None:
        self._started = time.monotonic()

    def count(self, _state: tenacity.RetryCallState) -> None:
        ran = time.monotonic() - self._started
        self.in_a_row = 1 if ran > HEALTHY_RUN_S else self.in_a_row + 1

    def exhausted(self, _state: tenacity.RetryCallState) -> bool:
        return self.in_a_row > self.limit

    def wait(self, _state: tenacity.RetryCallState) -> float:
        return self._backoff(_Attempt(self.in_a_row))  # type: ignore[arg-type]


class _Attempt:
    """What tenacity's waits read of a retry state: the attempt number."""

    def __init__(self, attempt_number: int) -> None:
        self.attempt_number = attempt_number

"""Regression tests for bugs the benchmark and the chaos suite found in the core modules."""

from __future__ import annotations

import time

import pytest
import redis

from roastbot.keys import RedisKeys
from roastbot.quota import QuotaBook
from roastbot.settings import Settings

pytestmark = pytest.mark.integration


def _answer(remaining: int, reset: float, limit: int = 100) -> dict[str, str]:
    return {
        "x-rate-limit-limit": str(limit),
        "x-rate-limit-remaining": str(remaining),
        "x-rate-limit-reset": str(int(reset)),
    }


def test_a_late_answer_does_not_give_back_quota_already_reserved(
    redis_client: redis.Redis, settings: Settings
) -> None:
    # bench quota-bound: answers to earlier posts arrive after later reservations; their
    # higher `remaining` used to overwrite the count, so consumers posted into 429s.
    book = QuotaBook(redis_client, RedisKeys(settings.redis_key_prefix))
    now = time.time()
    reset = now + 60
    book.record("post", _answer(10, reset), now=now)
    assert [book.reserve("post", now=now) for _ in range(10)] == [None] * 10
    book.record("post", _answer(5, reset), now=now)  # the answer to the 5th post of the window
    assert book.reserve("post", now=now) == int(reset)


def test_a_new_window_is_counted_from_its_first_call(redis_client: redis.Redis, settings: Settings) -> None:
    # After the reset, every caller used to get through uncounted until the first answer of
    # the new window came back; that answer then ignored the calls still in flight.
    book = QuotaBook(redis_client, RedisKeys(settings.redis_key_prefix))
    start = time.time()
    book.record("post", _answer(0, start + 10, limit=3), now=start)
    after = start + 11
    assert [book.reserve("post", now=after) for _ in range(3)] == [None] * 3
    waits = book.reserve("post", now=after)
    assert waits is not None and after < waits <= after + 1  # until the window's first answer
    book.record("post", _answer(2, after + 10, limit=3), now=after + 0.5)  # only one served so far
    assert book.reserve("post", now=after + 0.5) == int(after + 10)


def test_an_answer_about_a_window_that_is_over_is_ignored(
    redis_client: redis.Redis, settings: Settings
) -> None:
    book = QuotaBook(redis_client, RedisKeys(settings.redis_key_prefix))
    start = time.time()
    book.record("post", _answer(0, start + 10, limit=3), now=start)
    after = start + 11
    assert book.reserve("post", now=after) is None  # the new window's first call
    book.record("post", _answer(0, start + 10, limit=3), now=after)  # a straggler from the old one
    assert [book.reserve("post", now=after) for _ in range(2)] == [None, None]


def test_a_refusal_always_blocks_until_its_reset(redis_client: redis.Redis, settings: Settings) -> None:
    book = QuotaBook(redis_client, RedisKeys(settings.redis_key_prefix))
    now = time.time()
    book.record("post", _answer(50, now + 900), now=now)
    book.record("post", _answer(0, now + 3), refused=True, now=now)  # a 429 storm until now + 3
    assert book.reserve("post", now=now) == int(now + 3)
    assert book.reserve("post", now=now + 4) is None  # after the storm, posting resumes

"""A repeating failure is told in a few lines with a count, not a line per attempt (pure logic)."""

from __future__ import annotations

import logging

import pytest

from roastbot.kafka_wiring import LibrdkafkaLog
from roastbot.logs import OutageLog


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_780_failures_in_20_s_make_one_line_and_the_end_one_more(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    outage = OutageLog(logging.getLogger("test.outage"), "Redis (REDIS_URL=redis://x)", clock=clock)
    with caplog.at_level(logging.INFO, logger="test.outage"):
        for n in range(780):
            clock.now = 1000.0 + n * 20 / 780
            outage.failed(f"Connection refused #{n}")
        clock.now = 1021.0
        outage.recovered()
        outage.recovered()  # once only
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "Redis (REDIS_URL=redis://x) failing: Connection refused #0 (repeats are counted, not logged)",
        "Redis (REDIS_URL=redis://x) works again after 21 s (780 failures; last: Connection refused #779)",
    ]


def test_a_long_outage_is_recalled_every_few_minutes(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    outage = OutageLog(logging.getLogger("test.long"), "Kafka", remind_s=300, clock=clock)
    with caplog.at_level(logging.INFO, logger="test.long"):
        for second in range(0, 901, 3):
            clock.now = 1000.0 + second
            outage.failed("down")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 4 and lines[1].startswith("Kafka still failing after 300 s (101 failures")


def test_librdkafka_lines_collapse_and_quiet_ones_pass_through(caplog: pytest.LogCaptureFixture) -> None:
    kafka_log = LibrdkafkaLog(logging.getLogger("test.rdkafka"), "127.0.0.1:1", quiet_s=3600)
    with caplog.at_level(logging.DEBUG, logger="test.rdkafka"):
        for _ in range(780):
            kafka_log.log(logging.ERROR, "%s [%s] %s", "FAIL", "rdkafka#consumer-1", "Connection refused")
        kafka_log.log(logging.INFO, "%s [%s] %s", "FAIL", "rdkafka#consumer-1", "Disconnected")  # counted
        kafka_log.log(logging.INFO, "%s [%s] %s", "CGRPOP", "rdkafka#consumer-1", "joined the group")
        kafka_log.answered()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3, lines
    assert lines[0].startswith("Kafka client (KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:1) failing: FAIL [")
    assert lines[1] == "librdkafka: CGRPOP [rdkafka#consumer-1] joined the group"
    assert "answers again" in lines[2] and "(781 failures" in lines[2]

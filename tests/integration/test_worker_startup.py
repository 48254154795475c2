"""A worker that cannot work says so at start, in one line naming the variable, and exits
non-zero (instead of running on and printing librdkafka's retries for ever)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from roastbot.worker import EXIT_CONFIG, EXIT_INFRASTRUCTURE

pytestmark = pytest.mark.integration
DEADLINE_S = 60  # the start-up bound below is 3 s; the rest is Python and librdkafka starting


def run_to_exit(
    spawn_worker: Callable[..., subprocess.Popen[bytes]], tmp_path: Path, role: str, **env: str
) -> tuple[int, list[str]]:
    log = tmp_path / f"{role}.log"
    process = spawn_worker(role, log, STARTUP_TIMEOUT_S="3", **env)
    try:
        code = process.wait(timeout=DEADLINE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        lines = log.read_text(errors="replace").splitlines()
        raise AssertionError(f"the {role} ran on for {DEADLINE_S} s ({len(lines)} lines of log)") from None
    return code, log.read_text(errors="replace").splitlines()


def test_a_consumer_with_kafka_unreachable_exits_with_one_line(spawn_worker, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, lines = run_to_exit(spawn_worker, tmp_path, "consumer", KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1")
    assert code == EXIT_INFRASTRUCTURE
    [line] = lines
    message = json.loads(line)["msg"]
    assert message.startswith(
        "KAFKA_BOOTSTRAP_SERVERS points at 127.0.0.1:1, which did not answer within 3 s"
    )
    assert "check that a broker runs there" in message


def test_a_producer_with_redis_unreachable_exits_with_one_line_and_no_password(
    spawn_worker, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    code, lines = run_to_exit(
        spawn_worker, tmp_path, "producer", REDIS_URL="redis://:hunter2-redis@127.0.0.1:1/0"
    )
    assert code == EXIT_INFRASTRUCTURE
    [line] = lines
    message = json.loads(line)["msg"]
    assert message.startswith(
        "REDIS_URL points at redis://:***@127.0.0.1:1/0, which did not answer within 3 s"
    )
    assert "hunter2" not in line


def test_a_partial_set_of_x_credentials_stops_the_consumer_naming_the_missing_ones(
    spawn_worker, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    blank = {"X_API_SECRET": "", "X_ACCESS_TOKEN": "", "X_ACCESS_TOKEN_SECRET": "", "X_BEARER_TOKEN": ""}
    code, lines = run_to_exit(spawn_worker, tmp_path, "consumer", X_API_KEY="only-the-key", **blank)
    assert code == EXIT_CONFIG
    [line] = lines
    assert line.startswith(
        "invalid configuration: X credentials are incomplete: X_API_SECRET, X_ACCESS_TOKEN"
    )
    assert "X_BEARER_TOKEN" in line and "only-the-key" not in line


def test_a_producer_without_any_x_credentials_says_so_at_start(spawn_worker, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    blank = {
        name: ""
        for name in ("X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET", "X_BEARER_TOKEN")
    }
    code, lines = run_to_exit(spawn_worker, tmp_path, "producer", X_API_BASE_URL="", **blank)
    assert code == EXIT_CONFIG
    [line] = lines
    assert "X credentials missing: X_API_KEY, X_API_SECRET" in json.loads(line)["msg"]

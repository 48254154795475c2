"""The walking skeleton under a real supervisord: sandbox mention in, exactly one reply out."""

from __future__ import annotations

import os
import subprocess
from datetime import datetime
from pathlib import Path

import httpx
import psutil
import pytest

from roastbot.keys import RedisKeys
from roastbot.redis_conn import connect_redis
from tests.helpers import wait_for
from tests.stack_fixture import HOME, running_stack

pytestmark = pytest.mark.e2e


def _get(url: str) -> str | None:
    try:
        return httpx.get(url, timeout=2).text
    except httpx.HTTPError:
        return None


# The programs that call X (the console reads Redis and Kafka only).
WORKERS = ("producer", "tracker", "consumer_")


def _logged_at(line: str) -> datetime:
    """The time at the head of a supervisord or a sandbox log line (both local, milliseconds)."""
    return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")


def test_a_fresh_sandbox_stack_starts_without_errors_replies_once_and_down_leaves_nothing(
    tmp_path: Path,
) -> None:
    with running_stack(tmp_path, consumers=2, console=True) as stack:
        log_dir = stack.config.var_dir / "log"
        # The workers are started after the X sandbox listens (it logs its address just
        # before): a first poll that finds it not yet listening counts an error on the console.
        listening = next(
            line for line in (log_dir / "x_sandbox.log").read_text().splitlines() if "X sandbox on" in line
        )
        spawns = [
            line for line in (log_dir / "supervisord.log").read_text().splitlines() if "spawned: '" in line
        ]
        worker_spawns = [line for line in spawns if any(f"'{w}" in line for w in WORKERS)]
        assert len(worker_spawns) == 4, spawns
        assert all(_logged_at(line) > _logged_at(listening) for line in worker_spawns), (listening, spawns)
        states = stack.program_states()
        assert set(states) >= {
            "producer:producer",
            "tracker:tracker",
            "consumer:consumer_00",
            "consumer:consumer_01",
            "x_sandbox:x_sandbox",
            "llm_fake:llm_fake",
        }
        assert set(states.values()) == {"RUNNING"}
        health = wait_for(lambda: _get(f"{stack.console_url}/_stcore/health"), 30, "the console")
        assert health == "ok"
        ctl = subprocess.run(
            [str(HOME / "scripts" / "supervisorctl"), "status"],
            env={**os.environ, "ROASTBOT_VAR_DIR": str(stack.config.var_dir)},
            capture_output=True,
            text=True,
            check=False,
        )
        assert ctl.returncode == 0, ctl.stderr
        assert ctl.stdout.count("RUNNING") == len(states)

        mention_id = stack.x.post("/sandbox/mentions", json={"text": "roast my sourdough starter"}).json()[
            "ids"
        ][0]
        replies = wait_for(
            lambda: stack.x.get(f"/sandbox/tweets/{mention_id}/replies").json()["replies"],
            30,
            "the bot's reply",
        )
        assert [r["by_bot"] for r in replies] == [True]
        counters = connect_redis(stack.settings).hgetall(RedisKeys.of(stack.settings).counters)
        # What the Overview's "Errors" adds up.
        errors = {n: c for n, c in counters.items() if n.startswith(("failed:", "producer_error:"))}
        assert errors == {}, "a fresh stack counts no error"
        supervisor_pid = int((stack.config.var_dir / "run" / "supervisord.pid").read_text())
        children = [p.pid for p in psutil.Process(supervisor_pid).children(recursive=True)]
        assert len(children) >= 5
        # The consumers yield the CPU to the producer, whose reads must keep up with X's reach.
        niceness = {" ".join(p.cmdline()[-2:]): p.nice() for p in psutil.Process(supervisor_pid).children()}
        assert niceness["-m workers.consumer"] == 5 and niceness["-m workers.producer"] == 0, niceness
    assert (
        not psutil.pid_exists(supervisor_pid)
        or psutil.Process(supervisor_pid).status() == psutil.STATUS_ZOMBIE
    )
    for pid in children:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, pid

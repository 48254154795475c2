"""The walking skeleton under a real supervisord: sandbox mention in, exactly one reply out."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import psutil
import pytest

from tests.helpers import wait_for
from tests.stack_fixture import HOME, running_stack

pytestmark = pytest.mark.e2e


def _get(url: str) -> str | None:
    try:
        return httpx.get(url, timeout=2).text
    except httpx.HTTPError:
        return None


def test_a_sandbox_mention_gets_exactly_one_reply_and_down_leaves_nothing(tmp_path: Path) -> None:
    with running_stack(tmp_path, consumers=2, console=True) as stack:
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
        supervisor_pid = int((stack.config.var_dir / "run" / "supervisord.pid").read_text())
        children = [p.pid for p in psutil.Process(supervisor_pid).children(recursive=True)]
        assert len(children) >= 5
    assert (
        not psutil.pid_exists(supervisor_pid)
        or psutil.Process(supervisor_pid).status() == psutil.STATUS_ZOMBIE
    )
    for pid in children:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, pid

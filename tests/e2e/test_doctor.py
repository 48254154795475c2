"""`python -m roastbot doctor` against the sandbox stack configured like the real API."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.stack_fixture import HOME, running_stack

pytestmark = pytest.mark.e2e


def run_doctor(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "roastbot", "doctor"],
        cwd=HOME,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_doctor_passes_then_names_each_failure_and_its_fix(tmp_path: Path) -> None:
    with running_stack(tmp_path, consumers=1, console=True) as stack:
        # Only credentials and the base URL point at the sandbox: the real-mode configuration.
        env = dict(stack.env)
        healthy = run_doctor(env)
        assert healthy.returncode == 0, healthy.stdout + healthy.stderr
        for check in ("config", "redis", "kafka", "x", "roaster", "supervisor"):
            assert f"PASS {check}" in healthy.stdout, healthy.stdout
        assert "authenticated as @roastbot (id 1000000000000000001)" in healthy.stdout

        broken = run_doctor({**env, "X_API_SECRET": "wrong-secret", "KAFKA_TOPIC_MENTIONS": "no-such-topic"})
        assert broken.returncode == 1
        assert "FAIL x" in broken.stdout and "fix: check the four OAuth 1.0a values" in broken.stdout
        assert "FAIL kafka" in broken.stdout and "topics missing: no-such-topic" in broken.stdout
        assert "wrong-secret" not in broken.stdout + broken.stderr

    down = run_doctor({**env, "SUPERVISOR_URL": env["SUPERVISOR_URL"]})
    assert down.returncode == 1
    assert "FAIL supervisor" in down.stdout and "make up" in down.stdout


def test_doctor_rejects_bad_configuration_by_name() -> None:
    import os

    result = run_doctor({**os.environ, "POLL_INTERVAL_S": "soon"})
    assert result.returncode == 1
    assert "POLL_INTERVAL_S" in result.stderr
    assert "FAIL config" in result.stdout

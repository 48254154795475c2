"""python -m sandbox.x_api: flags and env defaults, one log line per request, no secrets logged."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from sandbox.x_api import SandboxConfig
from sandbox.x_api.__main__ import parse_args
from tests.helpers import free_port, wait_for

HOME = Path(__file__).resolve().parents[2]


def test_env_defaults_and_flags(monkeypatch) -> None:
    monkeypatch.setenv("X_SANDBOX_PORT", "8799")
    monkeypatch.setenv("X_SANDBOX_TIER", "basic")
    monkeypatch.setenv("X_SANDBOX_TIME_SCALE", "60")
    args = parse_args([])
    assert (args.port, args.tier, args.time_scale) == (8799, "basic", 60.0)
    args = parse_args(["--port", "9000", "--tier", "free", "--time-scale", "2"])
    assert (args.port, args.tier, args.time_scale) == (9000, "free", 2.0)


def test_config_from_env() -> None:
    config = SandboxConfig.from_env(
        {"X_SANDBOX_BOT_USERNAME": "grillbot", "X_API_KEY": "k", "X_SANDBOX_TIER": "free"}
    )
    assert (config.bot_username, config.credentials.api_key, config.tier) == ("grillbot", "k", "free")
    assert config.credentials.api_secret == "sandbox-api-secret"
    assert "sandbox-api-secret" not in repr(config)


def test_module_serves_and_logs_without_credentials(tmp_path: Path) -> None:
    port = free_port()
    log_path = tmp_path / "sandbox.log"
    env = {**os.environ, "X_BEARER_TOKEN": "very-secret-bearer", "PYTHONPATH": str(HOME)}
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "sandbox.x_api", "--port", str(port), "--tier", "pro"],
            cwd=HOME,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            try:
                return httpx.get(f"{base}/sandbox/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, 15, "the sandbox process to answer")
        mentions = f"{base}/2/users/1000000000000000001/mentions"
        assert httpx.get(mentions, headers={"Authorization": "Bearer very-secret-bearer"}).status_code == 200
        assert (
            httpx.get(mentions, headers={"Authorization": "Bearer sandbox-bearer-token"}).status_code == 401
        )
        assert httpx.get(f"{base}/sandbox/limits").json()["tier"] == "pro"
        wait_for(lambda: "/sandbox/limits" in log_path.read_text(), 5, "the request log line")
    finally:
        process.terminate()
        process.wait(timeout=10)
    lines = log_path.read_text().splitlines()
    request_lines = [line for line in lines if "/2/users/1000000000000000001/mentions" in line]
    assert len(request_lines) == 2
    assert " 200 " in request_lines[0] and " 401 " in request_lines[1]
    assert "very-secret-bearer" not in log_path.read_text()
    assert "authorization" not in log_path.read_text().lower()

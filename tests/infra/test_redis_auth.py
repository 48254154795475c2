"""Our Redis asks for a password and refuses administrative commands; the password is made once
per user (ROASTBOT_CACHE_DIR, mode 0600) and found by every checkout and every client the same
way; a Redis that answers without one still works and the doctor warns. Private Redis servers
on free ports with a private cache dir: never the shared one on 6379."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from roastbot.doctor import check_redis
from roastbot.local_redis import local_password, password_file, without_credentials
from roastbot.settings import Settings
from scripts import services
from tests.helpers import free_port, wait_for

HOME = Path(__file__).resolve().parent.parent.parent

pytestmark = pytest.mark.integration


def private_env(tmp_path: Path, port: int, checkout: str = "checkout-a") -> dict[str, str]:
    return {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "ROASTBOT_CACHE_DIR": str(tmp_path / "cache"),
        "ROASTBOT_VAR_DIR": str(tmp_path / checkout / "var"),
        "REDIS_URL": f"redis://127.0.0.1:{port}/0",
    }


@pytest.fixture
def private_redis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[services.Config]:
    port = free_port()
    env = private_env(tmp_path, port)
    monkeypatch.setenv("ROASTBOT_CACHE_DIR", env["ROASTBOT_CACHE_DIR"])  # what Settings reads
    cfg = services.Config.from_env(env)
    try:
        services.up("redis", cfg)
        yield cfg
    finally:
        services.down("redis", cfg)


def test_our_redis_asks_for_the_generated_password(private_redis: services.Config, tmp_path: Path) -> None:
    cfg = private_redis
    secret_file = password_file(cfg.cache_dir)
    password = secret_file.read_text().strip()
    assert len(password) >= 24 and stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert f"default:{password}@127.0.0.1:{cfg.redis_port}" in cfg.redis_url
    assert stat.S_IMODE(cfg.redis_conf.stat().st_mode) == 0o600

    stranger = redis.Redis.from_url(without_credentials(cfg.redis_url))
    with pytest.raises(redis.AuthenticationError):
        stranger.ping()
    with pytest.raises(redis.AuthenticationError):
        redis.Redis.from_url(cfg.redis_url.replace(password, "guessed")).ping()

    ours = redis.Redis.from_url(cfg.redis_url)
    assert ours.set("roastbot:probe", "1") and ours.get("roastbot:probe") == b"1"
    assert ours.info("persistence")["aof_enabled"] == 1
    refused = (
        ["CONFIG", "GET", "dir"],
        ["CONFIG", "SET", "dir", "/tmp"],
        ["DEBUG", "SLEEP", "0"],
        ["MODULE", "LOAD", "/tmp/evil.so"],
        ["ACL", "SETUSER", "default", "+@all"],
        ["REPLICAOF", "127.0.0.1", "1"],
    )
    for command in refused:
        with pytest.raises(redis.ResponseError, match=r"no permissions|not allowed"):
            ours.execute_command(*command)


def test_every_checkout_and_client_finds_the_same_password(
    private_redis: services.Config, tmp_path: Path
) -> None:
    another = services.Config.from_env(private_env(tmp_path, private_redis.redis_port, "checkout-b"))
    assert another.redis_url == private_redis.redis_url
    result = subprocess.run(
        [sys.executable, str(HOME / "scripts" / "services.py"), "up", "redis"],
        env=private_env(tmp_path, private_redis.redis_port, "checkout-b"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "already answers (not started by us): using it, starting nothing" in result.stdout

    # The settings (workers, console, doctor, tests, benchmarks) put it into REDIS_URL the same way.
    plain = f"redis://127.0.0.1:{private_redis.redis_port}/0"
    settings = Settings(_env_file=None, redis_url=plain)  # type: ignore[call-arg]
    assert settings.redis_url == private_redis.redis_url
    assert local_password(private_redis.cache_dir) in settings.secret_values()  # redacted in logs
    check = check_redis(settings)
    assert check.ok and not check.warning, check
    # A URL with credentials of its own is left as it is.
    own = f"redis://default:other@127.0.0.1:{private_redis.redis_port}/0"
    assert Settings(_env_file=None, redis_url=own).redis_url == own  # type: ignore[call-arg]


def test_a_redis_without_a_password_still_works_and_the_doctor_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    cache = tmp_path / "cache"
    monkeypatch.setenv("ROASTBOT_CACHE_DIR", str(cache))
    assert local_password(cache, create=True)  # the user has a password; this Redis predates it
    open_redis = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: services.tcp_open("127.0.0.1", port), 10, "the password-less Redis")
        settings = Settings(_env_file=None, redis_url=f"redis://127.0.0.1:{port}/0")  # type: ignore[call-arg]
        assert "default:" in settings.redis_url
        check = check_redis(settings)
        assert check.ok and "answers without a password" in check.warning
        env = private_env(tmp_path, port)
        assert services.inspect("redis", services.Config.from_env(env))["redis"].state == "external"
    finally:
        open_redis.terminate()
        open_redis.wait(timeout=10)

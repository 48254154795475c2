from __future__ import annotations

import pytest

from roastbot.settings import ConfigError, Settings, load_settings


def test_defaults_pick_offline_roaster_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOGETHER_API_KEY", raising=False)
    monkeypatch.delenv("ROASTER", raising=False)
    assert Settings(_env_file=None).roaster == "offline"  # type: ignore[call-arg]


def test_together_key_selects_together(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOGETHER_API_KEY", "k-123456")
    monkeypatch.delenv("ROASTER", raising=False)
    assert Settings(_env_file=None).roaster == "together"  # type: ignore[call-arg]


def test_bad_value_names_the_variable_and_hides_secrets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POLL_INTERVAL_S", "fast")
    monkeypatch.setenv("REDIS_URL", "http://nope")
    monkeypatch.setenv("X_API_SECRET", "super-secret-value")
    with pytest.raises(ConfigError):
        load_settings(_env_file=None)
    err = capsys.readouterr().err
    assert "POLL_INTERVAL_S" in err
    assert "REDIS_URL: must start with redis://" in err
    assert "super-secret-value" not in err


def test_together_roaster_without_key_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError):
        load_settings(_env_file=None, roaster="together", together_api_key="")
    assert "TOGETHER_API_KEY" in capsys.readouterr().err


def test_together_base_url_with_v1_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError):
        load_settings(_env_file=None, together_base_url="http://127.0.0.1:8701/v1")
    assert "TOGETHER_BASE_URL" in capsys.readouterr().err


def test_secret_values_lists_configured_secrets_only() -> None:
    current = Settings(  # type: ignore[call-arg]
        _env_file=None,
        supervisor_password="abcd-key",
        together_api_key="",
        roaster="offline",
        redis_url="redis://redis.example:6379/0",
    )
    assert current.secret_values() == ["abcd-key"]
    assert "abcd-key" not in repr(current)
    with_password = current.model_copy(update={"redis_url": "redis://app:r3dis-pass@redis.example:6379/0"})
    assert with_password.secret_values() == ["abcd-key", "r3dis-pass"]


def test_env_example_is_valid_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    for name in ("ROASTER", "TOGETHER_API_KEY", "X_API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    example = Path(__file__).resolve().parents[2] / ".env.example"
    current = Settings(_env_file=example)  # type: ignore[call-arg]
    assert current.roaster == "offline"
    assert current.poll_interval_s == 15
    assert current.sandbox_mode is False


def test_a_partial_set_of_x_credentials_names_the_missing_ones(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError):
        load_settings(_env_file=None, x_api_key="only-the-key")
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("invalid configuration: X credentials are incomplete: ")
    for missing in ("X_API_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET", "X_BEARER_TOKEN"):
        assert missing in line
    assert "only-the-key" not in line


def test_no_x_credentials_or_the_sandbox_set_are_both_complete() -> None:
    from roastbot.settings import SANDBOX_X_CREDENTIALS, X_CREDENTIALS

    assert Settings(_env_file=None).missing_x_credentials() == [n.upper() for n in X_CREDENTIALS]  # type: ignore[call-arg]
    assert Settings(_env_file=None, **SANDBOX_X_CREDENTIALS).missing_x_credentials() == []  # type: ignore[call-arg]


OPENAI = {"roaster": "openai", "llm_base_url": "http://127.0.0.1:11434/v1", "llm_api_key": "ollama"}


@pytest.mark.parametrize(
    ("missing", "named", "fix"),
    [
        ("llm_base_url", "LLM_BASE_URL", "http://127.0.0.1:11434/v1 for Ollama"),
        ("llm_api_key", "LLM_API_KEY", "LLM_API_KEY=ollama will do"),
        ("roast_model", "ROAST_MODEL", "llama3.2 on Ollama"),
    ],
)
def test_the_openai_roaster_names_each_missing_setting_and_its_fix(
    capsys: pytest.CaptureFixture[str], missing: str, named: str, fix: str
) -> None:
    given = {**OPENAI, "roast_model": "llama3.2"}
    given.pop(missing)
    with pytest.raises(ConfigError):
        load_settings(_env_file=None, **given)
    err = capsys.readouterr().err
    assert f"ROASTER=openai needs {named}" in err and fix in err


def test_the_openai_roaster_configured_and_its_key_kept_secret() -> None:
    current = Settings(_env_file=None, **OPENAI, roast_model="llama3.2", guard_api_key="g-key")  # type: ignore[call-arg]
    assert (current.roaster, current.llm_base_url, current.roast_model) == (
        "openai",
        "http://127.0.0.1:11434/v1",
        "llama3.2",
    )
    assert {"ollama", "g-key"} <= set(current.secret_values())
    assert "ollama" not in repr(current) and "g-key" not in repr(current)


def test_a_guard_beside_the_offline_roaster_needs_its_own_endpoint(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(ConfigError):
        load_settings(_env_file=None, roaster="offline", guard_model="llama-guard3")
    assert "GUARD_BASE_URL and GUARD_API_KEY" in capsys.readouterr().err
    with pytest.raises(ConfigError):
        load_settings(_env_file=None, roaster="offline", guard_model="g", guard_base_url="http://h/v1")
    assert "GUARD_BASE_URL needs GUARD_API_KEY" in capsys.readouterr().err


def test_consumer_concurrency_unset_follows_the_roaster(monkeypatch: pytest.MonkeyPatch) -> None:
    """32 mentions in flight for an LLM roaster (each call waits about a second), 8 offline
    (its work is CPU: more threads only wait for the GIL); a value given is kept."""
    monkeypatch.delenv("CONSUMER_CONCURRENCY", raising=False)
    offline = Settings(_env_file=None, roaster="offline")  # type: ignore[call-arg]
    llm = Settings(_env_file=None, roaster="together", together_api_key="k-123456")  # type: ignore[call-arg]
    assert (offline.consumer_concurrency, llm.consumer_concurrency) == (8, 32)
    monkeypatch.setenv("CONSUMER_CONCURRENCY", "12")
    assert Settings(_env_file=None, roaster="offline").consumer_concurrency == 12  # type: ignore[call-arg]

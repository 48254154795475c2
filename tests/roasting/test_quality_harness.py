"""The quality harness with an LLM roaster: with nothing configured it serves itself the LLM fake."""

from __future__ import annotations

import json

import pytest

from bench import quality


@pytest.mark.timeout(300)
def test_the_together_roaster_runs_against_the_fake_and_reports_latency(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("TOGETHER_API_KEY", "TOGETHER_BASE_URL", "ROASTER", "ROAST_MODEL"):
        monkeypatch.delenv(name, raising=False)
    assert quality.main(["--roaster", "together", "--limit", "5", "--json-only"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["roaster"] == "together"
    assert report["endpoint"].startswith("LLM fake at http://127.0.0.1:")
    dev = report["sets"]["dev"]
    assert dev["mentions"] == 5 and dev["approved"] + dev["refused"] == 5
    assert report["models"] == {quality.FAKE_MODEL: dev["approved"]}
    assert report["model"] == quality.FAKE_MODEL
    assert dev["latency_ms"]["p50"] > 0 and dev["latency_ms"]["p95"] >= dev["latency_ms"]["p50"]

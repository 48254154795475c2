"""The X gateway's HTTP session reads the environment's proxy and CA settings once, when it is
made, instead of on every call (requests walks os.environ twice a call for them)."""

from __future__ import annotations

import pytest

from roastbot.x_session import XSession


def _session(base_url: str) -> XSession:
    return XSession(base_url, timeout_s=5, on_answer=lambda response, taken: None)


def _effective(session: XSession, url: str) -> dict[str, object]:
    """What requests applies to a call: the session's settings merged with the environment's."""
    return session.merge_environment_settings(url, {}, None, None, None)


def test_a_proxy_in_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    for name in ("https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    session = _session("")  # the real X API
    assert _effective(session, "https://api.twitter.com/2/tweets")["proxies"] == {
        "https": "http://proxy.example:3128"
    }


def test_no_proxy_still_exempts_the_configured_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert _effective(_session("http://127.0.0.1:8080"), "http://127.0.0.1:8080/2/tweets")["proxies"] == {}


def test_a_ca_bundle_in_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/corporate.pem")
    assert _effective(_session(""), "https://api.twitter.com/2/tweets")["verify"] == "/etc/ssl/corporate.pem"


def test_calls_do_not_read_the_environment_again(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    session = _session("")
    assert session.trust_env is False
    monkeypatch.setenv("HTTPS_PROXY", "http://late.example:3128")
    assert "https" not in _effective(session, "https://api.twitter.com/2/tweets")["proxies"]

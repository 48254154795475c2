"""The X sandbox in-process on a free port (uvicorn in a thread), shared by these tests and
reset before each; real tweepy clients and raw httpx talk to it over HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import requests
import tweepy

from sandbox.x_api import SandboxConfig, create_app
from tests.helpers import ServerThread

X_HOST = "https://api.twitter.com"
BOT_ID = "1000000000000000001"
CREDENTIALS = {
    "consumer_key": "sandbox-api-key",
    "consumer_secret": "sandbox-api-secret",
    "access_token": "sandbox-access-token",
    "access_token_secret": "sandbox-access-token-secret",
    "bearer_token": "sandbox-bearer-token",
}
BEARER = {"Authorization": "Bearer sandbox-bearer-token"}


class SandboxSession(requests.Session):
    """What the gateway does: send tweepy's https://api.twitter.com calls to the sandbox."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        url = url.decode() if isinstance(url, bytes) else url
        if url.startswith(X_HOST):
            url = self.base_url + url[len(X_HOST) :]
        kwargs.setdefault("timeout", 10)
        return super().request(method, url, *args, **kwargs)


@pytest.fixture(scope="session")
def sandbox_url() -> Iterator[str]:
    with ServerThread(create_app(SandboxConfig(seed=7))) as server:
        yield server.url


@pytest.fixture
def control(sandbox_url: str) -> Iterator[httpx.Client]:
    """Raw HTTP to the sandbox, starting from a reset sandbox on the unlimited tier."""
    with httpx.Client(base_url=sandbox_url, timeout=10) as client:
        client.post("/sandbox/reset").raise_for_status()
        client.post("/sandbox/limits", json={"tier": "unlimited", "time_scale": 1}).raise_for_status()
        yield client


@pytest.fixture
def make_client(sandbox_url: str, control: httpx.Client) -> Callable[..., tweepy.Client]:
    def make(**overrides: str) -> tweepy.Client:
        client = tweepy.Client(**{**CREDENTIALS, **overrides}, wait_on_rate_limit=False)
        client.session = SandboxSession(sandbox_url)
        return client

    return make


@pytest.fixture
def x(make_client: Callable[..., tweepy.Client]) -> tweepy.Client:
    return make_client()


def mention(control: httpx.Client, text: str, **body: Any) -> str:
    answer = control.post("/sandbox/mentions", json={"text": text, **body})
    answer.raise_for_status()
    return answer.json()["ids"][0]

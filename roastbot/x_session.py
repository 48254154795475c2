"""The HTTP session under the X gateway's tweepy clients (``roastbot.x_gateway``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import requests
from requests.adapters import HTTPAdapter

X_API_HOST = "https://api.twitter.com"


class NotJsonAnswer(requests.RequestException):
    """A 2xx answer whose body is not a JSON object: garbage from the server (or a proxy)."""


class XSession(requests.Session):
    """Rewrites X's host to the configured base URL, reads a 2xx answer's body once (refusing
    one that is not a JSON object before tweepy parses it), and hands every answer to
    ``on_answer`` (for its quota headers) with whether the caller takes it: a 2xx answer
    whose body came whole and is a JSON object (or empty)."""

    def __init__(
        self,
        base_url: str,
        timeout_s: float,
        on_answer: Callable[[requests.Response, bool], None],
        pool_size: int = 10,
        on_data: Callable[[requests.Response, dict[str, Any]], None] | None = None,
    ) -> None:
        super().__init__()
        self._on_answer = on_answer
        self._on_data = on_data
        self._base_url = base_url
        self._timeout_s = timeout_s
        # One connection per thread that may call at once; requests keeps 10 per host, and
        # a busier consumer would open a new connection per call and log each one it drops.
        adapter = HTTPAdapter(pool_maxsize=pool_size)
        self.mount("https://", adapter)
        self.mount("http://", adapter)
        # The environment's proxy and CA settings, read once: requests would walk os.environ
        # twice per call for them, a fifth of a post's CPU. (The process's environment does
        # not change while it runs; a netrc file, the one other thing trust_env reads, has
        # no business in OAuth-signed calls.)
        self.proxies = requests.utils.get_environ_proxies(base_url or X_API_HOST)
        self.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        self.trust_env = False
        self.hooks["response"].append(self._answered)

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        url = url.decode() if isinstance(url, bytes) else url
        if self._base_url and url.startswith(X_API_HOST):
            url = self._base_url + url[len(X_API_HOST) :]
        kwargs.setdefault("timeout", self._timeout_s)
        return super().request(method, url, *args, **kwargs)

    def _answered(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Every answer X sends. A 2xx body is read here, before ``on_answer`` hears of the
        answer, rather than just after the hooks (as requests would): one cut off or not a
        JSON object never reaches the caller, though X counted the call all the same."""
        if not 200 <= response.status_code < 300:
            self._on_answer(response, False)  # tweepy raises for it
            return
        taken = False
        try:
            body = _json_body(response)
            taken = True
        finally:
            self._on_answer(response, taken)
        if body is not None and self._on_data is not None:
            self._on_data(response, body)


def _json_body(response: requests.Response) -> dict[str, Any] | None:
    """A 2xx answer's JSON object, parsed once (None: no body); NotJsonAnswer for anything else."""
    if not response.content:
        return None
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise NotJsonAnswer(f"{response.status_code} answer is not a JSON object", response=response)
    response.json = lambda **_kwargs: body  # type: ignore[method-assign]  # parsed once
    return body

"""Small test utilities: waiting on conditions with deadlines, free ports, uvicorn in a thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(condition: Callable[[], T], timeout_s: float, what: str, every_s: float = 0.1) -> T:
    """Poll a condition until it returns something truthy; fail with `what` at the deadline."""
    deadline = time.monotonic() + timeout_s
    last: T | None = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what} (last value: {last!r})")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerThread:
    """Runs an ASGI app with uvicorn on a free port in a daemon thread."""

    def __init__(self, app: object, port: int | None = None) -> None:
        import uvicorn

        self.port = port or free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        wait_for(lambda: self.server.started, 15, "uvicorn to start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def settings_env(settings: object, **extra: str) -> dict[str, str]:
    """Environment variables that reproduce a Settings object in a worker subprocess."""
    import os

    from pydantic import SecretStr

    env = dict(os.environ)
    for name, value in settings.model_dump().items():  # type: ignore[attr-defined]
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        env[name.upper()] = (
            "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        )
    env.update({"PRODUCER_METRICS_PORT": "0", "CONSUMER_METRICS_PORT": "0", "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env

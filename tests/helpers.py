"""Small test utilities: waiting on conditions with deadlines, free ports, uvicorn in a thread."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlparse

from bench.ports import free_port

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
    import json
    import os

    from pydantic import SecretStr

    env = dict(os.environ)
    for name, value in settings.model_dump().items():  # type: ignore[attr-defined]
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, dict | list):
            env[name.upper()] = json.dumps(value)  # how pydantic-settings reads complex values
            continue
        env[name.upper()] = (
            "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        )
    env.update({"PRODUCER_METRICS_PORT": "0", "CONSUMER_METRICS_PORT": "0", "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


class CuttableProxy:
    """A TCP forwarder to a real server (Redis) whose link a test can cut and restore: a
    network outage for the clients behind it, while the server itself and its other
    clients (the other engineers' tests) go on."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.settimeout(0.2)
        self._open = threading.Event()
        self._open.set()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self.cuts = 0
        self._thread = threading.Thread(target=self._accept, name="proxy", daemon=True)

    def __enter__(self) -> CuttableProxy:
        self._thread.start()
        return self

    def url_for(self, server_url: str) -> str:
        """``server_url`` pointed at this proxy, its credentials, scheme and database kept (a
        password-protected Redis refuses a client that lost them on the way)."""
        url = urlparse(server_url)
        credentials = url.netloc.rpartition("@")[0]
        netloc = f"{credentials}@127.0.0.1:{self.port}" if credentials else f"127.0.0.1:{self.port}"
        return url._replace(netloc=netloc).geturl()

    def __exit__(self, *exc: object) -> None:
        self._closed.set()
        self._thread.join(5)
        self._listener.close()
        self._drop_all()

    def cut(self) -> None:
        """Drop every connection and refuse new ones until ``restore``."""
        self._open.clear()
        self.cuts += 1
        self._drop_all()

    def restore(self) -> None:
        self._open.set()

    def _drop_all(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self._open.is_set():
                client.close()  # as a refused connection looks to the client: closed at once
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

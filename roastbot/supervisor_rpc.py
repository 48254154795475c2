"""Supervisor's XML-RPC, as the console uses it: list programs, start, stop, restart, tail a log.

Credentials travel in an Authorization header, never in the URL, so no error message
(``ProtocolError`` repeats the URL it called) can carry the password. Every call has a
timeout; failures are two named errors: ``SupervisorUnavailable`` (not reachable, bad
credentials) and ``SupervisorRefused`` (Supervisor answered no, e.g. ALREADY_STARTED).
"""

from __future__ import annotations

import base64
import http.client
import xmlrpc.client
from dataclasses import dataclass
from urllib.parse import urlparse

# Supervisor's fault codes that an operator may meet (supervisor.xmlrpc.Faults).
_FAULT_NAMES = {
    10: "BAD_NAME",
    30: "FAILED",
    40: "ABNORMAL_TERMINATION",
    50: "SPAWN_ERROR",
    60: "ALREADY_STARTED",
    70: "NOT_RUNNING",
}
ALREADY_STARTED = 60
NOT_RUNNING = 70


class SupervisorUnavailable(Exception):
    """Supervisor did not answer, or refused our credentials."""


class SupervisorRefused(Exception):
    """Supervisor answered with a fault (the action was not done)."""

    def __init__(self, action: str, name: str, code: int, text: str) -> None:
        super().__init__(f"{action} {name}: {_FAULT_NAMES.get(code, str(code))} {text}".strip())
        self.code = code


@dataclass(frozen=True)
class Program:
    """One process as Supervisor sees it."""

    group: str
    process: str
    state: str  # RUNNING, STOPPED, STARTING, BACKOFF, STOPPING, EXITED, FATAL, UNKNOWN
    pid: int
    description: str
    started_at: float
    stopped_at: float
    exit_status: int
    spawn_error: str

    @property
    def name(self) -> str:
        """The name Supervisor's calls take: ``group:process``."""
        return f"{self.group}:{self.process}"

    @property
    def running(self) -> bool:
        return self.state in {"RUNNING", "STARTING"}


class _AuthTransport(xmlrpc.client.Transport):
    """HTTP transport with a timeout and a Basic Authorization header."""

    def __init__(self, authorization: str | None, timeout_s: float, secure: bool) -> None:
        super().__init__()
        self._authorization = authorization
        self._timeout_s = timeout_s
        self._secure = secure

    def get_host_info(self, host):  # type: ignore[no-untyped-def]
        chost, _headers, x509 = super().get_host_info(host)
        headers = [("Authorization", self._authorization)] if self._authorization else []
        return chost, headers, x509

    def make_connection(self, host):  # type: ignore[no-untyped-def]
        if self._connection and host == self._connection[0]:
            return self._connection[1]
        chost, self._extra_headers, _x509 = self.get_host_info(host)
        factory = http.client.HTTPSConnection if self._secure else http.client.HTTPConnection
        self._connection = host, factory(chost, timeout=self._timeout_s)
        return self._connection[1]


class SupervisorClient:
    """A thin client; one instance per call site is fine (connections are not kept)."""

    def __init__(self, url: str, user: str = "", password: str = "", timeout_s: float = 5.0) -> None:
        parsed = urlparse(url)
        if parsed.scheme not in {"http", "https"}:
            raise SupervisorUnavailable(
                f"SUPERVISOR_URL must be http(s)://host:port/RPC2, not {parsed.scheme}://"
            )
        authorization = None
        if user or password:
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            authorization = f"Basic {token}"
        # Only host and path go into the proxy: credentials stay in the header.
        clean_url = f"{parsed.scheme}://{parsed.hostname}{':' + str(parsed.port) if parsed.port else ''}"
        clean_url += parsed.path or "/RPC2"
        self.url = clean_url
        self._proxy = xmlrpc.client.ServerProxy(
            clean_url, transport=_AuthTransport(authorization, timeout_s, parsed.scheme == "https")
        )

    def _call(self, action: str, name: str, method: str, *args: object) -> object:
        try:
            return getattr(self._proxy.supervisor, method)(*args)
        except xmlrpc.client.Fault as fault:
            raise SupervisorRefused(action, name, fault.faultCode, fault.faultString) from None
        except xmlrpc.client.ProtocolError as error:
            hint = " (check SUPERVISOR_USER / SUPERVISOR_PASSWORD)" if error.errcode == 401 else ""
            raise SupervisorUnavailable(f"{self.url} answered HTTP {error.errcode}{hint}") from None
        except (TimeoutError, OSError, http.client.HTTPException) as error:
            raise SupervisorUnavailable(f"{self.url}: {type(error).__name__}: {error}") from None

    def state(self) -> str:
        """Supervisor's own state: RUNNING, RESTARTING, SHUTDOWN, ..."""
        answer = self._call("state", "supervisord", "getState")
        return str(answer["statename"])  # type: ignore[index]

    def programs(self) -> list[Program]:
        """Every process Supervisor manages, sorted by name."""
        answer = self._call("list", "all", "getAllProcessInfo")
        programs = [
            Program(
                group=str(info["group"]),
                process=str(info["name"]),
                state=str(info["statename"]),
                pid=int(info["pid"]),
                description=str(info["description"]),
                started_at=float(info["start"]),
                stopped_at=float(info["stop"]),
                exit_status=int(info["exitstatus"]),
                spawn_error=str(info.get("spawnerr", "")),
            )
            for info in answer  # type: ignore[union-attr]
        ]
        return sorted(programs, key=lambda p: p.name)

    def start(self, name: str) -> None:
        """Start a process (``group:process``) and wait until it runs."""
        self._call("start", name, "startProcess", name, True)

    def stop(self, name: str) -> None:
        """Stop a process and wait until it has stopped."""
        self._call("stop", name, "stopProcess", name, True)

    def restart(self, name: str) -> None:
        """What ``supervisorctl restart`` does: stop when running, then start."""
        try:
            self.stop(name)
        except SupervisorRefused as refused:
            if refused.code != NOT_RUNNING:
                raise
        self.start(name)

    def start_group(self, group: str) -> None:
        """``supervisorctl start group:*``: every process of the group."""
        self._call("start", f"{group}:*", "startProcessGroup", group, True)

    def stop_group(self, group: str) -> None:
        self._call("stop", f"{group}:*", "stopProcessGroup", group, True)

    def restart_group(self, group: str) -> None:
        """``supervisorctl restart group:*``: stop the whole group, then start it."""
        self.stop_group(group)
        self.start_group(group)

    def log_tail(self, name: str, length: int = 16_000) -> str:
        """The last ``length`` bytes of a process's stdout log (stderr is redirected into it)."""
        answer = self._call("tail", name, "tailProcessStdoutLog", name, 0, length)
        text = str(answer[0])  # type: ignore[index]
        if len(text) >= length:
            text = text.split("\n", 1)[-1]  # drop the partial first line
        return text

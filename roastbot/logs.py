"""One log format for every worker: JSON lines, secrets redacted.

The redaction filter replaces every configured secret and any Authorization/OAuth
header value before a record is formatted, so no secret reaches a log file.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar

# The mention a worker thread is busy with; stamped on every log line about it.
current_mention: ContextVar[str | None] = ContextVar("current_mention", default=None)

_AUTH_VALUE = re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(bearer|oauth|basic)\b[^\n'}]*")
_OAUTH_PARAM = re.compile(r'(?i)(oauth_(?:signature|token|consumer_key|nonce)=)"?[^",&\s]+')


class RedactSecrets(logging.Filter):
    """Masks configured secrets and auth header values in the final message."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        text = _AUTH_VALUE.sub(r"\1\2 [redacted]", text)
        return _OAUTH_PARAM.sub(r"\1[redacted]", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = None
        record.msg, record.args = self.redact(message), None
        if getattr(record, "mention_id", None) is None:
            record.mention_id = current_mention.get()
        return True


class JsonLines(logging.Formatter):
    def __init__(self, worker: str) -> None:
        super().__init__()
        self.worker = worker

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "worker": self.worker,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        mention_id = getattr(record, "mention_id", None)
        if mention_id:
            entry["mention_id"] = mention_id
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(worker: str, secrets: Iterable[str], level: str = "INFO", logger: str = "") -> None:
    """JSON lines on stdout for the root logger (a worker) or one named logger (the console,
    whose other loggers belong to Streamlit and Tornado)."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonLines(worker))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger(logger or None)
    root.handlers[:] = [handler]
    root.setLevel(level)
    if logger:
        root.propagate = False
    for noisy in ("urllib3", "httpx", "httpcore", "tweepy", "together", "oauthlib", "requests_oauthlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class OutageLog:
    """One line when a repeating failure starts, one when it ends (with how many there were and
    for how long), and a reminder every ``remind_s`` while it lasts, instead of a line (or a
    traceback) per attempt."""

    def __init__(
        self,
        logger: logging.Logger,
        what: str,
        remind_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.what = what
        self.remind_s = remind_s
        self.clock = clock
        self.lock = threading.Lock()
        self.failures = 0
        self.since = 0.0
        self.reminded = 0.0
        self.last = ""

    @property
    def failing(self) -> bool:
        return self.failures > 0

    def failed(self, detail: str) -> None:
        with self.lock:
            now = self.clock()
            self.last = detail
            self.failures += 1
            if self.failures == 1:
                self.since = self.reminded = now
                self.logger.warning("%s failing: %s (repeats are counted, not logged)", self.what, detail)
            elif now - self.reminded >= self.remind_s:
                self.reminded = now
                self.logger.warning(
                    "%s still failing after %.0f s (%d failures; last: %s)",
                    self.what,
                    now - self.since,
                    self.failures,
                    detail,
                )

    def recovered(self, how: str = "works again") -> None:
        with self.lock:
            if not self.failures:
                return
            self.logger.warning(
                "%s %s after %.0f s (%d failures; last: %s)",
                self.what,
                how,
                self.clock() - self.since,
                self.failures,
                self.last,
            )
            self.failures = 0

from __future__ import annotations

import io
import json
import logging

from roastbot.logs import JsonLines, RedactSecrets, current_mention


def make_logger(secrets: list[str]) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines("test"))
    handler.addFilter(RedactSecrets(secrets))
    logger = logging.getLogger(f"redaction-{id(stream)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def test_configured_secrets_and_auth_headers_are_redacted() -> None:
    logger, stream = make_logger(["tok-SECRET-1234"])
    logger.info("calling with key %s", "tok-SECRET-1234")
    logger.info("headers {'Authorization': 'Bearer AAAAsomebearer'}")
    logger.info('Authorization: OAuth oauth_consumer_key="ck-999", oauth_signature="sig%3D"')
    text = stream.getvalue()
    assert "tok-SECRET-1234" not in text
    assert "AAAAsomebearer" not in text
    assert "ck-999" not in text and "sig%3D" not in text
    assert text.count("[redacted]") >= 3


def test_lines_are_json_with_the_mention_id() -> None:
    logger, stream = make_logger([])
    token = current_mention.set("1234567890")
    try:
        logger.info("posted")
    finally:
        current_mention.reset(token)
    entry = json.loads(stream.getvalue().splitlines()[0])
    assert entry["mention_id"] == "1234567890"
    assert entry["msg"] == "posted"
    assert entry["worker"] == "test"

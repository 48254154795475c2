"""What the console connects to and how an outage reaches a page.

Connections are cached with ``st.cache_resource`` and opened lazily, never at import. A
service that cannot be reached raises ``Unavailable`` (which service, what happened, what to
do); pages explain it instead of showing a stack trace. No detail carries a secret.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import redis
import streamlit as st
from confluent_kafka import KafkaException
from pydantic import ValidationError

from app.caching import fingerprint
from app.redaction import redact
from roastbot import dlq_admin
from roastbot.kafka_wiring import make_producer
from roastbot.keys import RedisKeys
from roastbot.redis_conn import RedisClient, connect_redis_url
from roastbot.settings import Settings, describe_validation_error
from roastbot.supervisor_rpc import SupervisorClient

REDIS_REMEDY = "Start it with `make up` (or `.venv/bin/python scripts/services.py up`), then check REDIS_URL."
KAFKA_REMEDY = (
    "Start it with `make up` (or `.venv/bin/python scripts/services.py up`), "
    "then check KAFKA_BOOTSTRAP_SERVERS."
)
SUPERVISOR_REMEDY = (
    "Start the stack with `make up` (`make status` shows it); check SUPERVISOR_URL, "
    "SUPERVISOR_USER and SUPERVISOR_PASSWORD."
)


class Unavailable(Exception):
    """A service the console needs did not answer."""

    def __init__(self, service: str, detail: str, remedy: str) -> None:
        super().__init__(f"{service} is unreachable: {detail}")
        self.service = service
        self.detail = detail
        self.remedy = remedy


class ConfigProblem(Exception):
    """The environment does not make valid settings (the message names the variables)."""


def load_console_settings() -> Settings:
    """The settings from the environment and ``.env``, read on every run (cheap, never stale)."""
    try:
        return Settings()
    except ValidationError as error:
        raise ConfigProblem(describe_validation_error(error)) from None


@st.cache_resource(show_spinner=False)
def _redis_client(url: str, cluster: bool) -> RedisClient:
    # The console fails fast (no retry loop): a page explains an outage instead of hanging.
    return connect_redis_url(url, cluster, fail_fast=True)


def console_redis(settings: Settings) -> tuple[RedisClient, RedisKeys]:
    """The console's Redis client and the configured bot's keys."""
    with redis_errors(settings):  # a cluster client reads the slot map as it is made
        client = _redis_client(settings.redis_url, settings.redis_cluster)
    return client, RedisKeys.of(settings)


@contextlib.contextmanager
def redis_errors(settings: Settings) -> Iterator[None]:
    try:
        yield
    except redis.RedisError as error:
        raise Unavailable("Redis", redact(str(error), settings), REDIS_REMEDY) from None


def kafka_reachable(settings: Settings, timeout_s: float = 1.0) -> None:
    """Fail in milliseconds when no bootstrap server accepts a connection (librdkafka would wait)."""
    problems = []
    for server in settings.kafka_bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=timeout_s):
                return
        except (OSError, ValueError) as error:
            problems.append(f"{server.strip()}: {error}")
    raise Unavailable("Kafka", redact("; ".join(problems), settings), KAFKA_REMEDY)


@contextlib.contextmanager
def kafka_errors(settings: Settings) -> Iterator[None]:
    kafka_reachable(settings)
    try:
        yield
    except (KafkaException, dlq_admin.DeadLetterBrowseError) as error:
        raise Unavailable("Kafka", redact(str(error), settings), KAFKA_REMEDY) from None


@st.cache_resource(show_spinner=False, hash_funcs={Settings: fingerprint})
def kafka_producer(settings: Settings) -> Any:
    return make_producer(settings)


def supervisor_address(settings: Settings) -> str:
    """SUPERVISOR_URL without any credentials in it."""
    parsed = urlparse(settings.supervisor_url)
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.hostname}{port}{parsed.path}"


def supervisor(settings: Settings) -> SupervisorClient:
    return SupervisorClient(
        settings.supervisor_url,
        settings.supervisor_user,
        settings.supervisor_password.get_secret_value(),
        timeout_s=3.0,
    )

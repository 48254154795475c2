"""The one Kafka wiring module: client configs, topic creation, lag.

Any librdkafka setting can be passed from the environment with the ``KAFKA_`` prefix
(``KAFKA_SECURITY_PROTOCOL=SASL_SSL`` becomes ``security.protocol``), so a managed
cluster needs no code change.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from roastbot.logs import OutageLog
from roastbot.settings import Settings

log = logging.getLogger(__name__)

# KAFKA_* variables that are our own settings, not librdkafka properties.
_OWN_KAFKA_VARIABLES = {
    "KAFKA_BOOTSTRAP_SERVERS",
    "KAFKA_TOPIC_MENTIONS",
    "KAFKA_TOPIC_DLQ",
    "KAFKA_PARTITIONS",
    "KAFKA_CONSUMER_GROUP",
    "KAFKA_REPLICATION_FACTOR",
    "KAFKA_MIN_INSYNC_REPLICAS",
    "KAFKA_CONTROLLER_PORT",
    "KAFKA_CLUSTER_PORT",  # scripts/services.py's local cluster
    "KAFKA_HEAP_OPTS",
    "KAFKA_OPTS",
}


def librdkafka_overrides(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """librdkafka properties from ``KAFKA_*`` variables that are not our own settings."""
    environ = os.environ if environ is None else environ
    overrides = {}
    for name, value in environ.items():
        if name.startswith("KAFKA_") and name not in _OWN_KAFKA_VARIABLES:
            overrides[name.removeprefix("KAFKA_").lower().replace("_", ".")] = value
    return overrides


class LibrdkafkaLog:
    """librdkafka's own log lines (confluent-kafka's ``logger`` setting) through our logging.

    While brokers are unreachable librdkafka reports every failed connection of every client,
    hundreds of lines a minute; here warnings and errors collapse into one line when they
    start, a reminder every five minutes, and one line when the workers see Kafka answer again
    (``answered``), or else once none came for ``quiet_s`` seconds (librdkafka says nothing when
    a connection comes back), each with the count.
    """

    def __init__(self, logger: logging.Logger, servers: str, quiet_s: float = 60.0) -> None:
        self.logger = logger
        self.quiet_s = quiet_s
        self.outage = OutageLog(logger, f"Kafka client (KAFKA_BOOTSTRAP_SERVERS={servers})")
        self._last_error = 0.0
        self._watcher: threading.Thread | None = None
        self._lock = threading.Lock()

    def log(self, level: int, fmt: str, *args: object) -> None:
        message = fmt % args if args else fmt
        # A dropped connection is FAIL at info level: it belongs to the outage too.
        if level < logging.WARNING and (args[:1] or ("",))[0] not in {"FAIL", "ERROR"}:
            self.logger.log(level, "librdkafka: %s", message)
            return
        with self._lock:
            self._last_error = time.monotonic()
            self.outage.failed(message)
            if self._watcher is None or not self._watcher.is_alive():
                self._watcher = threading.Thread(target=self._until_quiet, name="kafka-log", daemon=True)
                self._watcher.start()

    def answered(self) -> None:
        """A worker got an answer from Kafka (a message, an assignment, an acknowledged batch)."""
        if self.outage.failing:
            with self._lock:
                self.outage.recovered("answers again")

    def _until_quiet(self) -> None:
        wake = threading.Event()
        while not wake.wait(min(1.0, self.quiet_s)):
            with self._lock:
                if time.monotonic() - self._last_error >= self.quiet_s:
                    self.outage.recovered(f"quiet again: no client error for {self.quiet_s:.0f} s")
                    return


_librdkafka_logs: dict[str, LibrdkafkaLog] = {}


def librdkafka_log(servers: str) -> LibrdkafkaLog:
    """One collapsing log per bootstrap address, shared by every client of this process."""
    if servers not in _librdkafka_logs:
        _librdkafka_logs[servers] = LibrdkafkaLog(logging.getLogger("roastbot.librdkafka"), servers)
    return _librdkafka_logs[servers]


def _base_config(settings: Settings) -> dict[str, object]:
    return {
        "bootstrap.servers": settings.kafka_bootstrap_servers,
        "client.id": "roastbot",
        "logger": librdkafka_log(settings.kafka_bootstrap_servers),
        **librdkafka_overrides(),
    }


def make_producer(settings: Settings, **extra: object) -> Producer:
    """Idempotent producer: retries never duplicate or reorder within a partition."""
    config = {
        **_base_config(settings),
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
        "message.timeout.ms": 30_000,
        **extra,
    }
    return Producer(config)


def make_consumer(settings: Settings, group_id: str | None = None, **extra: object) -> Consumer:
    """Consumer with manual offset storage: offsets move only when work is finished."""
    return Consumer(consumer_config(settings, group_id, **extra))


def consumer_config(settings: Settings, group_id: str | None = None, **extra: object) -> dict[str, object]:
    config = {
        **_base_config(settings),
        "group.id": group_id or settings.kafka_consumer_group,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "partition.assignment.strategy": "cooperative-sticky",
        "session.timeout.ms": 10_000,
        "heartbeat.interval.ms": 1_000,
        "max.poll.interval.ms": 300_000,
        **extra,
    }
    return config


def make_reader(settings: Settings, **extra: object) -> Consumer:
    """A consumer for browsing (assign, never subscribe, never commit)."""
    return make_consumer(
        settings,
        group_id="roastbot-reader",
        **{"enable.auto.commit": False, "partition.assignment.strategy": "range", **extra},
    )


def make_admin(settings: Settings) -> AdminClient:
    """An admin client on the base config. It describes a consumer group with a live member as
    fast as a bare ``{"bootstrap.servers": ...}`` client (about 0.05 s here, confluent-kafka
    2.16.1: a member polling, and one that stopped polling until it left the group; with and
    without the logger and client.id; tests/integration/test_kafka_admin.py). confluent-kafka
    hands an admin client's librdkafka lines to the logger only from ``poll()``, which no
    caller makes: a failed admin call tells through its exception, not through our log."""
    return AdminClient(_base_config(settings))


_SILENT = logging.getLogger("roastbot.librdkafka.silent")
_SILENT.addHandler(logging.NullHandler())
_SILENT.propagate = False


def kafka_problem(settings: Settings, timeout_s: float) -> str | None:
    """None when a broker answers a metadata request within the bound, else what went wrong
    (librdkafka's own lines stay silent: the caller says it once)."""
    admin = AdminClient({**_base_config(settings), "logger": _SILENT})
    try:
        if admin.list_topics(timeout=timeout_s).brokers:
            return None
        return "no broker in the cluster's answer"
    except KafkaException as error:
        return str(error.args[0].str() if error.args else error)


def new_topic(settings: Settings, name: str) -> NewTopic:
    """One of our topics as configured: -1 replicas is the broker's default."""
    config = {}
    if settings.kafka_min_insync_replicas is not None:
        config["min.insync.replicas"] = str(settings.kafka_min_insync_replicas)
    return NewTopic(
        name,
        num_partitions=settings.kafka_partitions,
        replication_factor=settings.kafka_replication_factor or -1,
        config=config,
    )


def under_replicated(settings: Settings, topics: dict[str, object]) -> list[str]:
    """Partitions of our topics with fewer in-sync replicas than replicas ("topic/partition")."""
    found = []
    for name in (settings.kafka_topic_mentions, settings.kafka_topic_dlq):
        metadata = topics.get(name)
        for partition in getattr(metadata, "partitions", {}).values():
            if len(partition.isrs) < len(partition.replicas):
                found.append(f"{name}/{partition.id}")
    return found


def ensure_topics(settings: Settings, timeout_s: float = 30.0) -> None:
    """Create the mentions and dead-letter topics when missing; idempotent."""
    admin = make_admin(settings)
    existing = admin.list_topics(timeout=timeout_s).topics
    wanted = [settings.kafka_topic_mentions, settings.kafka_topic_dlq]
    missing = [new_topic(settings, name) for name in wanted if name not in existing]
    if not missing:
        return
    for name, future in admin.create_topics(missing, request_timeout=timeout_s).items():
        try:
            future.result(timeout=timeout_s)
            log.info("created topic %s with %d partitions", name, settings.kafka_partitions)
        except KafkaException as error:
            if error.args[0].name() != "TOPIC_ALREADY_EXISTS":
                raise


def delete_topics(settings: Settings, names: list[str], timeout_s: float = 30.0) -> None:
    admin = make_admin(settings)
    for future in admin.delete_topics(names, request_timeout=timeout_s).values():
        try:
            future.result(timeout=timeout_s)
        except KafkaException as error:
            if error.args[0].name() != "UNKNOWN_TOPIC_OR_PART":
                raise


@dataclass(frozen=True)
class PartitionLag:
    partition: int
    committed: int
    high_watermark: int

    @property
    def lag(self) -> int:
        return max(0, self.high_watermark - max(self.committed, 0))


def consumer_lag(settings: Settings, timeout_s: float = 5.0) -> list[PartitionLag]:
    """Lag of the consumer group on the mentions topic, per partition."""
    reader = make_reader(settings)
    try:
        topic = settings.kafka_topic_mentions
        metadata = reader.list_topics(topic, timeout=timeout_s).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return []
        partitions = [TopicPartition(topic, p) for p in sorted(metadata.partitions)]
        group_reader = make_consumer(settings)
        try:
            committed = group_reader.committed(partitions, timeout=timeout_s)
        finally:
            group_reader.close()
        lags = []
        for tp in committed:
            low, high = reader.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=timeout_s)
            start = tp.offset if tp.offset >= 0 else low
            lags.append(PartitionLag(tp.partition, start, high))
        return lags
    finally:
        reader.close()

"""docker-compose.yml's Kafka asks for SASL/PLAIN, and the app's KAFKA_* passthrough in the same
file logs in. No Docker engine here: the kafka service's environment is turned into
server.properties the way the apache/kafka image does it, and that broker runs from the Maven
jars scripts/services.py uses, on free ports."""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from roastbot.kafka_wiring import ensure_topics, kafka_problem, make_consumer, make_producer
from scripts import services
from scripts.local_services.class_archive import mapping_options
from tests.conftest import make_test_settings
from tests.helpers import free_port, wait_for

HOME = Path(__file__).resolve().parent.parent.parent

pytestmark = pytest.mark.integration
PASSWORD = "composeKafka123"


def compose_service(name: str) -> dict[str, object]:
    return yaml.safe_load((HOME / "docker-compose.yml").read_text())["services"][name]


def interpolate(value: str) -> str:
    """Compose's ${VAR} and ${VAR:?message}, with the test's KAFKA_PASSWORD."""
    return re.sub(r"\$\{(\w+)(:\?[^}]*)?\}", lambda m: {"KAFKA_PASSWORD": PASSWORD}[m.group(1)], value)


def image_properties(environment: dict[str, str]) -> dict[str, str]:
    """The apache/kafka image's rule: KAFKA_ABC_DEF -> abc.def, __ -> _, ___ -> -."""
    properties = {}
    for name, value in environment.items():
        if not name.startswith("KAFKA_"):
            continue
        key = name.removeprefix("KAFKA_").lower()
        key = (
            key.replace("___", "\0")
            .replace("__", "\1")
            .replace("_", ".")
            .replace("\0", "-")
            .replace("\1", "_")
        )
        properties[key] = interpolate(str(value))
    return properties


@pytest.fixture(scope="module")
def compose_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The compose file's broker on free ports; yields its bootstrap address."""
    broker_port, controller_port = free_port(), free_port()
    var = tmp_path_factory.mktemp("compose-kafka")
    cfg = services.Config.from_env(
        {
            **os.environ,
            "ROASTBOT_VAR_DIR": str(var),
            "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{broker_port}",
            "KAFKA_CONTROLLER_PORT": str(controller_port),
        }
    )
    cfg.prepare()
    properties = image_properties(compose_service("kafka")["environment"])  # type: ignore[arg-type]
    # Docker's names and ports, made this machine's.
    ports = {
        ":9092": f":{broker_port}",
        ":9093": f":{controller_port}",
        "//kafka": "//127.0.0.1",
        "1@kafka": "1@127.0.0.1",
    }
    for key in ("listeners", "advertised.listeners", "controller.quorum.voters"):
        for docker, here in ports.items():
            properties[key] = properties[key].replace(docker, here)
    properties["listeners"] = properties["listeners"].replace("//:", "//127.0.0.1:")
    properties["log.dirs"] = str(cfg.kafka_data)
    cfg.kafka_dir.mkdir(parents=True, exist_ok=True)
    cfg.kafka_properties.write_text("".join(f"{k}={v}\n" for k, v in properties.items()))
    java = services.find_java()
    libs = services.ensure_kafka_libs(cfg)
    services.ensure_kafka_formatted(cfg, java, libs)
    command = [
        # Killed at the end (no archive written at exit): it only maps the brokers' one.
        *services.kafka_java(cfg, java, libs, (*services.KAFKA_JVM_OPTS, *mapping_options(cfg, java, libs))),
        "kafka.Kafka",
        str(cfg.kafka_properties),
    ]
    pid = services.launch_detached(command, cfg.kafka_out, cfg.kafka_dir)
    try:
        login = {
            "bootstrap.servers": f"127.0.0.1:{broker_port}",
            **{
                n.removeprefix("KAFKA_").lower().replace("_", "."): v
                for n, v in app_kafka_environment().items()
            },
        }

        def lets_the_app_in() -> bool:
            try:
                return bool(AdminClient(login).list_topics(timeout=3).brokers)
            except KafkaException:
                return False

        wait_for(
            lets_the_app_in, 90, "the compose broker to accept the app's login" + services.tail(cfg.kafka_out)
        )
        yield f"127.0.0.1:{broker_port}"
    finally:
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not services.pid_alive(pid), 20, "the compose broker to stop")


def app_kafka_environment() -> dict[str, str]:
    """The KAFKA_* variables compose gives the roastbot service (the librdkafka passthrough)."""
    environment = compose_service("roastbot")["environment"]
    return {
        name: interpolate(str(value))
        for name, value in environment.items()  # type: ignore[union-attr]
        if name.startswith("KAFKA_") and name != "KAFKA_BOOTSTRAP_SERVERS"
    }


def test_the_app_logs_in_with_the_compose_passthrough(
    compose_kafka: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in app_kafka_environment().items():
        monkeypatch.setenv(name, value)
    settings = make_test_settings(kafka_bootstrap_servers=compose_kafka, kafka_partitions=1)
    assert kafka_problem(settings, 10.0) is None
    ensure_topics(settings)
    producer = make_producer(settings)
    producer.produce(settings.kafka_topic_mentions, key=b"k", value=b"over SASL/PLAIN")
    assert producer.flush(30) == 0
    consumer = make_consumer(settings)
    consumer.subscribe([settings.kafka_topic_mentions])
    received: list[bytes] = []

    def one() -> bool:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            received.append(message.value())
        return bool(received)

    try:
        wait_for(one, 45, "the message back")
    finally:
        consumer.close()
    assert received == [b"over SASL/PLAIN"]


@pytest.mark.parametrize(
    "credentials",
    [
        {},  # plaintext, no login
        {
            "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "KAFKA_SASL_MECHANISMS": "PLAIN",
            "KAFKA_SASL_USERNAME": "roastbot",
            "KAFKA_SASL_PASSWORD": "guessed",
        },
    ],
)
def test_a_client_without_the_password_is_refused(
    compose_kafka: str, monkeypatch: pytest.MonkeyPatch, credentials: dict[str, str]
) -> None:
    for name in app_kafka_environment():
        monkeypatch.delenv(name, raising=False)
    for name, value in credentials.items():
        monkeypatch.setenv(name, value)
    # The broker is up and lets the app in (the fixture waited for that): this client gets nothing.
    assert kafka_problem(make_test_settings(kafka_bootstrap_servers=compose_kafka), 8.0) is not None

"""docker-compose.yml structure: services, health checks, env wiring, no secrets baked in.
(No Docker engine here; `docker compose config` validates it where one exists.)"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

HOME = Path(__file__).resolve().parents[2]
SECRET_VARIABLES = {
    "X_API_KEY",
    "X_API_SECRET",
    "X_ACCESS_TOKEN",
    "X_ACCESS_TOKEN_SECRET",
    "X_BEARER_TOKEN",
    "TOGETHER_API_KEY",
    "SUPERVISOR_PASSWORD",
    "CONSOLE_PASSWORD",
    "KAFKA_SASL_PASSWORD",
    "REDISCLI_AUTH",
    "ROASTBOT_KAFKA_PASSWORD",
}


def compose() -> dict:
    return yaml.safe_load((HOME / "docker-compose.yml").read_text())


def test_services_and_health_checks() -> None:
    services = compose()["services"]
    assert set(services) == {"kafka", "redis", "roastbot"}
    assert services["kafka"]["image"].startswith("apache/kafka:4.")
    for name in services:
        assert "test" in services[name]["healthcheck"], name
    assert services["roastbot"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert services["roastbot"]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_kafka_is_single_node_kraft_and_redis_persists() -> None:
    services = compose()["services"]
    kafka_env = services["kafka"]["environment"]
    assert kafka_env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert kafka_env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    assert "--appendonly" in services["redis"]["command"]


def test_app_is_wired_to_the_services_by_name() -> None:
    env = compose()["services"]["roastbot"]["environment"]
    assert env["REDIS_URL"] == "redis://default:${REDIS_PASSWORD:?set REDIS_PASSWORD in .env}@redis:6379/0"
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert "CONSUMER_PROCESSES" in env


def test_redis_asks_for_a_password_and_refuses_admin_commands() -> None:
    redis = compose()["services"]["redis"]
    command = redis["command"]
    user = command[command.index("--user") + 1 :]
    assert user[:3] == ["default", "on", ">${REDIS_PASSWORD:?set REDIS_PASSWORD in .env}"]
    assert "-@admin" in user and "nopass" not in user
    assert redis["environment"]["REDISCLI_AUTH"].startswith("${REDIS_PASSWORD")  # the health check logs in
    assert "ports" not in redis


def test_kafka_clients_log_in_with_sasl_plain() -> None:
    """(tests/infra/test_compose_kafka_sasl.py runs this configuration on a real broker.)"""
    services = compose()["services"]
    kafka = services["kafka"]["environment"]
    assert kafka["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"] == "CONTROLLER:PLAINTEXT,CLIENT:SASL_PLAINTEXT"
    assert kafka["KAFKA_SASL_ENABLED_MECHANISMS"] == "PLAIN"
    assert "${KAFKA_PASSWORD:?" in kafka["KAFKA_LISTENER_NAME_CLIENT_PLAIN_SASL_JAAS_CONFIG"]
    app = services["roastbot"]["environment"]
    assert (app["KAFKA_SECURITY_PROTOCOL"], app["KAFKA_SASL_MECHANISMS"]) == ("SASL_PLAINTEXT", "PLAIN")
    assert app["KAFKA_SASL_USERNAME"] == "roastbot" and app["KAFKA_SASL_PASSWORD"].startswith(
        "${KAFKA_PASSWORD"
    )
    assert "ports" not in services["kafka"]


def test_no_secret_is_baked_in() -> None:
    services = compose()["services"]
    for service in services.values():
        for name, value in (service.get("environment") or {}).items():
            if name in SECRET_VARIABLES:
                # Only interpolation from the operator's environment or .env is allowed.
                assert re.fullmatch(r"\$\{[A-Z_]+(:\?[^}]*)?\}", str(value)), f"{name} has a literal value"
    dockerfile = (HOME / "Dockerfile").read_text()
    for name in SECRET_VARIABLES:
        assert not re.search(rf"\b{name}\s*=", dockerfile), f"Dockerfile sets {name}"

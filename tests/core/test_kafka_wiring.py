from __future__ import annotations

from roastbot.kafka_wiring import librdkafka_overrides


def test_kafka_prefixed_variables_pass_through_as_librdkafka_properties() -> None:
    environ = {
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISMS": "PLAIN",
        "KAFKA_SASL_USERNAME": "svc",
        "KAFKA_BOOTSTRAP_SERVERS": "broker:9092",  # our own setting, not passed through
        "KAFKA_TOPIC_MENTIONS": "mentions",
        "KAFKA_CLUSTER_PORT": "19100",  # scripts/services.py's, not librdkafka's cluster.port
        "REDIS_URL": "redis://x",
    }
    assert librdkafka_overrides(environ) == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanisms": "PLAIN",
        "sasl.username": "svc",
    }

"""Producer worker: polls the bot's mentions on X and publishes them to Kafka."""

from __future__ import annotations

import sys

from roastbot.keys import RedisKeys
from roastbot.producer import MentionProducer
from roastbot.quota import QuotaBook
from roastbot.redis_conn import connect_redis
from roastbot.spend import SpendLedger
from roastbot.telemetry import Telemetry
from roastbot.worker import run_forever, serve_metrics, start_worker
from roastbot.x_gateway import XGateway


def main() -> int:
    settings, stop_event = start_worker("producer")
    client = connect_redis(settings)
    keys = RedisKeys.of(settings)
    telemetry = Telemetry(client, keys, "producer")
    serve_metrics(telemetry, settings.producer_metrics_port)
    spend = SpendLedger(client, keys, settings, registry=telemetry.registry)  # reads are billed
    gateway = XGateway(settings, QuotaBook(client, keys), spend=spend)
    producer = MentionProducer(settings, client, gateway, telemetry)
    producer.stop_event = stop_event
    return run_forever("producer", producer.run, stop_event, settings.worker_max_restarts)


if __name__ == "__main__":
    sys.exit(main())

"""Consumer worker: reads mentions from Kafka, roasts them safely, replies once."""

from __future__ import annotations

import sys

from roastbot.consumer import build_consumer
from roastbot.kafka_wiring import make_producer
from roastbot.keys import RedisKeys
from roastbot.quota import QuotaBook
from roastbot.redis_conn import connect_redis
from roastbot.roasting import language, offline, roaster_from_settings, safety
from roastbot.roasting.metered import metered_roaster
from roastbot.spend import SpendLedger
from roastbot.telemetry import Telemetry
from roastbot.worker import metrics_port_for_process, run_forever, serve_metrics, start_worker
from roastbot.x_gateway import XGateway


def main() -> int:
    settings, stop_event = start_worker("consumer")
    client = connect_redis(settings)
    keys = RedisKeys.of(settings)
    telemetry = Telemetry(client, keys, "consumer")
    serve_metrics(telemetry, metrics_port_for_process(settings.consumer_metrics_port))
    spend = SpendLedger(client, keys, settings, registry=telemetry.registry)
    roaster = metered_roaster(roaster_from_settings(settings), spend)  # every LLM call priced
    safety.warm_up()  # load the profanity model now, not on the first mention
    if settings.roaster == "offline":
        language.warm_up()  # the offline roaster reads every mention's words in its language
        offline.warm_up()  # and picks from its joke banks
    kafka_producer = make_producer(settings)
    gateway = XGateway(settings, QuotaBook(client, keys), spend=spend)

    def consume() -> None:
        consumer = build_consumer(
            settings,
            telemetry=telemetry,
            gateway=gateway,
            roaster=roaster,
            kafka_producer=kafka_producer,
            process_stop=stop_event,
        )
        consumer.run()

    return run_forever("consumer", consume, stop_event, settings.worker_max_restarts)


if __name__ == "__main__":
    sys.exit(main())

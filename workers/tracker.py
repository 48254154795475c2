"""Engagement tracker worker: re-reads posted replies' public_metrics (roastbot.tracker).

A program of its own rather than a thread of the producer: it waits on its own quota window
and budget without ever holding up the mention poll, and Supervisor restarts it alone.
"""

from __future__ import annotations

import sys

from roastbot.engagement import EngagementBook
from roastbot.keys import RedisKeys
from roastbot.quota import QuotaBook
from roastbot.redis_conn import connect_redis
from roastbot.spend import SpendLedger
from roastbot.telemetry import Telemetry
from roastbot.tracker import EngagementTracker
from roastbot.worker import run_forever, start_worker
from roastbot.x_gateway import XGateway


def main() -> int:
    settings, stop_event = start_worker("tracker")
    client = connect_redis(settings)
    keys = RedisKeys.of(settings)
    telemetry = Telemetry(client, keys, "tracker")
    quota = QuotaBook(client, keys)
    spend = SpendLedger(client, keys, settings, registry=telemetry.registry)
    gateway = XGateway(settings, quota, spend=spend)
    tracker = EngagementTracker(
        settings, EngagementBook(client, keys, settings), gateway, quota, spend, telemetry
    )
    return run_forever("tracker", lambda: tracker.run(stop_event), stop_event, settings.worker_max_restarts)


if __name__ == "__main__":
    sys.exit(main())

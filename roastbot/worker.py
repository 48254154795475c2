"""Start-up shared by the worker entry points: settings, logging, signals, wiring.

Two-stage shutdown as in rq: the first SIGTERM/SIGINT stops taking work and lets the
current work finish or be handed back; a second one exits at once.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable

import tenacity
from prometheus_client import start_http_server

from roastbot.logs import configure_logging
from roastbot.retry import Interrupted, QuickFailures, is_infrastructure
from roastbot.settings import Settings, load_settings
from roastbot.telemetry import Telemetry

log = logging.getLogger(__name__)

# Exit codes Supervisor shows (``exit status N; not expected``) and restarts on.
EXIT_OK = 0
EXIT_KILLED = 1  # a second SIGTERM/SIGINT: stopped at once
EXIT_CONFIG = 2  # invalid settings (the message names the variable)
EXIT_INFRASTRUCTURE = 3  # Redis or Kafka kept failing through every in-process restart
EXIT_BUG = 4  # an unexpected error in the worker's own loop (logged with its traceback)


def install_stop_handlers(stop_event: threading.Event) -> None:
    def request_stop(signum: int, _frame: object) -> None:
        if stop_event.is_set():
            log.warning("second %s: exiting now", signal.Signals(signum).name)
            os._exit(EXIT_KILLED)
        log.info("%s received: finishing current work", signal.Signals(signum).name)
        stop_event.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)


def start_worker(role: str) -> tuple[Settings, threading.Event]:
    settings = load_settings()
    configure_logging(role, settings.secret_values(), os.environ.get("LOG_LEVEL", "INFO"))
    stop_event = threading.Event()
    install_stop_handlers(stop_event)
    return settings, stop_event


def serve_metrics(telemetry: Telemetry, port: int) -> None:
    if port:
        start_http_server(port, addr="127.0.0.1", registry=telemetry.registry)
        log.info("metrics on http://127.0.0.1:%d/metrics", port)


def metrics_port_for_process(base_port: int) -> int:
    """Base port plus Supervisor's process number (consumer_03 -> base + 3); 0 stays off."""
    if not base_port:
        return 0
    name = os.environ.get("SUPERVISOR_PROCESS_NAME", "")
    suffix = name.rsplit("_", 1)[-1]
    return base_port + (int(suffix) if suffix.isdigit() else 0)


def run_forever(what: str, loop: Callable[[], None], stop_event: threading.Event, max_restarts: int) -> int:
    """Run a worker's loop; restart it in-process after an infrastructure error (Redis or
    Kafka down); return the process's exit code: EXIT_OK once stopped on request,
    EXIT_INFRASTRUCTURE after ``max_restarts`` failed restarts in a row, EXIT_BUG when the
    loop itself fails otherwise."""
    restarts = QuickFailures(max_restarts)

    def sleep(seconds: float) -> None:
        if stop_event.wait(seconds):
            raise Interrupted()

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(is_infrastructure),
        before=restarts.started,
        after=restarts.count,
        stop=restarts.exhausted,
        wait=restarts.wait,
        sleep=sleep,
        before_sleep=lambda state: log.error(
            "%s loop failed (%s); restart %d of %d in %.1fs",
            what,
            state.outcome.exception() if state.outcome else "?",
            restarts.in_a_row,
            max_restarts,
            state.upcoming_sleep,
        ),
        reraise=True,
    )
    try:
        retrying(loop)
    except Interrupted:
        pass
    except Exception as error:
        if is_infrastructure(error):
            log.critical("%s: giving up after %d restarts in a row: %s", what, max_restarts, error)
            return EXIT_INFRASTRUCTURE
        log.critical("%s loop failed unexpectedly", what, exc_info=True)
        return EXIT_BUG
    return EXIT_OK

"""Start-up shared by the worker entry points: settings, logging, signals, wiring.

Two-stage shutdown as in rq: the first SIGTERM/SIGINT stops taking work and lets the
current work finish or be handed back; a second one exits at once.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

import redis
import tenacity
from prometheus_client import start_http_server

from roastbot.kafka_wiring import kafka_problem
from roastbot.local_redis import redacted_url
from roastbot.logs import configure_logging
from roastbot.redis_conn import connect_redis
from roastbot.retry import Interrupted, QuickFailures, is_infrastructure
from roastbot.settings import Settings, load_settings
from roastbot.telemetry import Telemetry

log = logging.getLogger(__name__)

# Exit codes Supervisor shows (``exit status N; not expected``) and restarts on.
EXIT_OK = 0
EXIT_KILLED = 1  # a second SIGTERM/SIGINT: stopped at once
EXIT_CONFIG = 2  # invalid settings (the message names the variable)
EXIT_INFRASTRUCTURE = 3  # Redis or Kafka did not answer at start, or kept failing through every restart
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
    """Settings, logging and signals; then the worker's dependencies are checked, and a worker
    that cannot work exits at once with one line that says why."""
    settings = load_settings()
    configure_logging(role, settings.secret_values(), os.environ.get("LOG_LEVEL", "INFO"))
    stop_event = threading.Event()
    install_stop_handlers(stop_event)
    missing = settings.missing_x_credentials()
    if missing:
        log.error(
            "X credentials missing: %s not set, so the %s cannot reach X; set them in .env "
            "(README: Real mode), or run the sandbox stack (`make up`)",
            ", ".join(missing),
            role,
        )
        sys.exit(EXIT_CONFIG)
    check_dependencies(settings, stop_event)
    return settings, stop_event


def check_dependencies(settings: Settings, stop_event: threading.Event) -> None:
    """Redis and Kafka answer within STARTUP_TIMEOUT_S (they may still be starting), or the
    process exits naming the variable, where it points and what to check."""
    bound = settings.startup_timeout_s
    deadline = time.monotonic() + bound
    problem: str | None = "not tried"
    while problem and not stop_event.is_set() and time.monotonic() < deadline:
        try:
            connect_redis(settings).ping()
            problem = None
        except redis.RedisError as error:
            problem = str(error) or type(error).__name__
            stop_event.wait(min(1.0, max(0.0, deadline - time.monotonic())))
    if problem:
        _unreachable(
            "REDIS_URL",
            redacted_url(settings.redis_url),
            bound,
            problem,
            "that Redis runs (`make up` starts one) and the host, port and password in REDIS_URL",
        )
    problem = kafka_problem(settings, max(1.0, deadline - time.monotonic()))
    if problem:
        _unreachable(
            "KAFKA_BOOTSTRAP_SERVERS",
            settings.kafka_bootstrap_servers,
            bound,
            problem,
            "that a broker runs there (`make up` starts one) and, for a managed cluster, "
            "the KAFKA_SECURITY_PROTOCOL and KAFKA_SASL_* settings",
        )


def _unreachable(variable: str, where: str, bound: float, problem: str, check: str) -> None:
    log.error(
        "%s points at %s, which did not answer within %.0f s (%s): check %s",
        variable,
        where,
        bound,
        problem,
        check,
    )
    sys.exit(EXIT_INFRASTRUCTURE)


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

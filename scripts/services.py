"""Local Kafka and Redis without Docker, idempotent.

    python scripts/services.py {up,down,status,restart} [kafka|redis|all]
    python scripts/services.py {up,down,status,restart} --cluster [kafka|redis|all]

`--cluster` runs the local clusters instead: Redis Cluster, 3 primaries + 3 replicas of
redis-server on REDIS_CLUSTER_PORT .. +5 (default 7100-7105; local_services/redis_cluster.py),
for REDIS_CLUSTER=true REDIS_URL=redis://127.0.0.1:7100/0; Kafka, 3 KRaft nodes (broker and
controller each) on KAFKA_CLUSTER_PORT .. +2 (default 19100-19102, controllers +10;
local_services/kafka_cluster.py), for KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19100,127.0.0.1:19101,
127.0.0.1:19102 KAFKA_REPLICATION_FACTOR=3 KAFKA_MIN_INSYNC_REPLICAS=2. They are not part of
`up` without the flag: they are for cluster tests and trials, not every day.

Kafka: Apache Kafka 4.1.1 from Maven Central (the class path is resolved once with Maven from
scripts/kafka/pom.xml into ${ROASTBOT_CACHE_DIR:-$HOME/.cache/roastbot}/kafka-4.1.1/libs), one
KRaft node in combined broker+controller mode, data and logs under the var dir.
Redis: whatever already answers PING at REDIS_URL, else our own `redis-server` (installed from
Debian when missing and we are root), with a generated password and no admin commands.

`up` starts only what is not running, `down` stops only what our pid files name (and only when
psutil says the process really is our service), `status` exits 0 only when every requested
service answers. Environment:

    ROASTBOT_VAR_DIR         data, logs, pid files (default <repo>/var)
    ROASTBOT_CACHE_DIR       Maven-resolved Kafka jars (default $HOME/.cache/roastbot)
    KAFKA_BOOTSTRAP_SERVERS  broker address (default 127.0.0.1:9092)
    KAFKA_CONTROLLER_PORT    KRaft controller port (default broker port + 1)
    REDIS_URL                (default redis://127.0.0.1:6379/0)
    REDIS_CLUSTER_PORT       first node of the local Redis Cluster (default 7100)
    KAFKA_CLUSTER_PORT       first broker of the local Kafka cluster (default 19100)

Tests import this module (`from scripts import services`) and call `up`, `down`, `inspect` with
a `Config` of their own. The work is done in scripts/local_services/, one module per concern.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable
from pathlib import Path

if not __package__:  # run as `python scripts/services.py`: the repository root is not on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.local_services.config import SERVICES, Config, ServiceError, say, shout
from scripts.local_services.kafka_broker import (  # noqa: F401  (the API tests use)
    KAFKA_JAR,
    KAFKA_JVM_OPTS,
    Kafka,
    ensure_kafka_formatted,
    ensure_kafka_libs,
    find_java,
    kafka_java,
    kafka_libs_complete,
)
from scripts.local_services.kafka_cluster import KafkaCluster
from scripts.local_services.lifecycle import Service, State
from scripts.local_services.processes import launch_detached, pid_alive, read_pid, tail, tcp_open  # noqa: F401
from scripts.local_services.redis_cluster import RedisCluster
from scripts.local_services.redis_server import Redis, ensure_redis_binary  # noqa: F401

_CLASSES: dict[str, type[Service]] = {"kafka": Kafka, "redis": Redis}


def service(name: str, cfg: Config | None = None) -> Service:
    return _CLASSES[name](cfg or Config.from_env())


def _names(which: str | Iterable[str]) -> list[str]:
    if isinstance(which, str):
        return list(SERVICES) if which == "all" else [which]
    return list(which)


def up(which: str | Iterable[str] = "all", cfg: Config | None = None) -> dict[str, State]:
    """Start what is not running yet; raises ServiceError naming the first service that failed
    (the others are still attempted)."""
    cfg = cfg or Config.from_env()
    states: dict[str, State] = {}
    errors: list[str] = []
    for name in _names(which):
        try:
            states[name] = service(name, cfg).up()
        except ServiceError as error:
            shout(name, str(error))
            errors.append(f"{name}: {str(error).splitlines()[0]}")
    if errors:
        raise ServiceError("; ".join(errors))
    return states


def down(which: str | Iterable[str] = "all", cfg: Config | None = None) -> bool:
    cfg = cfg or Config.from_env()
    ok = True
    for name in reversed(_names(which)):
        try:
            ok = service(name, cfg).down() and ok
        except ServiceError as error:
            shout(name, str(error))
            ok = False
    return ok


def inspect(which: str | Iterable[str] = "all", cfg: Config | None = None) -> dict[str, State]:
    cfg = cfg or Config.from_env()
    return {name: service(name, cfg).inspect() for name in _names(which)}


def status(which: str | Iterable[str] = "all", cfg: Config | None = None) -> bool:
    """Print one line per service; True only when every requested service answers."""
    states = inspect(which, cfg)
    for state in states.values():
        say(state.service, state.line())
    return all(state.ok for state in states.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="services.py",
        description="Local Kafka and Redis for roastbot, without Docker (idempotent).",
        epilog="env: ROASTBOT_VAR_DIR, ROASTBOT_CACHE_DIR, KAFKA_BOOTSTRAP_SERVERS, KAFKA_CONTROLLER_PORT, REDIS_URL",
    )
    parser.add_argument("command", choices=("up", "down", "status", "restart"))
    parser.add_argument("service", nargs="?", default="all", choices=(*SERVICES, "all"))
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="the local clusters instead: Redis (6 nodes), Kafka (3 brokers)",
    )
    args = parser.parse_intermixed_args(argv)  # "up --cluster kafka" as well as "up kafka --cluster"
    cfg = Config.from_env()
    started = time.monotonic()
    if args.cluster:
        return cluster_command(args.command, args.service, cfg, started)
    if args.command == "status":
        return 0 if status(args.service, cfg) else 1
    if args.command in ("down", "restart"):
        stopped = down(args.service, cfg)
        if args.command == "down":
            print(
                f"down: {'done' if stopped else 'FAILED'} in {time.monotonic() - started:.1f} s", flush=True
            )
            return 0 if stopped else 1
        if not stopped:
            return 1
    try:
        up(args.service, cfg)
    except ServiceError:
        print(f"{args.command}: FAILED after {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
        return 1
    print(f"{args.command}: done in {time.monotonic() - started:.1f} s", flush=True)
    return 0


def cluster_command(command: str, which: str, cfg: Config, started: float) -> int:
    """The local clusters: ``redis`` (6 nodes), ``kafka`` (3 brokers) or ``all``."""
    clusters: list[RedisCluster | KafkaCluster] = []
    if which in ("redis", "all"):
        clusters.append(RedisCluster(cfg))
    if which in ("kafka", "all"):
        clusters.append(KafkaCluster(cfg))
    if command == "status":
        states = [cluster.inspect() for cluster in clusters]
        for cluster, state in zip(clusters, states, strict=True):
            say(cluster.name, state.line())
        return 0 if all(state.ok for state in states) else 1
    if command in ("down", "restart") and not all([cluster.down() for cluster in clusters]):
        print(f"{command}: FAILED after {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
        return 1
    if command != "down":
        for cluster in clusters:
            try:
                cluster.up()
            except ServiceError as error:
                shout(cluster.name, str(error))
                print(
                    f"{command}: FAILED after {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True
                )
                return 1
    print(f"{command}: done in {time.monotonic() - started:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

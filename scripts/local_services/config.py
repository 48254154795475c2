"""Where the local services live: the var dir (data, logs, pid files) and the cache (jars)."""

from __future__ import annotations

import os
import string
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from roastbot.local_redis import cache_dir as default_cache_dir
from roastbot.local_redis import local_redis_url

SCRIPTS = Path(__file__).resolve().parent.parent
HOME = SCRIPTS.parent
KAFKA_CONF_DIR = SCRIPTS / "kafka"
REDIS_TEMPLATE = SCRIPTS / "redis" / "redis.conf"

KAFKA_VERSION = "4.1.1"
KAFKA_ARTIFACT = f"org.apache.kafka:kafka_2.13:{KAFKA_VERSION}"
KAFKA_JAR = f"kafka_2.13-{KAFKA_VERSION}.jar"

SERVICES = ("kafka", "redis")
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class ServiceError(RuntimeError):
    """A step failed; the message says what and which log file to look at."""


def say(service: str, message: str) -> None:
    print(f"{service}: {message}", flush=True)


def shout(service: str, message: str) -> None:
    print(f"{service}: ERROR: {message}", file=sys.stderr, flush=True)


def _host_port(address: str, default_port: int) -> tuple[str, int]:
    address = address.strip().split("://", 1)[-1]
    if address.startswith("["):  # [::1]:9092
        host, _, rest = address[1:].partition("]")
        return host, int(rest.lstrip(":") or default_port)
    host, sep, port = address.rpartition(":")
    if not sep:
        return address or "127.0.0.1", default_port
    return host or "127.0.0.1", int(port)


@dataclass(frozen=True)
class Config:
    var_dir: Path
    cache_dir: Path
    bootstrap_servers: str
    kafka_host: str
    kafka_port: int
    controller_port: int
    redis_url: str
    redis_cluster_port: int = 7100  # first node of the local Redis Cluster (services.py --cluster)
    kafka_cluster_port: int = 19100  # first broker of the local Kafka cluster (--kafka-cluster)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        env = os.environ if env is None else env
        var_dir = Path(env.get("ROASTBOT_VAR_DIR") or HOME / "var").expanduser().resolve()
        cache_dir = default_cache_dir(env).resolve()
        bootstrap = env.get("KAFKA_BOOTSTRAP_SERVERS") or "127.0.0.1:9092"
        host, port = _host_port(bootstrap.split(",")[0], 9092)
        controller = int(env.get("KAFKA_CONTROLLER_PORT") or port + 1)
        redis_url = env.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
        redis_url = local_redis_url(redis_url, cache_dir, create=True)  # the user's generated password
        cluster_port = int(env.get("REDIS_CLUSTER_PORT") or 7100)
        kafka_cluster_port = int(env.get("KAFKA_CLUSTER_PORT") or 19100)
        return cls(
            var_dir, cache_dir, bootstrap, host, port, controller, redis_url, cluster_port, kafka_cluster_port
        )

    # var layout
    @property
    def run_dir(self) -> Path:
        return self.var_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.var_dir / "log"

    @property
    def kafka_dir(self) -> Path:
        return self.var_dir / "kafka"

    @property
    def kafka_data(self) -> Path:
        return self.kafka_dir / "data"

    @property
    def kafka_properties(self) -> Path:
        return self.kafka_dir / "server.properties"

    @property
    def kafka_cluster_id_file(self) -> Path:
        return self.kafka_dir / "cluster.id"

    @property
    def kafka_pid_file(self) -> Path:
        return self.run_dir / "kafka.pid"

    @property
    def kafka_out(self) -> Path:
        return self.log_dir / "kafka.out"

    @property
    def kafka_log(self) -> Path:
        return self.log_dir / "kafka-server.log"

    @property
    def redis_dir(self) -> Path:
        return self.var_dir / "redis"

    @property
    def redis_conf(self) -> Path:
        return self.redis_dir / "redis.conf"

    @property
    def redis_pid_file(self) -> Path:
        return self.run_dir / "redis.pid"

    @property
    def redis_log(self) -> Path:
        return self.log_dir / "redis.log"

    @property
    def redis_out(self) -> Path:
        return self.log_dir / "redis.out"

    # cache layout (outside git)
    @property
    def kafka_home(self) -> Path:
        return self.cache_dir / f"kafka-{KAFKA_VERSION}"

    @property
    def kafka_libs(self) -> Path:
        return self.kafka_home / "libs"

    @property
    def kafka_libs_marker(self) -> Path:
        return self.kafka_home / "libs.complete"

    @property
    def redis_host(self) -> str:
        return urlsplit(self.redis_url).hostname or "127.0.0.1"

    @property
    def redis_port(self) -> int:
        return urlsplit(self.redis_url).port or 6379

    def prepare(self) -> None:
        for folder in (self.run_dir, self.log_dir):
            folder.mkdir(parents=True, exist_ok=True)


def render_template(template: Path, target: Path, **values: object) -> None:
    """Write `template` with its $names filled in, atomically and 0600 (it may hold a password)."""
    text = string.Template(template.read_text()).substitute({k: str(v) for k, v in values.items()})
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.unlink(missing_ok=True)
    tmp.touch(mode=0o600)
    tmp.write_text(text)
    os.replace(tmp, target)


def relative(path: Path) -> str:
    """A path relative to the repo when inside it (shorter messages), else absolute."""
    try:
        return str(path.relative_to(HOME))
    except ValueError:
        return str(path)

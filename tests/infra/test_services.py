"""scripts/services.py against an isolated Kafka and Redis: a temporary var dir and free ports,
never the shared dev stack on 9092/6379. Kafka starts once for the module (it is the cost);
the tests run in file order and the last one takes everything down."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from bench.ports import SHARED_PORTS
from scripts import services
from tests.helpers import free_port, wait_for

HOME = Path(__file__).resolve().parent.parent.parent
SCRIPT = HOME / "scripts" / "services.py"

integration = pytest.mark.integration


@dataclass
class Instance:
    cfg: services.Config
    env: dict[str, str]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(SCRIPT), *args],
            env=self.env,
            cwd=HOME,
            capture_output=True,
            text=True,
            timeout=150,
            check=False,
        )

    def pids(self) -> dict[str, int | None]:
        return {
            "kafka": services.read_pid(self.cfg.kafka_pid_file),
            "redis": services.read_pid(self.cfg.redis_pid_file),
        }


def isolated_env(var_dir: Path) -> dict[str, str]:
    kafka_port, controller_port, redis_port = free_port(), free_port(), free_port()
    return {
        **os.environ,
        "ROASTBOT_VAR_DIR": str(var_dir),
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{kafka_port}",
        "KAFKA_CONTROLLER_PORT": str(controller_port),
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
    }


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    env = isolated_env(tmp_path_factory.mktemp("services-var"))
    cfg = services.Config.from_env(env)
    assert {cfg.kafka_port, cfg.controller_port, cfg.redis_port}.isdisjoint(SHARED_PORTS)
    assert cfg.var_dir != (HOME / "var").resolve()
    running = Instance(cfg, env)
    try:
        yield running
    finally:
        services.down("all", cfg)


@pytest.fixture(scope="module")
def started(instance: Instance) -> dict[str, services.State]:
    return services.up("all", instance.cfg)


@integration
def test_up_starts_both_and_they_answer(instance: Instance, started: dict[str, services.State]) -> None:
    cfg = instance.cfg
    assert {name: state.state for name, state in started.items()} == {"kafka": "running", "redis": "running"}
    assert instance.pids() == {"kafka": started["kafka"].pid, "redis": started["redis"].pid}
    for pid in instance.pids().values():
        assert pid is not None and services.pid_alive(pid)

    # Kafka: create a topic, produce one message, consume it through a consumer group.
    topic = f"infra-test-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": cfg.bootstrap_servers})
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(timeout=30)
    producer = Producer({"bootstrap.servers": cfg.bootstrap_servers, "acks": "all"})
    producer.produce(topic, key=b"k", value=b"hello from services.py")
    assert producer.flush(30) == 0
    consumer = Consumer(
        {
            "bootstrap.servers": cfg.bootstrap_servers,
            "group.id": f"{topic}-group",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    received: list[bytes] = []

    def one_message() -> bool:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            received.append(message.value())
        return bool(received)

    try:
        wait_for(one_message, 45, "the produced message to come back")
        consumer.commit(asynchronous=False)  # the offsets topic (replication factor 1) works
    finally:
        consumer.close()
    assert received == [b"hello from services.py"]
    # auto.create.topics.enable=false: a producer's metadata request (which asks for auto-creation)
    # does not create an unknown topic.
    producer.list_topics(topic=f"{topic}-typo", timeout=10)
    assert f"{topic}-typo" not in admin.list_topics(timeout=10).topics

    # Redis: SET/GET, append-only file on (CONFIG is not ours to call: INFO and the file say it).
    client = redis.Redis.from_url(cfg.redis_url)
    client.set("infra-test", "roasted")
    assert client.get("infra-test") == b"roasted"
    assert client.info("persistence")["aof_enabled"] == 1
    assert "appendfsync everysec" in cfg.redis_conf.read_text()
    assert (cfg.redis_dir / "appendonlydir").is_dir()
    client.close()

    assert cfg.kafka_log.is_file() and "Kafka Server started" in cfg.kafka_log.read_text()
    assert (cfg.kafka_data / "meta.properties").is_file()
    assert cfg.kafka_cluster_id_file.read_text().strip()


@integration
def test_second_up_starts_nothing_new(instance: Instance, started: dict[str, services.State]) -> None:
    before = instance.pids()
    result = instance.cli("up")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"kafka: already running (pid {before['kafka']})" in result.stdout
    assert f"redis: already running (pid {before['redis']})" in result.stdout
    assert "starting" not in result.stdout
    assert instance.pids() == before


@integration
def test_status_exits_zero_when_everything_answers(
    instance: Instance, started: dict[str, services.State]
) -> None:
    result = instance.cli("status")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "kafka: running" in result.stdout and "redis: running" in result.stdout


@integration
def test_crashed_redis_is_reported_and_restarted(
    instance: Instance, started: dict[str, services.State]
) -> None:
    old = instance.pids()["redis"]
    assert old is not None
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: not services.pid_alive(old), 10, "redis to die")

    assert services.inspect("redis", instance.cfg)["redis"].state == "crashed"
    result = instance.cli("status")
    assert result.returncode == 1
    assert "redis: crashed" in result.stdout and "kafka: running" in result.stdout

    states = services.up("all", instance.cfg)
    new = states["redis"].pid
    assert states["redis"].state == "running" and new is not None and new != old
    assert states["kafka"].pid == started["kafka"].pid  # Kafka was left alone
    assert instance.pids()["redis"] == new
    assert redis.Redis.from_url(instance.cfg.redis_url).ping()


@integration
def test_stale_pid_files_never_kill_an_unrelated_process(tmp_path: Path) -> None:
    env = isolated_env(tmp_path / "var")
    cfg = services.Config.from_env(env)
    cfg.prepare()
    bystander = subprocess.Popen(["sleep", "300"])
    try:
        cfg.kafka_pid_file.write_text(f"{bystander.pid}\n")
        cfg.redis_pid_file.write_text(f"{bystander.pid}\n")
        states = services.inspect("all", cfg)
        assert [state.state for state in states.values()] == ["crashed", "crashed"]
        assert all("not our" in state.detail for state in states.values())

        assert services.down("all", cfg)
        assert bystander.poll() is None, "down killed a process that is not ours"
        assert not cfg.kafka_pid_file.exists() and not cfg.redis_pid_file.exists()
    finally:
        bystander.kill()
        bystander.wait(timeout=10)


@integration
def test_down_leaves_no_process_of_ours(instance: Instance, started: dict[str, services.State]) -> None:
    pids = instance.pids()
    assert all(pids.values())
    result = instance.cli("down")
    assert result.returncode == 0, result.stdout + result.stderr
    for name, pid in pids.items():
        assert pid is not None
        wait_for(lambda pid=pid: not services.pid_alive(pid), 10, f"{name} pid {pid} to be gone")
    assert instance.pids() == {"kafka": None, "redis": None}
    assert not services.tcp_open("127.0.0.1", instance.cfg.kafka_port)
    assert not services.tcp_open("127.0.0.1", instance.cfg.redis_port)
    assert "kafka_cleanshutdown" in " ".join(os.listdir(instance.cfg.kafka_data))  # a clean Kafka shutdown

    result = instance.cli("status")
    assert result.returncode == 1
    assert "kafka: stopped" in result.stdout and "redis: stopped" in result.stdout
    assert instance.cli("down").returncode == 0  # nothing left to stop is fine


def test_half_done_download_is_redone(tmp_path: Path) -> None:
    cfg = services.Config.from_env({"ROASTBOT_CACHE_DIR": str(tmp_path), "HOME": str(tmp_path)})
    cfg.kafka_libs.mkdir(parents=True)
    (cfg.kafka_libs / services.KAFKA_JAR).write_bytes(b"jar")
    assert not services.kafka_libs_complete(cfg)  # no marker: Maven stopped half-way
    cfg.kafka_libs_marker.write_text(f"{services.KAFKA_JAR}\nkafka-clients-4.1.1.jar\n")
    assert not services.kafka_libs_complete(cfg)  # a listed jar is missing
    (cfg.kafka_libs / "kafka-clients-4.1.1.jar").write_bytes(b"jar")
    assert services.kafka_libs_complete(cfg)


def test_env_overrides_and_defaults(tmp_path: Path) -> None:
    cfg = services.Config.from_env({"HOME": str(tmp_path)})
    assert (cfg.kafka_port, cfg.controller_port, cfg.redis_port) == (9092, 9093, 6379)
    assert cfg.var_dir == (HOME / "var").resolve()
    assert cfg.kafka_libs == tmp_path / ".cache" / "roastbot" / "kafka-4.1.1" / "libs"
    cfg = services.Config.from_env(
        {"HOME": str(tmp_path), "KAFKA_BOOTSTRAP_SERVERS": "localhost:19092,other:1"}
    )
    assert (cfg.kafka_host, cfg.kafka_port, cfg.controller_port) == ("localhost", 19092, 19093)


def test_missing_redis_without_root_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    cfg = services.Config.from_env({"ROASTBOT_VAR_DIR": str(tmp_path), "HOME": str(tmp_path)})
    with pytest.raises(services.ServiceError, match="apt-get install redis-server"):
        services.ensure_redis_binary(cfg)

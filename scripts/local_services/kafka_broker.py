"""Kafka from Maven Central: its class path (resolved once), KRaft storage, one broker+controller."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

from scripts.local_services import class_archive
from scripts.local_services.config import (
    KAFKA_ARTIFACT,
    KAFKA_CONF_DIR,
    KAFKA_JAR,
    KAFKA_VERSION,
    LOCAL_HOSTS,
    Config,
    ServiceError,
    relative,
    render_template,
    say,
)
from scripts.local_services.lifecycle import Service
from scripts.local_services.processes import (
    file_lock,
    launch_detached,
    process_args,
    tail,
    tcp_open,
    write_pid,
)

KAFKA_JVM_OPTS = (
    "-Xms256m",
    "-Xmx768m",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:+ExitOnOutOfMemoryError",
    # The quick compiler only: a local broker carries hundreds of messages a second, and the
    # optimising compiler's work at start cost more CPU than it ever saved (start 6.4 -> 4.3 s
    # of CPU, 20,000 messages 3.2 -> 2.0 s, here).
    "-XX:TieredStopAtLevel=1",
)
TOOL_JVM_OPTS = ("-Xmx256m", "-XX:TieredStopAtLevel=1")
KAFKA_START_DEADLINE_S = 90.0
KAFKA_STOP_DEADLINE_S = 45.0

# librdkafka reports every refused connection while a broker starts: keep that off the terminal.
_QUIET = logging.getLogger("services.rdkafka")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


class Kafka(Service):
    name = "kafka"
    start_deadline_s = KAFKA_START_DEADLINE_S
    stop_deadline_s = KAFKA_STOP_DEADLINE_S

    @property
    def pid_file(self) -> Path:
        return self.cfg.kafka_pid_file

    @property
    def log_file(self) -> Path:
        return self.cfg.kafka_log

    @property
    def address(self) -> str:
        return f"{self.cfg.kafka_host}:{self.cfg.kafka_port}"

    def is_ours(self, pid: int) -> bool:
        args = process_args(pid)
        return "kafka.Kafka" in args and str(self.cfg.kafka_properties) in args

    def answers(self, timeout: float = 3.0) -> bool:
        if not tcp_open(self.cfg.kafka_host, self.cfg.kafka_port):
            return False  # nothing listens: skip librdkafka altogether
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient

        admin = AdminClient(
            {
                "bootstrap.servers": self.cfg.bootstrap_servers,
                "socket.connection.setup.timeout.ms": 2000,
                "logger": _QUIET,
            }
        )
        try:
            return bool(admin.list_topics(timeout=timeout).brokers)
        except KafkaException:
            return False

    def logs_for_failure(self) -> str:
        return tail(self.cfg.kafka_log) + tail(self.cfg.kafka_out, 10)

    def down(self) -> bool:
        stopped = super().down()
        if stopped and kafka_libs_complete(self.cfg):
            # The class archive a first broker wrote as it exited (class_archive.py).
            with contextlib.suppress(ServiceError, OSError):
                class_archive.adopt(self.cfg, find_java(), self.cfg.kafka_libs)
        return stopped

    # A node of the local 3-broker cluster (kafka_cluster.py) renders its own template.
    properties_template = KAFKA_CONF_DIR / "server.properties"

    def properties_values(self) -> dict[str, object]:
        cfg = self.cfg
        return {
            "host": "127.0.0.1",
            "broker_port": cfg.kafka_port,
            "controller_port": cfg.controller_port,
            "log_dirs": cfg.kafka_data,
        }

    def launch(self) -> int:
        cfg = self.cfg
        if cfg.kafka_host not in LOCAL_HOSTS:
            raise ServiceError(
                f"KAFKA_BOOTSTRAP_SERVERS names {self.address}, which is not this machine and does not answer; "
                "start that broker there, or point KAFKA_BOOTSTRAP_SERVERS at 127.0.0.1"
            )
        for port, role in ((cfg.kafka_port, "broker"), (cfg.controller_port, "controller")):
            if tcp_open("127.0.0.1", port):
                raise ServiceError(
                    f"port {port} ({role}) is already taken by another process that is not our Kafka; "
                    "free it or choose other ports (KAFKA_BOOTSTRAP_SERVERS, KAFKA_CONTROLLER_PORT)"
                )
        java = find_java()
        libs = ensure_kafka_libs(cfg)
        cfg.kafka_data.mkdir(parents=True, exist_ok=True)
        render_template(self.properties_template, cfg.kafka_properties, **self.properties_values())
        ensure_kafka_formatted(cfg, java, libs)
        options = (*KAFKA_JVM_OPTS, *class_archive.jvm_options(cfg, java, libs))
        cmd = [*kafka_java(cfg, java, libs, options), "kafka.Kafka", str(cfg.kafka_properties)]
        say(
            self.name,
            f"starting Kafka {KAFKA_VERSION} (KRaft, broker {cfg.kafka_port}, controller {cfg.controller_port}, "
            f"data {relative(cfg.kafka_data)})",
        )
        pid = launch_detached(cmd, cfg.kafka_out, cfg.kafka_dir)
        write_pid(self.pid_file, pid)
        return pid


def find_java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and os.access(Path(java_home) / "bin" / "java", os.X_OK):
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if not found:
        raise ServiceError(
            "java not found (Kafka 4.1 needs Java 17+): apt-get install openjdk-17-jre-headless"
        )
    return found


def kafka_java(cfg: Config, java: str, libs: Path, jvm_opts: Iterable[str]) -> list[str]:
    return [
        java,
        *jvm_opts,
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={KAFKA_CONF_DIR / 'log4j2.properties'}",
        f"-Dkafka.logs.dir={cfg.log_dir}",
        "-cp",
        f"{libs}/*",
    ]


def kafka_libs_complete(cfg: Config) -> bool:
    try:
        names = [line for line in cfg.kafka_libs_marker.read_text().splitlines() if line.endswith(".jar")]
    except OSError:
        return False
    return KAFKA_JAR in names and all((cfg.kafka_libs / name).is_file() for name in names)


def ensure_kafka_libs(cfg: Config) -> Path:
    """Kafka and its runtime class path in the cache, resolved with Maven once.

    The marker file is written last, so a download that stopped half-way is redone."""
    if kafka_libs_complete(cfg):
        say("kafka", f"jars cached in {cfg.kafka_libs}")
        return cfg.kafka_libs
    cfg.kafka_home.mkdir(parents=True, exist_ok=True)
    with file_lock(cfg.kafka_home / ".lock", "kafka", "Maven download"):
        if kafka_libs_complete(cfg):  # another run finished it while we waited
            return cfg.kafka_libs
        mvn = shutil.which("mvn")
        if not mvn:
            raise ServiceError("mvn (Maven) not found; it resolves Kafka's jars: apt-get install maven")
        started = time.monotonic()
        say(
            "kafka",
            f"resolving {KAFKA_ARTIFACT} and its runtime dependencies with Maven into {cfg.kafka_libs}",
        )
        cfg.kafka_libs_marker.unlink(missing_ok=True)
        partial = cfg.kafka_home / "libs.partial"
        for folder in (partial, cfg.kafka_libs):
            shutil.rmtree(folder, ignore_errors=True)
        log = cfg.log_dir / "kafka-maven.log"
        with log.open("w") as out:
            result = subprocess.run(
                [
                    mvn,
                    "-q",
                    "-B",
                    "-f",
                    str(KAFKA_CONF_DIR / "pom.xml"),
                    "dependency:copy-dependencies",
                    "-DincludeScope=runtime",
                    f"-DoutputDirectory={partial}",
                ],
                cwd=cfg.kafka_home,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if result.returncode != 0:
            raise ServiceError(
                f"Maven could not resolve {KAFKA_ARTIFACT} (exit {result.returncode}); see {log}" + tail(log)
            )
        jars = sorted(path.name for path in partial.glob("*.jar"))
        if KAFKA_JAR not in jars:
            raise ServiceError(f"Maven finished but {KAFKA_JAR} is missing from {partial}; see {log}")
        os.replace(partial, cfg.kafka_libs)
        tmp = cfg.kafka_libs_marker.with_name("libs.complete.tmp")
        tmp.write_text("".join(f"{name}\n" for name in jars))
        os.replace(tmp, cfg.kafka_libs_marker)
        say("kafka", f"{len(jars)} jars resolved in {time.monotonic() - started:.1f} s")
        return cfg.kafka_libs


def _run_tool(cfg: Config, java: str, libs: Path, *args: str) -> str:
    # The brokers' class archive when there is one (a tool never writes it: it loads too little).
    options = (*TOOL_JVM_OPTS, *class_archive.mapping_options(cfg, java, libs))
    cmd = [*kafka_java(cfg, java, libs, options), "kafka.tools.StorageTool", *args]
    result = subprocess.run(
        cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0:
        raise ServiceError(
            f"kafka.tools.StorageTool {args[0]} failed (exit {result.returncode}): "
            f"{(result.stdout + result.stderr).strip()[-1500:]}; see {cfg.kafka_log}"
        )
    return result.stdout


def _meta_cluster_id(meta: Path) -> str | None:
    for line in meta.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() == "cluster.id":
            return value.strip()
    return None


def ensure_kafka_formatted(cfg: Config, java: str, libs: Path) -> str:
    """Format the KRaft storage once; the cluster id is kept in <var>/kafka/cluster.id."""
    meta = cfg.kafka_data / "meta.properties"
    if meta.is_file():
        cluster_id = _meta_cluster_id(meta) or ""
        if cluster_id and not cfg.kafka_cluster_id_file.is_file():
            cfg.kafka_cluster_id_file.write_text(cluster_id + "\n")
        return cluster_id
    if cfg.kafka_cluster_id_file.is_file():
        cluster_id = cfg.kafka_cluster_id_file.read_text().strip()
    else:
        lines = [
            line.strip() for line in _run_tool(cfg, java, libs, "random-uuid").splitlines() if line.strip()
        ]
        if not lines:
            raise ServiceError("kafka.tools.StorageTool random-uuid printed nothing")
        cluster_id = lines[-1]
        cfg.kafka_cluster_id_file.write_text(cluster_id + "\n")
    _run_tool(cfg, java, libs, "format", "-t", cluster_id, "-c", str(cfg.kafka_properties))
    say("kafka", f"formatted {relative(cfg.kafka_data)} (cluster id {cluster_id})")
    return cluster_id

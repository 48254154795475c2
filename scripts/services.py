"""Local Kafka and Redis without Docker, idempotent.

    python scripts/services.py {up,down,status,restart} [kafka|redis|all]

Kafka: Apache Kafka 4.1.1 from Maven Central (the class path is resolved once with Maven from
scripts/kafka/pom.xml into ${ROASTBOT_CACHE_DIR:-$HOME/.cache/roastbot}/kafka-4.1.1/libs), one
KRaft node in combined broker+controller mode, data and logs under the var dir.
Redis: whatever already answers PING at REDIS_URL, else our own `redis-server` (installed from
Debian when missing and we are root), with a generated password and no admin commands.

`up` starts only what is not running, `down` stops only what our pid files name (and only when
/proc says the process really is our service), `status` exits 0 only when every requested
service answers. Environment:

    ROASTBOT_VAR_DIR         data, logs, pid files (default <repo>/var)
    ROASTBOT_CACHE_DIR       Maven-resolved Kafka jars (default $HOME/.cache/roastbot)
    KAFKA_BOOTSTRAP_SERVERS  broker address (default 127.0.0.1:9092)
    KAFKA_CONTROLLER_PORT    KRaft controller port (default broker port + 1)
    REDIS_URL                (default redis://127.0.0.1:6379/0)

Tests import this module and call `up`, `down`, `inspect` with a `Config` of their own.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import logging
import os
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

SCRIPTS = Path(__file__).resolve().parent
HOME = SCRIPTS.parent
sys.path.insert(0, str(HOME))

from roastbot.local_redis import cache_dir as default_cache_dir  # noqa: E402
from roastbot.local_redis import local_redis_url, redacted_url  # noqa: E402

KAFKA_CONF_DIR = SCRIPTS / "kafka"
REDIS_TEMPLATE = SCRIPTS / "redis" / "redis.conf"

KAFKA_VERSION = "4.1.1"
KAFKA_ARTIFACT = f"org.apache.kafka:kafka_2.13:{KAFKA_VERSION}"
KAFKA_JAR = f"kafka_2.13-{KAFKA_VERSION}.jar"
KAFKA_JVM_OPTS = (
    "-Xms256m",
    "-Xmx768m",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:+ExitOnOutOfMemoryError",
)
TOOL_JVM_OPTS = ("-Xmx256m", "-XX:TieredStopAtLevel=1")

KAFKA_START_DEADLINE_S = 90.0
KAFKA_STOP_DEADLINE_S = 45.0
REDIS_START_DEADLINE_S = 20.0
REDIS_STOP_DEADLINE_S = 20.0
KILL_DEADLINE_S = 10.0
LOCK_DEADLINE_S = 180.0

SERVICES = ("kafka", "redis")
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
LOG_TAIL_LINES = 25

# librdkafka reports every refused connection while a broker starts: keep that off the terminal.
_QUIET = logging.getLogger("services.rdkafka")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


class ServiceError(RuntimeError):
    """A step failed; the message says what and which log file to look at."""


def say(service: str, message: str) -> None:
    print(f"{service}: {message}", flush=True)


def shout(service: str, message: str) -> None:
    print(f"{service}: ERROR: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- configuration


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
        return cls(var_dir, cache_dir, bootstrap, host, port, controller, redis_url)

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


# --------------------------------------------------------------------------- processes


def read_pid(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    try:
        pid = int(text)
    except ValueError:
        return None
    return pid if pid > 0 else None


def write_pid(path: Path, pid: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"{pid}\n")
    os.replace(tmp, path)


def pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    with contextlib.suppress(ChildProcessError):  # reap it if it happens to be our child
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def proc_args(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def proc_cwd(pid: int) -> Path | None:
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return None


def wait_until(condition: Callable[[], bool], deadline_s: float, every_s: float = 0.2) -> bool:
    """Poll `condition` until it holds (True) or the deadline passes (False)."""
    deadline = time.monotonic() + deadline_s
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(every_s)


def tcp_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    if not text:
        return ""
    return f"\n--- last {len(text)} lines of {path} ---\n" + "\n".join(text)


_DETACH = (
    "import os, subprocess, sys\n"
    "log, cwd, *cmd = sys.argv[1:]\n"
    "out = open(log, 'ab', buffering=0)\n"
    "child = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,\n"
    "                         stderr=subprocess.STDOUT, start_new_session=True)\n"
    "print(child.pid, flush=True)\n"
    "os._exit(0)\n"
)


def launch_detached(cmd: list[str], log: Path, cwd: Path) -> int:
    """Start `cmd` in its own session, stdout/stderr appended to `log`, and return its pid.

    A short-lived intermediate Python starts it, so the service is never our child: nothing
    has to reap it, it outlives this process and no terminal signal reaches it."""
    with log.open("ab") as out:
        out.write(f"=== {time.strftime('%Y-%m-%d %H:%M:%S')} services.py starts: {' '.join(cmd)}\n".encode())
    result = subprocess.run(
        [sys.executable, "-I", "-c", _DETACH, str(log), str(cwd), *cmd],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0 or not result.stdout.strip().isdigit():
        raise ServiceError(f"could not start {cmd[0]}: {result.stderr.strip()[-800:]}")
    return int(result.stdout.strip())


@contextlib.contextmanager
def file_lock(path: Path, service: str, what: str) -> Iterator[None]:
    """An exclusive flock, so two services.py runs never start or stop the same thing at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(service, f"waiting for another services.py ({what}, lock {path})")
            if not wait_until(lambda: _try_lock(handle), LOCK_DEADLINE_S, every_s=0.5):
                raise ServiceError(f"{path} stayed locked for {LOCK_DEADLINE_S:.0f} s") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _try_lock(handle: object) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # type: ignore[arg-type]
    except BlockingIOError:
        return False
    return True


def _render(template: Path, target: Path, **values: object) -> None:
    text = string.Template(template.read_text()).substitute({k: str(v) for k, v in values.items()})
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.unlink(missing_ok=True)
    tmp.touch(mode=0o600)  # a rendered config may hold a password
    tmp.write_text(text)
    os.replace(tmp, target)


def _rel(path: Path) -> str:
    """A path relative to the repo when inside it (shorter messages), else absolute."""
    try:
        return str(path.relative_to(HOME))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------- services


@dataclass
class State:
    service: str
    state: str  # running | external | starting | crashed | stopped
    pid: int | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.state in ("running", "external")

    def line(self) -> str:
        pid = f" (pid {self.pid})" if self.pid and self.state in ("running", "starting") else ""
        return f"{self.state}{pid}{': ' + self.detail if self.detail else ''}"


class Service:
    name = ""
    start_deadline_s = 30.0
    stop_deadline_s = 30.0

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg

    # to implement
    @property
    def pid_file(self) -> Path:
        raise NotImplementedError

    @property
    def log_file(self) -> Path:
        raise NotImplementedError

    @property
    def address(self) -> str:
        raise NotImplementedError

    def is_ours(self, pid: int) -> bool:
        raise NotImplementedError

    def answers(self) -> bool:
        raise NotImplementedError

    def launch(self) -> int:
        """Start the process detached, write the pid file, return the pid (not yet answering)."""
        raise NotImplementedError

    def logs_for_failure(self) -> str:
        return tail(self.log_file)

    # shared logic
    def inspect(self) -> State:
        pid = read_pid(self.pid_file)
        if pid is not None:
            if not pid_alive(pid):
                return State(
                    self.name,
                    "crashed",
                    pid,
                    f"pid file {_rel(self.pid_file)} names pid {pid}, which is gone",
                )
            if not self.is_ours(pid):
                return State(
                    self.name,
                    "crashed",
                    pid,
                    f"pid file {_rel(self.pid_file)} names pid {pid}, which is not our {self.name} (pid reused)",
                )
            if self.answers():
                return State(self.name, "running", pid, f"{self.address}; log {_rel(self.log_file)}")
            return State(self.name, "starting", pid, f"process alive but {self.address} does not answer yet")
        if self.answers():
            return State(self.name, "external", None, f"{self.address} answers, not started by us")
        return State(self.name, "stopped")

    def up(self) -> State:
        self.cfg.prepare()
        with file_lock(self.cfg.run_dir / f"{self.name}.lock", self.name, "up"):
            state = self.inspect()
            if state.state == "running":
                say(self.name, f"already running (pid {state.pid})")
                return state
            if state.state == "external":
                say(
                    self.name,
                    f"{self.address} already answers (not started by us): using it, starting nothing",
                )
                return state
            if state.state == "starting":
                assert state.pid is not None
                say(self.name, f"pid {state.pid} is ours but not answering yet; waiting")
                return self._await(state.pid, time.monotonic())
            if state.state == "crashed":
                say(self.name, f"previous run crashed ({state.detail}); removing the stale pid file")
                self.pid_file.unlink(missing_ok=True)
                if self.answers():
                    say(self.name, f"{self.address} answers (not started by us): using it, starting nothing")
                    return State(self.name, "external", None, f"{self.address} answers, not started by us")
            started = time.monotonic()
            pid = self.launch()
            say(self.name, f"started pid {pid}; waiting for {self.address} to answer")
            return self._await(pid, started)

    def _await(self, pid: int, started: float) -> State:
        def ready() -> bool:
            if not pid_alive(pid):
                raise ServiceError(
                    f"{self.name} (pid {pid}) exited while starting; see {self.log_file}"
                    + self.logs_for_failure()
                )
            return self.answers()

        if not wait_until(ready, self.start_deadline_s, every_s=0.3):
            raise ServiceError(
                f"{self.name} (pid {pid}) did not answer at {self.address} within {self.start_deadline_s:.0f} s; "
                f"it is left running (stop it with: services.py down {self.name}); see {self.log_file}"
                + self.logs_for_failure()
            )
        say(
            self.name,
            f"up (pid {pid}) at {self.address} in {time.monotonic() - started:.1f} s; log {_rel(self.log_file)}",
        )
        return State(self.name, "running", pid, self.address)

    def down(self) -> bool:
        self.cfg.prepare()
        with file_lock(self.cfg.run_dir / f"{self.name}.lock", self.name, "down"):
            pid = read_pid(self.pid_file)
            if pid is None:
                if self.pid_file.exists():
                    self.pid_file.unlink()
                    say(self.name, f"removed unreadable pid file {_rel(self.pid_file)}")
                if self.answers():
                    say(
                        self.name,
                        f"not started by us ({self.address} answers, no pid file): leaving it alone",
                    )
                else:
                    say(self.name, "not running")
                return True
            if not pid_alive(pid):
                self.pid_file.unlink(missing_ok=True)
                say(self.name, f"not running (stale pid file named pid {pid}, which is gone; removed it)")
                return True
            if not self.is_ours(pid):
                self.pid_file.unlink(missing_ok=True)
                say(
                    self.name,
                    f"pid file named pid {pid}, which is not our {self.name}: not touching it; removed the stale pid file",
                )
                return True
            return self._stop(pid)

    def _stop(self, pid: int) -> bool:
        started = time.monotonic()
        say(self.name, f"stopping pid {pid} (SIGTERM, up to {self.stop_deadline_s:.0f} s)")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not wait_until(lambda: not pid_alive(pid), self.stop_deadline_s):
            if self.is_ours(pid):
                say(self.name, f"pid {pid} still alive after {self.stop_deadline_s:.0f} s: SIGKILL")
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            if not wait_until(lambda: not pid_alive(pid), KILL_DEADLINE_S):
                shout(self.name, f"pid {pid} survived SIGKILL; see {self.log_file}")
                return False
        self.pid_file.unlink(missing_ok=True)
        say(self.name, f"stopped in {time.monotonic() - started:.1f} s")
        return True


# --------------------------------------------------------------------------- Kafka


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
        args = proc_args(pid)
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
        _render(
            KAFKA_CONF_DIR / "server.properties",
            cfg.kafka_properties,
            host="127.0.0.1",
            broker_port=cfg.kafka_port,
            controller_port=cfg.controller_port,
            log_dirs=cfg.kafka_data,
        )
        ensure_kafka_formatted(cfg, java, libs)
        cmd = [*kafka_java(cfg, java, libs, KAFKA_JVM_OPTS), "kafka.Kafka", str(cfg.kafka_properties)]
        say(
            self.name,
            f"starting Kafka {KAFKA_VERSION} (KRaft, broker {cfg.kafka_port}, controller {cfg.controller_port}, "
            f"data {_rel(cfg.kafka_data)})",
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
    cmd = [*kafka_java(cfg, java, libs, TOOL_JVM_OPTS), "kafka.tools.StorageTool", *args]
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
    say("kafka", f"formatted {_rel(cfg.kafka_data)} (cluster id {cluster_id})")
    return cluster_id


# --------------------------------------------------------------------------- Redis


class Redis(Service):
    name = "redis"
    start_deadline_s = REDIS_START_DEADLINE_S
    stop_deadline_s = REDIS_STOP_DEADLINE_S

    @property
    def pid_file(self) -> Path:
        return self.cfg.redis_pid_file

    @property
    def log_file(self) -> Path:
        return self.cfg.redis_log

    @property
    def address(self) -> str:
        return redacted_url(self.cfg.redis_url)

    def is_ours(self, pid: int) -> bool:
        # Redis rewrites its argv into a title ("/usr/bin/redis-server 127.0.0.1:6379"), so the
        # config path is gone from cmdline: its working directory (our `dir`) identifies it.
        if "redis-server" not in " ".join(proc_args(pid)):
            return False
        cwd = proc_cwd(pid)
        return cwd is not None and cwd == self.cfg.redis_dir.resolve()

    def answers(self) -> bool:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        client = redis.Redis.from_url(
            self.cfg.redis_url, socket_connect_timeout=1.0, socket_timeout=2.0, retry=Retry(NoBackoff(), 0)
        )
        try:
            return bool(client.ping())
        except (redis.RedisError, OSError):
            return False
        finally:
            client.close()

    def logs_for_failure(self) -> str:
        return tail(self.cfg.redis_log) + tail(self.cfg.redis_out, 10)

    def launch(self) -> int:
        cfg = self.cfg
        parts = urlsplit(cfg.redis_url)
        if parts.scheme != "redis" or cfg.redis_host not in LOCAL_HOSTS:
            raise ServiceError(
                f"nothing answers at {self.address} and it is not a local redis:// address, so there is nothing "
                "we can start: start that Redis, or unset REDIS_URL to use a local one"
            )
        if tcp_open("127.0.0.1", cfg.redis_port):
            raise ServiceError(
                f"port {cfg.redis_port} is taken by something that does not answer PING at {self.address} "
                "(another program, or a Redis with a password): free the port or change REDIS_URL"
            )
        binary = ensure_redis_binary(cfg)
        cfg.redis_dir.mkdir(parents=True, exist_ok=True)
        _render(
            REDIS_TEMPLATE,
            cfg.redis_conf,
            port=cfg.redis_port,
            pidfile=cfg.redis_pid_file,
            logfile=cfg.redis_log,
            dir=cfg.redis_dir,
            user=parts.username or "default",
            password=f">{unquote(parts.password)}" if parts.password else "nopass",
        )
        say(self.name, f"starting {binary} on 127.0.0.1:{cfg.redis_port} (AOF, data {_rel(cfg.redis_dir)})")
        pid = launch_detached([binary, str(cfg.redis_conf)], cfg.redis_out, cfg.redis_dir)
        write_pid(self.pid_file, pid)
        return pid


def ensure_redis_binary(cfg: Config) -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise ServiceError(
            "redis-server is not on PATH and cannot be installed here (needs root and apt-get): "
            "install it with `sudo apt-get install redis-server` (or `sudo bash scripts/system-deps.sh`), "
            "or set REDIS_URL to a Redis that already runs"
        )
    install_redis_from_debian(cfg)
    found = shutil.which("redis-server")
    if not found:
        raise ServiceError(
            f"apt-get installed redis-server but it is not on PATH; see {cfg.log_dir / 'apt.log'}"
        )
    return found


def install_redis_from_debian(cfg: Config) -> None:
    """apt-get install redis-server without letting Debian's own service run on 6379."""
    log = cfg.log_dir / "apt.log"
    say("redis", f"redis-server not on PATH: installing Debian's redis-server (apt-get; log {log})")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    policy = Path("/usr/sbin/policy-rc.d")  # exit 101 = "do not start services" for invoke-rc.d
    created = False
    if not policy.exists():
        policy.write_text(
            "#!/bin/sh\n# scripts/services.py: no service starts while it installs redis-server\nexit 101\n"
        )
        policy.chmod(0o755)
        created = True
    apt = ["apt-get", "-q", "-o", "DPkg::Lock::Timeout=300"]
    try:
        with log.open("a") as out:
            for step in (["update"], ["install", "-y", "--no-install-recommends", "redis-server"]):
                result = subprocess.run(
                    [*apt, *step],
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    check=False,
                )
                if result.returncode != 0:
                    raise ServiceError(
                        f"apt-get {step[0]} failed (exit {result.returncode}); see {log}" + tail(log)
                    )
    finally:
        if created:
            policy.unlink(missing_ok=True)
    # On a machine with systemd the unit is enabled for the next boot and may have started anyway:
    # stop and disable it, our own redis-server runs instead.
    with open(os.devnull, "w") as devnull:
        if Path("/run/systemd/system").is_dir() and shutil.which("systemctl"):
            subprocess.run(
                ["systemctl", "disable", "--now", "redis-server"], stdout=devnull, stderr=devnull, check=False
            )
        elif shutil.which("service"):
            subprocess.run(["service", "redis-server", "stop"], stdout=devnull, stderr=devnull, check=False)
        if shutil.which("update-rc.d"):
            subprocess.run(
                ["update-rc.d", "redis-server", "disable"], stdout=devnull, stderr=devnull, check=False
            )
    say("redis", "installed redis-server; Debian's own redis-server service is kept off")


# --------------------------------------------------------------------------- commands

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
    args = parser.parse_args(argv)
    cfg = Config.from_env()
    started = time.monotonic()
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


if __name__ == "__main__":
    sys.exit(main())

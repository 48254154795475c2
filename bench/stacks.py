"""A roastbot stack to drive: an isolated one started for the run, or the one already running.

The isolated stack is scripts/stack.py on free ports with its own var dir, Redis key
prefix, topics and consumer group (like tests/stack_fixture.py), so it never touches
the dev stack or anyone else's; everything it made is removed afterwards.
"""

from __future__ import annotations

import re
import shlex
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

HOME = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HOME))
from bench.ports import free_port  # noqa: E402
from roastbot.kafka_wiring import delete_topics  # noqa: E402
from roastbot.keys import RedisKeys  # noqa: E402
from roastbot.redis_conn import RedisClient, connect_redis  # noqa: E402
from roastbot.settings import SANDBOX_X_CREDENTIALS, Settings  # noqa: E402
from roastbot.telemetry import held_partitions  # noqa: E402
from scripts import stack  # noqa: E402

# From spawn to every partition held: a consumer takes about 40 s to start at load 10 on the 2
# cores here (its imports and the roaster's models, before it joins the group), twice that at
# load 20; 60 s failed the Kafka leader-kill test and the bench on the clusters at load 19.
READY_TIMEOUT_S = 180.0


@dataclass
class StackHandle:
    """What a driver needs: the supervisord config, the settings the workers run with."""

    config: stack.StackConfig
    settings: Settings
    isolated: bool
    private_redis: bool = False  # the stack's Redis serves nobody else (INFO commandstats is its own)

    @property
    def keys(self) -> RedisKeys:
        return RedisKeys.of(self.settings)

    def redis(self) -> RedisClient:
        return connect_redis(self.settings)

    def x(self, timeout_s: float = 30) -> httpx.Client:
        """A client for the X sandbox (its control API is under /sandbox/)."""
        return httpx.Client(base_url=self.config.x_sandbox_url, timeout=timeout_s)

    def llm(self, timeout_s: float = 30) -> httpx.Client:
        return httpx.Client(base_url=self.config.llm_fake_url, timeout=timeout_s)

    def programs(self) -> list[dict[str, object]]:
        """Supervisor's process info for every program (name as group:name, pid, statename)."""
        infos = self.config.rpc().supervisor.getAllProcessInfo()
        return [{**info, "name": f"{info['group']}:{info['name']}"} for info in infos]

    def program_states(self) -> dict[str, str]:
        return stack.program_states(self.config)

    @property
    def supervisord_log(self) -> Path:
        return self.config.var_dir / "log" / "supervisord.log"

    def assigned_partitions(self) -> set[int]:
        """Partitions the live consumers report in their heartbeats."""
        return held_partitions(self.redis(), self.keys)

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Until the producer has polled once (since_id set: mentions older than its first poll
        are never fetched, by design) and the consumers hold every partition."""
        client = self.redis()
        deadline = time.monotonic() + timeout_s
        partitions = set(range(self.settings.kafka_partitions))
        while time.monotonic() < deadline:
            if client.get(self.keys.since_id) and self.assigned_partitions() >= partitions:
                return
            time.sleep(0.2)
        raise TimeoutError(
            f"stack not ready after {timeout_s:.0f}s: since_id={client.get(self.keys.since_id)!r}, "
            f"partitions assigned {sorted(self.assigned_partitions())} of {sorted(partitions)}"
        )


def _stack_settings(
    tag: str, redis_url: str | None, bootstrap: str | None, partitions: int, redis_cluster: bool = False
) -> Settings:
    values: dict[str, object] = {
        "redis_cluster": redis_cluster,
        "redis_key_prefix": f"bench-{tag}",
        "kafka_topic_mentions": f"bench-{tag}-mentions",
        "kafka_topic_dlq": f"bench-{tag}-dlq",
        "kafka_consumer_group": f"bench-{tag}-group",
        "kafka_partitions": partitions,
        "roaster": "offline",
        **SANDBOX_X_CREDENTIALS,
    }
    if redis_url:
        values["redis_url"] = redis_url
    if bootstrap:
        values["kafka_bootstrap_servers"] = bootstrap
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def drop_prefix(client: RedisClient, keys: RedisKeys) -> None:
    """Delete every key of one bot (SCAN walks every primary of a cluster)."""
    for key in client.scan_iter(match=keys.every_key, count=1000):
        client.delete(key)


@contextmanager
def isolated_stack(
    consumers: int = 2,
    *,
    var_root: Path | None = None,
    redis_url: str | None = None,
    redis_cluster: bool = False,
    kafka_bootstrap: str | None = None,
    partitions: int = 6,
    quiet: bool = False,
    private_redis: bool = False,
    ready_timeout_s: float = READY_TIMEOUT_S,
    **env: str,
) -> Iterator[StackHandle]:
    """A whole sandbox-mode stack under its own supervisord; torn down and cleaned up after.

    ``env`` goes to every program (upper-case variable names: ``ROASTER="together"``).
    """
    tag = uuid.uuid4().hex[:10]
    settings = _stack_settings(tag, redis_url, kafka_bootstrap, partitions, redis_cluster)
    ports = {name: free_port() for name in ("supervisor", "x_sandbox", "llm_fake", "console")}
    extra = {
        "REDIS_KEY_PREFIX": settings.redis_key_prefix,
        "KAFKA_TOPIC_MENTIONS": settings.kafka_topic_mentions,
        "KAFKA_TOPIC_DLQ": settings.kafka_topic_dlq,
        "KAFKA_CONSUMER_GROUP": settings.kafka_consumer_group,
        "KAFKA_PARTITIONS": str(partitions),
        "POLL_INTERVAL_S": "0.5",
        "PRODUCER_METRICS_PORT": "0",
        "CONSUMER_METRICS_PORT": "0",
        "ROASTER": "offline",
        # Used only when ROASTER=together: the stack's own LLM fake, any non-empty key.
        "TOGETHER_BASE_URL": f"http://127.0.0.1:{ports['llm_fake']}",
        "TOGETHER_API_KEY": "sandbox-llm-key",
        **({"REDIS_URL": redis_url} if redis_url else {}),
        "REDIS_CLUSTER": "true" if redis_cluster else "false",
        **({"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap} if kafka_bootstrap else {}),
        **env,
    }
    owned_root = var_root is None
    root = Path(tempfile.mkdtemp(prefix="roastbot-bench-")) if var_root is None else var_root
    config = stack.StackConfig(
        var_dir=root / f"var-{tag}",
        supervisor_port=ports["supervisor"],
        x_sandbox_port=ports["x_sandbox"],
        llm_fake_port=ports["llm_fake"],
        console_port=ports["console"],
        consumer_processes=consumers,
        console=False,
        extra_env=extra,
    )
    settings = settings.model_copy(update={"x_api_base_url": config.x_sandbox_url})
    try:
        with _quietly(quiet):
            stack.up(config)
        handle = StackHandle(config, settings, isolated=True, private_redis=private_redis)
        handle.wait_ready(ready_timeout_s)
        yield handle
    finally:
        with _quietly(quiet):
            stack.down(config)
        try:
            drop_prefix(connect_redis(settings), RedisKeys.of(settings))
            delete_topics(settings, [settings.kafka_topic_mentions, settings.kafka_topic_dlq])
        except Exception as error:  # the private Kafka/Redis of a chaos test may be gone already
            print(f"cleanup of {tag} incomplete: {error}", file=sys.stderr)
        if owned_root:
            import shutil

            shutil.rmtree(root, ignore_errors=True)


@contextmanager
def _quietly(quiet: bool) -> Iterator[None]:
    if not quiet:
        yield
        return
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        yield


def running_stack(var_dir: Path | None = None) -> StackHandle:
    """The stack `make up` started (ports from its var/run/supervisor.env, settings from the
    environment and .env as the workers read them)."""
    from roastbot.settings import load_settings

    var_dir = var_dir or HOME / "var"
    env_file = var_dir / "run" / "supervisor.env"
    if not env_file.exists():
        raise SystemExit(f"no running stack: {env_file} is missing (start one with `make up`)")
    values = {}
    for line in env_file.read_text().splitlines():
        match = re.match(r"export (\w+)=(.*)", line)
        if match:
            values[match[1]] = shlex.split(match[2])[0] if match[2] else ""
    config = stack.StackConfig(
        var_dir=var_dir,
        supervisor_port=int(values["SUPERVISOR_PORT"]),
        x_sandbox_port=int(values["X_SANDBOX_PORT"]),
        llm_fake_port=int(values["LLM_FAKE_PORT"]),
        console_port=int(values["CONSOLE_PORT"]),
        consumer_processes=int(values["CONSUMER_PROCESSES"]),
    )
    settings = load_settings()
    if not settings.x_api_base_url:
        settings = settings.model_copy(update={"x_api_base_url": config.x_sandbox_url})
    return StackHandle(config, settings, isolated=False)

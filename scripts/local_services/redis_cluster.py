"""A local Redis Cluster: 3 primaries + 3 replicas of Debian's redis-server, like the single node.

Each node is a ``redis-server`` in cluster mode with its own directory under
``<var>/redis-cluster/<port>`` (AOF, ``nodes.conf``), pid file and log, the same generated
password as the single node (``~/.cache/roastbot/redis.password``) and the same ACL, plus
the CLUSTER command and the replication handshake. The nodes listen on
``REDIS_CLUSTER_PORT`` .. +5 (default 7100-7105), their cluster bus on port + 50. The first
``up`` makes the cluster with ``redis-cli --cluster create ... --cluster-replicas 1``; later
ones find it made (``nodes.conf``) and only wait for ``cluster_state:ok``.
"""

from __future__ import annotations

import os
import shutil
import string
import subprocess
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import redis
from redis.backoff import NoBackoff
from redis.crc import key_slot
from redis.retry import Retry

from roastbot.local_redis import local_password, with_local_password
from scripts.local_services.config import REDIS_TEMPLATE, Config, ServiceError, relative, render_template, say
from scripts.local_services.lifecycle import State
from scripts.local_services.processes import (
    launch_detached,
    process_args,
    process_cwd,
    tail,
    tcp_open,
    wait_until,
    write_pid,
)
from scripts.local_services.redis_server import Redis, ensure_redis_binary

CLUSTER_TEMPLATE = REDIS_TEMPLATE.with_name("cluster.conf")
CLUSTER_NODES = 6  # 3 primaries, each with one replica
BUS_PORT_OFFSET = 50
NODE_TIMEOUT_MS = 2000
CLUSTER_READY_DEADLINE_S = 60.0
# What a node adds to the single node's ACL: CLUSTER (redis-cli --cluster create, the
# client's slot map) and what a replica sends its primary (SYNC/PSYNC, REPLCONF).
CLUSTER_RULES = " +cluster +sync +psync +replconf"


def node_ports(cfg: Config) -> list[int]:
    return [cfg.redis_cluster_port + index for index in range(CLUSTER_NODES)]


def cluster_url(cfg: Config, port: int | None = None) -> str:
    """A redis:// URL of one node (the first by default) with the local password."""
    url = f"redis://127.0.0.1:{port or cfg.redis_cluster_port}/0"
    return with_local_password(url, local_password(cfg.cache_dir, create=True))


class ClusterNode(Redis):
    """One node: the single node's life cycle (pid file, is-ours check, stop) on its own paths."""

    def __init__(self, cfg: Config, port: int) -> None:
        super().__init__(cfg)
        self.port = port
        self.name = f"redis-cluster-{port}"
        self.url = cluster_url(cfg, port)

    @property
    def node_dir(self) -> Path:
        return self.cfg.var_dir / "redis-cluster" / str(self.port)

    @property
    def pid_file(self) -> Path:
        return self.cfg.run_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.cfg.log_dir / f"{self.name}.log"

    @property
    def out_file(self) -> Path:
        return self.cfg.log_dir / f"{self.name}.out"

    @property
    def address(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def is_ours(self, pid: int) -> bool:
        if "redis-server" not in " ".join(process_args(pid)):
            return False
        cwd = process_cwd(pid)
        return cwd is not None and cwd == self.node_dir.resolve()

    def answers(self) -> bool:
        return self.call("PING") is not None

    def call(self, *command: str) -> object:
        """One command on this node alone (None when it does not answer)."""
        client = redis.Redis.from_url(
            self.url,
            socket_connect_timeout=1.0,
            socket_timeout=2.0,
            retry=Retry(NoBackoff(), 0),
            decode_responses=True,
        )
        try:
            return client.execute_command(*command)
        except (redis.RedisError, OSError):
            return None
        finally:
            client.close()

    def logs_for_failure(self) -> str:
        return tail(self.log_file) + tail(self.out_file, 10)

    def launch(self) -> int:
        if tcp_open("127.0.0.1", self.port) or tcp_open("127.0.0.1", self.port + BUS_PORT_OFFSET):
            raise ServiceError(
                f"port {self.port} or {self.port + BUS_PORT_OFFSET} is taken by something that is not our "
                "cluster node: free it or set REDIS_CLUSTER_PORT"
            )
        binary = ensure_redis_binary(self.cfg)
        self.node_dir.mkdir(parents=True, exist_ok=True)
        parts = urlsplit(self.url)
        password = unquote(parts.password or "")
        conf = self.node_dir / "redis.conf"
        render_template(
            REDIS_TEMPLATE,
            conf,
            port=self.port,
            pidfile=self.pid_file,
            logfile=self.log_file,
            dir=self.node_dir,
            user=parts.username or "default",
            password=f">{password}",
            cluster_rules=CLUSTER_RULES,
        )
        extra = string.Template(CLUSTER_TEMPLATE.read_text()).substitute(
            node_timeout_ms=NODE_TIMEOUT_MS,
            bus_port=self.port + BUS_PORT_OFFSET,
            user=parts.username or "default",
            masterauth=password,
        )
        with conf.open("a") as handle:
            handle.write("\n" + extra)
        say(
            self.name, f"starting {binary} on 127.0.0.1:{self.port} (cluster mode, {relative(self.node_dir)})"
        )
        pid = launch_detached([binary, str(conf)], self.out_file, self.node_dir)
        write_pid(self.pid_file, pid)
        return pid


class RedisCluster:
    """The six nodes and the cluster they make."""

    name = "redis-cluster"

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.nodes = [ClusterNode(cfg, port) for port in node_ports(cfg)]

    @property
    def url(self) -> str:
        return cluster_url(self.cfg)

    def cluster_info(self, node: ClusterNode | None = None) -> dict[str, str]:
        raw = (node or self.nodes[0]).call("CLUSTER", "INFO")
        if not isinstance(raw, str):
            return {}
        return dict(line.split(":", 1) for line in raw.split() if ":" in line)

    def healthy(self) -> bool:
        """Every node up and knowing all six, every slot served (by any node's account)."""
        infos = [self.cluster_info(node) for node in self.nodes if node.answers()]
        return len(infos) == CLUSTER_NODES and all(
            info.get("cluster_state") == "ok" and info.get("cluster_known_nodes") == str(CLUSTER_NODES)
            for info in infos
        )

    def up(self) -> State:
        started = time.monotonic()
        for node in self.nodes:
            node.up()
        made = [int(self.cluster_info(node).get("cluster_slots_assigned", "0")) > 0 for node in self.nodes]
        if not any(made):
            self._create()
        elif not all(made) and not wait_until(self._all_made, 10):
            raise ServiceError(
                "some nodes belong to a cluster and others to none: stop them (services.py down --cluster), "
                f"remove {relative(self.cfg.var_dir / 'redis-cluster')} and start afresh"
            )
        if not wait_until(self.healthy, CLUSTER_READY_DEADLINE_S, every_s=0.3):
            raise ServiceError(
                f"the cluster did not reach cluster_state:ok within {CLUSTER_READY_DEADLINE_S:.0f} s: "
                f"{self.cluster_info()}" + self.nodes[0].logs_for_failure()
            )
        say(self.name, f"ok: {CLUSTER_NODES} nodes at {self.address} in {time.monotonic() - started:.1f} s")
        return State(self.name, "running", None, self.address)

    def _all_made(self) -> bool:
        return all(int(self.cluster_info(node).get("cluster_slots_assigned", "0")) > 0 for node in self.nodes)

    def _create(self) -> None:
        cli = shutil.which("redis-cli") or "/usr/bin/redis-cli"
        user = urlsplit(self.url).username or "default"
        password = unquote(urlsplit(self.url).password or "")
        addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
        log = self.cfg.log_dir / "redis-cluster-create.log"
        say(self.name, f"creating the cluster: {len(addresses)} nodes, 1 replica each (log {relative(log)})")
        # The password goes through the environment, not argv (ps shows argv to everyone).
        env = {**os.environ, "REDISCLI_AUTH": password}
        command = [cli, "--user", user, "--cluster", "create", *addresses, "--cluster-replicas", "1"]
        with log.open("a") as out:
            result = subprocess.run(
                [*command, "--cluster-yes"], env=env, stdout=out, stderr=subprocess.STDOUT, check=False
            )
        if result.returncode != 0:
            raise ServiceError(f"redis-cli --cluster create failed (exit {result.returncode})" + tail(log))

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.nodes[0].port}-{self.nodes[-1].port}"

    def down(self) -> bool:
        return all([node.down() for node in self.nodes])

    def inspect(self) -> State:
        states = [node.inspect() for node in self.nodes]
        running = sum(state.ok for state in states)
        if running == 0:
            return State(self.name, "stopped")
        if running == CLUSTER_NODES and self.healthy():
            return State(self.name, "running", None, f"{self.address}, cluster_state ok")
        return State(
            self.name, "starting", None, f"{running}/{CLUSTER_NODES} nodes up: {self.cluster_info()}"
        )

    def primary_of(self, key: str) -> ClusterNode:
        """The node serving the slot of ``key`` now (the one to kill in a failover test)."""
        slot = key_slot(key.encode())
        for node in self.nodes:
            ranges = node.call("CLUSTER", "SLOTS")
            if not isinstance(ranges, list):
                continue  # this node is down: ask another
            for start, end, primary, *_replicas in ranges:
                if start <= slot <= end:
                    return next(candidate for candidate in self.nodes if candidate.port == int(primary[1]))
        raise ServiceError(f"no node serves slot {slot}")

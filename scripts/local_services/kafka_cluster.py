"""A local 3-node Kafka cluster: KRaft, each node broker and controller, from the same jars.

Node N (1-3) is the single node's life cycle (``kafka_broker.Kafka``) on a Config of its own:
data, pid file and logs under ``<var>/kafka-cluster/node<N>``, broker port
``KAFKA_CLUSTER_PORT`` + N - 1 (default 19100-19102), controller port + 10 (19110-19112).
The three share one cluster id (formatted once) and one static controller quorum; topics get
3 replicas and min.insync.replicas 2 by default, so one node may go at any time. The nodes
are started together: none answers before two controllers form a quorum.
"""

from __future__ import annotations

import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor

from scripts.local_services.config import KAFKA_CONF_DIR, Config, ServiceError, relative, say
from scripts.local_services.kafka_broker import _QUIET, Kafka, _run_tool, ensure_kafka_libs, find_java
from scripts.local_services.lifecycle import State
from scripts.local_services.processes import wait_until

KAFKA_CLUSTER_NODES = 3
CONTROLLER_PORT_OFFSET = 10
CLUSTER_START_DEADLINE_S = 180.0


def broker_ports(cfg: Config) -> list[int]:
    return [cfg.kafka_cluster_port + index for index in range(KAFKA_CLUSTER_NODES)]


class KafkaNode(Kafka):
    properties_template = KAFKA_CONF_DIR / "cluster-server.properties"

    def __init__(self, cfg: Config, node_id: int) -> None:
        port = cfg.kafka_cluster_port + node_id - 1
        super().__init__(
            dataclasses.replace(
                cfg,
                var_dir=cfg.var_dir / "kafka-cluster" / f"node{node_id}",
                bootstrap_servers=f"127.0.0.1:{port}",
                kafka_host="127.0.0.1",
                kafka_port=port,
                controller_port=port + CONTROLLER_PORT_OFFSET,
            )
        )
        self.node_id = node_id
        self.name = f"kafka-{node_id}"
        self.voters = ",".join(
            f"{n}@127.0.0.1:{cfg.kafka_cluster_port + n - 1 + CONTROLLER_PORT_OFFSET}"
            for n in range(1, KAFKA_CLUSTER_NODES + 1)
        )

    def properties_values(self) -> dict[str, object]:
        return {**super().properties_values(), "node_id": self.node_id, "voters": self.voters}


class KafkaCluster:
    name = "kafka-cluster"

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.nodes = [KafkaNode(cfg, node_id) for node_id in range(1, KAFKA_CLUSTER_NODES + 1)]

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"127.0.0.1:{port}" for port in broker_ports(self.cfg))

    def _cluster_id(self) -> str:
        """One id for the three nodes' storage, made once (each node formats with it)."""
        shared = self.cfg.var_dir / "kafka-cluster" / "cluster.id"
        if not shared.is_file():
            shared.parent.mkdir(parents=True, exist_ok=True)
            java, libs = find_java(), ensure_kafka_libs(self.cfg)
            lines = [line.strip() for line in _run_tool(self.cfg, java, libs, "random-uuid").splitlines()]
            shared.write_text([line for line in lines if line][-1] + "\n")
        return shared.read_text().strip()

    def up(self) -> State:
        started = time.monotonic()
        cluster_id = self._cluster_id()
        for node in self.nodes:
            node.cfg.prepare()
            node.cfg.kafka_dir.mkdir(parents=True, exist_ok=True)
            node.cfg.kafka_cluster_id_file.write_text(cluster_id + "\n")
            state = node.inspect()
            if state.state in ("running", "starting"):
                say(node.name, f"already {state.state} (pid {state.pid})")
                continue
            if state.state == "external":
                raise ServiceError(
                    f"{node.address} answers but is not our node: free port {node.cfg.kafka_port}"
                )
            node.pid_file.unlink(missing_ok=True)
            node.launch()
        if not wait_until(self.healthy, CLUSTER_START_DEADLINE_S, every_s=1.0):
            raise ServiceError(
                f"the Kafka cluster did not answer with {KAFKA_CLUSTER_NODES} brokers within "
                f"{CLUSTER_START_DEADLINE_S:.0f} s" + self.nodes[0].logs_for_failure()
            )
        say(
            self.name,
            f"ok: {KAFKA_CLUSTER_NODES} brokers at {self.bootstrap_servers} in {time.monotonic() - started:.1f} s",
        )
        return State(self.name, "running", None, self.bootstrap_servers)

    def brokers(self) -> int:
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers, "logger": _QUIET})
        try:
            return len(admin.list_topics(timeout=3).brokers)
        except KafkaException:
            return 0

    def healthy(self) -> bool:
        return self.brokers() == KAFKA_CLUSTER_NODES

    def down(self) -> bool:
        # All at once: stopped one by one, the last node waits out its stop deadline for a
        # controller quorum that left with the others.
        with ThreadPoolExecutor(len(self.nodes)) as pool:
            return all(pool.map(lambda node: node.down(), self.nodes))

    def inspect(self) -> State:
        alive = sum(node.inspect().state in ("running", "starting") for node in self.nodes)
        if alive == 0:
            return State(self.name, "stopped")
        brokers = self.brokers()
        state = "running" if brokers == KAFKA_CLUSTER_NODES else "starting"
        where = relative(self.cfg.var_dir / "kafka-cluster")
        return State(
            self.name,
            state,
            None,
            f"{brokers}/{KAFKA_CLUSTER_NODES} brokers at {self.bootstrap_servers}; {where}",
        )

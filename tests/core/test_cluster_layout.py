"""Where the local clusters' nodes live and listen (no server started)."""

from __future__ import annotations

from pathlib import Path

from scripts import services
from scripts.local_services.kafka_cluster import KafkaCluster
from scripts.local_services.redis_cluster import BUS_PORT_OFFSET, RedisCluster


def config(tmp_path: Path, **env: str) -> services.Config:
    return services.Config.from_env(
        {"ROASTBOT_VAR_DIR": str(tmp_path), "ROASTBOT_CACHE_DIR": str(tmp_path / "cache"), **env}
    )


def test_the_redis_cluster_has_six_nodes_on_their_own_ports_and_directories(tmp_path: Path) -> None:
    cluster = RedisCluster(config(tmp_path, REDIS_CLUSTER_PORT="7130"))
    assert [node.port for node in cluster.nodes] == list(range(7130, 7136))
    assert len({node.node_dir for node in cluster.nodes} | {node.pid_file for node in cluster.nodes}) == 12
    assert all(node.port + BUS_PORT_OFFSET < 7200 for node in cluster.nodes)  # bus in the same range
    assert cluster.url.startswith("redis://default:") and cluster.url.endswith("@127.0.0.1:7130/0")


def test_the_kafka_cluster_has_three_nodes_sharing_one_quorum(tmp_path: Path) -> None:
    cluster = KafkaCluster(config(tmp_path, KAFKA_CLUSTER_PORT="19150"))
    assert cluster.bootstrap_servers == "127.0.0.1:19150,127.0.0.1:19151,127.0.0.1:19152"
    values = [node.properties_values() for node in cluster.nodes]
    assert [v["node_id"] for v in values] == [1, 2, 3]
    assert {v["voters"] for v in values} == {"1@127.0.0.1:19160,2@127.0.0.1:19161,3@127.0.0.1:19162"}
    assert [v["controller_port"] for v in values] == [19160, 19161, 19162]
    assert (
        len({node.cfg.kafka_data for node in cluster.nodes} | {node.pid_file for node in cluster.nodes}) == 6
    )

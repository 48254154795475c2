"""The cluster tests really run on the cluster: the client, the key names, where keys land."""

from __future__ import annotations

import pytest
import redis
from redis.cluster import RedisCluster as ClusterClient
from redis.crc import key_slot

from roastbot.keys import RedisKeys
from roastbot.mention_store import MentionStore
from roastbot.redis_conn import connect_redis
from roastbot.settings import Settings
from scripts.local_services.redis_cluster import RedisCluster

pytestmark = pytest.mark.cluster_ci


def test_the_settings_here_give_a_cluster_client_and_tagged_keys(
    settings: Settings, redis_client: redis.Redis
) -> None:
    assert settings.redis_cluster
    assert isinstance(redis_client, ClusterClient)
    assert RedisKeys.of(settings).since_id == "{" + settings.redis_key_prefix + "}:producer:since_id"


def test_a_mention_claimed_here_lives_on_the_primary_of_the_bots_slot(
    settings: Settings, redis_cluster: RedisCluster
) -> None:
    keys = RedisKeys.of(settings)
    MentionStore(connect_redis(settings), keys, "w1").claim("100")
    primary = redis_cluster.primary_of(keys.mention_state("100"))
    # Asked directly (no redirection), the primary of the prefix's slot holds the record.
    assert primary.call("HGET", keys.mention_state("100"), "state") == "claimed"
    assert key_slot(keys.mention_state("100").encode()) == key_slot(settings.redis_key_prefix.encode())

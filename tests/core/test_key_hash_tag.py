"""Key names on a single Redis stay as they were; on a Redis Cluster every key of a bot shares one slot."""

from __future__ import annotations

import inspect

from redis.crc import key_slot

from roastbot.keys import RedisKeys
from tests.conftest import make_test_settings


def every_key(keys: RedisKeys) -> list[str]:
    """Each key name the schema builds (methods called with a sample argument)."""
    names = []
    for name, member in inspect.getmembers(type(keys)):
        if name.startswith("_") or name in {"of", "head", "every_key", "prefix", "hash_tag"}:
            continue
        if isinstance(member, property):
            names.append(getattr(keys, name))
        elif inspect.isfunction(member):
            names.append(getattr(keys, name)("42"))
    return names


def test_single_redis_key_names_are_unchanged_by_cluster_support() -> None:
    keys = RedisKeys.of(make_test_settings(redis_key_prefix="roastbot"))
    # Literal names as they are in the Redis of every bot already running: an upgrade that
    # renamed them would lose since_id and the mention states (and reply twice).
    assert keys.since_id == "roastbot:producer:since_id"
    assert keys.mention_state("42") == "roastbot:mention:42"
    assert keys.conversation_replies("7") == "roastbot:conversation:7:replies"
    assert keys.every_key == "roastbot:*"
    assert all(name.startswith("roastbot:") for name in every_key(keys))


def test_cluster_keys_carry_the_prefix_as_one_hash_tag() -> None:
    keys = RedisKeys.of(make_test_settings(redis_key_prefix="bot-a", redis_cluster=True))
    names = every_key(keys)
    assert len(names) > 30
    assert keys.mention_state("42") == "{bot-a}:mention:42"
    assert keys.every_key == "{bot-a}:*"
    assert {key_slot(name.encode()) for name in names} == {key_slot(b"bot-a")}


def test_two_bots_on_one_cluster_land_in_their_own_slots() -> None:
    first = RedisKeys("bot-a", hash_tag=True).since_id
    second = RedisKeys("bot-b", hash_tag=True).since_id
    assert key_slot(first.encode()) != key_slot(second.encode())

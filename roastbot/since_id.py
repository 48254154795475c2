"""since_id: the newest mention whose batch Kafka acknowledged, kept in Redis.

It only moves forward (a slow leader that lost its lease must not move it back), and when
Redis lost it, the newest mention on the mentions topic stands in for it.
"""

from __future__ import annotations

from confluent_kafka import TopicPartition

from roastbot.kafka_wiring import make_reader
from roastbot.keys import RedisKeys
from roastbot.models import InvalidMessage, Mention
from roastbot.redis_conn import RedisClient
from roastbot.settings import Settings

_ADVANCE = """
local current = redis.call('GET', KEYS[1])
if current == false or string.len(ARGV[1]) > string.len(current)
   or (string.len(ARGV[1]) == string.len(current) and ARGV[1] > current) then
  redis.call('SET', KEYS[1], ARGV[1])
  return 1
end
return 0
"""


class SinceId:
    def __init__(self, settings: Settings, client: RedisClient, keys: RedisKeys) -> None:
        self.settings = settings
        self.client = client
        self.key = keys.since_id
        self._advance = client.register_script(_ADVANCE)

    def get(self) -> str | None:
        return self.client.get(self.key)

    def advance(self, mention_id: str) -> None:
        """Set it to ``mention_id`` unless it already is newer."""
        self._advance(keys=[self.key], args=[mention_id])

    def recover_from_kafka(self, tail: int = 50) -> str | None:
        """The newest mention id in the last ``tail`` messages of each partition (replays
        aside), stored as since_id; None when the topic holds none."""
        reader = make_reader(self.settings)
        try:
            topic = self.settings.kafka_topic_mentions
            metadata = reader.list_topics(topic, timeout=10).topics.get(topic)
            if metadata is None:
                return None
            newest: str | None = None
            for partition in metadata.partitions:
                low, high = reader.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
                if high <= low:
                    continue
                start = max(low, high - tail)
                reader.assign([TopicPartition(topic, partition, start)])
                for message in reader.consume(num_messages=high - start, timeout=10):
                    if message.error() is not None:
                        continue
                    try:
                        mention = Mention.from_bytes(message.value())
                    except InvalidMessage:
                        continue
                    if mention.replay_of is None and (newest is None or int(mention.id) > int(newest)):
                        newest = mention.id
            if newest is not None:
                self.advance(newest)
            return newest
        finally:
            reader.close()

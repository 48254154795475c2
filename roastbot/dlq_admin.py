"""The operator's view of the dead-letter topic: browse, replay, discard, follow up.

Browsing uses an unassigned reader (``assign``, never ``subscribe``, never commit), so
it moves no consumer group. A replay publishes the original mention back to the
mentions topic with ``replay_of`` set to the dead letter's coordinates
(``topic:partition:offset``); consumers then reopen the mention's ``dead_lettered``
state once. Each dead letter is replayed at most once per click: the click's id is
claimed in Redis before anything is produced. Discarding only hides a dead letter in
the console (Kafka's retention removes it). Every record here is capped.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, KafkaException, Message, Producer, TopicPartition

from roastbot.kafka_wiring import make_reader
from roastbot.keys import RedisKeys
from roastbot.models import InvalidMessage, Mention
from roastbot.redis_conn import RedisClient
from roastbot.settings import Settings

REPLAY_RECORDS_CAP = 10_000  # replay results kept (oldest dropped first)
DISCARDED_CAP = 10_000  # hidden dead letters remembered (older ones are past retention anyway)

# Claim one dead letter for one click: 0 when this click already replayed it.
# KEYS[1] records hash, KEYS[2] index zset. ARGV: coordinates, click id, record JSON, now.
_CLAIM_FOR_CLICK = """
local previous = redis.call('HGET', KEYS[1], ARGV[1])
if previous then
  local ok, decoded = pcall(cjson.decode, previous)
  if ok and decoded['click_id'] == ARGV[2] then
    return 0
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
return 1
"""


@dataclass(frozen=True)
class ReplayKeys:
    records: str  # hash coordinates -> JSON replay record
    index: str  # zset coordinates -> replay time, to cap the records
    discarded: str  # zset coordinates -> discard time (hidden in the console)


def replay_keys(keys: RedisKeys) -> ReplayKeys:
    """The console's dead-letter keys, as the key schema names them."""
    return ReplayKeys(
        records=keys.replayed_dead_letters,
        index=keys.replayed_dead_letters_index,
        discarded=keys.discarded_dead_letters,
    )


def coordinates(topic: str, partition: int, offset: int) -> str:
    return f"{topic}:{partition}:{offset}"


def _header(headers: dict[str, str], name: str) -> str:
    return headers.get(name, "")


def _float_or_none(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class DeadLetterMessage:
    """One message of the dead-letter topic, with its headers decoded."""

    topic: str
    partition: int
    offset: int
    timestamp: float | None
    key: bytes | None
    value: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def coordinates(self) -> str:
        return coordinates(self.topic, self.partition, self.offset)

    @property
    def reason(self) -> str:
        return _header(self.headers, "dlq.reason") or "unknown"

    @property
    def error(self) -> str:
        return _header(self.headers, "dlq.error")

    @property
    def attempts(self) -> int:
        value = _header(self.headers, "dlq.attempts")
        return int(value) if value.isdigit() else 0

    @property
    def first_seen(self) -> float | None:
        return _float_or_none(_header(self.headers, "dlq.first_seen"))

    @property
    def dead_lettered_at(self) -> float | None:
        return _float_or_none(_header(self.headers, "dlq.dead_lettered_at")) or self.timestamp

    @property
    def source(self) -> str:
        return _header(self.headers, "dlq.source")

    def mention(self) -> Mention:
        """The original mention; raises InvalidMessage when the bytes never were one."""
        return Mention.from_bytes(self.value)

    def mention_or_none(self) -> Mention | None:
        try:
            return self.mention()
        except InvalidMessage:
            return None


class DeadLetterBrowseError(Exception):
    """Kafka could not be read (down, or the topic is missing)."""


def browse(settings: Settings, per_partition: int = 500, timeout_s: float = 5.0) -> list[DeadLetterMessage]:
    """The newest ``per_partition`` dead letters of each partition, newest first."""
    topic = settings.kafka_topic_dlq
    reader = make_reader(settings, **{"enable.partition.eof": True})
    try:
        metadata = reader.list_topics(topic, timeout=timeout_s).topics.get(topic)
        if metadata is None or metadata.error is not None:
            if metadata is not None and metadata.error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                return []
            raise DeadLetterBrowseError(f"topic {topic}: {metadata.error if metadata else 'missing'}")
        wanted: dict[int, int] = {}
        assignment = []
        for partition in sorted(metadata.partitions):
            low, high = reader.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout_s)
            if high > low:
                start = max(low, high - per_partition)
                wanted[partition] = high
                assignment.append(TopicPartition(topic, partition, start))
        if not assignment:
            return []
        reader.assign(assignment)
        letters: list[DeadLetterMessage] = []
        deadline = time.monotonic() + timeout_s
        pending = set(wanted)
        while pending and time.monotonic() < deadline:
            for message in reader.consume(num_messages=500, timeout=0.5):
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        pending.discard(message.partition())
                        continue
                    raise DeadLetterBrowseError(str(error))
                letters.append(_letter(message))
                if message.offset() + 1 >= wanted[message.partition()]:
                    pending.discard(message.partition())
        letters.sort(key=lambda letter: (letter.dead_lettered_at or 0, letter.offset), reverse=True)
        return letters
    except KafkaException as error:
        raise DeadLetterBrowseError(str(error.args[0] if error.args else error)) from None
    finally:
        reader.close()


def _letter(message: Message) -> DeadLetterMessage:
    headers = {name: (value or b"").decode("utf-8", "replace") for name, value in (message.headers() or [])}
    kind, stamp = message.timestamp()
    return DeadLetterMessage(
        topic=message.topic(),
        partition=message.partition(),
        offset=message.offset(),
        timestamp=stamp / 1000 if kind and stamp > 0 else None,
        key=message.key(),
        value=message.value() or b"",
        headers=headers,
    )


# --- discard ---------------------------------------------------------------------------
def discard(client: RedisClient, keys: RedisKeys, letters: Iterable[str]) -> int:
    """Hide dead letters (by coordinates) in the console; returns how many were newly hidden."""
    names = list(dict.fromkeys(letters))
    if not names:
        return 0
    target = replay_keys(keys).discarded
    pipe = client.pipeline(transaction=True)
    pipe.zadd(target, dict.fromkeys(names, time.time()), nx=True)
    pipe.zremrangebyrank(target, 0, -DISCARDED_CAP - 1)
    added, _ = pipe.execute()
    return int(added)


def discarded(client: RedisClient, keys: RedisKeys) -> set[str]:
    return set(client.zrange(replay_keys(keys).discarded, 0, -1))


# --- replay ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ReplayOutcome:
    """What one click did to one dead letter."""

    coordinates: str
    mention_id: str
    status: str  # sent | already_replayed_by_this_click | not_replayable | failed
    detail: str = ""


def replay(
    client: RedisClient,
    keys: RedisKeys,
    producer: Producer,
    settings: Settings,
    letters: Sequence[DeadLetterMessage],
    actor: str,
    click_id: str,
    timeout_s: float = 15.0,
) -> list[ReplayOutcome]:
    """Publish each dead letter's mention again, once for this click, and record the result."""
    target = replay_keys(keys)
    claim = client.register_script(_CLAIM_FOR_CLICK)
    outcomes: dict[str, ReplayOutcome] = {}
    deliveries: dict[str, list[KafkaError | Message | None]] = {}
    records: dict[str, dict[str, object]] = {}
    unique = {letter.coordinates: letter for letter in letters}
    for coords, letter in unique.items():
        try:
            mention = letter.mention()
        except InvalidMessage as error:
            outcomes[coords] = ReplayOutcome(coords, "", "not_replayable", str(error))
            continue
        now = time.time()
        record: dict[str, object] = {
            "coordinates": coords,
            "mention_id": mention.id,
            "click_id": click_id,
            "actor": actor,
            "reason": letter.reason,
            "replayed_at": now,
            "status": "sending",
        }
        if not claim(keys=[target.records, target.index], args=[coords, click_id, json.dumps(record), now]):
            outcomes[coords] = ReplayOutcome(coords, mention.id, "already_replayed_by_this_click")
            continue
        records[coords] = record
        deliveries[coords] = []
        replayed = mention.model_copy(update={"replay_of": coords})

        def on_delivery(error: KafkaError | None, message: Message, box: list = deliveries[coords]) -> None:
            box.extend([error, message])

        try:
            producer.produce(
                settings.kafka_topic_mentions,
                key=letter.key or mention.conversation_id.encode(),
                value=replayed.to_bytes(),
                on_delivery=on_delivery,
            )
        except (BufferError, KafkaException) as error:
            deliveries[coords].extend([KafkaError(KafkaError._FAIL, str(error)), None])
        producer.poll(0)
    deadline = time.monotonic() + timeout_s
    while any(not box for box in deliveries.values()) and time.monotonic() < deadline:
        producer.poll(0.1)
    for coords, box in deliveries.items():
        record = records[coords]
        if box and box[0] is None:
            message = box[1]
            record.update(status="sent", replay_partition=message.partition(), replay_offset=message.offset())
            outcomes[coords] = ReplayOutcome(coords, str(record["mention_id"]), "sent")
        else:
            detail = str(box[0]) if box else f"no acknowledgement within {timeout_s:.0f}s"
            record.update(status="failed", error=detail)
            outcomes[coords] = ReplayOutcome(coords, str(record["mention_id"]), "failed", detail)
        client.hset(target.records, coords, json.dumps(record))
    _trim_records(client, target)
    return [outcomes[coords] for coords in unique]


def _trim_records(client: RedisClient, target: ReplayKeys) -> None:
    excess = client.zcard(target.index) - REPLAY_RECORDS_CAP
    if excess > 0:
        oldest = [name for name, _score in client.zpopmin(target.index, excess)]
        if oldest:
            client.hdel(target.records, *oldest)


# --- follow-up -------------------------------------------------------------------------
@dataclass(frozen=True)
class ReplayRecord:
    """A past replay and what became of its mention since."""

    coordinates: str
    mention_id: str
    actor: str
    replayed_at: float
    status: str  # sending | sent | failed
    error: str
    mention_state: dict[str, str]

    @property
    def what_happened(self) -> str:
        """One line for the operator, from the mention's state hash."""
        if self.status == "failed":
            return f"replay not published: {self.error}"
        if self.status == "sending":
            return "publishing"
        state = self.mention_state.get("state", "")
        updated = float(self.mention_state.get("updated_at") or 0)
        reason = self.mention_state.get("reason", "")
        if not state or (updated < self.replayed_at and state == "dead_lettered"):
            return "waiting for a consumer"
        if state == "posted":
            return f"replied ({self.mention_state.get('reply_id', '')})"
        if state == "dead_lettered":
            return f"dead-lettered again: {reason}"
        if state == "skipped":
            return f"skipped: {reason}"
        if state == "pending_approval":
            return "waiting for approval"
        return f"in progress: {state}"

    @property
    def reply_id(self) -> str:
        return self.mention_state.get("reply_id", "") if self.mention_state.get("state") == "posted" else ""


def replay_history(client: RedisClient, keys: RedisKeys, limit: int = 200) -> list[ReplayRecord]:
    """The newest replays with their mentions' current state."""
    target = replay_keys(keys)
    names = client.zrevrange(target.index, 0, limit - 1)
    if not names:
        return []
    raw_records = client.hmget(target.records, names)
    decoded = [json.loads(raw) for raw in raw_records if raw]
    pipe = client.pipeline(transaction=False)
    for record in decoded:
        pipe.hgetall(keys.mention_state(str(record.get("mention_id", ""))))
    states = pipe.execute()
    return [
        ReplayRecord(
            coordinates=str(record.get("coordinates", "")),
            mention_id=str(record.get("mention_id", "")),
            actor=str(record.get("actor", "")),
            replayed_at=float(record.get("replayed_at") or 0),
            status=str(record.get("status", "")),
            error=str(record.get("error", "")),
            mention_state=state,
        )
        for record, state in zip(decoded, states, strict=True)
    ]


def replay_records(
    client: RedisClient, keys: RedisKeys, names: Sequence[str]
) -> dict[str, dict[str, object]]:
    """coordinates -> latest replay record for the given dead letters (to mark rows)."""
    if not names:
        return {}
    raw_records = client.hmget(replay_keys(keys).records, list(names))
    return {name: json.loads(raw) for name, raw in zip(names, raw_records, strict=True) if raw}

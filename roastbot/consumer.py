"""The consumer loop: Kafka in, a bounded pool of handlers, offsets out in order.

The poll loop runs on the main thread (librdkafka's consumer is not shared across
threads); handlers run in a pool, each message through the runner (``roastbot.runner``),
and operators' approval decisions through the same runner on a thread of their own.
Offsets are committed up to the oldest unfinished message per partition, so completion
may be out of order and nothing is skipped. A message our own code fails on every time is
dead-lettered (``bug:<Type>``) after CONSUMER_BUG_ATTEMPTS, so its partition moves on; an
outage of Redis or Kafka that outlasts CONSUMER_OUTAGE_PATIENCE_S stops this loop (its
work handed back, uncommitted) and raises ``Outage``, for the worker to start a new loop.

Flow control: the loop reads ahead into a local buffer of at most `concurrency`
messages, so a freed slot starts its next mention at once. Fetching pauses when the
buffer is full and resumes when it is half empty: pausing per message instead made
librdkafka drop its prefetched batch and fetch again for every freed slot, which
held one process to about 16 one-second roasts per second with 32 slots.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import redis
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from roastbot.approvals import ApprovalDecision
from roastbot.control import Control
from roastbot.dead_letters import LetterSource
from roastbot.kafka_wiring import ensure_topics, librdkafka_log, make_consumer
from roastbot.offsets import OffsetTracker
from roastbot.redis_conn import redis_round_trips
from roastbot.retry import Interrupted, Outage, is_infrastructure
from roastbot.roasting import Roaster
from roastbot.runner import MentionRunner, build_runner
from roastbot.settings import Settings
from roastbot.telemetry import Telemetry
from roastbot.x_gateway import XGateway

log = logging.getLogger(__name__)

COMMIT_EVERY_S = 1.0
SWITCH_CHECK_EVERY_S = 0.5
HEARTBEAT_EVERY_S = 2.0
REVOKE_WAIT_S = 20.0
COMMIT_ANSWER_WAIT_S = 5.0  # at shutdown, for the last commit's answer; unanswered, it is redone


class MentionConsumer:
    def __init__(
        self,
        settings: Settings,
        runner: MentionRunner,
        telemetry: Telemetry,
        kafka_producer: Producer,
        stop_event: threading.Event,
        process_stop: threading.Event | None = None,
    ) -> None:
        self.settings = settings
        self.runner = runner
        self.policy = runner.policy
        self.telemetry = telemetry
        self.kafka_producer = kafka_producer
        self.stop_event = stop_event  # this loop's: set by shutdown, an outage, or the process
        self.process_stop = process_stop or stop_event
        self.control = Control(telemetry.client, runner.control.keys)
        self.outage: BaseException | None = None
        self.policy.listen(self._note_failure)
        self._keeper_stop = threading.Event()  # claims stay renewed until every handler is done
        self.offsets = OffsetTracker()
        self.pool = ThreadPoolExecutor(
            max_workers=settings.consumer_concurrency, thread_name_prefix="mention"
        )
        self.slots = threading.BoundedSemaphore(settings.consumer_concurrency)
        # Read ahead: fetched, counted as unfinished by the tracker, not started yet.
        self.buffered: deque[Message] = deque()
        # Handlers running now, per partition: what a revoke has to wait for.
        self.running: Counter[int] = Counter()
        self.running_lock = threading.Lock()
        self.buffer_high = settings.consumer_concurrency
        self.buffer_low = settings.consumer_concurrency // 2
        self.consumer: Consumer | None = None
        self.assigned: set[int] = set()
        self.kafka_log = librdkafka_log(settings.kafka_bootstrap_servers)
        self.paused = False  # by an operator
        self.throttled = False  # by a full read-ahead buffer
        self.last_error = ""
        self.commits_sent = self.commits_answered = 0  # async commits, and answers to them

    # --- rebalance callbacks (called inside poll, on this thread) ------------------
    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.assigned |= {tp.partition for tp in partitions}
        self.kafka_log.answered()
        log.info("assigned partitions %s", sorted(tp.partition for tp in partitions))
        # Assigned here (not after this callback) so the pause state is set before fetching
        # starts, and set both ways: librdkafka keeps a partition's pause flag after it is
        # revoked or lost, and our resume() reaches only the partitions held at the time, so a
        # partition paused by the throttle or an operator that left before the resume came
        # back paused for good (the broker-restart stall: every partition held, none fetched).
        consumer.incremental_assign(partitions)
        if self.paused or self.throttled:
            consumer.pause(partitions)
        else:
            consumer.resume(partitions)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        numbers = {tp.partition for tp in partitions}
        log.info("revoking partitions %s", sorted(numbers))
        # Buffered messages never started, and messages whose handler was interrupted, are
        # handed back: they stay unfinished in the tracker, so the commit below stops at the
        # oldest of them. Only running handlers are waited for.
        self.buffered = deque(m for m in self.buffered if m.partition() not in numbers)
        deadline = time.monotonic() + REVOKE_WAIT_S
        while self._running_on(numbers) and time.monotonic() < deadline:
            time.sleep(0.05)  # bounded wait inside librdkafka's callback for our own handlers
        self._commit(numbers)
        self.offsets.forget(numbers)
        self.assigned -= numbers

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Said apart from a revoke: the group may already have given these partitions to others,
        # and the commit the revoke tries fails (the group no longer knows this member).
        log.warning(
            "lost partitions %s: no answer from the group within the session timeout, or no poll "
            "within max.poll.interval.ms; they are redelivered from the last commit",
            sorted(tp.partition for tp in partitions),
        )
        self._on_revoke(consumer, partitions)

    # --- the loop ------------------------------------------------------------------
    def run(self) -> None:
        ensure_topics(self.settings)
        consumer = make_consumer(self.settings, on_commit=self._on_committed)
        self.consumer = consumer
        consumer.subscribe(
            [self.settings.kafka_topic_mentions],
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
        log.info("consumer started with concurrency %d", self.settings.consumer_concurrency)
        next_commit = next_switch = next_beat = 0.0
        try:
            self.runner.store.approvals.join()
            self.runner.store.run_keeper(self._keeper_stop)
            decisions = threading.Thread(target=self._follow_decisions, name="approvals", daemon=True)
            decisions.start()
            while not self.stop_event.is_set():
                if self.process_stop.is_set():
                    break
                now = time.monotonic()
                if now >= next_switch:
                    self._apply_switches()
                    next_switch = now + SWITCH_CHECK_EVERY_S
                if now >= next_beat:
                    self._beat()
                    next_beat = now + HEARTBEAT_EVERY_S
                if now >= next_commit:
                    self._commit()
                    next_commit = now + COMMIT_EVERY_S
                self._dispatch()
                self._throttle()
                # Poll even when the buffer is full: rebalance callbacks run inside poll().
                message = consumer.poll(self._poll_timeout())
                if message is None:
                    continue
                if message.error() is not None:
                    self._on_kafka_error(message.error())
                    continue
                self.kafka_log.answered()
                self.offsets.started(message.partition(), message.offset())
                self.buffered.append(message)
        finally:
            self._shutdown()
        if self.outage is not None:
            raise Outage(f"consumer loop stopped by an outage: {self.outage}") from self.outage

    def _handle(self, message: Message) -> None:
        """Run one message to its end; a shutdown or an outage leaves it unfinished."""
        if self._attempt(lambda: self.runner.run_message(message), LetterSource.of_message(message), None):
            self.offsets.finished(message.partition(), message.offset())

    def _attempt(
        self, work: Callable[[], None], source: LetterSource | None, decision: ApprovalDecision | None
    ) -> bool:
        """``work`` under the handling policy; True once it is done or given up as a bug."""
        try:
            for attempt in self.policy.handling():
                with attempt:
                    work()
        except Interrupted:
            return False
        except Exception as error:
            self.last_error = f"{type(error).__name__}: {error}"
            if is_infrastructure(error):
                self._stop_for_outage(error)
                return False
            try:
                self.runner.dead_letter_bug(source, decision, error, self.policy.bug_attempts)
            except Exception as failure:  # even that failed: keep the work for the next loop
                log.error("could not dead-letter after a bug: %s", failure, exc_info=True)
                self._stop_for_outage(failure)
                return False
        return True

    def _note_failure(self, what: str, error: BaseException) -> None:
        self.last_error = f"{what}: {type(error).__name__}: {error}"

    def _stop_for_outage(self, error: BaseException) -> None:
        if self.outage is None:
            self.outage = error
            log.error("stopping the consumer loop for a restart: %s", error)
        self.stop_event.set()

    def _follow_decisions(self) -> None:
        """Operators' approval decisions, applied by whichever consumer reads them first."""
        approvals = self.runner.store.approvals
        while not self.stop_event.is_set():
            try:
                for decision in approvals.next_decisions(block_s=1.0, idle_s=self.settings.claim_lease_s):
                    if self._attempt(lambda d=decision: self.runner.run_decision(d), None, decision):
                        approvals.done(decision)
                    else:
                        approvals.put_down(decision)
            except Exception as error:  # Redis down: the decisions stay in the stream
                self.last_error = f"approvals: {error}"
                log.warning("approval decisions unreadable: %s", error)
                self.stop_event.wait(2.0)

    def _dispatch(self) -> None:
        """Start buffered mentions in free slots; an operator's pause starts nothing new."""
        while self.buffered and not self.paused and self.slots.acquire(blocking=False):
            message = self.buffered.popleft()
            partition = message.partition()
            with self.running_lock:
                self.running[partition] += 1
            future = self.pool.submit(self._handle, message)
            future.add_done_callback(lambda _f, partition=partition: self._done(partition))

    def _done(self, partition: int) -> None:
        with self.running_lock:
            self.running[partition] -= 1
        self.slots.release()

    def _running_on(self, partitions: set[int] | None = None) -> int:
        with self.running_lock:
            return sum(n for p, n in self.running.items() if partitions is None or p in partitions)

    def _poll_timeout(self) -> float:
        """Block in poll() only when nothing is waiting for a slot."""
        if not self.buffered or self.paused:
            return 0.2
        # Every slot busy: wait for one here rather than spin on poll(0).
        if self.slots.acquire(timeout=0.2):
            self.slots.release()
        return 0.0

    def _throttle(self) -> None:
        """Stop fetching while the buffer is full; fetch again once it is half empty."""
        if self.consumer is None:
            return
        if not self.throttled and len(self.buffered) >= self.buffer_high:
            full = True
        elif self.throttled and len(self.buffered) <= self.buffer_low:
            full = False
        else:
            return
        self.throttled = full
        if not self.paused:  # an operator's pause stays in force either way
            partitions = self.consumer.assignment()
            if full:
                self.consumer.pause(partitions)
            else:
                self.consumer.resume(partitions)

    def _apply_switches(self) -> None:
        try:
            paused = self.control.switches().paused
        except redis.RedisError as error:
            self.last_error = f"redis: {error}"
            return
        if self.consumer is None or (not paused and not self.paused):
            return
        # Re-applied while paused, so partitions assigned after the pause are paused too.
        partitions = self.consumer.assignment()
        if paused:
            self.consumer.pause(partitions)
        elif not self.throttled:
            self.consumer.resume(partitions)
        if paused != self.paused:
            log.info("consumption %s", "paused" if paused else "resumed")
        self.paused = paused

    def _commit(self, partitions: set[int] | None = None) -> None:
        """Send the commit points that moved, without waiting for the answer: a synchronous
        commit to a broker that had just restarted blocked this thread for minutes (seen in
        CI: the loop stopped polling while it held its partitions, until max.poll.interval.ms
        passed), a known hazard of librdkafka's synchronous commit. The answer comes back in
        poll() (``_on_committed``); a point not confirmed yet is sent again next time."""
        if self.consumer is None:
            return
        points = self.offsets.commit_points(partitions)
        if not points:
            return
        offsets = [TopicPartition(self.settings.kafka_topic_mentions, p, o) for p, o in points.items()]
        try:
            self.consumer.commit(offsets=offsets, asynchronous=True)
            self.commits_sent += 1
        except KafkaException as error:
            # Nothing is lost: the same points are tried again next time.
            self.last_error = f"commit: {error}"
            log.warning("commit failed: %s", error)

    def _on_committed(self, error: KafkaError | None, partitions: list[TopicPartition]) -> None:
        """Kafka's answer to a commit (called inside poll, on this thread)."""
        self.commits_answered += 1
        failed = [tp for tp in partitions if tp.error is not None]
        if error is not None or failed:
            # Nothing is lost: unconfirmed points are sent again next time.
            self.last_error = f"commit: {error or failed[0].error}"
            log.warning("commit failed: %s", error or [(tp.partition, tp.error) for tp in failed])
        self.offsets.mark_committed(
            {tp.partition: tp.offset for tp in partitions if tp.error is None and error is None}
        )

    def _await_commits(self, timeout_s: float) -> None:
        """Poll (it delivers the answers) until every commit sent is answered or time is up; a
        message read meanwhile is never started, so it is redelivered."""
        deadline = time.monotonic() + timeout_s
        while self.consumer and self.commits_answered < self.commits_sent and time.monotonic() < deadline:
            self.consumer.poll(0.1)

    def _on_kafka_error(self, error: KafkaError) -> None:
        self.last_error = f"kafka: {error}"
        self._safe_count("failed:kafka")
        log.warning("kafka: %s", error)
        if error.fatal():
            raise KafkaException(error)

    def _beat(self) -> None:
        try:
            self.telemetry.heartbeat(
                self.settings.heartbeat_ttl_s,
                status="paused" if self.paused else "running",
                partitions=",".join(map(str, sorted(self.assigned))),
                in_flight=self._running_on(),
                buffered=len(self.buffered),
                last_error=self.last_error,
                redis_round_trips=redis_round_trips(),  # the bench divides it by mentions
            )
        except redis.RedisError as error:
            self.last_error = f"redis: {error}"

    def _safe_count(self, event: str) -> None:
        with contextlib.suppress(redis.RedisError):
            self.telemetry.count(event)

    def _shutdown(self) -> None:
        """Stop taking work, let handlers finish or hand back, commit, leave the group."""
        log.info("consumer stopping: %d in flight", self.offsets.in_flight())
        self.stop_event.set()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self._keeper_stop.set()
        self._commit()
        self._await_commits(COMMIT_ANSWER_WAIT_S)
        if self.consumer is not None:
            self.consumer.close()
        self.kafka_producer.flush(10)
        with contextlib.suppress(redis.RedisError):
            self.telemetry.clear_heartbeat()
        log.info("consumer stopped")


def build_consumer(
    settings: Settings,
    *,
    telemetry: Telemetry,
    gateway: XGateway,
    roaster: Roaster,
    kafka_producer: Producer,
    process_stop: threading.Event,
) -> MentionConsumer:
    """One consumer loop and its runner, with a stop event of their own: a loop stopped by
    an outage is replaced by a new one while the process (``process_stop``) goes on."""
    loop_stop = threading.Event()
    runner = build_runner(
        settings,
        telemetry=telemetry,
        gateway=gateway,
        roaster=roaster,
        kafka_producer=kafka_producer,
        stop_event=loop_stop,
    )
    return MentionConsumer(settings, runner, telemetry, kafka_producer, loop_stop, process_stop)

"""One consumer instance: its Kafka consumer, the records fetched but not yet handed out, and
the offsets handed out, which are all that a commit (explicit or automatic) ever commits.

aiokafka joins the group and prefetches in its own background tasks; a read takes what is
buffered and waits, up to its timeout, only when nothing is. Records that did not fit a
response stay at the head of `_pending` for the next read, so `max_bytes` never loses one.
Callers hold `lock` around every request, which serialises an instance's requests; the
rebalance listener and the periodic auto-commit are the things that run beside them; the
listener bumps `_generation` when it takes records away, so that a read in progress notices.

Once a response has gone out, the instance prepares the next one in the background (under
`lock`, like a request): it takes what aiokafka has buffered, without waiting, into
`_pending` and writes the body of a read like the last one. The client parses its answer
meanwhile, and the next read finds its body ready, unless anything changed `_pending` (that
bumps `_generation`) or it asks for another dialect or `max_bytes`. Prepared records are
only pending ones: never handed out, never committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata

from bridge.consumers.config import ConsumerConfig
from bridge.consumers.records import KafkaRecord, RecordsWriter, record_size, render_records
from bridge.errors import BridgeError, ErrorKind
from bridge.kafka.failures import kafka_call, kafka_failure
from bridge_codecs.base import Codec

log = logging.getLogger(__name__)

#: A read waits for records in slices this long, so that deleting the instance or a broker
#: that stalls a fetch (seen on rebalances) never holds a request past its own timeout.
_FETCH_SLICE_S = 0.5
_STALL_MARGIN_S = 0.5
#: Bound on each call to Kafka that a request waits for (commits, seeks, offset look-ups).
KAFKA_TIMEOUT_S = 15.0
#: Bound on taking buffered records for the next response: it asks aiokafka not to wait,
#: but a rebalance can hold the call, and with it the instance.
_PREPARE_TIMEOUT_S = 0.1


@dataclass(frozen=True)
class CommittedOffset:
    topic: str
    partition: int
    #: The offset committed: that of the next record the group will read.
    offset: int


@dataclass
class Handout:
    """The records one read hands out, and how to take them back if the response fails."""

    #: The response body in parts, to be written in order: the records as JSON, in the shape
    #: the read's writer gave them.
    parts: list[bytes]
    taken: list[KafkaRecord] = field(default_factory=list)
    #: The bytes of key and value of the records taken (what `max_bytes` counts).
    size: int = 0
    #: Each partition's handed-out offset before this read (None: nothing before).
    previous: dict[TopicPartition, int | None] = field(default_factory=dict)


@dataclass(frozen=True)
class _Prepared:
    """The next response, prepared in the background: good for a read with the same
    writer and `max_bytes` while `_pending` has not changed (`generation`)."""

    generation: int
    write: RecordsWriter
    max_bytes: int
    taken: list[KafkaRecord]
    size: int
    parts: list[bytes]


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, instance: ConsumerInstance) -> None:
        self._instance = instance

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        await self._instance.partitions_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        self._instance.assignment_arrived.set()


def _tp(record: KafkaRecord) -> TopicPartition:
    return TopicPartition(record.topic, record.partition)


class ConsumerInstance:
    def __init__(
        self,
        config: ConsumerConfig,
        consumer: AIOKafkaConsumer,
        codec: Codec,
        *,
        max_poll_records: int,
        auto_commit_interval_s: float,
    ) -> None:
        self.config = config
        self.codec = codec
        self.lock = asyncio.Lock()
        self.last_used = time.monotonic()
        self.closing = False
        self._consumer = consumer
        self._max_poll_records = max_poll_records
        self._auto_commit_interval_s = auto_commit_interval_s
        self._listener = _Rebalance(self)
        self._pending: deque[KafkaRecord] = deque()
        self._generation = 0
        #: Per partition, the offset after the last record handed out.
        self._delivered: dict[TopicPartition, int] = {}
        #: Per partition, the offset this instance last committed.
        self._committed: dict[TopicPartition, int] = {}
        self._subscribed = False
        self._pattern: str | None = None
        self._assigned_manually = False
        self._auto_commit_task: asyncio.Task[None] | None = None
        self._preparing: asyncio.Task[None] | None = None
        self._prepared: _Prepared | None = None
        #: Set by each assignment of the group; cleared when subscribing anew.
        self.assignment_arrived = asyncio.Event()

    @classmethod
    async def open(
        cls,
        config: ConsumerConfig,
        consumer: AIOKafkaConsumer,
        codec: Codec,
        *,
        max_poll_records: int,
        auto_commit_interval_s: float,
    ) -> ConsumerInstance:
        try:
            async with kafka_call(f"starting consumer '{config.name}'", KAFKA_TIMEOUT_S):
                await consumer.start()
        except BaseException:
            await consumer.stop()
            raise
        instance = cls(
            config,
            consumer,
            codec,
            max_poll_records=max_poll_records,
            auto_commit_interval_s=auto_commit_interval_s,
        )
        if config.auto_commit:
            instance._auto_commit_task = asyncio.create_task(
                instance._auto_commit(), name=f"auto-commit {config.group}/{config.name}"
            )
        return instance

    def touch(self) -> None:
        self.last_used = time.monotonic()

    # --- what the instance reads from

    def subscription(self) -> tuple[list[str], dict[str, list[int]]]:
        """The subscribed topics (none when assigned by hand) and the assigned partitions."""
        topics = sorted(self._consumer.subscription()) if self._subscribed else []
        partitions: dict[str, list[int]] = {}
        for tp in sorted(self._consumer.assignment()):
            partitions.setdefault(tp.topic, []).append(tp.partition)
        return topics, partitions

    def assignment(self) -> list[TopicPartition]:
        return sorted(self._consumer.assignment())

    async def subscribe(self, topics: list[str], pattern: str | None) -> None:
        """Replace the subscription; no topics and no pattern unsubscribes."""
        if self._assigned_manually:
            raise _exclusive()
        if not topics and pattern is None:
            await self.unsubscribe()
            return
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise BridgeError(
                    ErrorKind.INVALID_BODY, f"topic_pattern {pattern!r} is not a valid regex: {exc}"
                ) from None
        if self._subscribed and (pattern is None) != (self._pattern is None):
            # Kafka clients cannot switch between topics and a pattern in place.
            await self.unsubscribe()
        if pattern is not None:
            self._consumer.subscribe(pattern=pattern, listener=self._listener)
        else:
            leaving = {tp for tp in self._consumer.assignment() if tp.topic not in topics}
            await self._release(leaving)
            self._consumer.subscribe(topics=topics, listener=self._listener)
        self._subscribed = True
        self._pattern = pattern
        self.assignment_arrived.clear()

    async def subscribe_for_topic_read(self, topic: str) -> None:
        """v1: the first read subscribes to its topic; a read of another topic conflicts."""
        if not self._subscribed and not self._assigned_manually:
            await self.subscribe([topic], None)
            return
        if self._subscribed and set(self._consumer.subscription()) == {topic}:
            return
        current = ", ".join(sorted(self._consumer.subscription())) or "partitions by hand"
        raise BridgeError(
            ErrorKind.CONSUMER_ALREADY_SUBSCRIBED,
            f"Consumer '{self.config.name}' already consumes {current}; it cannot read topic "
            f"'{topic}'. All topics must be subscribed in one request.",
        )

    async def assign(self, partitions: list[TopicPartition]) -> None:
        """Replace the manual assignment; an empty list clears it."""
        if self._subscribed:
            raise _exclusive()
        if not partitions:
            await self.unsubscribe()
            return
        await self._release(set(self._consumer.assignment()) - set(partitions))
        self._consumer.assign(partitions)
        self._assigned_manually = True

    async def unsubscribe(self) -> None:
        await self._release(set(self._consumer.assignment()))
        self._consumer.unsubscribe()
        self._subscribed = self._assigned_manually = False

    async def _release(self, partitions: set[TopicPartition]) -> None:
        """Before partitions go away: commit what was handed out (auto-commit), drop the rest."""
        if self.config.auto_commit:
            await self._commit_quietly(partitions)
        self._forget(partitions)

    def _forget(self, partitions: set[TopicPartition]) -> None:
        if not partitions:
            return
        kept = [r for r in self._pending if _tp(r) not in partitions]
        if len(kept) != len(self._pending):
            self._pending = deque(kept)
            self._generation += 1
        for tp in partitions:
            self._delivered.pop(tp, None)
            self._committed.pop(tp, None)

    async def partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """The group took partitions away: records fetched for them go to their new owner."""
        await self._release(revoked)

    # --- reading

    async def read(self, timeout_ms: int, max_bytes: int, write: RecordsWriter) -> Handout:
        """Hand out the next records, written by `write` into a response body: as many as
        fit `max_bytes`, waiting up to `timeout_ms` for the first. Raises RESPONSE_TOO_LARGE
        (the record stays next) when the next record alone exceeds `max_bytes`, and
        RECORD_NOT_DECODABLE when it is not in the consumer's format or cannot be written
        (records before it are handed out first)."""
        if not self._subscribed and not self._assigned_manually:
            raise BridgeError(
                ErrorKind.CONSUMER_NOT_SUBSCRIBED,
                f"Consumer '{self.config.name}' is neither subscribed to topics nor assigned "
                "partitions; POST .../subscription or .../assignments first",
            )
        deadline = asyncio.get_running_loop().time() + timeout_ms / 1000
        while True:
            await self._fill(deadline)
            if not self._pending:
                return Handout([b"[]"])
            generation = self._generation
            prepared, self._prepared = self._prepared, None
            if (
                prepared is not None
                and prepared.generation == generation
                and prepared.write == write  # a bound method: equal, not identical
                and prepared.max_bytes == max_bytes
            ):
                return self._hand_out(prepared.taken, prepared.size, prepared.parts)
            taken, size = self._take(max_bytes)
            rendered = await render_records(self.codec, taken, write)
            if generation != self._generation:
                continue  # a rebalance took records away while they were decoded
            if rendered.failure is not None and not rendered.count:
                raise rendered.failure
            if rendered.count < len(taken):  # the rest stays next in line
                taken = taken[: rendered.count]
                size = sum(map(record_size, taken))
            return self._hand_out(taken, size, rendered.parts)

    def prepare_next(self, max_bytes: int, write: RecordsWriter) -> None:
        """A response went out: prepare the next read's in the background."""
        if self.closing or (self._preparing is not None and not self._preparing.done()):
            return
        self._preparing = asyncio.create_task(
            self._prepare(max_bytes, write),
            name=f"next read {self.config.group}/{self.config.name}",
        )

    async def _prepare(self, max_bytes: int, write: RecordsWriter) -> None:
        async with self.lock:
            self._prepared = None
            if self.closing or not (self._subscribed or self._assigned_manually):
                return
            try:
                if not self._pending:
                    async with asyncio.timeout(_PREPARE_TIMEOUT_S):
                        batches = await self._consumer.getmany(
                            timeout_ms=0, max_records=self._max_poll_records
                        )
                    for records in batches.values():
                        self._pending.extend(records)
                if not self._pending:
                    return
                generation = self._generation
                taken, size = self._take(max_bytes)
                rendered = await render_records(self.codec, taken, write)
            except (KafkaError, BridgeError, TimeoutError):
                # The read does it again and answers the error: aiokafka fails each fetch of
                # a partition in trouble anew, and the records failing here stay pending.
                return
            except Exception:
                log.exception(
                    "consumer %s/%s: preparing the next read failed",
                    self.config.group,
                    self.config.name,
                )
                return
            if generation == self._generation and rendered.count == len(taken):
                self._prepared = _Prepared(
                    generation, write, max_bytes, taken, size, rendered.parts
                )

    async def _fill(self, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        while not self._pending and not self.closing:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            wait_s = min(remaining, _FETCH_SLICE_S)
            try:
                async with asyncio.timeout(wait_s + _STALL_MARGIN_S):
                    batches = await self._consumer.getmany(
                        timeout_ms=int(wait_s * 1000), max_records=self._max_poll_records
                    )
            except TimeoutError:
                continue
            except KafkaError as exc:
                raise kafka_failure(exc, "reading records") from exc
            for records in batches.values():
                self._pending.extend(records)

    def _take(self, max_bytes: int) -> tuple[list[KafkaRecord], int]:
        """The records at the head of `_pending` that fit `max_bytes`, and their size."""
        taken: list[KafkaRecord] = []
        size = 0
        for record in self._pending:
            key, value = record.key, record.value  # record_size, inlined: the loop is hot
            record_bytes = (0 if key is None else len(key)) + (0 if value is None else len(value))
            if size + record_bytes > max_bytes:
                if taken:
                    break
                raise BridgeError(
                    ErrorKind.RESPONSE_TOO_LARGE,
                    f"Response exceeds the maximum number of bytes the consumer can receive: "
                    f"the next record (offset {record.offset} of partition {record.partition} "
                    f"of topic '{record.topic}') has {record_bytes} bytes of key and value, "
                    f"more than max_bytes={max_bytes}. It is kept; read with a larger max_bytes.",
                )
            taken.append(record)
            size += record_bytes
        return taken, size

    def _hand_out(self, taken: list[KafkaRecord], size: int, parts: list[bytes]) -> Handout:
        """Take `taken` (the head of `_pending`) off the queue and count them handed out."""
        handout = Handout(parts, taken, size)
        if len(taken) == len(self._pending):
            self._pending.clear()
        else:
            for _ in taken:
                self._pending.popleft()
        # Per partition, the last record taken is the one after which reading resumes. Records
        # come in runs of one partition (a fetch's batches), so looking at each run's last
        # record is enough (a dict entry per record cost a read of 500 records about 40 µs).
        ends: dict[tuple[str, int], int] = {}
        topic, partition = "", -1
        for record in reversed(taken):
            if record.partition != partition or record.topic != topic:
                topic, partition = record.topic, record.partition
                ends.setdefault((topic, partition), record.offset + 1)
        for (topic, partition), end in ends.items():
            tp = TopicPartition(topic, partition)
            handout.previous[tp] = self._delivered.get(tp)
            self._delivered[tp] = end
        return handout

    def give_back(self, handout: Handout) -> None:
        """A response that could not be written: its records are next in line again."""
        assigned = self._consumer.assignment()
        self._pending.extendleft(r for r in reversed(handout.taken) if _tp(r) in assigned)
        for tp, previous in handout.previous.items():
            if previous is None:
                self._delivered.pop(tp, None)
            elif tp in assigned:
                self._delivered[tp] = previous
        self._generation += 1

    # --- positions

    async def _assigned(self, wanted: Iterable[TopicPartition] | None) -> list[TopicPartition]:
        """`wanted` (default: every assigned partition), checked to be assigned.

        A subscribed consumer whose group is still forming gets up to its request timeout
        for the first assignment, so that seeking right after subscribing works."""
        if self._subscribed and not self._consumer.assignment():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.config.request_timeout_ms / 1000):
                    await self.assignment_arrived.wait()
        assigned = self._consumer.assignment()
        partitions = sorted(assigned) if wanted is None else list(dict.fromkeys(wanted))
        missing = [tp for tp in partitions if tp not in assigned]
        if missing:
            listed = ", ".join(f"{tp.topic}/{tp.partition}" for tp in missing)
            raise BridgeError(
                ErrorKind.PARTITION_NOT_ASSIGNED,
                f"Consumer '{self.config.name}' does not have these partitions assigned: {listed}",
            )
        return partitions

    async def seek(self, offsets: dict[TopicPartition, int]) -> None:
        await self._assigned(offsets)
        self._forget_pending(offsets)
        for tp, offset in offsets.items():
            self._consumer.seek(tp, offset)

    async def seek_to_beginning(self, partitions: list[TopicPartition] | None) -> None:
        await self._seek_to_edge(partitions, beginning=True)

    async def seek_to_end(self, partitions: list[TopicPartition] | None) -> None:
        await self._seek_to_edge(partitions, beginning=False)

    async def _seek_to_edge(self, partitions: list[TopicPartition] | None, beginning: bool) -> None:
        checked = await self._assigned(partitions)
        if not checked:
            return
        self._forget_pending(checked)
        edge = "beginning" if beginning else "end"
        async with kafka_call(f"seeking to the {edge}", KAFKA_TIMEOUT_S):
            if beginning:
                await self._consumer.seek_to_beginning(*checked)
            else:
                await self._consumer.seek_to_end(*checked)

    def _forget_pending(self, partitions: Iterable[TopicPartition]) -> None:
        """Fetched records of partitions that the client moves: the seek decides what's next."""
        moved = set(partitions)
        self._pending = deque(r for r in self._pending if _tp(r) not in moved)
        self._generation += 1

    # --- offsets

    async def commit(self, offsets: dict[TopicPartition, int] | None) -> list[CommittedOffset]:
        """Commit `offsets`, or with None everything handed out so far."""
        if offsets is None:
            assigned = self._consumer.assignment()
            offsets = {tp: o for tp, o in self._delivered.items() if tp in assigned}
        else:
            await self._assigned(offsets)
        if not offsets:
            return []
        async with kafka_call("committing offsets", KAFKA_TIMEOUT_S):
            await self._consumer.commit({tp: OffsetAndMetadata(o, "") for tp, o in offsets.items()})
        self._committed.update(offsets)
        return [CommittedOffset(tp.topic, tp.partition, o) for tp, o in sorted(offsets.items())]

    async def committed(self, partitions: list[TopicPartition]) -> list[CommittedOffset]:
        """The group's last committed offsets of these partitions, by anyone; partitions
        without one are left out."""
        found: list[CommittedOffset] = []
        async with kafka_call("reading committed offsets", KAFKA_TIMEOUT_S):
            for tp in partitions:
                offset = await self._consumer.committed(tp)
                if offset is not None:
                    found.append(CommittedOffset(tp.topic, tp.partition, offset))
        return found

    async def _commit_quietly(self, partitions: set[TopicPartition] | None = None) -> None:
        """Auto-commit: commit handed-out offsets not yet committed; failures are retried
        at the next interval, so they are only logged."""
        assigned = self._consumer.assignment()
        due = {
            tp: offset
            for tp, offset in self._delivered.items()
            if tp in assigned
            and (partitions is None or tp in partitions)
            and self._committed.get(tp) != offset
        }
        if not due:
            return
        try:
            async with asyncio.timeout(KAFKA_TIMEOUT_S):
                await self._consumer.commit({tp: OffsetAndMetadata(o, "") for tp, o in due.items()})
        except (KafkaError, TimeoutError) as exc:
            log.warning(
                "consumer %s/%s: auto-commit failed, will retry: %r",
                self.config.group,
                self.config.name,
                exc,
            )
            return
        self._committed.update(due)

    async def _auto_commit(self) -> None:
        # Not under `lock`: a commit can wait on Kafka for seconds (an outage), and the
        # client's reads must not wait behind it. Committing a stale snapshot is harmless:
        # it only ever names offsets that were handed out.
        while True:
            await asyncio.sleep(self._auto_commit_interval_s)
            if self.closing:
                return
            await self._commit_quietly()

    # --- the end

    async def close(self) -> None:
        """Stop reading, commit what was handed out (auto-commit), leave the group."""
        self.closing = True
        for task in (self._auto_commit_task, self._preparing):
            if task is not None:
                task.cancel()
                await asyncio.wait([task])
        async with self.lock:
            if self.config.auto_commit:
                await self._commit_quietly()
            try:
                async with asyncio.timeout(KAFKA_TIMEOUT_S):
                    await self._consumer.stop()
            except (KafkaError, TimeoutError) as exc:
                log.warning(
                    "consumer %s/%s did not close cleanly: %r",
                    self.config.group,
                    self.config.name,
                    exc,
                )


def _exclusive() -> BridgeError:
    return BridgeError(
        ErrorKind.SUBSCRIPTION_CONFLICT,
        "Subscriptions to topics, partitions, and patterns are mutually exclusive",
    )

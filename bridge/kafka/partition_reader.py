"""Reads of one partition from a given offset, with no consumer group: a small shared pool of
group-less consumers that assign the partition, seek and fetch.

The pool bounds the Kafka connections and fetch buffers such reads cost; a read waits a
short while for a free consumer and is answered 503 after that (Confluent's
`simpleconsumer.pool.*` settings). Reads of different partitions run on different consumers,
so they do not wait for each other.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError, OffsetOutOfRangeError

from bridge.consumers.records import KafkaRecord, record_size
from bridge.errors import BridgeError, ErrorKind
from bridge.kafka.client_config import consumer_kwargs
from bridge.kafka.failures import kafka_failure
from bridge.kafka.health import WATCH_S, BrokerHealth
from bridge.settings import Settings

log = logging.getLogger(__name__)

#: Fetching records that exist takes a few round trips; this bounds a read that finds no
#: end (a broker that does not answer) when it was asked not to wait.
_FETCH_EXISTING_S = 10.0
_SLICE_S = 0.5
_FIRST_FETCH_S = 0.05
#: The broker holds a fetch that finds nothing this long; short, so that a read at the end of
#: a partition learns it soon (unless `kafka.consumer.fetch.max.wait.ms` says otherwise).
_FETCH_MAX_WAIT_MS = 100


class PartitionReaderPool:
    def __init__(self, settings: Settings, health: BrokerHealth | None = None) -> None:
        kwargs = {"fetch_max_wait_ms": _FETCH_MAX_WAIT_MS, **consumer_kwargs(settings)}
        # "none": an offset outside the partition is the client's error, never a reset.
        kwargs.update(group_id=None, enable_auto_commit=False, auto_offset_reset="none")
        self._kwargs = kwargs
        self._health = health
        self._size = settings.simpleconsumer_pool_size_max
        self._wait_s = settings.simpleconsumer_pool_timeout_ms / 1000
        self._idle: asyncio.Queue[AIOKafkaConsumer] = asyncio.Queue()
        self._all: list[AIOKafkaConsumer] = []
        self._starting = 0

    @property
    def started(self) -> int:
        """How many Kafka consumers the pool has started (never more than its size)."""
        return len(self._all)

    async def close(self) -> None:
        for consumer in self._all:
            try:
                await consumer.stop()
            except KafkaError as exc:
                log.warning("partition reader did not stop cleanly: %r", exc)
        self._all.clear()

    @asynccontextmanager
    async def _borrow(self) -> AsyncIterator[AIOKafkaConsumer]:
        consumer = await self._take()
        try:
            yield consumer
        finally:
            # Stop prefetching the partition the read left behind.
            consumer.unsubscribe()
            self._idle.put_nowait(consumer)

    async def _take(self) -> AIOKafkaConsumer:
        if self._idle.empty() and len(self._all) + self._starting < self._size:
            self._starting += 1
            try:
                consumer = AIOKafkaConsumer(**self._kwargs)
                try:
                    async with asyncio.timeout(_FETCH_EXISTING_S):
                        await consumer.start()
                except (KafkaError, TimeoutError) as exc:
                    await consumer.stop()
                    raise kafka_failure(exc, "starting a partition reader") from exc
                self._all.append(consumer)
                return consumer
            finally:
                self._starting -= 1
        try:
            async with asyncio.timeout(self._wait_s):
                return await self._idle.get()
        except TimeoutError:
            raise BridgeError(
                ErrorKind.POOL_EXHAUSTED,
                f"All {self._size} partition readers are busy "
                "(simpleconsumer.pool.size.max); retry, or raise the pool size or "
                "simpleconsumer.pool.timeout.ms",
            ) from None

    async def _kafka_gone(self, waited_s: float) -> bool:
        """After a while without a fetch answer: whether Kafka is away (then stop waiting)."""
        return self._health is not None and waited_s >= WATCH_S and not await self._health.check()

    async def read(
        self,
        topic: str,
        partition: int,
        offset: int,
        *,
        count: int,
        max_bytes: int,
        timeout_ms: int,
    ) -> list[KafkaRecord]:
        """Up to `count` records from `offset` on, within `max_bytes`.

        Records that exist are returned without waiting for more; at the end of the
        partition the read waits up to `timeout_ms` for the first new one."""
        tp = TopicPartition(topic, partition)
        if self._health is not None:
            # aiokafka's fetcher retries quietly while Kafka is away; fail fast instead.
            await self._health.require(f"reading {topic}/{partition}")
        loop = asyncio.get_running_loop()
        started = loop.time()
        records: list[KafkaRecord] = []
        size = 0
        async with self._borrow() as consumer:
            consumer.assign([tp])
            consumer.seek(tp, offset)
            next_offset = offset
            while len(records) < count:
                highwater = consumer.highwater(tp)
                if highwater is None and await self._kafka_gone(loop.time() - started):
                    raise BridgeError(
                        ErrorKind.KAFKA_RETRIABLE,
                        f"reading {topic}/{partition}: no Kafka broker is reachable",
                    )
                if highwater is not None and next_offset > highwater:
                    raise _out_of_range(topic, partition, offset)
                at_end = highwater is not None and next_offset >= highwater
                limit_s = timeout_ms / 1000 if at_end else _FETCH_EXISTING_S
                remaining = started + limit_s - loop.time()
                if (at_end and records) or remaining <= 0:
                    break
                # Short slices until the first fetch answers and tells where the end is.
                wait_s = min(remaining, _SLICE_S if at_end else _FIRST_FETCH_S)
                try:
                    async with asyncio.timeout(wait_s + _SLICE_S):
                        batch = await consumer.getmany(
                            tp, timeout_ms=int(wait_s * 1000), max_records=count - len(records)
                        )
                except TimeoutError:
                    continue
                except OffsetOutOfRangeError:
                    raise _out_of_range(topic, partition, offset) from None
                except KafkaError as exc:
                    raise kafka_failure(exc, f"reading {topic}/{partition}") from exc
                for record in batch.get(tp, []):
                    record_bytes = record_size(record)
                    if size + record_bytes > max_bytes:
                        if not records:
                            raise _too_large(record, record_bytes, max_bytes)
                        return records
                    records.append(record)
                    size += record_bytes
                # The position, not the last record's offset + 1: it also steps over
                # offsets that hold no record for the client (transaction markers).
                try:
                    async with asyncio.timeout(_SLICE_S):
                        next_offset = await consumer.position(tp)
                except TimeoutError:
                    continue  # the position settles with the next fetch
                except OffsetOutOfRangeError:
                    raise _out_of_range(topic, partition, offset) from None
                except KafkaError as exc:
                    raise kafka_failure(exc, f"reading {topic}/{partition}") from exc
            if not records and consumer.highwater(tp) is None:
                # No fetch was answered: an empty list would claim the partition has nothing.
                raise BridgeError(
                    ErrorKind.KAFKA_RETRIABLE,
                    f"reading {topic}/{partition}: Kafka did not answer the fetch "
                    f"within {_FETCH_EXISTING_S:g} s",
                )
        return records


def _out_of_range(topic: str, partition: int, offset: int) -> BridgeError:
    return BridgeError(
        ErrorKind.OFFSET_OUT_OF_RANGE,
        f"Offset {offset} is out of range for partition {partition} of topic '{topic}'; "
        "GET /topics/{topic}/partitions/{partition}/offsets tells the range",
    )


def _too_large(record: KafkaRecord, record_bytes: int, max_bytes: int) -> BridgeError:
    return BridgeError(
        ErrorKind.RESPONSE_TOO_LARGE,
        f"Response exceeds the maximum number of bytes: the record at offset {record.offset} "
        f"has {record_bytes} bytes of key and value, more than max_bytes={max_bytes}",
    )

"""The process's one shared Kafka producer.

All records of a request are handed to aiokafka together and their acknowledgements awaited
together, bounded by `produce.timeout.ms`, so a request never waits for the broker longer
than that and every record gets its own outcome.

While Kafka is away (`BrokerHealth`), a request fails at once with a retriable error and
nothing is queued; a request already waiting for acknowledgements stops waiting once a probe
finds Kafka gone, and its records are reported as not acknowledged (aiokafka keeps them
queued, so they may still be written when Kafka returns).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from bridge.errors import BridgeError, ErrorKind
from bridge.kafka.client_config import producer_kwargs
from bridge.kafka.failures import kafka_call, kafka_failure
from bridge.kafka.health import BrokerHealth
from bridge.kafka.send_watch import Outcome, SendWatch
from bridge.kafka.starter import FIRST_ATTEMPT_S, START_WAIT_S, ClientStarter
from bridge.settings import Settings

log = logging.getLogger(__name__)


# Not frozen, though never changed: a frozen dataclass's __init__ sets each field through
# object.__setattr__, four times the cost, and these two are made once per record.
@dataclass(slots=True)
class OutgoingRecord:
    """A record ready for Kafka: `None` key or value is a Kafka null."""

    key: bytes | None
    value: bytes | None
    partition: int | None = None
    timestamp_ms: int | None = None
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(slots=True)
class Delivery:
    """What happened to one record: where it landed, or why it did not."""

    partition: int | None = None
    offset: int | None = None
    error: BridgeError | None = None


class SharedProducer:
    def __init__(self, settings: Settings, health: BrokerHealth | None = None) -> None:
        self._kwargs = producer_kwargs(settings)
        self._timeout_s = settings.produce_timeout_ms / 1000
        self._health = health
        self._watch = SendWatch(self._timeout_s, health)
        self._producer: AIOKafkaProducer | None = None
        #: Set when started in the background; requests wait (bounded) for it.
        self._starter: ClientStarter | None = None
        self._background: set[asyncio.Future[object]] = set()

    def _hint(self) -> str:
        if not self._kwargs.get("enable_idempotence"):
            return ""
        return (
            " (if the broker does not support idempotent producers, set "
            "kafka.producer.enable.idempotence=false)"
        )

    async def start(self) -> None:
        """Start now; RuntimeError (caused by the Kafka error) when Kafka does not answer."""
        self._producer = AIOKafkaProducer(**self._kwargs)
        try:
            await self._producer.start()
        except KafkaError as exc:
            await self._producer.stop()
            raise RuntimeError(
                f"the Kafka producer could not start: {exc!r}{self._hint()}"
            ) from exc

    async def start_in_background(self) -> None:
        """Start without needing Kafka now: retried in the background until a broker answers.

        Raises only when the first attempt fails for a reason a retry cannot fix."""
        self._producer = AIOKafkaProducer(**self._kwargs)
        self._starter = ClientStarter("Kafka producer", self._producer.start, self._hint())
        await self._starter.first_attempt(FIRST_ATTEMPT_S)

    async def close(self) -> None:
        await self._watch.close()
        if self._starter is not None:
            await self._starter.close()
        if self._producer is not None:
            # stop() flushes what is still buffered, including fire-and-forget sends.
            await self._producer.stop()

    async def _enqueue(
        self, topic: str, records: Sequence[OutgoingRecord]
    ) -> list[asyncio.Future[object]]:
        # Record by record, not as batches of our own (`create_batch`/`send_batch`): those
        # halve the CPU of a lone 100-record request, but a batch of ours cannot take records
        # of concurrent requests and waits for the partition's pending batch to drain, and
        # with 16 concurrent requests of 10 records each throughput fell fivefold and
        # requests timed out.
        assert self._producer is not None, "SharedProducer used before start()"
        futures: list[asyncio.Future[object]] = []
        refreshed = False
        for record in records:
            try:
                try:
                    future = await self._send(topic, record)
                except AssertionError:
                    if refreshed or record.partition is None:
                        raise
                    # aiokafka checks partitions against its own metadata, which can predate
                    # partitions the bridge has just seen; refresh it once and try again.
                    refreshed = True
                    await self._producer.client.force_metadata_update()
                    future = await self._send(topic, record)
            except (KafkaError, AssertionError, ValueError) as exc:
                # aiokafka raises before queueing for a partition it does not know; the
                # record gets its own error instead of failing those queued before it.
                future = asyncio.get_running_loop().create_future()
                future.set_exception(exc)
            futures.append(future)
        return futures

    def _send(self, topic: str, record: OutgoingRecord) -> Awaitable[asyncio.Future[object]]:
        # aiokafka's own coroutine, not one more wrapped around it for every record.
        assert self._producer is not None, "SharedProducer used before start()"
        sent: Awaitable[asyncio.Future[object]] = self._producer.send(
            topic,
            value=record.value,
            key=record.key,
            partition=record.partition,
            timestamp_ms=record.timestamp_ms,
            headers=list(record.headers) if record.headers else None,
        )
        return sent

    def _ready_now(self) -> bool:
        """Kafka answers and the producer has started: `_ready` would return at once."""
        health, starter = self._health, self._starter
        return (health is None or health.reachable) and (starter is None or starter.started)

    async def _ready(self, doing: str) -> None:
        """Raise a retriable BridgeError at once while Kafka is away or the producer has not
        reached it yet; nothing is queued then."""
        if self._health is not None:
            await self._health.require(doing)
        if self._starter is not None:
            await self._starter.wait(min(START_WAIT_S, self._timeout_s), doing)

    async def send_all(self, topic: str, records: Sequence[OutgoingRecord]) -> list[Delivery]:
        """Send the records together and report each one's outcome."""
        if not self._ready_now():
            try:
                await self._ready("producing")
            except BridgeError as exc:
                return [Delivery(error=exc)] * len(records)
        futures: list[asyncio.Future[object]] = []
        outcome: Outcome | None = None
        wait = self._watch.start()
        try:
            futures = await self._enqueue(topic, records)
            self._watch.acknowledging(wait)
            # The records of one batch are acknowledged together: waiting for each unfinished
            # future in turn waits about once per batch. Awaited directly: a wait with a
            # time-out of its own would cost a timer per request.
            for future in futures:
                if future.done():
                    continue
                try:
                    await future
                except asyncio.CancelledError:
                    task = asyncio.current_task()
                    if not future.cancelled() or (task is not None and task.cancelling()):
                        raise
                    # aiokafka cancelled the record's future: its delivery reports that
                except Exception:  # the record's failure: its delivery reports it
                    pass
            if futures and self._health is not None:
                self._health.saw_answer()
        except asyncio.CancelledError:
            outcome = wait.cut_short()
            if outcome is None:
                raise
        finally:
            self._watch.stop(wait)
        reachable = outcome is not Outcome.UNREACHABLE
        deliveries = [self._delivery(f, reachable) for f in futures]
        if len(deliveries) < len(records):
            not_sent = Delivery(
                error=BridgeError(
                    ErrorKind.KAFKA_RETRIABLE,
                    f"not sent: Kafka did not answer within {self._timeout_s:g} s",
                )
            )
            deliveries += [not_sent] * (len(records) - len(deliveries))
        return deliveries

    def _not_acknowledged(self, reachable: bool) -> Delivery:
        if reachable:
            message = f"not acknowledged by Kafka within {self._timeout_s:g} s"
        else:
            message = "not acknowledged: no Kafka broker is reachable"
        message += "; it may still be written"
        return Delivery(error=BridgeError(ErrorKind.KAFKA_RETRIABLE, message))

    def _delivery(self, future: asyncio.Future[object], reachable: bool = True) -> Delivery:
        if not future.done() or future.cancelled():
            return self._not_acknowledged(reachable)
        exc = future.exception()
        if exc is not None:
            return Delivery(error=kafka_failure(exc, "producing"))
        metadata = future.result()
        return Delivery(partition=metadata.partition, offset=metadata.offset)  # type: ignore[attr-defined]

    async def send_nowait(self, topic: str, records: Sequence[OutgoingRecord]) -> None:
        """Hand the records to the producer without waiting for acknowledgements.

        Failures are logged: the client asked not to hear about them. A retriable BridgeError
        when Kafka is away or the records cannot be queued within `produce.timeout.ms`.
        """
        await self._ready("producing")
        async with kafka_call("producing", self._timeout_s):
            futures = await self._enqueue(topic, records)
        for future in futures:
            self._background.add(future)
            future.add_done_callback(self._forget_background)

    def _forget_background(self, future: asyncio.Future[object]) -> None:
        self._background.discard(future)
        if not future.cancelled() and future.exception() is not None:
            log.error("asynchronous produce failed: %r", future.exception())

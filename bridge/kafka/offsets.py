"""Beginning and end offsets of partitions, through one group-less consumer."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition

from bridge.kafka.client_config import consumer_kwargs
from bridge.kafka.failures import kafka_call
from bridge.kafka.health import BrokerHealth
from bridge.kafka.starter import FIRST_ATTEMPT_S, START_WAIT_S, ClientStarter
from bridge.settings import Settings

T = TypeVar("T")


@dataclass(frozen=True)
class OffsetRange:
    beginning: int
    #: The offset the next record appended to the partition will get.
    end: int


class OffsetReader:
    """Answers offset look-ups; it never joins a group nor commits anything."""

    def __init__(
        self, settings: Settings, timeout_s: float = 10.0, health: BrokerHealth | None = None
    ) -> None:
        kwargs = consumer_kwargs(settings)
        kwargs.update(group_id=None, enable_auto_commit=False)
        self._kwargs = kwargs
        self._timeout_s = timeout_s
        self._health = health
        self._consumer: AIOKafkaConsumer | None = None
        self._starter: ClientStarter | None = None

    async def start(self) -> None:
        """Connect in the background: a broker that does not answer yet is no failure."""
        self._consumer = AIOKafkaConsumer(**self._kwargs)
        self._starter = ClientStarter("Kafka offset reader", self._consumer.start)
        await self._starter.first_attempt(FIRST_ATTEMPT_S)

    async def close(self) -> None:
        if self._starter is not None:
            await self._starter.close()
        if self._consumer is not None:
            await self._consumer.stop()

    async def offset_range(self, topic: str, partition: int) -> OffsetRange:
        assert self._consumer is not None, "OffsetReader used before start()"
        assert self._starter is not None
        tp = TopicPartition(topic, partition)
        doing = f"listing offsets of {topic}/{partition}"
        if self._health is not None:
            await self._health.require(doing)
        async with kafka_call(doing, self._timeout_s):
            await self._starter.wait(START_WAIT_S, doing)
            beginning, end = await self._watched(self._both_ends(tp), doing)
        return OffsetRange(beginning=beginning[tp], end=end[tp])

    async def _both_ends(
        self, tp: TopicPartition
    ) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
        assert self._consumer is not None
        beginning = await self._consumer.beginning_offsets([tp])
        end = await self._consumer.end_offsets([tp])
        return beginning, end

    async def _watched(self, call: Awaitable[T], doing: str) -> T:
        # aiokafka retries an offset look-up until its own time-out while Kafka is away.
        if self._health is None:
            return await call
        return await self._health.watch(call, doing)

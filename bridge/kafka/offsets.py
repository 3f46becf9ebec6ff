"""Beginning and end offsets of partitions, through one group-less consumer."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition

from bridge.kafka.client_config import consumer_kwargs
from bridge.kafka.failures import kafka_call
from bridge.settings import Settings


@dataclass(frozen=True)
class OffsetRange:
    beginning: int
    #: The offset the next record appended to the partition will get.
    end: int


class OffsetReader:
    """Answers offset look-ups; it never joins a group nor commits anything."""

    def __init__(self, settings: Settings, timeout_s: float = 10.0) -> None:
        kwargs = consumer_kwargs(settings)
        kwargs.update(group_id=None, enable_auto_commit=False)
        self._kwargs = kwargs
        self._timeout_s = timeout_s
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(**self._kwargs)
        await self._consumer.start()

    async def close(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()

    async def offset_range(self, topic: str, partition: int) -> OffsetRange:
        assert self._consumer is not None, "OffsetReader used before start()"
        tp = TopicPartition(topic, partition)
        async with kafka_call(f"listing offsets of {topic}/{partition}", self._timeout_s):
            beginning = await self._consumer.beginning_offsets([tp])
            end = await self._consumer.end_offsets([tp])
        return OffsetRange(beginning=beginning[tp], end=end[tp])

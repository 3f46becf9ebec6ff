"""Fixtures of the integration tests beyond the suite-wide ones: looking at Kafka directly."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from tests.conftest import assigned_consumer
from tests.kafka_target import KafkaTarget

# The shared checks live in a plain module; let pytest explain their failed asserts too.
pytest.register_assert_rewrite("tests.integration.helpers")

EndOffsets = Callable[[str], Awaitable[dict[int, int]]]
TopicExists = Callable[[str], Awaitable[bool]]


@pytest.fixture
def end_offsets(kafka: KafkaTarget) -> EndOffsets:
    """The end offset of each partition of a topic, straight from Kafka.

    Meant for "nothing was written" checks (all zero): Tansu reports wrong end offsets after
    a multi-record batch (design.md), but an empty partition's end offset is right.
    """

    async def read(topic: str) -> dict[int, int]:
        async with assigned_consumer(kafka, topic) as consumer:
            ends = await consumer.end_offsets(list(consumer.assignment()))
            return {tp.partition: offset for tp, offset in ends.items()}

    return read


@pytest.fixture
def topic_exists(admin: AIOKafkaAdminClient) -> TopicExists:
    """Whether Kafka has the topic; asks for all topics, so it never creates one."""

    async def exists(name: str) -> bool:
        return name in await admin.list_topics()

    return exists

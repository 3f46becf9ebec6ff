"""Fixtures shared by the whole suite: the real broker, a running bridge, Kafka helpers."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import ConsumerRecord
from hypothesis import settings as hypothesis_settings

from bridge.app import create_app
from bridge.embedded_broker import settings_for_embedded_broker
from bridge.settings import Settings
from tests.kafka_target import KafkaTarget, expects_apache_kafka, kafka_target
from tests.schema_registry import running_registry

# The suite draws the same examples on every run, so a red build is a change's doing and
# reproduces; `HYPOTHESIS_PROFILE=explore` draws new ones to hunt for bugs (development.md).
hypothesis_settings.register_profile("suite", derandomize=True)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if expects_apache_kafka():
        return
    skip = pytest.mark.skip(reason="needs real Apache Kafka; this run uses the Tansu broker")
    for item in items:
        if "apache_kafka" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def kafka() -> Iterator[KafkaTarget]:
    with kafka_target() as target:
        yield target


@pytest.fixture(scope="session")
def schema_registry_url() -> Iterator[str]:
    """A Confluent-compatible schema registry: SCHEMA_REGISTRY_URL when set, else the
    in-process one of `tests/schema_registry.py`, over real HTTP."""
    external = os.environ.get("SCHEMA_REGISTRY_URL")
    if external:
        yield external
        return
    with running_registry() as url:
        yield url


@pytest.fixture
def bridge_settings(kafka: KafkaTarget, schema_registry_url: str) -> Settings:
    settings = Settings(
        bootstrap_servers=kafka.bootstrap_servers,
        produce_timeout_ms=15_000,
        schema_registry_url=schema_registry_url,
    )
    if not kafka.apache:
        settings = settings_for_embedded_broker(settings, kafka.bootstrap_servers)
    return settings


BridgeClient = TestClient[Any, Any]


@pytest.fixture
async def bridge(
    bridge_settings: Settings, aiohttp_client: Callable[..., Awaitable[BridgeClient]]
) -> BridgeClient:
    """A bridge serving real HTTP on a loopback port, talking to the real broker."""
    return await aiohttp_client(create_app(bridge_settings))


@pytest.fixture
async def admin(kafka: KafkaTarget) -> AsyncIterator[AIOKafkaAdminClient]:
    client = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    await client.start()
    yield client
    await client.close()


NewTopicFactory = Callable[..., Awaitable[str]]


@pytest.fixture
def new_topic(admin: AIOKafkaAdminClient) -> NewTopicFactory:
    """Creates a topic with a unique name and returns the name."""

    async def create(partitions: int = 3, prefix: str = "t") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        await admin.create_topics([NewTopic(name, partitions, 1)])
        return name

    return create


@contextlib.asynccontextmanager
async def assigned_consumer(kafka: KafkaTarget, topic: str) -> AsyncIterator[AIOKafkaConsumer]:
    """A group-less consumer assigned every partition of `topic`."""
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
        assert partitions, f"topic {topic} has no partitions"
        consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
        yield consumer
    finally:
        await consumer.stop()


ReadRecords = Callable[..., Awaitable[list[ConsumerRecord[bytes, bytes]]]]


@pytest.fixture
def read_records(kafka: KafkaTarget) -> ReadRecords:
    """Reads `count` records of a topic straight from Kafka (no bridge involved)."""

    async def read(topic: str, count: int, timeout_s: float = 10.0) -> list[Any]:
        async with assigned_consumer(kafka, topic) as consumer:
            await consumer.seek_to_beginning()
            records: list[Any] = []
            deadline = timeout_s * 1000
            while len(records) < count and deadline > 0:
                batch = await consumer.getmany(timeout_ms=500)
                for tp_records in batch.values():
                    records.extend(tp_records)
                deadline -= 500
            return sorted(records, key=lambda r: (r.partition, r.offset))

    return read

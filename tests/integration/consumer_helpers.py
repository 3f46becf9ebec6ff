"""What the consumer tests share: creating an instance, putting records in Kafka, reading
through the bridge until the expected records have come, and the offsets a group committed."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeAlias
from urllib.parse import urlsplit

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from tests.conftest import BridgeClient
from tests.integration.helpers import BINARY_V2, V2, json_of
from tests.kafka_target import KafkaTarget

#: Long enough for a new group to form on any broker (Kafka delays it 3 s, Tansu 3-5 s).
FIRST_READ_TIMEOUT_MS = 15_000

#: One answer of a read: its records, as JSON.
Batch: TypeAlias = list[dict[str, Any]]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def instance_path(base_uri: str) -> str:
    """The path of an instance's `base_uri` (tests talk to the bridge's test server)."""
    return urlsplit(base_uri).path


async def create_consumer(
    bridge: BridgeClient,
    group: str,
    body: dict[str, Any] | None = None,
    *,
    content_type: str = V2,
) -> str:
    """Create an instance; returns its path (`/consumers/{group}/instances/{name}`)."""
    response = await bridge.post(
        f"/consumers/{group}", json=body or {}, headers={"Content-Type": content_type}
    )
    created = await json_of(response, content_type=content_type)
    assert set(created) == {"instance_id", "base_uri"}, created
    return instance_path(created["base_uri"])


async def put_records(
    kafka: KafkaTarget,
    topic: str,
    values: Sequence[bytes | None],
    *,
    partition: int | None = None,
    keys: Sequence[bytes | None] | None = None,
    headers: Sequence[tuple[str, bytes | None]] = (),
) -> list[tuple[int, int]]:
    """Write records straight to Kafka, one batch each (Tansu reports wrong end offsets
    after multi-record batches); returns each record's (partition, offset)."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
    await producer.start()
    try:
        positions = []
        for i, value in enumerate(values):
            key = keys[i] if keys is not None else None
            meta = await producer.send_and_wait(
                topic, value, key=key, partition=partition, headers=list(headers) or None
            )
            positions.append((meta.partition, meta.offset))
        return positions
    finally:
        await producer.stop()


def records_query(timeout_ms: int, max_bytes: int | None) -> str:
    """The query of a read: its timeout, and max_bytes when given."""
    return f"timeout={timeout_ms}" + (f"&max_bytes={max_bytes}" if max_bytes is not None else "")


async def read_records(
    bridge: BridgeClient,
    path: str,
    *,
    accept: str = BINARY_V2,
    max_bytes: int | None = None,
    timeout_ms: int = 1_000,
) -> Batch:
    """One read of an instance's `.../records`: 200 in `accept`, a JSON array."""
    response = await bridge.get(
        f"{path}/records?{records_query(timeout_ms, max_bytes)}", headers={"Accept": accept}
    )
    batch = await json_of(response, content_type=accept)
    assert isinstance(batch, list), batch
    return batch


async def answers_until(
    read_once: Callable[[], Awaitable[Batch]], count: int, *, deadline_s: float = 30.0
) -> list[Batch]:
    """Call `read_once` until `count` records came (or fail after `deadline_s`); returns
    every answer, the empty ones too."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    answers: list[Batch] = []
    total = 0
    while total < count:
        assert loop.time() < end, f"only {total} of {count} records came: {answers}"
        answer = await read_once()
        answers.append(answer)
        total += len(answer)
    return answers


async def read_until(
    bridge: BridgeClient,
    path: str,
    count: int,
    *,
    accept: str = BINARY_V2,
    max_bytes: int | None = None,
    deadline_s: float = 30.0,
    timeout_ms: int = 2_000,
    reads: list[int] | None = None,
) -> Batch:
    """Read `.../records` until `count` records came (or fail after `deadline_s`).

    `reads`, when given, collects the number of records of each response."""
    answers = await answers_until(
        lambda: read_records(
            bridge, path, accept=accept, max_bytes=max_bytes, timeout_ms=timeout_ms
        ),
        count,
        deadline_s=deadline_s,
    )
    if reads is not None:
        reads.extend(len(answer) for answer in answers)
    return [record for answer in answers for record in answer]


def raw(field: str | None) -> bytes:
    """A binary record's key or value, decoded (a null one as no bytes)."""
    return b"" if field is None else base64.b64decode(field)


def next_offsets(records: Sequence[dict[str, Any]]) -> dict[int, int]:
    """Per partition, the offset after the last record: what the group reads next."""
    ends: dict[int, int] = {}
    for record in records:
        ends[record["partition"]] = max(ends.get(record["partition"], 0), record["offset"] + 1)
    return ends


async def group_committed(
    kafka: KafkaTarget, group: str, topic: str, partitions: int
) -> dict[int, int]:
    """The group's committed offsets, straight from Kafka (partitions without one left out)."""
    consumer = AIOKafkaConsumer(
        group_id=group, bootstrap_servers=kafka.bootstrap_servers, enable_auto_commit=False
    )
    await consumer.start()
    try:
        found: dict[int, int] = {}
        for number in range(partitions):
            offset = await consumer.committed(TopicPartition(topic, number))
            if offset is not None:
                found[number] = offset
        return found
    finally:
        await consumer.stop()

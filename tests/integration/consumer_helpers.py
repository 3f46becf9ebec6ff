"""What the consumer tests share: creating an instance, putting records in Kafka, and reading
through the bridge until the expected records have come."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from aiokafka import AIOKafkaProducer

from tests.conftest import BridgeClient
from tests.integration.helpers import BINARY_V2, V2, json_of
from tests.kafka_target import KafkaTarget

#: Long enough for a new group to form on any broker (Kafka delays it 3 s, Tansu 3-5 s).
FIRST_READ_TIMEOUT_MS = 15_000


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
    headers: Sequence[tuple[str, bytes]] = (),
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
) -> list[dict[str, Any]]:
    """Read `.../records` until `count` records came (or fail after `deadline_s`).

    `reads`, when given, collects the number of records of each response."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    records: list[dict[str, Any]] = []
    query = f"timeout={timeout_ms}" + (f"&max_bytes={max_bytes}" if max_bytes is not None else "")
    while len(records) < count:
        assert loop.time() < end, f"only {len(records)} of {count} records came: {records}"
        response = await bridge.get(f"{path}/records?{query}", headers={"Accept": accept})
        batch = await json_of(response, content_type=accept)
        assert isinstance(batch, list), batch
        if reads is not None:
            reads.append(len(batch))
        records.extend(batch)
    return records

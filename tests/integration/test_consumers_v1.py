"""Consuming in the v1 dialect (Confluent REST Proxy v1): the reference's consumer examples
sent as written (create, read a topic, commit, delete), their error codes, and what the
records and offsets look like, checked against what was put in Kafka."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import orjson

from tests.conftest import BridgeClient, NewTopicFactory
from tests.integration.consumer_helpers import (
    Batch,
    answers_until,
    b64,
    group_committed,
    instance_path,
    next_offsets,
    put_records,
    raw,
    records_query,
)
from tests.integration.helpers import (
    BINARY_V1,
    REFERENCE_HOST,
    V1,
    V1_REFERENCE_ACCEPT,
    error_of,
    json_of,
)
from tests.kafka_target import KafkaTarget

JSON_V1 = "application/vnd.kafka.json.v1+json"
V1_RECORD_KEYS = {"key", "value", "partition", "offset"}
V1_COMMIT_KEYS = {"topic", "partition", "consumed", "committed"}

#: The v1 reference's creation body, exactly as it writes it.
REFERENCE_CREATE_BODY = b"""{
  "id": "my_consumer",
  "format": "binary",
  "auto.offset.reset": "smallest",
  "auto.commit.enable": "false"
}"""


def unique_group(prefix: str = "testgroup") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def reference_headers(**extra: str) -> dict[str, str]:
    """The headers of the reference's examples: its Host and its Accept."""
    return {"Host": REFERENCE_HOST, "Accept": V1_REFERENCE_ACCEPT, **extra}


async def create_v1(bridge: BridgeClient, group: str, body: dict[str, Any]) -> dict[str, Any]:
    """Create an instance in the v1 dialect; returns the `{instance_id, base_uri}` answer."""
    response = await bridge.post(
        f"/consumers/{group}",
        data=orjson.dumps(body),
        headers={"Content-Type": V1, "Accept": V1_REFERENCE_ACCEPT},
    )
    created = await json_of(response, V1)
    assert set(created) == {"instance_id", "base_uri"}, created
    return dict(created)


async def read_topic(
    bridge: BridgeClient,
    path: str,
    topic: str,
    *,
    accept: str = BINARY_V1,
    content_type: str | None = None,
    max_bytes: int | None = None,
    timeout_ms: int = 2_000,
) -> Batch:
    """One v1 read (`GET .../topics/{topic}`), checked to be a list of v1 records whose
    Content-Type is `content_type` (default: `accept`)."""
    response = await bridge.get(
        f"{path}/topics/{topic}?{records_query(timeout_ms, max_bytes)}",
        headers={"Host": REFERENCE_HOST, "Accept": accept},
    )
    batch = await json_of(response, content_type or accept)
    assert isinstance(batch, list), batch
    for record in batch:
        assert set(record) == V1_RECORD_KEYS, record
        assert type(record["partition"]) is int, record
        assert type(record["offset"]) is int, record
    return batch


async def read_topic_until(
    bridge: BridgeClient,
    path: str,
    topic: str,
    count: int,
    *,
    accept: str = BINARY_V1,
    content_type: str | None = None,
    max_bytes: int | None = None,
    deadline_s: float = 30.0,
    batches: list[Batch] | None = None,
) -> Batch:
    """Read the topic until `count` records came; `batches` collects each non-empty answer."""
    answers = await answers_until(
        lambda: read_topic(
            bridge, path, topic, accept=accept, content_type=content_type, max_bytes=max_bytes
        ),
        count,
        deadline_s=deadline_s,
    )
    if batches is not None:
        batches.extend(answer for answer in answers if answer)
    records = [record for answer in answers for record in answer]
    assert len(records) == count, records
    return records


# --- creating


async def test_create_reference_example(bridge: BridgeClient) -> None:
    group = unique_group()
    response = await bridge.post(
        f"/consumers/{group}/",
        data=REFERENCE_CREATE_BODY,
        headers=reference_headers(**{"Content-Type": V1}),
    )
    created = await json_of(response, V1)
    assert created == {
        "instance_id": "my_consumer",
        "base_uri": f"http://{REFERENCE_HOST}/consumers/{group}/instances/my_consumer",
    }

    # The id is taken in this group, whatever the other settings.
    response = await bridge.post(
        f"/consumers/{group}",
        data=b'{"id": "my_consumer", "auto.offset.reset": "largest"}',
        headers=reference_headers(**{"Content-Type": V1}),
    )
    body = await error_of(response, 409, 40902, dialect=1)
    assert "my_consumer" in body["message"]

    # ... but not in another group.
    other = await create_v1(bridge, unique_group(), {"id": "my_consumer"})
    assert other["instance_id"] == "my_consumer"

    # The reference's DELETE example, then the instance is gone.
    path = f"/consumers/{group}/instances/my_consumer"
    response = await bridge.delete(path, headers=reference_headers())
    assert response.status == 204, await response.text()
    assert await response.read() == b""
    response = await bridge.delete(path, headers=reference_headers())
    await error_of(response, 404, 40403, dialect=1)


async def test_create_settings(bridge: BridgeClient) -> None:
    group = unique_group()
    # Confluent's `largest`, and the rest of the settings as JSON values rather than strings.
    created = await create_v1(
        bridge,
        group,
        {
            "id": "big",
            "format": "binary",
            "auto.offset.reset": "largest",
            "auto.commit.enable": True,
        },
    )
    assert created["instance_id"] == "big"
    assert instance_path(created["base_uri"]) == f"/consumers/{group}/instances/big"

    # No id: a generated one, unique.
    first = await create_v1(bridge, group, {})
    second = await create_v1(bridge, group, {"format": "json"})
    assert first["instance_id"].startswith("kafka-bridge-consumer-"), first
    assert first["instance_id"] != second["instance_id"]
    assert first["base_uri"].endswith(f"/consumers/{group}/instances/{first['instance_id']}")

    # Invalid settings: 42204 naming each problem, and the id is not taken by the failure.
    invalid_bodies: list[tuple[dict[str, Any], list[str]]] = [
        ({"id": "bad", "auto.offset.reset": "middle"}, ["auto.offset.reset", "middle"]),
        # (the message may name the field by its Kafka name, enable.auto.commit)
        ({"id": "bad", "auto.commit.enable": "perhaps"}, ["auto.commit", "perhaps"]),
        ({"id": "bad", "format": "xml"}, ["xml", "binary"]),
        ({"id": "bad", "colour": "blue"}, ["colour"]),
        (
            {"id": "bad", "auto.offset.reset": "middle", "auto.commit.enable": "perhaps"},
            ["auto.offset.reset", "middle", "auto.commit", "perhaps"],
        ),
    ]
    for invalid, named in invalid_bodies:
        response = await bridge.post(
            f"/consumers/{group}",
            data=orjson.dumps(invalid),
            headers=reference_headers(**{"Content-Type": V1}),
        )
        body = await error_of(response, 422, 42204, dialect=1)
        for word in named:
            assert word in body["message"], (invalid, body)
    assert (await create_v1(bridge, group, {"id": "bad"}))["instance_id"] == "bad"

    # Committing before reading anything commits nothing: an empty list.
    path = f"/consumers/{group}/instances/bad"
    response = await bridge.post(f"{path}/offsets", headers=reference_headers())
    assert await json_of(response, V1) == []


# --- reading, committing, deleting


async def test_read_commit_delete_reference_examples(
    bridge: BridgeClient, new_topic: NewTopicFactory, kafka: KafkaTarget
) -> None:
    topic = await new_topic(partitions=3)
    other_topic = await new_topic(partitions=1)
    group = unique_group()
    # The reference's binary response: key "key", values "confluent" and "kafka".
    positions = await put_records(kafka, topic, [b"confluent"], partition=1, keys=[b"key"])
    positions += await put_records(kafka, topic, [b"kafka"], partition=2, keys=[b"key"])
    positions += await put_records(kafka, topic, [b"logs"], partition=0)
    expected: list[dict[str, Any]] = [
        {"key": b64(b"key"), "value": b64(b"confluent"), "partition": 1, "offset": positions[0][1]},
        {"key": b64(b"key"), "value": b64(b"kafka"), "partition": 2, "offset": positions[1][1]},
        {"key": None, "value": b64(b"logs"), "partition": 0, "offset": positions[2][1]},
    ]

    response = await bridge.post(
        f"/consumers/{group}",
        data=REFERENCE_CREATE_BODY,
        headers=reference_headers(**{"Content-Type": V1}),
    )
    path = instance_path((await json_of(response, V1))["base_uri"])

    # The first read subscribes; the group takes a few seconds to form.
    records = await read_topic_until(bridge, path, topic, 3)
    assert sorted(records, key=lambda r: r["partition"]) == sorted(
        expected, key=lambda r: r["partition"]
    )
    assert await read_topic(bridge, path, topic, timeout_ms=200) == []

    # max_bytes: records of 10 bytes (key and value, before base64) at most 2 per answer.
    values = [f"value-{i:03d}".encode() for i in range(7)]
    assert all(len(v) == 9 for v in values)
    more = await put_records(kafka, topic, values, partition=0, keys=[b"k"] * len(values))
    batches: list[list[dict[str, Any]]] = []
    limited = await read_topic_until(
        bridge, path, topic, len(values), max_bytes=25, batches=batches
    )
    for batch in batches:
        assert 1 <= len(batch) <= 2, batches
        assert sum(len(raw(r["key"])) + len(raw(r["value"])) for r in batch) <= 25
    assert [(r["partition"], r["offset"]) for r in limited] == more
    assert [raw(r["value"]) for r in limited] == values
    assert all(raw(r["key"]) == b"k" for r in limited)
    records += limited

    # Commit (POST .../offsets, empty body): every partition read, at the offset after the
    # last record handed out, `consumed` equal to `committed`.
    def commit_list(read: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {"topic": topic, "partition": p, "consumed": o, "committed": o}
            for p, o in sorted(next_offsets(read).items())
        ]

    response = await bridge.post(f"{path}/offsets", headers=reference_headers())
    committed = await json_of(response, V1)
    assert all(set(c) == V1_COMMIT_KEYS for c in committed), committed
    assert sorted(committed, key=lambda c: c["partition"]) == commit_list(records)
    assert await group_committed(kafka, group, topic, 3) == next_offsets(records)

    # One more record, then the reference's commit example (the instance path, no /offsets).
    records += await read_after_put(bridge, kafka, path, topic, b"one more", partition=1)
    response = await bridge.post(path, headers=reference_headers())
    committed = await json_of(response, V1)
    assert sorted(committed, key=lambda c: c["partition"]) == commit_list(records)
    assert await group_committed(kafka, group, topic, 3) == next_offsets(records)

    # Another topic than the one subscribed: 40901; the subscription is unchanged.
    response = await bridge.get(f"{path}/topics/{other_topic}", headers={"Accept": BINARY_V1})
    body = await error_of(response, 409, 40901, dialect=1)
    assert other_topic in body["message"]
    # A topic that does not exist: 40401.
    missing = f"missing-{uuid.uuid4().hex[:12]}"
    response = await bridge.get(f"{path}/topics/{missing}", headers={"Accept": BINARY_V1})
    await error_of(response, 404, 40401, dialect=1)
    # An Accept naming another format than the consumer's (binary): 40601.
    response = await bridge.get(f"{path}/topics/{topic}", headers={"Accept": JSON_V1})
    body = await error_of(response, 406, 40601, dialect=1)
    assert "binary" in body["message"]
    # An instance that does not exist: 40403.
    response = await bridge.get(
        f"/consumers/{group}/instances/nobody/topics/{topic}", headers={"Accept": BINARY_V1}
    )
    await error_of(response, 404, 40403, dialect=1)
    # None of that disturbed the instance: it still reads its topic, from where it was.
    records += await read_after_put(bridge, kafka, path, topic, b"still here", partition=2)

    # DELETE (the reference's example), then every request on the instance is 40403.
    response = await bridge.delete(path, headers=reference_headers())
    assert response.status == 204, await response.text()
    response = await bridge.get(f"{path}/topics/{topic}", headers={"Accept": BINARY_V1})
    await error_of(response, 404, 40403, dialect=1)
    response = await bridge.post(f"{path}/offsets", headers=reference_headers())
    await error_of(response, 404, 40403, dialect=1)
    response = await bridge.post(path, headers=reference_headers())
    await error_of(response, 404, 40403, dialect=1)
    response = await bridge.delete(path, headers=reference_headers())
    await error_of(response, 404, 40403, dialect=1)
    # Deleting with auto.commit.enable=false committed nothing more.
    assert await group_committed(kafka, group, topic, 3) == next_offsets(records[:-1])


async def read_after_put(
    bridge: BridgeClient, kafka: KafkaTarget, path: str, topic: str, value: bytes, *, partition: int
) -> list[dict[str, Any]]:
    """Put one record and read it (and nothing else) through the instance."""
    [(number, offset)] = await put_records(kafka, topic, [value], partition=partition)
    records = await read_topic_until(bridge, path, topic, 1)
    assert records == [{"key": None, "value": b64(value), "partition": number, "offset": offset}]
    return records


async def test_json_consumer(
    bridge: BridgeClient, new_topic: NewTopicFactory, kafka: KafkaTarget
) -> None:
    topic = await new_topic(partitions=1)
    keys = [b'"first"', None, b"3"]
    values = [b'{"name": "Bill", "id": 1}', b"[1, 2.5, null]", b'"text"']
    positions = await put_records(kafka, topic, values, partition=0, keys=keys)
    group = unique_group()
    created = await create_v1(
        bridge,
        group,
        {"format": "json", "auto.offset.reset": "smallest", "auto.commit.enable": "false"},
    )
    path = instance_path(created["base_uri"])

    # A topic that does not exist is 40401, and does not subscribe the instance to it.
    missing = f"missing-{uuid.uuid4().hex[:12]}"
    response = await bridge.get(f"{path}/topics/{missing}", headers={"Accept": JSON_V1})
    await error_of(response, 404, 40401, dialect=1)
    records = await read_topic_until(bridge, path, topic, 3, accept=JSON_V1)
    assert records == [
        {
            "key": "first",
            "value": {"name": "Bill", "id": 1},
            "partition": 0,
            "offset": positions[0][1],
        },
        {"key": None, "value": [1, 2.5, None], "partition": 0, "offset": positions[1][1]},
        {"key": 3, "value": "text", "partition": 0, "offset": positions[2][1]},
    ]
    # The binary format in Accept does not match this consumer: 40601.
    response = await bridge.get(f"{path}/topics/{topic}", headers={"Accept": BINARY_V1})
    body = await error_of(response, 406, 40601, dialect=1)
    assert "json" in body["message"]
    # A format-less v1 Accept is answered in the consumer's format.
    [(_, offset)] = await put_records(kafka, topic, [b'{"more": true}'], partition=0)
    records = await read_topic_until(bridge, path, topic, 1, accept=V1, content_type=JSON_V1)
    assert records == [{"key": None, "value": {"more": True}, "partition": 0, "offset": offset}]

    response = await bridge.delete(path, headers=reference_headers())
    assert response.status == 204


async def test_largest_skips_what_was_there(
    bridge: BridgeClient, new_topic: NewTopicFactory, kafka: KafkaTarget
) -> None:
    topic = await new_topic(partitions=1)
    await put_records(kafka, topic, [b"old-1", b"old-2"], partition=0)
    created = await create_v1(
        bridge, unique_group(), {"auto.offset.reset": "largest", "auto.commit.enable": "false"}
    )
    path = instance_path(created["base_uri"])

    # Keep writing new records until they arrive: the group forms meanwhile, and the
    # instance starts at the end of the partition, so the old records never come.
    loop = asyncio.get_running_loop()
    end = loop.time() + 30
    produced: list[bytes] = []
    received: list[dict[str, Any]] = []
    while not received:
        assert loop.time() < end, "no new record arrived"
        value = f"new-{len(produced)}".encode()
        await put_records(kafka, topic, [value], partition=0)
        produced.append(value)
        received = await read_topic(bridge, path, topic, timeout_ms=1_000)
    received += await read_topic(bridge, path, topic, timeout_ms=500)
    values = [raw(r["value"]) for r in received]
    assert all(v.startswith(b"new-") for v in values), values
    # Whatever came is the tail of what was written after the instance started, in order.
    assert values == produced[len(produced) - len(values) :], (values, produced)
    offsets = [r["offset"] for r in received]
    assert offsets == list(range(offsets[0], offsets[0] + len(offsets)))
    assert offsets[0] >= 2

"""The `avro` embedded format through the bridge, over real HTTP, real Kafka and a real schema
registry: producing with inline schemas and schema ids in both dialects, the errors of
missing, invalid and unknown schemas and of records that do not fit, and reading records back
through consumer instances (both dialects, the references' avro examples) and by partition
offset, including a record not in the format. fastavro, an independent Avro implementation,
says what the bytes in Kafka must be."""

from __future__ import annotations

import dataclasses
import io
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import fastavro
from aiohttp import ClientResponse

from bridge.app import create_app
from bridge.settings import Settings
from bridge_codecs.schema_registry import frame
from tests.conftest import BridgeClient, NewTopicFactory, ReadRecords
from tests.integration.conftest import EndOffsets
from tests.integration.consumer_helpers import (
    Batch,
    answers_until,
    create_consumer,
    instance_path,
    put_records,
    read_until,
)
from tests.integration.helpers import (
    AVRO_V1,
    AVRO_V2,
    REFERENCE_HOST,
    V1,
    V2,
    check_landed,
    check_produced,
    error_of,
    error_text,
    json_of,
    produce_in,
)
from tests.kafka_target import KafkaTarget

#: The record of the references' avro consume examples ({"id": 1, "name": "Bill"}).
USER: dict[str, Any] = {
    "type": "record",
    "name": "User",
    "namespace": "com.example",
    "fields": [{"name": "id", "type": "int"}, {"name": "name", "type": "string"}],
}
#: A value with every kind of Avro type.
EVENT: dict[str, Any] = {
    "type": "record",
    "name": "Event",
    "namespace": "com.example",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "user", "type": ["null", USER], "default": None},
        {"name": "note", "type": ["null", "string"], "default": None},
        {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["CLICK", "VIEW"]}},
        {"name": "tags", "type": {"type": "array", "items": "string"}, "default": []},
        {"name": "counts", "type": {"type": "map", "values": "int"}, "default": {}},
        {"name": "digest", "type": {"type": "fixed", "name": "Digest", "size": 2}},
        {"name": "payload", "type": "bytes"},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {
            "name": "price",
            "type": {"type": "bytes", "logicalType": "decimal", "precision": 6, "scale": 2},
        },
        {"name": "ratio", "type": "float"},
    ],
}
KEY = '"int"'

#: Two events as the client writes them, and as fastavro (the Python form) writes them.
EVENTS: list[dict[str, Any]] = [
    {
        "id": 2**40,
        "user": {"com.example.User": {"id": 1, "name": "Bill"}},
        "note": {"string": "héllo ✓"},
        "kind": "CLICK",
        "tags": ["a", ""],
        "counts": {"x": -1},
        "digest": "\u00ff\u0000",
        "payload": "\u0000\u0001\u00fe",
        "day": 19358,
        "price": "\u0004\u00d2",
        "ratio": 0.1,
    },
    {
        "id": -1,
        "user": None,
        "note": None,
        "kind": "VIEW",
        "tags": [],
        "counts": {},
        "digest": "ab",
        "payload": "",
        "day": -1,
        "price": "\u00fb\u002e",
        "ratio": "NaN",
    },
]
EVENTS_PYTHON: list[dict[str, Any]] = [
    {
        **EVENTS[0],
        "user": {"id": 1, "name": "Bill"},
        "note": "héllo ✓",
        "digest": b"\xff\x00",
        "payload": b"\x00\x01\xfe",
        "price": b"\x04\xd2",
    },
    {**EVENTS[1], "digest": b"ab", "payload": b"", "price": b"\xfb\x2e", "ratio": float("nan")},
]


def without_logical_types(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: without_logical_types(v) for k, v in schema.items() if k != "logicalType"}
    if isinstance(schema, list):
        return [without_logical_types(item) for item in schema]
    return schema


def avro(schema: Any, value: Any) -> bytes:
    """The Avro binary form of a Python value, as fastavro writes it."""
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(without_logical_types(schema)), value)
    return out.getvalue()


async def produce(
    bridge: BridgeClient, path: str, body: Any, *, dialect: int = 2
) -> ClientResponse:
    return await produce_in(bridge, "avro", path, body, dialect=dialect)


def same_events(read: Any, expected: Any) -> None:
    """Decoded events equal the produced ones, NaN included (NaN is written "NaN")."""
    assert json.dumps(read, sort_keys=True) == json.dumps(expected, sort_keys=True)


# --- producing ---------------------------------------------------------------------------------


async def test_produce_v2_with_schemas_then_by_id(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=1)
    response = await produce(
        bridge,
        f"/topics/{topic}",
        {
            "key_schema": KEY,
            "value_schema": json.dumps(EVENT),
            "records": [{"key": 7, "value": EVENTS[0]}, {"key": -7, "value": EVENTS[1]}],
        },
    )
    body = await json_of(response)
    first = check_produced(body, 2)
    key_id, value_id = body["key_schema_id"], body["value_schema_id"]
    assert type(key_id) is int
    assert type(value_id) is int
    assert key_id != value_id

    # By id, to a partition; the defaults fill what is left out; no keys: no key schema id.
    minimal = {"id": 3, "kind": "VIEW", "digest": "zz", "payload": "p", "day": 0}
    minimal |= {"price": "", "ratio": 2.5}
    response = await produce(
        bridge,
        f"/topics/{topic}/partitions/0",
        # As JSON Schema counts 3.0 an integer, so does the bridge.
        {"value_schema_id": float(value_id), "records": [{"value": minimal}]},
    )
    body = await json_of(response)
    second = check_produced(body, 1)
    assert body["key_schema_id"] is None
    assert body["value_schema_id"] == value_id

    # In Kafka: what fastavro writes for the same values, in the Confluent wire format.
    filled = {**minimal, "user": None, "note": None, "tags": [], "counts": {}}
    filled |= {"digest": b"zz", "payload": b"p", "price": b""}
    check_landed(
        await read_records(topic, 3),
        first + second,
        [
            (frame(key_id, avro("int", 7)), frame(value_id, avro(EVENT, EVENTS_PYTHON[0]))),
            (frame(key_id, avro("int", -7)), frame(value_id, avro(EVENT, EVENTS_PYTHON[1]))),
            (None, frame(value_id, avro(EVENT, filled))),
        ],
    )


async def test_produce_v1_and_its_error_codes(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=1)
    path = f"/topics/{topic}"
    user = {"id": 1, "name": "Bill"}
    ok = {
        "key_schema": KEY,
        "value_schema": json.dumps(USER),
        "records": [{"key": 1, "value": user}],
    }
    body = await json_of(await produce(bridge, path, ok, dialect=1), content_type=V1)
    [position] = check_produced(body, 1, dialect=1)
    key_id, value_id = body["key_schema_id"], body["value_schema_id"]
    assert type(key_id) is int
    assert type(value_id) is int

    # v1's bare record array has no room for a schema: 42202 for values, 42201 for keys.
    response = await produce(bridge, path, [{"value": user}], dialect=1)
    error = await error_of(response, 422, 42202, dialect=1)
    assert "needs value_schema or value_schema_id" in error["message"]
    keyed = {"value_schema_id": value_id, "records": [{"key": 1, "value": user}]}
    error = await error_of(await produce(bridge, path, keyed, dialect=1), 422, 42201, dialect=1)
    assert "needs key_schema or key_schema_id" in error["message"]
    # An invalid schema, an unknown id, or a schema that is not the id's: 42205.
    bad = {"value_schema": '{"type": "strnig"}', "records": [{"value": user}]}
    error = await error_of(await produce(bridge, path, bad, dialect=1), 422, 42205, dialect=1)
    assert error["message"] == (
        "Invalid value schema: not a valid Avro schema: unknown type 'strnig'"
    )
    unknown = {"value_schema_id": 2_147_483_000, "records": [{"value": user}]}
    error = await error_of(await produce(bridge, path, unknown, dialect=1), 422, 42205, dialect=1)
    assert "schema id 2147483000 is not known" in error["message"]
    clash = {"value_schema": KEY, "value_schema_id": value_id, "records": [{"value": 1}]}
    error = await error_of(await produce(bridge, path, clash, dialect=1), 422, 42205, dialect=1)
    assert f"does not match schema id {value_id}" in error["message"]
    # A record that does not fit: 422, naming it and why.
    unfit = {"value_schema_id": value_id, "records": [{"value": user}, {"value": {"id": 2}}]}
    error = await error_of(await produce(bridge, path, unfit, dialect=1), 422, 422, dialect=1)
    assert (
        "records[1].value: field 'name': missing, and record 'com.example.User' gives no default"
        in error["message"]
    )
    assert "records[0]" not in error["message"]

    check_landed(
        await read_records(topic, 1),
        [position],
        [(frame(key_id, b"\x02"), frame(value_id, avro(USER, user)))],
    )


async def test_produce_v2_errors_write_nothing(
    bridge: BridgeClient, new_topic: NewTopicFactory, end_offsets: EndOffsets
) -> None:
    topic = await new_topic(partitions=1)
    path = f"/topics/{topic}"
    user = {"id": 1, "name": "Bill"}
    schema = json.dumps(USER)

    async def refused(body: dict[str, Any]) -> str:
        return error_text(await error_of(await produce(bridge, path, body), 422, 422))

    message = await refused({"records": [{"value": user}]})
    assert "needs value_schema or value_schema_id" in message
    message = await refused({"value_schema": schema, "records": [{"key": 1, "value": user}]})
    assert "needs key_schema or key_schema_id" in message
    message = await refused({"value_schema": "{not json", "records": [{"value": user}]})
    assert message.startswith("Invalid value schema: the schema is not valid JSON: ")
    message = await refused(
        {
            "key_schema": '["int", "int"]',
            "value_schema": schema,
            "records": [{"key": 1, "value": user}],
        }
    )
    assert (
        message
        == "Invalid key schema: not a valid Avro schema: a union may not contain 'int' twice"
    )
    message = await refused({"value_schema_id": 2_147_483_000, "records": [{"value": user}]})
    assert "Invalid value schema: schema id 2147483000 is not known" in message
    message = await refused(
        {
            "key_schema": KEY,
            "value_schema": schema,
            "records": [
                {"key": 1, "value": user},
                {"key": "one", "value": {"id": 2, "name": 2}},
                {"key": 2**31, "value": {"id": 3, "name": "x", "age": 3}},
            ],
        }
    )
    assert "records[1].key: expected int, got string" in message
    assert "records[1].value: field 'name': expected string, got number" in message
    assert "records[2].key: expected int, got 2147483648, which is beyond 32 bits" in message
    assert (
        "records[2].value: record 'com.example.User' has no field 'age'; its fields are id, name"
        in message
    )
    assert "records[0]" not in message
    assert await end_offsets(topic) == {0: 0}


async def test_without_a_registry_the_format_is_unavailable(
    bridge_settings: Settings,
    aiohttp_client: Callable[..., Awaitable[BridgeClient]],
    new_topic: NewTopicFactory,
) -> None:
    settings = dataclasses.replace(bridge_settings, schema_registry_url=None)
    bridge = await aiohttp_client(create_app(settings))
    topic = await new_topic(partitions=1)
    body = {"value_schema": KEY, "records": [{"value": 1}]}
    error = await error_of(await produce(bridge, f"/topics/{topic}", body), 502, 502)
    assert "the avro format needs a schema registry" in error["message"]
    error = await error_of(
        await produce(bridge, f"/topics/{topic}", body, dialect=1), 502, 50201, dialect=1
    )
    assert "schema.registry.url" in error["message"]


# --- consuming ---------------------------------------------------------------------------------


async def test_consume_and_read_by_offset_with_a_poison_record(
    bridge: BridgeClient, new_topic: NewTopicFactory, kafka: KafkaTarget
) -> None:
    topic = await new_topic(partitions=1)
    response = await produce(
        bridge,
        f"/topics/{topic}/partitions/0",
        {
            "key_schema": KEY,
            "value_schema": json.dumps(EVENT),
            "records": [{"key": 1, "value": EVENTS[0]}, {"value": EVENTS[1]}],
        },
    )
    body = await json_of(response)
    check_produced(body, 2)
    value_id = body["value_schema_id"]
    # Written by another Avro producer (fastavro), with the registered schema's id.
    put = await put_records(
        kafka, topic, [frame(value_id, avro(EVENT, EVENTS_PYTHON[0]))], partition=0
    )
    # Written by something else: plain JSON, not in the schema registry's wire format.
    [(_, poison)] = await put_records(kafka, topic, [b'{"id": 1}'], partition=0)
    expected = [(0, 1, EVENTS[0]), (1, None, EVENTS[1]), (put[0][1], None, EVENTS[0])]

    # A consumer instance in the avro format, assigned the partition.
    path = await create_consumer(
        bridge, f"avro-{uuid.uuid4().hex[:8]}", {"format": "avro", "auto.offset.reset": "earliest"}
    )
    response = await bridge.post(
        f"{path}/assignments",
        json={"partitions": [{"topic": topic, "partition": 0}]},
        headers={"Content-Type": V2},
    )
    assert response.status == 204, await response.text()
    read = await read_until(bridge, path, 3, accept=AVRO_V2, timeout_ms=5_000)
    same_events([(r["offset"], r["key"], r["value"]) for r in read], expected)
    assert all(r["topic"] == topic and r["partition"] == 0 for r in read)
    # Then the record not in the format: 406 naming it, until the client seeks past it.
    for _ in range(2):
        response = await bridge.get(f"{path}/records?timeout=5000", headers={"Accept": AVRO_V2})
        message = (await error_of(response, 406, 406))["message"]
        assert f"offset {poison} of partition 0 of topic '{topic}'" in message, message
        assert "not in this consumer's format 'avro'" in message, message
        assert "wire format" in message, message
    response = await bridge.delete(path, headers={"Content-Type": V2})
    assert response.status == 204, await response.text()

    # By offset, without a group: v2 records and v1 messages, then 406 at the poison.
    response = await bridge.get(
        f"/topics/{topic}/partitions/0/records?offset=0&timeout=5000",
        headers={"Accept": AVRO_V2},
    )
    records = await json_of(response, content_type=AVRO_V2)
    same_events([(r["offset"], r["key"], r["value"]) for r in records], expected)
    response = await bridge.get(
        f"/topics/{topic}/partitions/0/messages?offset=0&count=3", headers={"Accept": AVRO_V1}
    )
    messages = await json_of(response, content_type=AVRO_V1)
    same_events(
        messages,
        [
            {"key": key, "value": value, "partition": 0, "offset": offset}
            for offset, key, value in expected
        ],
    )
    response = await bridge.get(
        f"/topics/{topic}/partitions/0/messages?offset={poison}", headers={"Accept": AVRO_V1}
    )
    message = (await error_of(response, 406, 40601, dialect=1))["message"]
    assert f"offset {poison} of partition 0" in message, message


async def read_v1_topic(bridge: BridgeClient, path: str, topic: str) -> Batch:
    response = await bridge.get(
        f"{path}/topics/{topic}?timeout=2000",
        headers={"Host": "proxy-instance.kafkaproxy.example.com", "Accept": AVRO_V1},
    )
    batch = await json_of(response, content_type=AVRO_V1)
    assert isinstance(batch, list), batch
    return batch


async def test_reference_avro_consume_examples(
    bridge: BridgeClient, new_topic: NewTopicFactory
) -> None:
    # The references' records: keys 1 and 2, values Bill and Melinda, produced through the
    # bridge (v1) with the references' kind of schemas.
    topic = await new_topic(partitions=1)
    users = [{"id": 1, "name": "Bill"}, {"id": 2, "name": "Melinda"}]
    response = await produce(
        bridge,
        f"/topics/{topic}",
        {
            "key_schema": KEY,
            "value_schema": json.dumps(USER),
            "records": [{"key": u["id"], "value": u} for u in users],
        },
        dialect=1,
    )
    positions = check_produced(await json_of(response, content_type=V1), 2, dialect=1)
    v1_expected = [
        {"key": user["id"], "value": user, "partition": partition, "offset": offset}
        for user, (partition, offset) in zip(users, positions, strict=True)
    ]

    # v1: GET /consumers/avrogroup/instances/my_avro_consumer/topics/test_avro_topic.
    v1_group = f"avrogroup-{uuid.uuid4().hex[:8]}"
    response = await bridge.post(
        f"/consumers/{v1_group}",
        data=json.dumps(
            {"id": "my_avro_consumer", "format": "avro", "auto.offset.reset": "smallest"}
        ),
        headers={"Host": REFERENCE_HOST, "Content-Type": V1, "Accept": V1},
    )
    created = await json_of(response, V1)
    assert created["instance_id"] == "my_avro_consumer"
    path = instance_path(created["base_uri"])
    assert path == f"/consumers/{v1_group}/instances/my_avro_consumer"
    answers = await answers_until(lambda: read_v1_topic(bridge, path, topic), 2)
    assert [record for answer in answers for record in answer] == v1_expected
    response = await bridge.delete(path, headers={"Accept": V1})
    assert response.status == 204, await response.text()

    # v2: GET .../records?timeout=3000&max_bytes=300000 after subscribing.
    v2_group = f"avrogroup-{uuid.uuid4().hex[:8]}"
    path = await create_consumer(
        bridge,
        v2_group,
        {"name": "my_avro_consumer", "format": "avro", "auto.offset.reset": "earliest"},
    )
    response = await bridge.post(
        f"{path}/subscription", json={"topics": [topic]}, headers={"Content-Type": V2}
    )
    assert response.status == 204, await response.text()

    async def read_v2() -> Batch:
        response = await bridge.get(
            f"{path}/records?timeout=3000&max_bytes=300000", headers={"Accept": AVRO_V2}
        )
        batch = await json_of(response, content_type=AVRO_V2)
        assert isinstance(batch, list), batch
        return batch

    answers = await answers_until(read_v2, 2)
    read = [record for answer in answers for record in answer]
    assert [{k: r[k] for k in ("key", "value", "partition", "offset")} for r in read] == v1_expected
    assert all(r["topic"] == topic for r in read)
    response = await bridge.delete(path, headers={"Content-Type": V2})
    assert response.status == 204, await response.text()

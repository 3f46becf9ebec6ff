"""The `jsonschema` embedded format through the bridge, over real HTTP, real Kafka and a real
schema registry: producing with inline schemas and schema ids in both dialects, the errors of
missing, invalid and unknown schemas and of records that do not fit, and reading records back
through a consumer instance and by partition offset, including a record not in the format."""

from __future__ import annotations

import json
import uuid
from typing import Any

from aiohttp import ClientResponse

from bridge_codecs.schema_registry import frame
from tests.conftest import BridgeClient, NewTopicFactory, ReadRecords
from tests.integration.conftest import EndOffsets
from tests.integration.consumer_helpers import create_consumer, put_records, read_until
from tests.integration.helpers import (
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

JSONSCHEMA_V1 = "application/vnd.kafka.jsonschema.v1+json"
JSONSCHEMA_V2 = "application/vnd.kafka.jsonschema.v2+json"

BIG = 123456789012345678901234567890
#: The largest integer responses can carry today (orjson writes them; bigger ones are a 500).
LONG = 2**63 - 1

PERSON = json.dumps(
    {
        "title": "Person",
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer", "minimum": 0},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["name"],
    }
)
KEY = json.dumps({"type": "integer"})


def compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


async def produce(
    bridge: BridgeClient, path: str, body: Any, *, dialect: int = 2
) -> ClientResponse:
    return await produce_in(bridge, "jsonschema", path, body, dialect=dialect)


# --- producing ---------------------------------------------------------------------------------


async def test_produce_v2_with_schemas_then_by_id(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=1)
    people = [{"name": "Ada", "age": BIG, "tags": ["ü"]}, {"name": "Bob"}]
    response = await produce(
        bridge,
        f"/topics/{topic}",
        {
            "key_schema": KEY,
            "value_schema": PERSON,
            "records": [{"key": BIG, "value": people[0]}, {"key": 7, "value": people[1]}],
        },
    )
    body = await json_of(response)
    first = check_produced(body, 2)
    key_id, value_id = body["key_schema_id"], body["value_schema_id"]
    assert type(key_id) is int
    assert type(value_id) is int
    assert key_id != value_id

    # The value schema again by its id, to a partition; no keys: no key schema id.
    response = await produce(
        bridge,
        f"/topics/{topic}/partitions/0",
        {"value_schema_id": value_id, "records": [{"value": {"name": "Cy", "age": 3}}]},
    )
    body = await json_of(response)
    second = check_produced(body, 1)
    assert body["key_schema_id"] is None
    assert body["value_schema_id"] == value_id

    # In Kafka: compact JSON in the Confluent wire format, integers exact.
    check_landed(
        await read_records(topic, 3),
        first + second,
        [
            (frame(key_id, str(BIG).encode()), frame(value_id, compact(people[0]))),
            (frame(key_id, b"7"), frame(value_id, b'{"name":"Bob"}')),
            (None, frame(value_id, b'{"name":"Cy","age":3}')),
        ],
    )


async def test_produce_v1_and_its_error_codes(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=1)
    path = f"/topics/{topic}"
    response = await produce(
        bridge, path, {"value_schema": PERSON, "records": [{"value": {"name": "Ada"}}]}, dialect=1
    )
    body = await json_of(response, content_type=V1)
    [position] = check_produced(body, 1, dialect=1)
    assert body["key_schema_id"] is None
    value_id = body["value_schema_id"]
    assert type(value_id) is int

    # v1's bare record array has no room for a schema: 42202 for values, 42201 for keys.
    response = await produce(bridge, path, [{"value": {"name": "Ada"}}], dialect=1)
    await error_of(response, 422, 42202, dialect=1)
    keyed = {"value_schema_id": value_id, "records": [{"key": 1, "value": {"name": "Ada"}}]}
    await error_of(await produce(bridge, path, keyed, dialect=1), 422, 42201, dialect=1)
    # An invalid schema or an unknown id: 42205.
    bad = {"value_schema": '{"type": "strnig"}', "records": [{"value": {"name": "Ada"}}]}
    error = await error_of(await produce(bridge, path, bad, dialect=1), 422, 42205, dialect=1)
    assert "Invalid value schema: not a valid draft 7 JSON Schema at $.type" in error["message"]
    unknown = {"value_schema_id": 2_147_483_000, "records": [{"value": {"name": "Ada"}}]}
    error = await error_of(await produce(bridge, path, unknown, dialect=1), 422, 42205, dialect=1)
    assert "schema id 2147483000 is not known" in error["message"]
    # A record that does not fit: 422, naming it.
    unfit = {"value_schema_id": value_id, "records": [{"value": {"name": "A"}}, {"value": {}}]}
    error = await error_of(await produce(bridge, path, unfit, dialect=1), 422, 422, dialect=1)
    assert (
        "records[1].value: does not match the schema at $: 'name' is a required"
        in (error["message"])
    )

    check_landed(
        await read_records(topic, 1), [position], [(None, frame(value_id, b'{"name":"Ada"}'))]
    )


async def test_produce_v2_errors_write_nothing(
    bridge: BridgeClient, new_topic: NewTopicFactory, end_offsets: EndOffsets
) -> None:
    topic = await new_topic(partitions=1)
    path = f"/topics/{topic}"
    person = {"name": "Ada"}

    async def refused(body: dict[str, Any], status: int = 422, code: int = 422) -> str:
        return error_text(await error_of(await produce(bridge, path, body), status, code))

    message = await refused({"records": [{"value": person}]})
    assert "needs value_schema or value_schema_id" in message
    message = await refused({"value_schema": PERSON, "records": [{"key": 1, "value": person}]})
    assert "needs key_schema or key_schema_id" in message
    message = await refused({"value_schema": "{not json", "records": [{"value": person}]})
    assert message.startswith("Invalid value schema: the schema is not valid JSON: ")
    message = await refused(
        {
            "key_schema": '{"$schema": "https://example.com/s"}',
            "value_schema": PERSON,
            "records": [{"key": 1, "value": person}],
        }
    )
    assert message.startswith("Invalid key schema: $schema 'https://example.com/s' names no")
    message = await refused({"value_schema_id": 2_147_483_000, "records": [{"value": person}]})
    assert "Invalid value schema: schema id 2147483000 is not known" in message
    message = await refused(
        {
            "key_schema": KEY,
            "value_schema": PERSON,
            "records": [
                {"key": 1, "value": person},
                {"key": "one", "value": {"name": "Bo", "tags": ["a", 2]}},
            ],
        }
    )
    assert "records[1].key: does not match the schema at $: 'one' is not of type 'integer'" in (
        message
    )
    assert "records[1].value: does not match the schema at $.tags[1]: 2 is not of type" in message
    assert "records[0]" not in message
    assert await end_offsets(topic) == {0: 0}


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
            "value_schema": PERSON,
            "records": [
                {"key": LONG, "value": {"name": "Ada", "age": LONG}},
                {"value": {"name": "Bob", "tags": []}},
            ],
        },
    )
    produced = await json_of(response)
    check_produced(produced, 2)
    # Written by something else: plain JSON, not in the schema registry's wire format.
    [(_, poison)] = await put_records(kafka, topic, [b'{"name": "raw"}'], partition=0)
    expected = [
        (0, LONG, {"name": "Ada", "age": LONG}),
        (1, None, {"name": "Bob", "tags": []}),
    ]

    # A consumer instance in the jsonschema format, assigned the partition.
    path = await create_consumer(
        bridge,
        f"jsc-{uuid.uuid4().hex[:8]}",
        {"format": "jsonschema", "auto.offset.reset": "earliest"},
    )
    response = await bridge.post(
        f"{path}/assignments",
        json={"partitions": [{"topic": topic, "partition": 0}]},
        headers={"Content-Type": V2},
    )
    assert response.status == 204, await response.text()
    read = await read_until(bridge, path, 2, accept=JSONSCHEMA_V2, timeout_ms=5_000)
    assert [(r["offset"], r["key"], r["value"]) for r in read] == expected
    assert all(r["topic"] == topic and r["partition"] == 0 for r in read)
    # Then the record not in the format: 406 naming it, until the client seeks past it.
    for _ in range(2):
        response = await bridge.get(
            f"{path}/records?timeout=5000", headers={"Accept": JSONSCHEMA_V2}
        )
        message = (await error_of(response, 406, 406))["message"]
        assert f"offset {poison} of partition 0 of topic '{topic}'" in message, message
        assert "not in this consumer's format 'jsonschema'" in message, message
        assert "wire format" in message, message
    response = await bridge.post(
        f"{path}/positions",
        json={"offsets": [{"topic": topic, "partition": 0, "offset": poison + 1}]},
        headers={"Content-Type": V2},
    )
    assert response.status == 204, await response.text()
    response = await produce(
        bridge,
        f"/topics/{topic}/partitions/0",
        {"value_schema_id": produced["value_schema_id"], "records": [{"value": {"name": "Cy"}}]},
    )
    check_produced(await json_of(response), 1)
    [after] = await read_until(bridge, path, 1, accept=JSONSCHEMA_V2)
    assert (after["offset"], after["key"], after["value"]) == (poison + 1, None, {"name": "Cy"})
    response = await bridge.delete(path, headers={"Content-Type": V2})
    assert response.status == 204, await response.text()

    # By offset, without a group: the records before it, then 406 at it.
    response = await bridge.get(
        f"/topics/{topic}/partitions/0/records?offset=0&timeout=5000",
        headers={"Accept": JSONSCHEMA_V2},
    )
    body = await json_of(response, content_type=JSONSCHEMA_V2)
    assert [(r["offset"], r["key"], r["value"]) for r in body] == expected
    response = await bridge.get(
        f"/topics/{topic}/partitions/0/records?offset={poison}&timeout=5000",
        headers={"Accept": JSONSCHEMA_V2},
    )
    message = (await error_of(response, 406, 406))["message"]
    assert f"offset {poison} of partition 0" in message, message

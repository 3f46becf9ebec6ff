"""Producing in the v2 dialect: the examples of the Kafka Bridge reference and of the
Confluent v2 reference (whose clients speak our v2 dialect), the v2 record fields (headers,
timestamp, partition), nulls, and `?async=true`; each checked in Kafka with aiokafka.

The v2 produce answer is the Kafka Bridge's `{"offsets": [{"partition", "offset"}]}`; the
Confluent v2 examples also show `key_schema_id`/`value_schema_id` as null, which the bridge
leaves out unless a schema format was used.
"""

from __future__ import annotations

import base64
import time

import orjson
import pytest

from tests.conftest import BridgeClient, NewTopicFactory, ReadRecords
from tests.integration.conftest import EndOffsets
from tests.integration.helpers import (
    AVRO_V2,
    BINARY_V2,
    JSON,
    JSON_V2,
    REFERENCE_HOST,
    TEXT_V2,
    V2,
    V2_REFERENCE_ACCEPT,
    check_landed,
    check_offsets,
    error_of,
    error_text,
    json_of,
)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def confluent_headers(content_type: str) -> dict[str, str]:
    return {"Host": REFERENCE_HOST, "Content-Type": content_type, "Accept": V2_REFERENCE_ACCEPT}


# --- Confluent v2 reference examples, bodies as written there ----------------------------

CONFLUENT_BINARY_TO_TOPIC = b"""{
  "records": [
    {
      "key": "a2V5",
      "value": "Y29uZmx1ZW50"
    },
    {
      "value": "a2Fma2E=",
      "partition": 1
    },
    {
      "value": "bG9ncw=="
    }
  ]
}"""

CONFLUENT_JSON_TO_TOPIC = b"""{
  "records": [
    {
      "key": "somekey",
      "value": {"foo": "bar"}
    },
    {
      "value": [ "foo", "bar" ],
      "partition": 1
    },
    {
      "value": 53.5
    }
  ]
}"""

CONFLUENT_BINARY_TO_PARTITION = b"""{
  "records": [
    {
      "key": "a2V5",
      "value": "Y29uZmx1ZW50"
    },
    {
      "value": "a2Fma2E="
    }
  ]
}"""

CONFLUENT_JSON_TO_PARTITION = b"""{
  "records": [
    {
      "key": "somekey",
      "value": {"foo": "bar"}
    },
    {
      "value": 53.5
    }
  ]
}"""

# The reference omits the comma after "value_schema"; the comma is added here.
CONFLUENT_AVRO_TO_TOPIC = b"""{
  "value_schema": "{\\"name\\":\\"int\\",\\"type\\": \\"int\\"}",
  "records": [
    {
      "value": 12
    },
    {
      "value": 24,
      "partition": 1
    }
  ]
}"""

CONFLUENT_AVRO_TO_PARTITION = b"""{
  "value_schema": "{\\"name\\":\\"int\\",\\"type\\": \\"int\\"}",
  "records": [
    {
      "value": 25
    },
    {
      "value": 26
    }
  ]
}"""

# --- Kafka Bridge reference examples -----------------------------------------------------

BRIDGE_TO_TOPIC = b"""{
  "records" : [ {
    "key" : "key1",
    "value" : "value1"
  }, {
    "value" : "value2",
    "partition" : 1
  }, {
    "value" : "value3"
  } ]
}"""

BRIDGE_TO_PARTITION = b"""{
  "records" : [ {
    "key" : "key1",
    "value" : "value1"
  }, {
    "value" : "value2"
  } ]
}"""


async def test_confluent_binary_to_topic_example(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=3)
    response = await bridge.post(
        f"/topics/{topic}", data=CONFLUENT_BINARY_TO_TOPIC, headers=confluent_headers(BINARY_V2)
    )
    positions = check_offsets(await json_of(response, V2), 3, dialect=2, partitions=[None, 1, None])
    check_landed(
        await read_records(topic, 3),
        positions,
        [(b"key", b"confluent"), (None, b"kafka"), (None, b"logs")],
    )


async def test_confluent_json_to_topic_example(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=3)
    response = await bridge.post(
        f"/topics/{topic}", data=CONFLUENT_JSON_TO_TOPIC, headers=confluent_headers(JSON_V2)
    )
    positions = check_offsets(await json_of(response, V2), 3, dialect=2, partitions=[None, 1, None])
    check_landed(
        await read_records(topic, 3),
        positions,
        [(b'"somekey"', b'{"foo":"bar"}'), (None, b'["foo","bar"]'), (None, b"53.5")],
    )


async def test_confluent_binary_to_partition_example(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=2)
    response = await bridge.post(
        f"/topics/{topic}/partitions/1",
        data=CONFLUENT_BINARY_TO_PARTITION,
        headers=confluent_headers(BINARY_V2),
    )
    positions = check_offsets(await json_of(response, V2), 2, dialect=2, partitions=[1, 1])
    assert positions == [(1, 0), (1, 1)]
    check_landed(
        await read_records(topic, 2), positions, [(b"key", b"confluent"), (None, b"kafka")]
    )


async def test_confluent_json_to_partition_example(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=2)
    response = await bridge.post(
        f"/topics/{topic}/partitions/1",
        data=CONFLUENT_JSON_TO_PARTITION,
        headers=confluent_headers(JSON_V2),
    )
    positions = check_offsets(await json_of(response, V2), 2, dialect=2, partitions=[1, 1])
    assert positions == [(1, 0), (1, 1)]
    check_landed(
        await read_records(topic, 2), positions, [(b'"somekey"', b'{"foo":"bar"}'), (None, b"53.5")]
    )


async def test_confluent_avro_to_topic_example(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=3)
    response = await bridge.post(
        f"/topics/{topic}", data=CONFLUENT_AVRO_TO_TOPIC, headers=confluent_headers(AVRO_V2)
    )
    body = await json_of(response, V2)
    assert set(body) == {"key_schema_id", "value_schema_id", "offsets"}
    assert body["key_schema_id"] is None
    schema_id = body["value_schema_id"]
    assert type(schema_id) is int
    assert body["offsets"][1]["partition"] == 1
    # Confluent wire format: magic byte 0, the schema id, then Avro (zig-zag) ints 12 and 24.
    prefix = b"\x00" + schema_id.to_bytes(4, "big")
    records = await read_records(topic, 2)
    assert sorted(r.value for r in records) == sorted([prefix + b"\x18", prefix + b"\x30"])


async def test_confluent_avro_to_partition_example(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=2)
    response = await bridge.post(
        f"/topics/{topic}/partitions/1",
        data=CONFLUENT_AVRO_TO_PARTITION,
        headers=confluent_headers(AVRO_V2),
    )
    body = await json_of(response, V2)
    schema_id = body["value_schema_id"]
    assert type(schema_id) is int
    assert [(o["partition"], o["offset"]) for o in body["offsets"]] == [(1, 0), (1, 1)]
    prefix = b"\x00" + schema_id.to_bytes(4, "big")
    records = await read_records(topic, 2)
    assert [r.value for r in records] == [prefix + b"\x32", prefix + b"\x34"]


async def test_kafka_bridge_to_topic_example(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=3)
    response = await bridge.post(
        f"/topics/{topic}",
        data=BRIDGE_TO_TOPIC,
        headers={"Content-Type": JSON_V2},
        skip_auto_headers=["Accept"],
    )
    positions = check_offsets(await json_of(response, V2), 3, dialect=2, partitions=[None, 1, None])
    check_landed(
        await read_records(topic, 3),
        positions,
        [(b'"key1"', b'"value1"'), (None, b'"value2"'), (None, b'"value3"')],
    )


async def test_kafka_bridge_to_partition_example(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=3)
    response = await bridge.post(
        f"/topics/{topic}/partitions/2",
        data=BRIDGE_TO_PARTITION,
        headers={"Content-Type": JSON_V2},
        skip_auto_headers=["Accept"],
    )
    positions = check_offsets(await json_of(response, V2), 2, dialect=2, partitions=[2, 2])
    assert positions == [(2, 0), (2, 1)]
    check_landed(
        await read_records(topic, 2), positions, [(b'"key1"', b'"value1"'), (None, b'"value2"')]
    )


# --- record fields -----------------------------------------------------------------------


async def test_headers_land_as_kafka_headers(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=2)
    headers = [
        {"key": "trace-id", "value": b64(b"abc123")},
        {"key": "bytes", "value": b64(b"\x00\x01\xfe\xff")},
        {"key": "trace-id", "value": b64(b"second")},  # repeated keys are kept, in order
        {"key": "empty", "value": ""},
        {"key": "ключ", "value": b64("значение".encode())},
    ]
    records = [
        {"value": b64(b"with headers"), "headers": headers},
        {"value": b64(b"no headers")},
        {"value": b64(b"null headers"), "headers": None},
        {"value": b64(b"empty headers"), "headers": []},
    ]
    response = await bridge.post(
        f"/topics/{topic}/partitions/1",
        json={"records": records},
        headers={"Content-Type": BINARY_V2},
    )
    positions = check_offsets(await json_of(response), 4, dialect=2, partitions=[1] * 4)
    landed = check_landed(
        await read_records(topic, 4),
        positions,
        [
            (None, b"with headers"),
            (None, b"no headers"),
            (None, b"null headers"),
            (None, b"empty headers"),
        ],
    )
    assert list(landed[0].headers) == [
        ("trace-id", b"abc123"),
        ("bytes", b"\x00\x01\xfe\xff"),
        ("trace-id", b"second"),
        ("empty", b""),
        ("ключ", "значение".encode()),
    ]
    assert [list(r.headers) for r in landed[1:]] == [[], [], []]


async def test_headers_to_topic_with_json_format(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=1)
    record = {"key": "k", "value": {"n": 1}, "headers": [{"key": "h", "value": b64(b"v")}]}
    response = await bridge.post(
        f"/topics/{topic}", json={"records": [record]}, headers={"Content-Type": JSON_V2}
    )
    positions = check_offsets(await json_of(response), 1, dialect=2)
    [landed] = check_landed(await read_records(topic, 1), positions, [(b'"k"', b'{"n":1}')])
    assert list(landed.headers) == [("h", b"v")]


async def test_timestamp_lands_as_the_record_timestamp(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=1)
    stamp = 1_600_000_000_123
    records = [
        {"value": b64(b"stamped"), "timestamp": stamp},
        {"value": b64(b"epoch"), "timestamp": 0},
        {"value": b64(b"now"), "timestamp": None},
        {"value": b64(b"now too")},
    ]
    before_ms = int(time.time() * 1000)
    response = await bridge.post(
        f"/topics/{topic}", json={"records": records}, headers={"Content-Type": BINARY_V2}
    )
    positions = check_offsets(await json_of(response), 4, dialect=2)
    after_ms = int(time.time() * 1000)
    landed = check_landed(
        await read_records(topic, 4),
        positions,
        [(None, b"stamped"), (None, b"epoch"), (None, b"now"), (None, b"now too")],
    )
    assert [r.timestamp for r in landed[:2]] == [stamp, 0]
    assert all(r.timestamp_type == 0 for r in landed)  # CreateTime: the producer's timestamp
    for record in landed[2:]:
        assert before_ms - 1000 <= record.timestamp <= after_ms + 1000


async def test_timestamp_to_partition(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=2)
    response = await bridge.post(
        f"/topics/{topic}/partitions/1",
        json={"records": [{"value": "x", "timestamp": 1_234_567_890_123}]},
        headers={"Content-Type": TEXT_V2},
    )
    positions = check_offsets(await json_of(response), 1, dialect=2, partitions=[1])
    [landed] = check_landed(await read_records(topic, 1), positions, [(None, b"x")])
    assert landed.timestamp == 1_234_567_890_123


async def test_partition_in_records_is_honoured(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=3)
    wanted = [2, 0, 1, 2, None]
    records = [{"value": f"to {p}", "partition": p} for p in wanted]
    response = await bridge.post(
        f"/topics/{topic}", json={"records": records}, headers={"Content-Type": TEXT_V2}
    )
    positions = check_offsets(await json_of(response), 5, dialect=2, partitions=wanted)
    landed = check_landed(
        await read_records(topic, 5), positions, [(None, f"to {p}".encode()) for p in wanted]
    )
    assert [r.partition for r in landed[:4]] == [2, 0, 1, 2]


async def test_null_value_is_a_tombstone_and_null_or_missing_key_is_no_key(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=1)
    records = [
        {"key": "gone", "value": None},
        {"key": None, "value": {"a": 1}},
        {"value": "no key"},
    ]
    response = await bridge.post(
        f"/topics/{topic}", json={"records": records}, headers={"Content-Type": JSON_V2}
    )
    positions = check_offsets(await json_of(response), 3, dialect=2)
    check_landed(
        await read_records(topic, 3),
        positions,
        [(b'"gone"', None), (None, b'{"a":1}'), (None, b'"no key"')],
    )


async def test_record_with_null_key_and_null_value_is_all_or_nothing(
    bridge: BridgeClient,
    new_topic: NewTopicFactory,
    read_records: ReadRecords,
    end_offsets: EndOffsets,
) -> None:
    # Kafka (and the Java producer behind the reference proxies) accepts a record with a
    # null key and a null value. If the bridge cannot send one, it must say so up front
    # (422 naming the record) and write nothing, never half a request with an internal error.
    topic = await new_topic(partitions=1)
    records = [{"key": "k", "value": "v"}, {"key": None, "value": None}]
    response = await bridge.post(
        f"/topics/{topic}", json={"records": records}, headers={"Content-Type": JSON_V2}
    )
    if response.status == 422:
        body = await error_of(response, 422, 422)
        assert "records[1]" in error_text(body)
        assert await end_offsets(topic) == {0: 0}
    else:
        positions = check_offsets(await json_of(response), 2, dialect=2)
        check_landed(await read_records(topic, 2), positions, [(b'"k"', b'"v"'), (None, None)])


async def test_binary_empty_bytes_are_not_null(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=1)
    records = [{"key": "", "value": ""}, {"key": b64(b"k"), "value": None}]
    response = await bridge.post(
        f"/topics/{topic}", json={"records": records}, headers={"Content-Type": BINARY_V2}
    )
    positions = check_offsets(await json_of(response), 2, dialect=2)
    check_landed(await read_records(topic, 2), positions, [(b"", b""), (b"k", None)])


async def test_json_format_stores_compact_json(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=1)
    raw = (
        b'{"records": [\n'
        b'  {"key": {"id": 7, "tags": [ "a", "b" ]},'
        b' "value": {"nested": {"x": [1, 2.5, null, true]}, "text": "caf\\u00e9 \xe2\x9c\x93"}},\n'
        b'  {"value": false},\n'
        b'  {"value": 0},\n'
        b'  {"value": ""}\n'
        b"]}"
    )
    response = await bridge.post(f"/topics/{topic}", data=raw, headers={"Content-Type": JSON_V2})
    positions = check_offsets(await json_of(response), 4, dialect=2)
    check_landed(
        await read_records(topic, 4),
        positions,
        [
            (
                b'{"id":7,"tags":["a","b"]}',
                '{"nested":{"x":[1,2.5,null,true]},"text":"café ✓"}'.encode(),
            ),
            (None, b"false"),
            (None, b"0"),
            (None, b'""'),
        ],
    )


async def test_json_format_keeps_big_integers_exact(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=1)
    raw = (
        b'{"records": [{"key": 18446744073709551616, '
        b'"value": {"n": 123456789012345678901234567890, "m": -99999999999999999999}}]}'
    )
    response = await bridge.post(f"/topics/{topic}", data=raw, headers={"Content-Type": JSON_V2})
    positions = check_offsets(await json_of(response), 1, dialect=2)
    check_landed(
        await read_records(topic, 1),
        positions,
        [
            (
                b"18446744073709551616",
                b'{"n":123456789012345678901234567890,"m":-99999999999999999999}',
            )
        ],
    )


async def test_text_format_stores_utf8(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=2)
    records = [
        {"key": "clé", "value": "héllo ✓ 🎉"},
        {"value": ""},
        {"key": "k", "value": None},
    ]
    response = await bridge.post(
        f"/topics/{topic}/partitions/0",
        json={"records": records},
        headers={"Content-Type": TEXT_V2},
    )
    positions = check_offsets(await json_of(response), 3, dialect=2, partitions=[0, 0, 0])
    check_landed(
        await read_records(topic, 3),
        positions,
        [("clé".encode(), "héllo ✓ 🎉".encode()), (None, b""), (b"k", None)],
    )


@pytest.mark.parametrize(
    "content_type",
    ["application/vnd.kafka.v2+json", "application/json", "application/octet-stream"],
)
async def test_content_types_without_a_format_mean_binary(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords, content_type: str
) -> None:
    topic = await new_topic(partitions=1)
    response = await bridge.post(
        f"/topics/{topic}",
        data=b'{"records": [{"key": "a2V5", "value": "a2Fma2E="}]}',
        headers={"Content-Type": content_type},
    )
    positions = check_offsets(await json_of(response), 1, dialect=2)
    check_landed(await read_records(topic, 1), positions, [(b"key", b"kafka")])


async def test_accept_application_json_gets_application_json(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=1)
    response = await bridge.post(
        f"/topics/{topic}",
        json={"records": [{"value": "plain"}]},
        headers={"Content-Type": TEXT_V2, "Accept": "application/json"},
    )
    positions = check_offsets(await json_of(response, JSON), 1, dialect=2)
    check_landed(await read_records(topic, 1), positions, [(None, b"plain")])


async def test_many_records_keep_their_order(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=2)
    count = 300
    records = [{"key": "same", "value": f"record {i}"} for i in range(count)]
    response = await bridge.post(
        f"/topics/{topic}/partitions/1",
        json={"records": records},
        headers={"Content-Type": TEXT_V2},
    )
    positions = check_offsets(await json_of(response), count, dialect=2, partitions=[1] * count)
    assert positions == [(1, i) for i in range(count)]
    check_landed(
        await read_records(topic, count),
        positions,
        [(b"same", f"record {i}".encode()) for i in range(count)],
    )


# --- ?async=true -------------------------------------------------------------------------


@pytest.mark.parametrize("partition_path", ["", "/partitions/1"])
async def test_async_produce_answers_204_and_the_records_land(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords, partition_path: str
) -> None:
    topic = await new_topic(partitions=2)
    records = [
        {"key": "a", "value": "first", "headers": [{"key": "h", "value": b64(b"1")}]},
        {"value": "second"},
    ]
    response = await bridge.post(
        f"/topics/{topic}{partition_path}?async=true",
        json={"records": records},
        headers={"Content-Type": TEXT_V2},
    )
    assert response.status == 204
    assert await response.read() == b""
    landed = await read_records(topic, 2)
    assert {(r.key, r.value) for r in landed} == {(b"a", b"first"), (None, b"second")}
    first = next(r for r in landed if r.value == b"first")
    assert list(first.headers) == [("h", b"1")]
    if partition_path:
        assert {r.partition for r in landed} == {1}


async def test_async_false_is_an_ordinary_produce(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=1)
    response = await bridge.post(
        f"/topics/{topic}?async=false",
        json={"records": [{"value": "sync"}]},
        headers={"Content-Type": TEXT_V2},
    )
    positions = check_offsets(await json_of(response), 1, dialect=2)
    check_landed(await read_records(topic, 1), positions, [(None, b"sync")])


async def test_integral_float_partition_is_partition_1_and_the_producer_keeps_working(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    # JSON has one number type; 1.0 is an integer for JSON Schema, Jackson (Confluent) and
    # Vert.x (Kafka Bridge), which all read it as partition 1.
    topic = await new_topic(partitions=2)
    response = await bridge.post(
        f"/topics/{topic}",
        data=b'{"records": [{"value": "one", "partition": 1.0}]}',
        headers={"Content-Type": TEXT_V2},
    )
    body = await json_of(response)
    positions = check_offsets(body, 1, dialect=2, partitions=[1])
    assert orjson.dumps(body["offsets"][0]["partition"]) == b"1"
    response = await bridge.post(
        f"/topics/{topic}",
        json={"records": [{"value": "after", "partition": 0}]},
        headers={"Content-Type": TEXT_V2},
    )
    positions += check_offsets(await json_of(response), 1, dialect=2, partitions=[0])
    check_landed(await read_records(topic, 2), positions, [(None, b"one"), (None, b"after")])

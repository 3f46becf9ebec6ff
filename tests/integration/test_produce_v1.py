"""Producing in the v1 dialect (Confluent REST Proxy v1): the reference's examples sent as
written, then what landed in Kafka, read back with aiokafka."""

from __future__ import annotations

import base64

import pytest
from aiokafka.partitioner import DefaultPartitioner

from tests.conftest import BridgeClient, NewTopicFactory, ReadRecords
from tests.integration.helpers import (
    AVRO_V1,
    BINARY_V1,
    JSON,
    REFERENCE_HOST,
    V1,
    V1_REFERENCE_ACCEPT,
    check_landed,
    check_offsets,
    json_of,
)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def reference_headers(content_type: str) -> dict[str, str]:
    return {"Host": REFERENCE_HOST, "Content-Type": content_type, "Accept": V1_REFERENCE_ACCEPT}


# The request bodies exactly as the v1 reference writes them.
BINARY_TO_TOPIC_BODY = b"""[
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
]"""

BINARY_TO_PARTITION_BODY = b"""{
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

# The reference omits the comma after "value_schema"; the comma is added here.
AVRO_TO_TOPIC_BODY = b"""{
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

AVRO_TO_PARTITION_BODY = b"""{
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


async def test_binary_to_topic_example(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=3)
    response = await bridge.post(
        f"/topics/{topic}", data=BINARY_TO_TOPIC_BODY, headers=reference_headers(BINARY_V1)
    )
    positions = check_offsets(await json_of(response, V1), 3, dialect=1, partitions=[None, 1, None])
    check_landed(
        await read_records(topic, 3),
        positions,
        [(b"key", b"confluent"), (None, b"kafka"), (None, b"logs")],
    )


async def test_binary_to_partition_example(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=2)
    response = await bridge.post(
        f"/topics/{topic}/partitions/1",
        data=BINARY_TO_PARTITION_BODY,
        headers=reference_headers(BINARY_V1),
    )
    positions = check_offsets(await json_of(response, V1), 2, dialect=1, partitions=[1, 1])
    assert positions == [(1, 0), (1, 1)]
    check_landed(
        await read_records(topic, 2), positions, [(b"key", b"confluent"), (None, b"kafka")]
    )


async def test_avro_to_topic_example(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=3)
    response = await bridge.post(
        f"/topics/{topic}", data=AVRO_TO_TOPIC_BODY, headers=reference_headers(AVRO_V1)
    )
    body = await json_of(response, V1)
    assert set(body) == {"key_schema_id", "value_schema_id", "offsets"}
    assert body["key_schema_id"] is None
    schema_id = body["value_schema_id"]
    assert type(schema_id) is int
    assert [o["partition"] for o in body["offsets"]][1] == 1
    records = await read_records(topic, 2)
    # Confluent wire format: magic byte 0, the schema id, then Avro (zig-zag) ints 12 and 24.
    prefix = b"\x00" + schema_id.to_bytes(4, "big")
    assert sorted(r.value for r in records) == sorted([prefix + b"\x18", prefix + b"\x30"])


async def test_avro_to_partition_example(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=2)
    response = await bridge.post(
        f"/topics/{topic}/partitions/1",
        data=AVRO_TO_PARTITION_BODY,
        headers=reference_headers(AVRO_V1),
    )
    body = await json_of(response, V1)
    schema_id = body["value_schema_id"]
    assert type(schema_id) is int
    assert [(o["partition"], o["offset"]) for o in body["offsets"]] == [(1, 0), (1, 1)]
    prefix = b"\x00" + schema_id.to_bytes(4, "big")
    records = await read_records(topic, 2)
    assert [r.value for r in records] == [prefix + b"\x32", prefix + b"\x34"]


async def test_records_object_form_to_topic(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    # The reference's partition example wraps records in {"records": [...]}; the topic
    # resource takes that form as well as the bare array.
    topic = await new_topic(partitions=2)
    body = {"records": [{"key": b64(b"k"), "value": b64(b"v"), "partition": 0}]}
    response = await bridge.post(f"/topics/{topic}", json=body, headers={"Content-Type": BINARY_V1})
    positions = check_offsets(await json_of(response, V1), 1, dialect=1, partitions=[0])
    check_landed(await read_records(topic, 1), positions, [(b"k", b"v")])


async def test_bare_array_to_partition(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=2)
    response = await bridge.post(
        f"/topics/{topic}/partitions/1",
        json=[{"value": b64(b"one")}, {"key": None, "value": b64(b"two")}],
        headers={"Content-Type": BINARY_V1},
    )
    positions = check_offsets(await json_of(response, V1), 2, dialect=1, partitions=[1, 1])
    check_landed(await read_records(topic, 2), positions, [(None, b"one"), (None, b"two")])


async def test_null_value_is_a_tombstone_and_empty_bytes_are_not_null(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=1)
    records = [
        {"key": b64(b"gone"), "value": None},
        {"key": "", "value": ""},
        {"key": None, "value": b64(b"\x00\xff")},
    ]
    response = await bridge.post(
        f"/topics/{topic}", json={"records": records}, headers={"Content-Type": BINARY_V1}
    )
    positions = check_offsets(await json_of(response, V1), 3, dialect=1, partitions=[0, 0, 0])
    check_landed(
        await read_records(topic, 3),
        positions,
        [(b"gone", None), (b"", b""), (None, b"\x00\xff")],
    )


async def test_records_with_the_same_key_go_to_the_partition_java_clients_choose(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    # "If no partition is provided, one will be chosen based on the hash of the key": the
    # murmur2 hash of the Java client, so HTTP and native producers agree.
    topic = await new_topic(partitions=3)
    keys = [b"key", b"another key", b"key", b"third", b"another key"]
    response = await bridge.post(
        f"/topics/{topic}",
        json=[{"key": b64(key), "value": b64(b"v%d" % i)} for i, key in enumerate(keys)],
        headers={"Content-Type": BINARY_V1},
    )
    partitioner = DefaultPartitioner()
    expected = [partitioner(key, [0, 1, 2], [0, 1, 2]) for key in keys]
    positions = check_offsets(
        await json_of(response, V1), len(keys), dialect=1, partitions=expected
    )
    check_landed(
        await read_records(topic, len(keys)),
        positions,
        [(key, b"v%d" % i) for i, key in enumerate(keys)],
    )


@pytest.mark.parametrize(
    ("content_type", "accept", "response_type"),
    [
        pytest.param(BINARY_V1, None, V1, id="binary.v1-no-accept"),
        pytest.param("application/vnd.kafka.v1+json", V1_REFERENCE_ACCEPT, V1, id="v1-no-format"),
        pytest.param("application/vnd.kafka+json", V1_REFERENCE_ACCEPT, V1, id="kafka+json"),
        pytest.param("application/json", V1_REFERENCE_ACCEPT, V1, id="application-json"),
        pytest.param("application/octet-stream", V1_REFERENCE_ACCEPT, V1, id="octet-stream"),
        pytest.param(BINARY_V1, "application/json", JSON, id="binary.v1-accept-json"),
    ],
)
async def test_less_specific_content_types_mean_binary(
    bridge: BridgeClient,
    new_topic: NewTopicFactory,
    read_records: ReadRecords,
    content_type: str,
    accept: str | None,
    response_type: str,
) -> None:
    # "In all cases, if the embedded format is omitted, binary is assumed."
    topic = await new_topic(partitions=1)
    headers = {"Content-Type": content_type}
    if accept is not None:
        headers["Accept"] = accept
    response = await bridge.post(
        f"/topics/{topic}", data=b'[{"key": "a2V5", "value": "a2Fma2E="}]', headers=headers
    )
    positions = check_offsets(await json_of(response, response_type), 1, dialect=1)
    check_landed(await read_records(topic, 1), positions, [(b"key", b"kafka")])

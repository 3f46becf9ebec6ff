"""What the integration tests share: the references' media types and headers, and checks of
responses (status, Content-Type, JSON shape, error envelopes) and of records in Kafka."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, TypeAlias

import orjson
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from aiokafka.structs import ConsumerRecord

V1 = "application/vnd.kafka.v1+json"
V2 = "application/vnd.kafka.v2+json"
JSON = "application/json"
BINARY_V1 = "application/vnd.kafka.binary.v1+json"
BINARY_V2 = "application/vnd.kafka.binary.v2+json"
JSON_V2 = "application/vnd.kafka.json.v2+json"
TEXT_V2 = "application/vnd.kafka.text.v2+json"
AVRO_V1 = "application/vnd.kafka.avro.v1+json"
AVRO_V2 = "application/vnd.kafka.avro.v2+json"

#: The Accept header of the v1 reference's examples.
V1_REFERENCE_ACCEPT = "application/vnd.kafka.v1+json, application/vnd.kafka+json, application/json"
#: The Accept header of most of the Confluent v2 reference's examples.
V2_REFERENCE_ACCEPT = "application/vnd.kafka.v2+json, application/vnd.kafka+json, application/json"
#: The Host header of the Confluent references' examples.
REFERENCE_HOST = "kafkaproxy.example.com"

#: Kafka's own topics, never listed by GET /topics.
INTERNAL_TOPIC_PREFIX = "__"

PARTITION_KEYS = {"partition", "leader", "replicas"}
REPLICA_KEYS = {"broker", "leader", "in_sync"}
V1_OFFSET_KEYS = {"partition", "offset", "error_code", "error"}
V2_OFFSET_KEYS = {"partition", "offset"}

Record: TypeAlias = ConsumerRecord[bytes, bytes]


async def json_of(response: ClientResponse, content_type: str = V2, status: int = 200) -> Any:
    """The parsed JSON body, after checking the status and the exact Content-Type."""
    raw = await response.read()
    assert response.status == status, raw
    assert response.headers.get("Content-Type") == content_type, (
        response.headers.get("Content-Type"),
        raw,
    )
    return orjson.loads(raw)


def _error_content_type_ok(content_type: str) -> bool:
    media = content_type.split(";")[0].strip().lower()
    return media == JSON or (media.startswith("application/vnd.kafka") and media.endswith("+json"))


async def error_of(
    response: ClientResponse,
    status: int,
    error_code: int,
    *,
    dialect: int = 2,
    content_type: str | None = None,
) -> dict[str, Any]:
    """Check an error response: status, Content-Type, and the dialect's exact envelope.

    v1 envelopes are exactly {error_code, message}; v2 ones may add `validation_errors`, a
    list of strings. `content_type` defaults to the dialect's own type.
    """
    raw = await response.read()
    assert response.status == status, raw
    received = response.headers.get("Content-Type", "")
    assert _error_content_type_ok(received), (received, raw)
    expected_type = content_type or (V1 if dialect == 1 else V2)
    assert received == expected_type, (received, raw)
    assert b"Traceback" not in raw
    body = orjson.loads(raw)
    assert isinstance(body, dict), raw
    assert body["error_code"] == error_code, body
    assert isinstance(body["message"], str), body
    assert body["message"].strip(), body
    if dialect == 1:
        assert set(body) == {"error_code", "message"}, body
    else:
        assert set(body) <= {"error_code", "message", "validation_errors"}, body
        if "validation_errors" in body:
            problems = body["validation_errors"]
            assert isinstance(problems, list), body
            assert problems, body
            assert all(isinstance(p, str) for p in problems), body
    return body


def error_text(body: dict[str, Any]) -> str:
    """Everything an error envelope says, as one string (message and validation errors)."""
    return " ".join([body["message"], *body.get("validation_errors", ())])


def check_partition_metadata(entry: Any, number: int, brokers: Sequence[int]) -> None:
    """One partition's metadata: exact keys, types, and a leader that is one of the brokers."""
    assert isinstance(entry, dict), entry
    assert set(entry) == PARTITION_KEYS, entry
    assert entry["partition"] == number
    leader = entry["leader"]
    assert type(leader) is int
    assert leader in brokers
    replicas = entry["replicas"]
    assert isinstance(replicas, list)
    assert replicas
    for replica in replicas:
        assert set(replica) == REPLICA_KEYS, replica
        assert type(replica["broker"]) is int
        assert replica["broker"] in brokers
        assert type(replica["leader"]) is bool
        assert type(replica["in_sync"]) is bool
        assert replica["leader"] == (replica["broker"] == leader)
    leaders = [r for r in replicas if r["leader"]]
    assert len(leaders) == 1, replicas
    assert leaders[0]["broker"] == leader
    assert leaders[0]["in_sync"] is True
    assert len({r["broker"] for r in replicas}) == len(replicas)


def check_offsets(
    body: Any, count: int, dialect: int, partitions: Sequence[int | None] | None = None
) -> list[tuple[int, int]]:
    """A successful produce response: its exact shape in the dialect, one entry per record.

    `partitions` (one per record, None for "any") are the partitions the records must have
    gone to. Returns the (partition, offset) of each record.
    """
    assert isinstance(body, dict), body
    if dialect == 1:
        assert set(body) == {"key_schema_id", "value_schema_id", "offsets"}, body
        assert body["key_schema_id"] is None
        assert body["value_schema_id"] is None
    else:
        assert set(body) == {"offsets"}, body
    offsets = body["offsets"]
    assert isinstance(offsets, list)
    assert len(offsets) == count, body
    positions: list[tuple[int, int]] = []
    for index, entry in enumerate(offsets):
        if dialect == 1:
            assert set(entry) == V1_OFFSET_KEYS, entry
            assert entry["error_code"] is None
            assert entry["error"] is None
        else:
            assert set(entry) == V2_OFFSET_KEYS, entry
        assert type(entry["partition"]) is int, entry
        assert type(entry["offset"]) is int, entry
        assert entry["offset"] >= 0
        if partitions is not None and partitions[index] is not None:
            assert entry["partition"] == partitions[index], (index, entry)
        positions.append((entry["partition"], entry["offset"]))
    assert len(set(positions)) == len(positions), positions
    return positions


def by_position(records: Iterable[Record]) -> dict[tuple[int, int], Record]:
    return {(r.partition, r.offset): r for r in records}


def check_landed(
    records: Sequence[Record],
    positions: Sequence[tuple[int, int]],
    expected: Sequence[tuple[bytes | None, bytes | None]],
) -> list[Record]:
    """Exactly the produced records are in Kafka, each (key, value) at its reported position.

    Returns the records in the order they were produced.
    """
    assert len(records) == len(expected), records
    found = by_position(records)
    assert set(found) == set(positions), (sorted(found), positions)
    landed = [found[position] for position in positions]
    assert [(r.key, r.value) for r in landed] == list(expected)
    return landed


async def produce_in(
    bridge: TestClient[Any, Any], fmt: str, path: str, body: Any, *, dialect: int = 2
) -> ClientResponse:
    """POST a produce body in embedded format `fmt` and the dialect's media types."""
    headers = {
        "Content-Type": f"application/vnd.kafka.{fmt}.v{dialect}+json",
        "Accept": V2 if dialect == 2 else V1,
    }
    return await bridge.post(path, data=json.dumps(body), headers=headers)


def check_produced(body: Any, count: int, dialect: int = 2) -> list[tuple[int, int]]:
    """A produce answer with schema ids: its exact shape; returns (partition, offset)s."""
    assert set(body) == {"key_schema_id", "value_schema_id", "offsets"}, body
    entry_keys = {"partition", "offset"} | ({"error_code", "error"} if dialect == 1 else set())
    assert len(body["offsets"]) == count, body
    positions = []
    for entry in body["offsets"]:
        assert set(entry) == entry_keys, entry
        if dialect == 1:
            assert entry["error_code"] is None
            assert entry["error"] is None
        positions.append((entry["partition"], entry["offset"]))
    return positions

"""Reading one partition by offset without a consumer group: v1 `GET .../messages` (the
Confluent v1 reference's examples run for real) and its v2 form `GET .../records`, in every
built-in format, with their limits, errors, waiting, and the bounded pool of group-less
consumers behind them."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest

from bridge.app import create_app
from bridge.kafka.partition_reader import PartitionReaderPool
from bridge.services import SERVICES
from bridge.settings import Settings
from tests.conftest import BridgeClient, NewTopicFactory
from tests.integration.consumer_helpers import b64, put_records
from tests.integration.helpers import (
    BINARY_V1,
    BINARY_V2,
    JSON_V2,
    TEXT_V2,
    V1,
    V2,
    error_of,
    json_of,
)
from tests.kafka_target import KafkaTarget

AiohttpClient = Callable[..., Awaitable[BridgeClient]]
BridgeWith = Callable[..., Awaitable[BridgeClient]]

JSON_V1 = "application/vnd.kafka.json.v1+json"
TEXT_V1 = "application/vnd.kafka.text.v1+json"
V1_RECORD_KEYS = {"key", "value", "partition", "offset"}
V2_RECORD_KEYS = {"topic", "key", "value", "partition", "offset", "timestamp", "headers"}

#: A read that must not wait answers well within this (the bridge's own limits are seconds).
FAST_S = 2.0


def messages(topic: str, partition: int, query: str) -> str:
    return f"/topics/{topic}/partitions/{partition}/messages?{query}"


def records(topic: str, partition: int, query: str) -> str:
    return f"/topics/{topic}/partitions/{partition}/records?{query}"


async def get_json(
    client: BridgeClient, path: str, accept: str, content_type: str | None = None
) -> list[dict[str, Any]]:
    """GET `path` with `accept`: 200 in `content_type` (default: `accept`), a JSON array."""
    response = await client.get(path, headers={"Accept": accept})
    body = await json_of(response, content_type=content_type or accept)
    assert isinstance(body, list), body
    return body


async def timed_get_json(
    client: BridgeClient, path: str, accept: str, content_type: str | None = None
) -> tuple[list[dict[str, Any]], float]:
    """get_json, and how long its answer took, in seconds."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    body = await get_json(client, path, accept, content_type)
    return body, loop.time() - started


async def get_error(
    client: BridgeClient, path: str, accept: str, status: int, error_code: int, *, dialect: int = 2
) -> str:
    """GET `path` with `accept`: an error response (error_of); returns its message."""
    response = await client.get(path, headers={"Accept": accept})
    body = await error_of(response, status, error_code, dialect=dialect)
    message: str = body["message"]
    return message


@pytest.fixture
def bridge_with(bridge_settings: Settings, aiohttp_client: AiohttpClient) -> BridgeWith:
    """Start a bridge whose settings differ from the suite's by the fields given."""

    async def start(**changes: Any) -> BridgeClient:
        return await aiohttp_client(create_app(dataclasses.replace(bridge_settings, **changes)))

    return start


def pool_of(client: BridgeClient) -> PartitionReaderPool:
    app = client.app
    assert app is not None
    pool: PartitionReaderPool = app[SERVICES].partition_reader
    return pool


def check_v1(body: list[dict[str, Any]], partition: int, offsets: list[int]) -> None:
    """v1 records: exactly {key, value, partition, offset}, at the given offsets."""
    for record in body:
        assert set(record) == V1_RECORD_KEYS, record
        assert record["partition"] == partition, record
    assert [r["offset"] for r in body] == offsets, body


def check_v2(body: list[dict[str, Any]], topic: str, partition: int, offsets: list[int]) -> None:
    """v2 records: exactly the v2 keys, at the given offsets."""
    for record in body:
        assert set(record) == V2_RECORD_KEYS, record
        assert record["topic"] == topic, record
        assert record["partition"] == partition, record
        assert type(record["timestamp"]) is int, record
        assert isinstance(record["headers"], list), record
    assert [r["offset"] for r in body] == offsets, body


# --- Reads from the beginning, the middle and the end ------------------------------------


async def test_v1_reads_from_the_beginning_and_the_middle_with_count(
    bridge: BridgeClient, new_topic: NewTopicFactory, kafka: KafkaTarget
) -> None:
    topic = await new_topic()
    values = [f"value-{i}".encode() for i in range(5)]
    keys = [f"key-{i}".encode() for i in range(5)]
    positions = await put_records(kafka, topic, values, partition=1, keys=keys)
    assert positions == [(1, i) for i in range(5)]

    # count defaults to 1 on .../messages.
    body = await get_json(bridge, messages(topic, 1, "offset=0"), BINARY_V1)
    check_v1(body, 1, [0])
    assert body == [{"key": b64(b"key-0"), "value": b64(b"value-0"), "partition": 1, "offset": 0}]

    body = await get_json(bridge, messages(topic, 1, "offset=2&count=2"), BINARY_V1)
    check_v1(body, 1, [2, 3])
    assert [(r["key"], r["value"]) for r in body] == [
        (b64(keys[i]), b64(values[i])) for i in (2, 3)
    ]

    # Asking for more than exists returns what exists, without waiting for more.
    body, elapsed = await timed_get_json(
        bridge, messages(topic, 1, "offset=3&count=100"), BINARY_V1
    )
    assert elapsed < FAST_S, elapsed
    check_v1(body, 1, [3, 4])
    assert [r["value"] for r in body] == [b64(values[3]), b64(values[4])]

    body = await get_json(bridge, messages(topic, 1, "offset=0&count=5"), BINARY_V1)
    check_v1(body, 1, [0, 1, 2, 3, 4])
    assert [r["value"] for r in body] == [b64(v) for v in values]

    # The other partitions stay untouched.
    assert await get_json(bridge, messages(topic, 0, "offset=0&count=5"), BINARY_V1) == []


async def test_v2_records_count_defaults_to_everything_there_is(
    bridge: BridgeClient, new_topic: NewTopicFactory, kafka: KafkaTarget
) -> None:
    topic = await new_topic()
    values = [f"r{i}".encode() for i in range(7)]
    await put_records(kafka, topic, values, partition=2)

    body = await get_json(bridge, records(topic, 2, "offset=0&timeout=1000"), BINARY_V2)
    check_v2(body, topic, 2, list(range(7)))
    assert [r["value"] for r in body] == [b64(v) for v in values]

    body = await get_json(bridge, records(topic, 2, "offset=4&count=2&timeout=1000"), BINARY_V2)
    check_v2(body, topic, 2, [4, 5])


async def test_v1_at_the_end_answers_empty_at_once(
    bridge: BridgeClient, new_topic: NewTopicFactory, kafka: KafkaTarget
) -> None:
    topic = await new_topic()
    await put_records(kafka, topic, [b"a", b"b", b"c"], partition=0)

    for partition, offset in ((0, 3), (1, 0)):  # the end of a partition, an empty partition
        for accept in (BINARY_V1, V1):
            path = messages(topic, partition, f"offset={offset}&count=10")
            body, elapsed = await timed_get_json(bridge, path, accept, BINARY_V1)
            assert body == []
            assert elapsed < FAST_S, (partition, offset, elapsed)

    # .../messages has no timeout: one in the query does not make it wait.
    body, elapsed = await timed_get_json(
        bridge, messages(topic, 0, "offset=3&timeout=5000"), BINARY_V1
    )
    assert body == []
    assert elapsed < FAST_S, elapsed


async def test_offset_past_the_end_is_404_naming_it(
    bridge: BridgeClient, new_topic: NewTopicFactory, kafka: KafkaTarget
) -> None:
    topic = await new_topic()
    await put_records(kafka, topic, [b"a", b"b"], partition=1)

    message = await get_error(
        bridge, messages(topic, 1, "offset=3"), BINARY_V1, 404, 404, dialect=1
    )
    assert "3" in message, message

    path = records(topic, 1, "offset=1234&timeout=1000")
    message = await get_error(bridge, path, BINARY_V2, 404, 404)
    assert "1234" in message, message

    # An empty partition: offset 0 is its end, offset 1 is beyond it.
    message = await get_error(bridge, messages(topic, 2, "offset=1"), V1, 404, 404, dialect=1)
    assert "Offset 1 " in message, message


# --- The Confluent v1 reference's examples ------------------------------------------------


#: The reference's responses, without their trailing commas.
REFERENCE_BINARY_RESPONSE = b"""[
        {
          "key": "a2V5",
          "value": "Y29uZmx1ZW50",
          "partition": 1,
          "offset": 10
        },
        {
          "key": "a2V5",
          "value": "a2Fma2E=",
          "partition": 1,
          "offset": 11
        }
      ]"""
REFERENCE_JSON_RESPONSE = b"""[
        {
          "key": "somekey",
          "value": {"foo":"bar"},
          "partition": 1,
          "offset": 10
        },
        {
          "key": "somekey",
          "value": ["foo", "bar"],
          "partition": 1,
          "offset": 11
        }
      ]"""


@pytest.mark.parametrize(
    ("filler", "key", "values", "media_type", "reference_response"),
    [
        pytest.param(
            b"filler",
            b"key",
            [b"confluent", b"kafka"],
            "application/vnd.kafka.binary.v1+json",
            REFERENCE_BINARY_RESPONSE,
            id="binary",
        ),
        pytest.param(
            b'"filler"',
            b'"somekey"',
            [b'{"foo":"bar"}', b'["foo", "bar"]'],
            "application/vnd.kafka.json.v1+json",
            REFERENCE_JSON_RESPONSE,
            id="json",
        ),
    ],
)
async def test_reference_example(
    bridge: BridgeClient,
    new_topic: NewTopicFactory,
    kafka: KafkaTarget,
    filler: bytes,
    key: bytes,
    values: list[bytes],
    media_type: str,
    reference_response: bytes,
) -> None:
    """The example's two records at offsets 10 and 11 of partition 1, read as it reads them."""
    topic = await new_topic(partitions=2)
    await put_records(kafka, topic, [filler] * 10, partition=1)
    positions = await put_records(kafka, topic, values, partition=1, keys=[key] * len(values))
    assert positions == [(1, 10), (1, 11)]

    response = await bridge.get(
        f"/topics/{topic}/partitions/1/messages?offset=10&count=2",
        headers={"Accept": media_type},
    )
    body = await json_of(response, content_type=media_type)
    assert body == orjson.loads(reference_response)


# --- Formats, shapes and Content-Type ------------------------------------------------------


async def test_every_format_decodes_keys_and_values_and_nulls(
    bridge: BridgeClient, new_topic: NewTopicFactory, kafka: KafkaTarget
) -> None:
    topic = await new_topic()
    json_values: list[bytes | None] = [b'{"a": [1, 2.5, null]}', b"42", b'"s"', b"true", None]
    json_keys: list[bytes | None] = [b'"k"', b"7", None, b"[1]", b"null"]
    await put_records(kafka, topic, json_values, partition=0, keys=json_keys)
    text_values: list[bytes | None] = ["héllo wörld".encode(), b"", None]
    text_keys: list[bytes | None] = [b"plain key", None, "ключ".encode()]
    await put_records(kafka, topic, text_values, partition=1, keys=text_keys)
    raw: list[bytes | None] = [b"\x00\xff\xfe binary", None, b""]
    raw_keys: list[bytes | None] = [None, b"\x01\x02", b""]
    await put_records(kafka, topic, raw, partition=2, keys=raw_keys)

    expected_json = [
        ("k", {"a": [1, 2.5, None]}),
        (7, 42),
        (None, "s"),
        ([1], True),
        (None, None),  # a JSON null key and a Kafka null value
    ]
    for accept, read in (
        (JSON_V1, messages(topic, 0, "offset=0&count=10")),
        (JSON_V2, records(topic, 0, "offset=0&timeout=1000")),
    ):
        body = await get_json(bridge, read, accept)
        assert [(r["key"], r["value"]) for r in body] == expected_json, body
        assert [r["offset"] for r in body] == [0, 1, 2, 3, 4]

    expected_text = [("plain key", "héllo wörld"), (None, ""), ("ключ", None)]
    for accept, read in (
        (TEXT_V1, messages(topic, 1, "offset=0&count=10")),
        (TEXT_V2, records(topic, 1, "offset=0&timeout=1000")),
    ):
        body = await get_json(bridge, read, accept)
        assert [(r["key"], r["value"]) for r in body] == expected_text, body

    expected_binary = [(None, b64(b"\x00\xff\xfe binary")), (b64(b"\x01\x02"), None), ("", "")]
    for accept, read in (
        (BINARY_V1, messages(topic, 2, "offset=0&count=10")),
        (BINARY_V2, records(topic, 2, "offset=0&timeout=1000")),
    ):
        body = await get_json(bridge, read, accept)
        assert [(r["key"], r["value"]) for r in body] == expected_binary, body

    # Kafka null keys and values are JSON null in binary too, in the v1 shape exactly.
    body = await get_json(bridge, messages(topic, 0, "offset=2&count=3"), BINARY_V1)
    assert body == [
        {"key": None, "value": b64(b'"s"'), "partition": 0, "offset": 2},
        {"key": b64(b"[1]"), "value": b64(b"true"), "partition": 0, "offset": 3},
        {"key": b64(b"null"), "value": None, "partition": 0, "offset": 4},
    ]


async def test_v2_shape_with_headers_and_timestamp(
    bridge: BridgeClient, new_topic: NewTopicFactory, kafka: KafkaTarget
) -> None:
    topic = await new_topic()
    before_ms = int(time.time() * 1000)
    await put_records(
        kafka,
        topic,
        [b'{"n": 1}', b'{"n": 2}'],
        partition=1,
        keys=[b'"k1"', None],
        headers=[("trace", b"abc"), ("bin", b"\x00\xff"), ("empty", b"")],
    )
    await put_records(kafka, topic, [b'{"n": 3}'], partition=1)
    after_ms = int(time.time() * 1000)

    body = await get_json(bridge, records(topic, 1, "offset=0&timeout=1000"), JSON_V2)
    check_v2(body, topic, 1, [0, 1, 2])
    expected_headers = [
        {"key": "trace", "value": b64(b"abc")},
        {"key": "bin", "value": b64(b"\x00\xff")},
        {"key": "empty", "value": ""},
    ]
    assert body[0]["headers"] == expected_headers
    assert body[1]["headers"] == expected_headers
    assert body[2]["headers"] == []
    assert [(r["key"], r["value"]) for r in body] == [
        ("k1", {"n": 1}),
        (None, {"n": 2}),
        (None, {"n": 3}),
    ]
    timestamps = [r["timestamp"] for r in body]
    assert timestamps == sorted(timestamps)
    for stamp in timestamps:
        # The producer's create time, in milliseconds (a clock margin of a few seconds).
        assert before_ms - 5_000 <= stamp <= after_ms + 5_000, (before_ms, stamp, after_ms)

    # v1 answers the same records in its own shape: no topic, timestamp or headers.
    body = await get_json(bridge, messages(topic, 1, "offset=0&count=3"), JSON_V1)
    check_v1(body, 1, [0, 1, 2])


@pytest.mark.parametrize(
    ("accept", "content_type", "dialect"),
    [
        (V1, BINARY_V1, 1),
        (BINARY_V1, BINARY_V1, 1),
        (JSON_V1, JSON_V1, 1),
        (TEXT_V1, TEXT_V1, 1),
        (V2, BINARY_V2, 2),
        (BINARY_V2, BINARY_V2, 2),
        (JSON_V2, JSON_V2, 2),
        (TEXT_V2, TEXT_V2, 2),
        # The most preferred format range decides.
        (f"{BINARY_V2};q=0.5, {JSON_V2}", JSON_V2, 2),
    ],
)
async def test_content_type_names_the_format(
    bridge: BridgeClient,
    new_topic: NewTopicFactory,
    kafka: KafkaTarget,
    accept: str,
    content_type: str,
    dialect: int,
) -> None:
    topic = await new_topic(partitions=1)
    await put_records(kafka, topic, [b'"v"'], partition=0, keys=[b'"k"'])
    for path in (messages(topic, 0, "offset=0"), records(topic, 0, "offset=0&timeout=1000")):
        body = await get_json(bridge, path, accept, content_type)
        assert len(body) == 1, body
        record = body[0]
        assert set(record) == (V1_RECORD_KEYS if dialect == 1 else V2_RECORD_KEYS), record
        if content_type in (BINARY_V1, BINARY_V2):
            assert (record["key"], record["value"]) == (b64(b'"k"'), b64(b'"v"'))
        elif content_type in (JSON_V1, JSON_V2):
            assert (record["key"], record["value"]) == ("k", "v")
        else:
            assert (record["key"], record["value"]) == ('"k"', '"v"')


# --- max_bytes -----------------------------------------------------------------------------


async def test_max_bytes_limits_the_records(
    bridge: BridgeClient, new_topic: NewTopicFactory, kafka: KafkaTarget
) -> None:
    topic = await new_topic()
    values = [bytes([65 + i]) * 100 for i in range(4)]  # 100 bytes each, no keys
    await put_records(kafka, topic, values, partition=0)

    body = await get_json(
        bridge, records(topic, 0, "offset=0&max_bytes=250&timeout=1000"), BINARY_V2
    )
    check_v2(body, topic, 0, [0, 1])
    assert [r["value"] for r in body] == [b64(values[0]), b64(values[1])]

    body = await get_json(
        bridge, records(topic, 0, "offset=1&max_bytes=300&timeout=1000"), BINARY_V2
    )
    check_v2(body, topic, 0, [1, 2, 3])

    # The next record alone is larger than max_bytes: 422, in both dialects.
    path = records(topic, 0, "offset=2&max_bytes=99&timeout=1000")
    message = await get_error(bridge, path, BINARY_V2, 422, 422)
    assert "offset 2" in message, message
    path = messages(topic, 0, "offset=0&count=4&max_bytes=50")
    await get_error(bridge, path, BINARY_V1, 422, 422, dialect=1)

    # Through .../messages too, count and max_bytes together.
    body = await get_json(bridge, messages(topic, 0, "offset=0&count=4&max_bytes=200"), BINARY_V1)
    check_v1(body, 0, [0, 1])


# --- Errors --------------------------------------------------------------------------------


async def test_unknown_topic_and_partition_are_404(
    bridge: BridgeClient, new_topic: NewTopicFactory
) -> None:
    topic = await new_topic()
    missing = f"{topic}-missing"

    await get_error(bridge, messages(missing, 0, "offset=0"), BINARY_V1, 404, 40401, dialect=1)
    await get_error(bridge, records(missing, 0, "offset=0"), BINARY_V2, 404, 404)

    await get_error(bridge, messages(topic, 3, "offset=0"), BINARY_V1, 404, 40402, dialect=1)
    await get_error(bridge, messages(topic, 99, "offset=0"), V1, 404, 40402, dialect=1)
    await get_error(bridge, records(topic, 3, "offset=0"), JSON_V2, 404, 404)


async def test_missing_or_invalid_query_is_422(
    bridge: BridgeClient, new_topic: NewTopicFactory
) -> None:
    topic = await new_topic()
    message = await get_error(bridge, messages(topic, 0, "count=2"), BINARY_V1, 422, 422, dialect=1)
    assert "offset" in message, message
    message = await get_error(bridge, records(topic, 0, "timeout=100"), BINARY_V2, 422, 422)
    assert "offset" in message, message

    for query, name in (
        ("offset=-1", "offset"),
        ("offset=x", "offset"),
        ("offset=0&count=0", "count"),
    ):
        message = await get_error(bridge, messages(topic, 0, query), BINARY_V1, 422, 422, dialect=1)
        assert name in message, (query, message)


async def test_unavailable_format_is_406(
    bridge: BridgeClient, new_topic: NewTopicFactory, kafka: KafkaTarget
) -> None:
    topic = await new_topic()
    await put_records(kafka, topic, [b"x"], partition=0)
    nosuch_v1 = "application/vnd.kafka.nosuch.v1+json"
    await get_error(bridge, messages(topic, 0, "offset=0"), nosuch_v1, 406, 406, dialect=1)
    nosuch_v2 = "application/vnd.kafka.nosuch.v2+json"
    await get_error(bridge, records(topic, 0, "offset=0"), nosuch_v2, 406, 406)


async def test_record_not_in_the_format(
    bridge: BridgeClient, new_topic: NewTopicFactory, kafka: KafkaTarget
) -> None:
    topic = await new_topic()
    await put_records(kafka, topic, [b'{"ok": 1}', b"[2]", b"not json{", b'"after"'], partition=0)

    # From before it: the good records before it.
    body = await get_json(bridge, records(topic, 0, "offset=0&timeout=1000"), JSON_V2)
    check_v2(body, topic, 0, [0, 1])
    assert [r["value"] for r in body] == [{"ok": 1}, [2]]
    body = await get_json(bridge, messages(topic, 0, "offset=1&count=10"), JSON_V1)
    check_v1(body, 0, [1])
    assert body[0]["value"] == [2]

    # From its offset: 406 naming it, in both dialects.
    message = await get_error(bridge, records(topic, 0, "offset=2&timeout=1000"), JSON_V2, 406, 406)
    assert "offset 2" in message, message
    path = messages(topic, 0, "offset=2&count=2")
    message = await get_error(bridge, path, JSON_V1, 406, 40601, dialect=1)
    assert "offset 2" in message, message

    # Past it, and in binary, everything reads.
    body = await get_json(bridge, messages(topic, 0, "offset=3"), JSON_V1)
    assert body == [{"key": None, "value": "after", "partition": 0, "offset": 3}]
    body = await get_json(bridge, messages(topic, 0, "offset=2"), BINARY_V1)
    assert body == [{"key": None, "value": b64(b"not json{"), "partition": 0, "offset": 2}]


# --- v2 waits at the end -------------------------------------------------------------------


async def test_v2_at_the_end_answers_as_soon_as_a_record_comes(
    bridge: BridgeClient, new_topic: NewTopicFactory, kafka: KafkaTarget
) -> None:
    topic = await new_topic()
    await put_records(kafka, topic, [b"first"], partition=2)

    async def produce_later() -> list[tuple[int, int]]:
        await asyncio.sleep(0.5)
        return await put_records(kafka, topic, [b"late"], partition=2, keys=[b"k"])

    producing = asyncio.create_task(produce_later())
    body, elapsed = await timed_get_json(
        bridge, records(topic, 2, "offset=1&timeout=3000"), BINARY_V2
    )
    assert await producing == [(2, 1)]
    check_v2(body, topic, 2, [1])
    assert (body[0]["key"], body[0]["value"]) == (b64(b"k"), b64(b"late"))
    assert elapsed < 2.5, elapsed


@pytest.mark.parametrize(
    ("query", "least_s", "most_s"),
    [
        pytest.param("&timeout=0", 0.0, FAST_S, id="timeout-0-answers-at-once"),
        pytest.param("&timeout=3000", 2.8, 6.0, id="timeout-3000"),
        # No timeout asked for: consumer.request.timeout.ms (1.5 s here).
        pytest.param("", 1.3, 4.5, id="defaults-to-consumer-request-timeout"),
    ],
)
async def test_v2_at_the_end_with_nothing_new_waits_the_timeout(
    bridge_with: BridgeWith,
    new_topic: NewTopicFactory,
    kafka: KafkaTarget,
    query: str,
    least_s: float,
    most_s: float,
) -> None:
    client = await bridge_with(consumer_request_timeout_ms=1_500)
    topic = await new_topic()
    await put_records(kafka, topic, [b"only"], partition=1)
    body, elapsed = await timed_get_json(client, records(topic, 1, "offset=1" + query), BINARY_V2)
    assert body == []
    assert least_s <= elapsed < most_s, elapsed


# --- The pool of group-less consumers ------------------------------------------------------


async def test_many_concurrent_reads_share_a_small_pool(
    bridge_with: BridgeWith, new_topic: NewTopicFactory, kafka: KafkaTarget
) -> None:
    client = await bridge_with(
        simpleconsumer_pool_size_max=2, simpleconsumer_pool_timeout_ms=10_000
    )
    topic = await new_topic(partitions=6)
    for partition in range(6):
        await put_records(
            kafka, topic, [f"p{partition}-o{o}".encode() for o in range(3)], partition=partition
        )

    async def read(i: int) -> tuple[int, int, list[dict[str, Any]]]:
        partition, offset = i % 6, (i // 6) % 3
        if i % 2:
            path = messages(topic, partition, f"offset={offset}&count=2")
            body = await get_json(client, path, TEXT_V1)
        else:
            path = records(topic, partition, f"offset={offset}&count=2&timeout=1000")
            body = await get_json(client, path, TEXT_V2)
        return partition, offset, body

    results = await asyncio.gather(*(read(i) for i in range(30)))
    for partition, offset, body in results:
        expected = list(range(offset, min(offset + 2, 3)))
        assert [r["offset"] for r in body] == expected, (partition, offset, body)
        assert [r["partition"] for r in body] == [partition] * len(expected)
        assert [r["value"] for r in body] == [f"p{partition}-o{o}" for o in expected]
    assert 1 <= pool_of(client).started <= 2


async def test_a_reused_reader_reads_each_offset_it_is_asked(
    bridge_with: BridgeWith, new_topic: NewTopicFactory, kafka: KafkaTarget
) -> None:
    client = await bridge_with(simpleconsumer_pool_size_max=1)
    topic = await new_topic(partitions=2)
    await put_records(kafka, topic, [f"a{i}".encode() for i in range(6)], partition=0)
    await put_records(kafka, topic, [f"b{i}".encode() for i in range(3)], partition=1)

    # One consumer serves every read: backwards, forwards, across partitions, and again.
    for partition, offset in ((0, 4), (0, 0), (1, 2), (0, 3), (0, 3), (1, 0), (0, 5), (0, 1)):
        body = await get_json(client, messages(topic, partition, f"offset={offset}"), TEXT_V1)
        letter = "ab"[partition]
        assert body == [
            {"key": None, "value": f"{letter}{offset}", "partition": partition, "offset": offset}
        ], (partition, offset)
    assert pool_of(client).started == 1


async def test_pool_exhausted_is_503(
    bridge_with: BridgeWith, new_topic: NewTopicFactory, kafka: KafkaTarget
) -> None:
    client = await bridge_with(simpleconsumer_pool_size_max=1, simpleconsumer_pool_timeout_ms=100)
    topic = await new_topic()
    await put_records(kafka, topic, [b"x"], partition=0)
    await put_records(kafka, topic, [b"y"], partition=1)
    pool = pool_of(client)
    loop = asyncio.get_running_loop()

    # One read holds the only consumer, waiting at the end of partition 0.
    waiting = asyncio.create_task(
        get_json(client, records(topic, 0, "offset=1&timeout=3000"), BINARY_V2)
    )
    end = loop.time() + 10
    while pool.started < 1:
        assert loop.time() < end, "the first read never took a consumer"
        assert not waiting.done(), waiting
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)  # it is now waiting at the end, holding the consumer
    assert not waiting.done()

    message = await get_error(
        client, messages(topic, 1, "offset=0"), BINARY_V1, 503, 50301, dialect=1
    )
    assert "simpleconsumer.pool" in message, message
    await get_error(client, records(topic, 1, "offset=0&timeout=100"), BINARY_V2, 503, 503)
    assert not waiting.done(), "the 503s came after the first read ended: not a busy pool"

    assert await waiting == []
    assert pool.started == 1
    # Free again: the next read is served.
    served = await get_json(client, messages(topic, 1, "offset=0"), BINARY_V1)
    assert served == [{"key": None, "value": b64(b"y"), "partition": 1, "offset": 0}]


async def test_integers_beyond_64_bits_come_back_exact(
    bridge: BridgeClient, kafka: KafkaTarget, new_topic: NewTopicFactory
) -> None:
    topic = await new_topic(partitions=1)
    big = 123456789012345678901234567890
    await put_records(kafka, topic, [b'{"n": %d}' % big], partition=0)
    response = await bridge.get(
        messages(topic, 0, "offset=0"), headers={"Accept": "application/vnd.kafka.json.v1+json"}
    )
    assert response.status == 200, await response.text()
    assert b'"value":{"n":123456789012345678901234567890}' in await response.read()

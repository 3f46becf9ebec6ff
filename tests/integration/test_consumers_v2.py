"""Consuming in the v2 dialect: the consumer examples of the Kafka Bridge reference and of the
Confluent v2 reference (whose clients speak our v2 dialect) run for real, then what
docs/decisions.md ("Consumers") promises where the references are silent: base_uri, the
record shape, errors, seeking, and commits that a new instance of the group resumes from.

Scenarios that need a group to form share one test each (a new group takes ~3 s to form);
the others assign partitions by hand, which needs no group. Nothing here makes a group
rebalance after a member left (this broker can stall such a rebalance for ~18 s).
"""

from __future__ import annotations

import dataclasses
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeAlias
from urllib.parse import quote

import orjson
import pytest
from aiohttp import ClientResponse

from bridge.app import create_app
from bridge.settings import Settings
from tests.conftest import BridgeClient, NewTopicFactory
from tests.integration.consumer_helpers import (
    FIRST_READ_TIMEOUT_MS,
    b64,
    create_consumer,
    instance_path,
    put_records,
    read_records,
    read_until,
)
from tests.integration.helpers import (
    BINARY_V2,
    JSON,
    JSON_V2,
    REFERENCE_HOST,
    TEXT_V2,
    V2,
    V2_REFERENCE_ACCEPT,
    error_of,
    error_text,
    json_of,
)
from tests.kafka_target import KafkaTarget

AiohttpClient = Callable[..., Awaitable[BridgeClient]]

#: The v2 record: the Kafka Bridge's fields (decisions.md: headers always present).
RECORD_KEYS = {"topic", "key", "value", "partition", "offset", "timestamp", "headers"}
#: The host the Confluent reference's examples send instance requests to.
PROXY_INSTANCE_HOST = "proxy-instance.kafkaproxy.example.com"
GENERATED_NAME = re.compile(
    r"kafka-bridge-consumer-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)

# --- Kafka Bridge reference examples, bodies as written there ----------------------------

BRIDGE_CREATE = b"""{
  "name" : "consumer1",
  "format" : "binary",
  "auto.offset.reset" : "earliest",
  "enable.auto.commit" : false,
  "fetch.min.bytes" : 512,
  "consumer.request.timeout.ms" : 30000,
  "isolation.level" : "read_committed"
}"""

# --- Confluent v2 reference examples, bodies as written there ----------------------------

CONFLUENT_CREATE = b"""{
  "name": "my_consumer",
  "format": "binary",
  "auto.offset.reset": "earliest",
  "auto.commit.enable": "false"
}"""


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def now_ms() -> int:
    return int(time.time() * 1000)


def partitions_body(*partitions: tuple[str, int]) -> dict[str, Any]:
    """The references' Partitions body."""
    return {"partitions": [{"topic": t, "partition": p} for t, p in partitions]}


def offsets_body(*offsets: tuple[str, int, int]) -> dict[str, Any]:
    """The references' OffsetCommitSeekList body."""
    return {"offsets": [{"topic": t, "partition": p, "offset": o} for t, p, o in offsets]}


def committed(*offsets: tuple[str, int, int]) -> dict[str, Any]:
    """The Confluent GET .../offsets answer."""
    return {
        "offsets": [
            {"topic": t, "partition": p, "offset": o, "metadata": ""} for t, p, o in offsets
        ]
    }


def record(
    topic: str,
    partition: int,
    offset: int,
    key: Any,
    value: Any,
    headers: Sequence[tuple[str, str | None]] = (),
) -> dict[str, Any]:
    """An expected v2 record, without its timestamp."""
    return {
        "topic": topic,
        "key": key,
        "value": value,
        "partition": partition,
        "offset": offset,
        "headers": [{"key": k, "value": v} for k, v in headers],
    }


def untimed(records: list[dict[str, Any]], since_ms: int, until_ms: int) -> list[dict[str, Any]]:
    """Check each record's exact keys and its timestamp (set by the producer between the two
    times); return the records without timestamps, ordered by topic, partition and offset."""
    stripped = []
    for entry in records:
        assert set(entry) == RECORD_KEYS, entry
        stamp = entry["timestamp"]
        assert type(stamp) is int, entry
        assert since_ms - 1000 <= stamp <= until_ms + 1000, (since_ms, entry, until_ms)
        assert type(entry["partition"]) is int, entry
        assert type(entry["offset"]) is int, entry
        stripped.append({k: v for k, v in entry.items() if k != "timestamp"})
    return sorted(stripped, key=lambda r: (r["topic"], r["partition"], r["offset"]))


async def no_content(response: ClientResponse) -> None:
    raw = await response.read()
    assert response.status == 204, raw
    assert raw == b""


async def post(
    bridge: BridgeClient,
    path: str,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
) -> ClientResponse:
    """POST a JSON body (None: no body at all) as application/vnd.kafka.v2+json."""
    return await bridge.post(
        path,
        json=body,
        headers={"Content-Type": V2, **(headers or {})},
    )


async def get_json(bridge: BridgeClient, path: str, accept: str = V2) -> Any:
    return await json_of(await bridge.get(path, headers={"Accept": accept}))


async def assigned_instance(
    bridge: BridgeClient, group_prefix: str, topic: str, body: dict[str, Any]
) -> str:
    """A new instance (created with `body`) in a new group, assigned partition 0 of `topic`."""
    path = await create_consumer(bridge, unique(group_prefix), body)
    await no_content(await post(bridge, f"{path}/assignments", partitions_body((topic, 0))))
    return path


async def get_offsets(
    bridge: BridgeClient, path: str, *partitions: tuple[str, int]
) -> dict[str, Any]:
    """Confluent's GET .../offsets, sent as its example is: a body, no Content-Type."""
    response = await bridge.get(
        f"{path}/offsets",
        data=orjson.dumps(partitions_body(*partitions)),
        headers={"Accept": V2_REFERENCE_ACCEPT},
        skip_auto_headers=["Content-Type"],
    )
    body: dict[str, Any] = await json_of(response)
    return body


# --- the Kafka Bridge reference's examples, with a subscribed group ----------------------


async def test_kafka_bridge_examples_with_a_subscribed_group(
    bridge: BridgeClient, new_topic: NewTopicFactory, kafka: KafkaTarget
) -> None:
    group = unique("bridge-examples")
    first = await new_topic(partitions=2)
    second = await new_topic(partitions=1)
    elsewhere = await new_topic(partitions=1)
    since = now_ms()
    await put_records(
        kafka, first, [b"confluent"], partition=0, keys=[b"key"], headers=[("trace", b"\x00\xff")]
    )
    await put_records(kafka, first, [b"kafka", None], partition=0, keys=[None, b"tomb"])
    await put_records(kafka, second, [b"logs"], partition=0, keys=[b"k2"])
    until = now_ms()
    expected = sorted(
        [
            record(first, 0, 0, b64(b"key"), b64(b"confluent"), [("trace", b64(b"\x00\xff"))]),
            record(first, 0, 1, None, b64(b"kafka")),
            record(first, 0, 2, b64(b"tomb"), None),
            record(second, 0, 0, b64(b"k2"), b64(b"logs")),
        ],
        key=lambda r: (r["topic"], r["partition"], r["offset"]),
    )
    first_p0 = [r for r in expected if r["topic"] == first]

    # POST /consumers/{groupid}: the example body; base_uri from the request's Host.
    response = await bridge.post(
        f"/consumers/{group}", data=BRIDGE_CREATE, headers={"Content-Type": V2}
    )
    origin = str(bridge.make_url("")).rstrip("/")
    path = f"/consumers/{group}/instances/consumer1"
    assert await json_of(response) == {"instance_id": "consumer1", "base_uri": origin + path}
    # 409: the name is taken in this group; another group may use it.
    response = await bridge.post(
        f"/consumers/{group}", data=BRIDGE_CREATE, headers={"Content-Type": V2}
    )
    await error_of(response, 409, 409)
    other_group = unique("bridge-examples-other")
    response = await bridge.post(
        f"/consumers/{other_group}", data=BRIDGE_CREATE, headers={"Content-Type": V2}
    )
    assert (await json_of(response))["instance_id"] == "consumer1"
    await no_content(await bridge.delete(f"/consumers/{other_group}/instances/consumer1"))

    # POST .../subscription: the example body (topics), then GET lists them.
    await no_content(await post(bridge, f"{path}/subscription", {"topics": [first, second]}))
    subscription = await get_json(bridge, f"{path}/subscription")
    assert set(subscription) == {"topics", "partitions"}, subscription
    assert subscription["topics"] == sorted([first, second])

    # positions/beginning right after subscribing waits for the group's assignment.
    await no_content(
        await post(bridge, f"{path}/positions/beginning", partitions_body((first, 0), (first, 1)))
    )
    records = await read_until(bridge, path, 4, timeout_ms=FIRST_READ_TIMEOUT_MS)
    assert untimed(records, since, until) == expected

    ordered = sorted([first, second])
    assert await get_json(bridge, f"{path}/subscription") == {
        "topics": ordered,
        "partitions": [{t: [0, 1] if t == first else [0]} for t in ordered],
    }
    assert await get_json(bridge, f"{path}/assignments") == partitions_body(
        *sorted([(first, 0), (first, 1), (second, 0)])
    )

    # Exclusive ways of choosing what to read; both or neither in a subscription.
    await error_of(await post(bridge, f"{path}/assignments", partitions_body((first, 0))), 409, 409)
    both = {"topics": [first], "topic_pattern": f"{first}.*"}
    await error_of(await post(bridge, f"{path}/subscription", both), 409, 409)
    await error_of(await post(bridge, f"{path}/subscription", {}), 422, 422)

    # Seeking: the example bodies, and 404 for a partition the instance does not have.
    await no_content(
        await post(bridge, f"{path}/positions", offsets_body((first, 0, 2), (first, 1, 0)))
    )
    again = await read_until(bridge, path, 1)
    assert untimed(again, since, until) == [first_p0[2]]
    await no_content(await post(bridge, f"{path}/positions/beginning", partitions_body((first, 0))))
    again = await read_until(bridge, path, 3)
    assert untimed(again, since, until) == first_p0
    for suffix, body in [
        ("positions", offsets_body((elsewhere, 0, 0))),
        ("positions/beginning", partitions_body((elsewhere, 0))),
        ("positions/end", partitions_body((first, 0), (elsewhere, 0))),
    ]:
        problem = await error_of(await post(bridge, f"{path}/{suffix}", body), 404, 404)
        assert f"{elsewhere}/0" in error_text(problem), problem
    # positions/end with no body: every assigned partition; then only new records come.
    await no_content(await post(bridge, f"{path}/positions/end"))
    assert await read_records(bridge, path) == []
    since_new = now_ms()
    await put_records(kafka, second, [b"new"], partition=0, keys=[None])
    fresh = await read_until(bridge, path, 1)
    assert untimed(fresh, since_new, now_ms()) == [record(second, 0, 1, None, b64(b"new"))]

    # Offsets: the commit example's shape, GET answers what was committed; an empty body
    # commits what was handed out (first/0 up to 3, second/0 up to 2), nothing more.
    await no_content(
        await post(bridge, f"{path}/offsets", offsets_body((first, 0, 1), (first, 1, 0)))
    )
    assert await get_offsets(bridge, path, (first, 0), (first, 1), (second, 0)) == committed(
        (first, 0, 1), (first, 1, 0)
    )
    await no_content(await post(bridge, f"{path}/offsets"))
    assert await get_offsets(bridge, path, (first, 0), (first, 1), (second, 0)) == committed(
        (first, 0, 3), (first, 1, 0), (second, 0, 2)
    )
    response = await bridge.get(
        f"{path}/offsets",
        data=orjson.dumps(partitions_body((first, 9))),
        headers={"Accept": V2_REFERENCE_ACCEPT},
        skip_auto_headers=["Content-Type"],
    )
    await error_of(response, 404, 404)
    response = await post(bridge, f"{path}/offsets", offsets_body((elsewhere, 0, 0)))
    await error_of(response, 404, 404)

    # DELETE .../subscription: nothing left to read.
    await no_content(await bridge.delete(f"{path}/subscription"))
    assert await get_json(bridge, f"{path}/subscription") == {"topics": [], "partitions": []}
    assert await get_json(bridge, f"{path}/assignments") == {"partitions": []}
    response = await bridge.get(f"{path}/records?timeout=100", headers={"Accept": BINARY_V2})
    await error_of(response, 409, 409)

    # DELETE the instance: 204, then it is gone (the reference's 404 example).
    await no_content(await bridge.delete(path))
    await error_of(await bridge.delete(path), 404, 404)


# --- the Confluent v2 reference's examples ------------------------------------------------


async def test_confluent_examples_with_a_pattern_subscription(
    bridge: BridgeClient, new_topic: NewTopicFactory, kafka: KafkaTarget
) -> None:
    group = unique("testgroup")
    prefix = f"cp{uuid.uuid4().hex[:8]}"
    first = await new_topic(partitions=2, prefix=prefix)
    second = await new_topic(partitions=1, prefix=prefix)
    unmatched = await new_topic(partitions=1)
    since = now_ms()
    await put_records(kafka, first, [b"confluent"], partition=1, keys=[b"key"])
    await put_records(kafka, second, [b"kafka"], partition=0, keys=[b"key"])
    await put_records(kafka, unmatched, [b"not matched"], partition=0)
    until = now_ms()

    # POST /consumers/testgroup/ with the example's Host, trailing slash and string flag.
    response = await bridge.post(
        f"/consumers/{group}/",
        data=CONFLUENT_CREATE,
        headers={"Host": REFERENCE_HOST, "Content-Type": V2},
    )
    base_uri = f"http://{REFERENCE_HOST}/consumers/{group}/instances/my_consumer"
    assert await json_of(response) == {"instance_id": "my_consumer", "base_uri": base_uri}
    path = instance_path(base_uri)
    instance_headers = {"Host": PROXY_INSTANCE_HOST}

    # The topic_pattern example ("test.*"): the instance reads every matching topic.
    await no_content(
        await post(
            bridge,
            f"{path}/subscription",
            {"topic_pattern": f"{prefix}-.*"},
            headers=instance_headers,
        )
    )
    response = await bridge.get(
        f"{path}/records?timeout={FIRST_READ_TIMEOUT_MS}&max_bytes=300000",
        headers={**instance_headers, "Accept": BINARY_V2},
    )
    records = await json_of(response, content_type=BINARY_V2)
    if len(records) < 2:
        records += await read_until(bridge, path, 2 - len(records), max_bytes=300000)
    assert untimed(records, since, until) == sorted(
        [
            record(first, 1, 0, b64(b"key"), b64(b"confluent")),
            record(second, 0, 0, b64(b"key"), b64(b"kafka")),
        ],
        key=lambda r: (r["topic"], r["partition"], r["offset"]),
    )
    ordered = sorted([first, second])
    response = await bridge.get(f"{path}/subscription", headers={**instance_headers, "Accept": V2})
    assert await json_of(response) == {
        "topics": ordered,
        "partitions": [{t: [0, 1] if t == first else [0]} for t in ordered],
    }
    response = await bridge.get(f"{path}/assignments", headers={**instance_headers, "Accept": V2})
    assert await json_of(response) == partitions_body(
        *sorted([(first, 0), (first, 1), (second, 0)])
    )

    # positions, positions/beginning and positions/end examples (partitions 0 and 1).
    for suffix, body in [
        ("positions", offsets_body((first, 0, 0), (first, 1, 0))),
        ("positions/beginning", partitions_body((first, 0), (first, 1))),
    ]:
        response = await post(bridge, f"{path}/{suffix}", body, headers=instance_headers)
        await no_content(response)
        again = await read_until(bridge, path, 1)
        assert [(r["topic"], r["partition"], r["offset"]) for r in again] == [(first, 1, 0)], suffix
    response = await post(
        bridge,
        f"{path}/positions/end",
        partitions_body((first, 0), (first, 1)),
        headers=instance_headers,
    )
    await no_content(response)
    assert await read_records(bridge, path) == []
    # positions/beginning with no body: every assigned partition.
    await no_content(await post(bridge, f"{path}/positions/beginning", headers=instance_headers))
    again = await read_until(bridge, path, 2)
    assert sorted((r["topic"], r["partition"], r["offset"]) for r in again) == sorted(
        [(first, 1, 0), (second, 0, 0)]
    )

    # The offsets example (commit 20 and 30), then GET .../offsets answers them.
    response = await post(
        bridge,
        f"{path}/offsets",
        offsets_body((first, 0, 20), (first, 1, 30)),
        headers=instance_headers,
    )
    await no_content(response)
    assert await get_offsets(bridge, path, (first, 0), (first, 1)) == committed(
        (first, 0, 20), (first, 1, 30)
    )

    # DELETE .../subscription and DELETE the instance, as the examples send them.
    response = await bridge.delete(
        f"{path}/subscription", headers={**instance_headers, "Accept": V2_REFERENCE_ACCEPT}
    )
    await no_content(response)
    response = await bridge.delete(path, headers={**instance_headers, "Content-Type": V2})
    await no_content(response)


async def test_a_new_subscription_replaces_the_previous_one(
    bridge: BridgeClient, new_topic: NewTopicFactory, kafka: KafkaTarget
) -> None:
    """The Confluent examples in a row: topics, then a topic_pattern ("Each call replaces
    the subscriptions for the subscriber")."""
    group = unique("replace")
    prefix = f"rp{uuid.uuid4().hex[:8]}"
    dropped = await new_topic(partitions=1)
    listed = await new_topic(partitions=1)
    matched = await new_topic(partitions=1, prefix=prefix)
    await put_records(kafka, listed, [b"listed"], partition=0)
    await put_records(kafka, matched, [b"matched"], partition=0)
    path = await create_consumer(bridge, group, {"auto.offset.reset": "earliest"})

    await no_content(await post(bridge, f"{path}/subscription", {"topics": [dropped]}))
    await no_content(await post(bridge, f"{path}/subscription", {"topics": [listed]}))
    assert (await get_json(bridge, f"{path}/subscription"))["topics"] == [listed]
    await no_content(await post(bridge, f"{path}/subscription", {"topic_pattern": f"{prefix}-.*"}))
    records = await read_until(bridge, path, 1, timeout_ms=FIRST_READ_TIMEOUT_MS)
    assert [(r["topic"], r["value"]) for r in records] == [(matched, b64(b"matched"))]
    subscription = await get_json(bridge, f"{path}/subscription")
    assert subscription == {"topics": [matched], "partitions": [{matched: [0]}]}
    await no_content(await bridge.delete(path))


# --- manual assignment ---------------------------------------------------------------------


async def test_assignments_by_hand(
    bridge: BridgeClient, new_topic: NewTopicFactory, kafka: KafkaTarget
) -> None:
    group = unique("assign")
    topic = await new_topic(partitions=2)
    other = await new_topic(partitions=1)
    path = await create_consumer(
        bridge, group, {"auto.offset.reset": "earliest", "enable.auto.commit": False}
    )

    # Neither subscribed nor assigned: reading would never return anything.
    response = await bridge.get(f"{path}/records?timeout=100", headers={"Accept": BINARY_V2})
    await error_of(response, 409, 409)
    assert await get_json(bridge, f"{path}/assignments") == {"partitions": []}
    await error_of(await post(bridge, f"{path}/positions", offsets_body((topic, 0, 0))), 404, 404)

    # Unknown topic or partition: 404, and nothing is assigned.
    missing = unique("no-such-topic")
    for body in [partitions_body((missing, 0)), partitions_body((topic, 0), (topic, 2))]:
        await error_of(await post(bridge, f"{path}/assignments", body), 404, 404)
    assert await get_json(bridge, f"{path}/assignments") == {"partitions": []}

    # The example body: partitions 0 and 1.
    await no_content(
        await post(bridge, f"{path}/assignments", partitions_body((topic, 0), (topic, 1)))
    )
    assert await get_json(bridge, f"{path}/assignments") == partitions_body((topic, 0), (topic, 1))
    assert await get_json(bridge, f"{path}/subscription") == {
        "topics": [],
        "partitions": [{topic: [0, 1]}],
    }
    await error_of(await post(bridge, f"{path}/subscription", {"topics": [other]}), 409, 409)
    await error_of(await post(bridge, f"{path}/positions", offsets_body((other, 0, 0))), 404, 404)

    since = now_ms()
    await put_records(kafka, topic, [b"a0", b"a1"], partition=0)
    await put_records(kafka, topic, [b"b0"], partition=1, keys=[b"kb"])
    until = now_ms()
    records = await read_until(bridge, path, 3)
    assert untimed(records, since, until) == [
        record(topic, 0, 0, None, b64(b"a0")),
        record(topic, 0, 1, None, b64(b"a1")),
        record(topic, 1, 0, b64(b"kb"), b64(b"b0")),
    ]

    # The commit example's offsets (15 and 42): a commit need not be within the log.
    await no_content(
        await post(bridge, f"{path}/offsets", offsets_body((topic, 0, 15), (topic, 1, 42)))
    )
    assert await get_offsets(bridge, path, (topic, 0), (topic, 1)) == committed(
        (topic, 0, 15), (topic, 1, 42)
    )

    # An empty list clears the assignment.
    await no_content(await post(bridge, f"{path}/assignments", {"partitions": []}))
    assert await get_json(bridge, f"{path}/assignments") == {"partitions": []}
    response = await bridge.get(f"{path}/records?timeout=100", headers={"Accept": BINARY_V2})
    await error_of(response, 409, 409)
    await no_content(await bridge.delete(path))


# --- formats -------------------------------------------------------------------------------


#: A record to write: its key, value and headers, as Kafka holds them.
Written: TypeAlias = tuple[bytes | None, bytes | None, list[tuple[str, bytes | None]]]
#: The record read back: its key, value and headers, as JSON.
Expected: TypeAlias = tuple[Any, Any, list[tuple[str, str | None]]]


@pytest.mark.parametrize(
    ("fmt", "accept", "written", "expected", "refused", "formatless"),
    [
        pytest.param(
            "json",
            JSON_V2,
            [
                (b'"somekey"', b'{"foo":"bar"}', []),
                (None, b'["foo","bar"]', []),
                (b"1", b"53.5", []),
                (b'"gone"', None, []),
            ],
            [
                ("somekey", {"foo": "bar"}, []),
                (None, ["foo", "bar"], []),
                (1, 53.5, []),
                ("gone", None, []),
            ],
            [BINARY_V2, TEXT_V2],
            # The Content-Type names the format (or is application/json when that was asked).
            [(V2, JSON_V2), (JSON, JSON), (V2_REFERENCE_ACCEPT, JSON_V2)],
            id="json",
        ),
        pytest.param(
            "text",
            TEXT_V2,
            [
                (None, "ключ и значение".encode(), []),
                ("ké".encode(), b"plain", []),
                (b"k", None, [("empty", b""), ("absent", None)]),  # a header without a value
            ],
            [
                (None, "ключ и значение", []),
                ("ké", "plain", []),
                ("k", None, [("empty", ""), ("absent", None)]),
            ],
            [JSON_V2],
            [],
            id="text-and-header-without-value",
        ),
    ],
)
async def test_format_records(
    bridge: BridgeClient,
    new_topic: NewTopicFactory,
    kafka: KafkaTarget,
    fmt: str,
    accept: str,
    written: list[Written],
    expected: list[Expected],
    refused: list[str],
    formatless: list[tuple[str, str]],
) -> None:
    """An instance in `fmt` reads the `written` records as `expected` in its own media type;
    an Accept naming another format (`refused`) is 406; Accept headers without a format
    (`formatless`) are answered in the Content-Type given."""
    topic = await new_topic(partitions=1)
    since = now_ms()
    for key, value, headers in written:
        await put_records(kafka, topic, [value], partition=0, keys=[key], headers=headers)
    until = now_ms()
    path = await assigned_instance(
        bridge, f"{fmt}group", topic, {"format": fmt, "auto.offset.reset": "earliest"}
    )

    # An Accept naming another format: 406, and nothing is handed out.
    for other in refused:
        response = await bridge.get(f"{path}/records?timeout=100", headers={"Accept": other})
        await error_of(response, 406, 406)
    records = await read_until(bridge, path, len(written), accept=accept)
    assert untimed(records, since, until) == [
        record(topic, 0, offset, key, value, headers)
        for offset, (key, value, headers) in enumerate(expected)
    ]
    # Accept without a format, or plain JSON: allowed.
    for formatless_accept, content_type in formatless:
        response = await bridge.get(
            f"{path}/records?timeout=100", headers={"Accept": formatless_accept}
        )
        assert await json_of(response, content_type=content_type) == [], formatless_accept
    await no_content(await bridge.delete(path))


# --- creating: errors, names, base_uri -----------------------------------------------------


async def test_create_errors(bridge: BridgeClient) -> None:
    group = unique("create-errors")
    name = unique("c")
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"name": name, "auto.offset.reset": "sometimes"}, ["auto.offset.reset"]),
        ({"name": name, "unknown.property": 1}, ["unknown.property"]),
        ({"name": name, "fetch.min.bytes": "lots"}, ["fetch.min.bytes"]),
        ({"name": name, "enable.auto.commit": "maybe"}, ["enable.auto.commit"]),
        ({"name": name, "isolation.level": "read_dirty"}, ["isolation.level"]),
        (
            {"name": name, "auto.offset.reset": "sometimes", "consumer.request.timeout.ms": -1},
            ["auto.offset.reset", "consumer.request.timeout.ms"],
        ),
        ({"name": name, "format": "xml"}, ["xml", "binary", "json", "text"]),
    ]
    for body, named in cases:
        problem = await error_of(await post(bridge, f"/consumers/{group}", body), 422, 422)
        for word in named:
            assert word in error_text(problem), (body, problem)

    # None of those made an instance: the name is still free. Then it is taken (409), in
    # either spelling of the field, but only within its group.
    first = await create_consumer(bridge, group, {"name": name})
    for body in [{"name": name}, {"id": name, "format": "json"}]:
        problem = await error_of(await post(bridge, f"/consumers/{group}", body), 409, 409)
        assert name in error_text(problem), problem
    second = await create_consumer(bridge, unique("create-errors-other"), {"name": name})
    for path in [first, second]:
        await no_content(await bridge.delete(path))


async def test_confluent_string_values_take_effect(
    bridge: BridgeClient, new_topic: NewTopicFactory, kafka: KafkaTarget
) -> None:
    """Confluent clients send every value as a string, and `smallest` for `earliest`."""
    topic = await new_topic(partitions=1)
    await put_records(kafka, topic, [b"already there"], partition=0)
    body = {
        "format": "BINARY",
        "auto.offset.reset": "smallest",
        "auto.commit.enable": "false",
        "fetch.min.bytes": "1",
        "consumer.request.timeout.ms": "1000",
    }
    path = await assigned_instance(bridge, "strings", topic, body)
    # smallest: the record written before the instance existed is read.
    records = await read_until(bridge, path, 1)
    assert [(r["offset"], r["value"]) for r in records] == [(0, b64(b"already there"))]
    # Without a timeout parameter a read waits consumer.request.timeout.ms (1 s), not 5 s.
    started = time.monotonic()
    response = await bridge.get(f"{path}/records", headers={"Accept": BINARY_V2})
    assert await json_of(response, content_type=BINARY_V2) == []
    assert 0.9 <= time.monotonic() - started < 3.5
    await no_content(await bridge.delete(path))


async def test_generated_name_and_base_uri(bridge: BridgeClient) -> None:
    group = unique("base-uri")
    origin = str(bridge.make_url("")).rstrip("/")
    #: Each instance's base_uri and the path the bridge itself serves it at (a proxy that
    #: sends X-Forwarded-Path strips that prefix before forwarding).
    created: list[tuple[str, str]] = []

    # No body at all: every default and a generated name.
    response = await bridge.post(f"/consumers/{group}", headers={"Content-Type": V2})
    body = await json_of(response)
    assert set(body) == {"instance_id", "base_uri"}, body
    assert GENERATED_NAME.fullmatch(body["instance_id"]), body
    assert body["base_uri"] == f"{origin}/consumers/{group}/instances/{body['instance_id']}"
    created.append((body["base_uri"], instance_path(body["base_uri"])))
    response = await post(bridge, f"/consumers/{group}", {})
    other = await json_of(response)
    assert GENERATED_NAME.fullmatch(other["instance_id"]), other
    assert other["instance_id"] != body["instance_id"]
    created.append((other["base_uri"], instance_path(other["base_uri"])))

    # Proxies: Forwarded wins; else X-Forwarded-Proto/Host/Path.
    cases = [
        (
            {"Forwarded": "proto=https;host=proxy.example.com"},
            "https://proxy.example.com",
        ),
        (
            {
                "Forwarded": 'proto=https;host="proxy.example.com:8443", proto=http;host=inner',
                "X-Forwarded-Host": "ignored.example.com",
            },
            "https://proxy.example.com:8443",
        ),
        (
            {
                "X-Forwarded-Proto": "https",
                "X-Forwarded-Host": "proxy.example.com",
                "X-Forwarded-Path": "/kafka",
            },
            "https://proxy.example.com/kafka",
        ),
    ]
    for index, (headers, base) in enumerate(cases):
        name = f"proxied-{index}"
        response = await post(bridge, f"/consumers/{group}", {"name": name}, headers=headers)
        uri = f"{base}/consumers/{group}/instances/{name}"
        assert await json_of(response) == {"instance_id": name, "base_uri": uri}
        created.append((uri, f"/consumers/{group}/instances/{name}"))

    # The group and name are percent-encoded; the path of base_uri reaches the instance.
    response = await post(bridge, f"/consumers/{group}", {"name": "with space+plus"})
    encoded = await json_of(response)
    assert encoded["base_uri"] == f"{origin}/consumers/{group}/instances/with%20space%2Bplus"
    created.append((encoded["base_uri"], instance_path(encoded["base_uri"])))
    # Braces are legal in group and instance names (found by the body fuzzer).
    braced_group = f"{group}{{x}}"
    response = await post(bridge, f"/consumers/{quote(braced_group, safe='')}", {"name": "ö¹{"})
    braced = await json_of(response)
    assert braced["instance_id"] == "ö¹{", braced
    created.append((braced["base_uri"], instance_path(braced["base_uri"])))

    # A null field takes its default (here: a generated name).
    response = await post(bridge, f"/consumers/{group}", {"name": None, "format": None})
    nulls = await json_of(response)
    assert GENERATED_NAME.fullmatch(nulls["instance_id"]), nulls
    created.append((nulls["base_uri"], instance_path(nulls["base_uri"])))

    assert len({uri for uri, _ in created}) == len(created)
    for _, path in created:
        assert await get_json(bridge, f"{path}/subscription") == {"topics": [], "partitions": []}
        await no_content(await bridge.delete(path))


async def test_advertised_url_is_the_base_uri(
    bridge_settings: Settings, aiohttp_client: AiohttpClient
) -> None:
    settings = dataclasses.replace(
        bridge_settings, advertised_url="https://bridge.example.com/kafka"
    )
    client = await aiohttp_client(create_app(settings))
    group = unique("advertised")
    response = await post(
        client,
        f"/consumers/{group}",
        {"name": "c1"},
        headers={"Forwarded": "proto=http;host=proxy.example.com"},
    )
    assert await json_of(response) == {
        "instance_id": "c1",
        "base_uri": f"https://bridge.example.com/kafka/consumers/{group}/instances/c1",
    }
    await no_content(await client.delete(f"/consumers/{group}/instances/c1"))


# --- unknown instances ---------------------------------------------------------------------


async def test_unknown_instance_is_404_everywhere(
    bridge: BridgeClient, new_topic: NewTopicFactory
) -> None:
    topic = await new_topic(partitions=1)
    group = unique("ghosts")
    real = await create_consumer(bridge, group, {"name": "real"})
    await no_content(await bridge.delete(real))
    paths = [
        f"/consumers/{group}/instances/ghost",
        real,  # deleted
        f"/consumers/{unique('no-such-group')}/instances/real",
    ]
    partitions = partitions_body((topic, 0))
    offsets = offsets_body((topic, 0, 0))
    for path in paths:
        requests: list[tuple[str, str, Any]] = [
            ("GET", "/records", None),
            ("POST", "/subscription", {"topics": [topic]}),
            ("GET", "/subscription", None),
            ("DELETE", "/subscription", None),
            ("POST", "/assignments", partitions),
            ("GET", "/assignments", None),
            ("POST", "/offsets", offsets),
            ("POST", "/offsets", None),
            ("GET", "/offsets", partitions),
            ("POST", "/positions", offsets),
            ("POST", "/positions/beginning", partitions),
            ("POST", "/positions/end", partitions),
            ("POST", "/positions/end", None),
            ("DELETE", "", None),
        ]
        for method, suffix, body in requests:
            headers = {"Accept": BINARY_V2 if suffix == "/records" else V2}
            if body is not None:
                headers["Content-Type"] = V2
            response = await bridge.request(
                method,
                f"{path}{suffix}",
                data=None if body is None else orjson.dumps(body),
                headers=headers,
            )
            problem = await error_of(response, 404, 404)
            assert "not found" in problem["message"].lower(), (method, path, suffix, problem)


# --- commits and a new instance of the group -----------------------------------------------


async def test_new_instance_resumes_after_the_committed_offset(
    bridge: BridgeClient, new_topic: NewTopicFactory, kafka: KafkaTarget
) -> None:
    topic = await new_topic(partitions=1)
    values = [f"v{i}".encode() for i in range(5)]
    await put_records(kafka, topic, values, partition=0)
    group = unique("resume")
    config = {"name": "worker", "auto.offset.reset": "earliest", "enable.auto.commit": False}

    first = await create_consumer(bridge, group, config)
    await no_content(await post(bridge, f"{first}/subscription", {"topics": [topic]}))
    # One record per read (max_bytes counts key and value bytes): three handed out, though
    # the instance has fetched all five.
    reads: list[int] = []
    records = await read_until(
        bridge, first, 3, max_bytes=2, timeout_ms=FIRST_READ_TIMEOUT_MS, reads=reads
    )
    assert [n for n in reads if n] == [1, 1, 1], reads
    assert [(r["offset"], r["value"]) for r in records] == [(i, b64(values[i])) for i in range(3)]
    # An empty body commits what was handed out: offset 3, not 5.
    await no_content(await post(bridge, f"{first}/offsets"))
    assert await get_offsets(bridge, first, (topic, 0)) == committed((topic, 0, 3))
    await no_content(await bridge.delete(first))

    # The name is free again; the new instance starts right after the commit.
    second = await create_consumer(bridge, group, config)
    assert second == first
    await no_content(await post(bridge, f"{second}/subscription", {"topics": [topic]}))
    records = await read_until(bridge, second, 2, timeout_ms=FIRST_READ_TIMEOUT_MS)
    assert [(r["offset"], r["value"]) for r in records] == [
        (3, b64(values[3])),
        (4, b64(values[4])),
    ]
    assert await get_offsets(bridge, second, (topic, 0)) == committed((topic, 0, 3))
    await no_content(await post(bridge, f"{second}/offsets", offsets_body((topic, 0, 5))))
    assert await get_offsets(bridge, second, (topic, 0)) == committed((topic, 0, 5))
    # An empty topics list unsubscribes.
    await no_content(await post(bridge, f"{second}/subscription", {"topics": []}))
    assert await get_json(bridge, f"{second}/subscription") == {"topics": [], "partitions": []}
    await no_content(await bridge.delete(second))

"""Generated request bodies and query strings over real HTTP (hypothesis): the bridge never
answers 5xx, every error is the JSON envelope, and afterwards it still serves a normal
produce and read.

Bodies come in three kinds: shaped like ours (`schemas/v1.json`, `v2.json`,
`consumer.json`) with wrong-but-plausible values in their fields, arbitrary JSON, and
arbitrary bytes. Produce requests that happen to be valid write records, so every test
writes only to its own topic.

Hypothesis runs in a worker thread and hands each example to the event loop, where the
bridge lives: the loop (the bridge's Kafka clients, heartbeats included) keeps running
between examples, and the test can go on after the last example to check that the bridge
still answers normally. The bridge is one per test function and deliberately not reset
between examples: what one example leaves behind (a subscription, a position) is part of
what the next one meets. (So the hypothesis-decorated function takes no pytest fixtures, and
the function-scoped-fixture health check has nothing to warn about.)
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any, TypeVar
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yarl import URL

from bridge.app import create_app
from bridge.settings import Settings
from tests.conftest import BridgeClient, NewTopicFactory
from tests.integration.bad_input_helpers import assert_still_serving, sane_answer
from tests.integration.helpers import V1, V2

T = TypeVar("T")

#: One example must answer well within this; the bridge's own waits are bounded below it.
EXAMPLE_TIMEOUT_S = 20.0
#: Reads wait this long by default here, so that reads at the end of a partition are quick.
READ_TIMEOUT_MS = 100
TOPIC_NAME = re.compile(r"[a-zA-Z0-9._-]{1,249}")

#: Media types a client may send with a body; the bridge must answer each sanely.
BODY_TYPES = [
    "application/vnd.kafka.binary.v2+json",
    "application/vnd.kafka.json.v2+json",
    "application/vnd.kafka.text.v2+json",
    "application/vnd.kafka.avro.v2+json",
    "application/vnd.kafka.jsonschema.v2+json",
    "application/vnd.kafka.binary.v1+json",
    "application/vnd.kafka.json.v1+json",
    "application/vnd.kafka.avro.v1+json",
    "application/vnd.kafka.v2+json",
    "application/vnd.kafka.v1+json",
    "application/json",
    "application/octet-stream",
    "text/plain",
]
#: Consumer requests carry no records: the dialect's type, JSON, and some that do not fit.
CONSUMER_TYPES = [V2, V2, V1, V1, "application/json", BODY_TYPES[0], BODY_TYPES[5], "text/plain"]
ACCEPTS = [
    V2,
    V1,
    "application/json",
    "application/vnd.kafka.binary.v2+json",
    "application/vnd.kafka.json.v2+json",
    "application/vnd.kafka.text.v2+json",
    "application/vnd.kafka.avro.v2+json",
    "application/vnd.kafka.binary.v1+json",
    "application/vnd.kafka.nosuchformat.v2+json",
    "*/*",
    "text/html",
]


async def run_examples(
    example: Callable[[T], Coroutine[Any, Any, None]],
    strategy: st.SearchStrategy[T],
    max_examples: int,
) -> None:
    """Run `example` on this event loop for each value hypothesis draws from `strategy`."""
    loop = asyncio.get_running_loop()

    # No example database: every test's inner function has the same source, so their saved
    # examples would be mixed up; CI starts from nothing anyway. Example generation is
    # cheap next to the HTTP round trips, so the "too slow" check only adds noise.
    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(strategy)
    def run(value: T) -> None:
        future = asyncio.run_coroutine_threadsafe(example(value), loop)
        try:
            future.result(EXAMPLE_TIMEOUT_S)
        finally:
            future.cancel()

    await asyncio.to_thread(run)


# --- values ----------------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
#: Numbers where the edge cases of partitions, offsets, ids and timestamps are.
edge_numbers = st.sampled_from(
    [0, 1, -1, 2**31 - 1, 2**31, -(2**31), 2**63 - 1, 2**63, -(2**63), 10**30, 1.0, 1.5, -0.0]
) | st.integers(min_value=-5, max_value=5)
base64_text = st.binary(max_size=16).map(lambda b: base64.b64encode(b).decode("ascii"))
#: JSON strings, and so well-typed, but not Unicode text: half a surrogate pair.
lone_surrogates = st.sampled_from(["\ud800", "a\udfff", "\ude00\ud83d"])
anything = (
    lone_surrogates
    | edge_numbers
    | base64_text
    | st.sampled_from(["", "0", "not base64!", "\u00e9\U0001f642", "null", "true"])
    | json_values
)

#: Well-typed values: what the schemas allow, right or wrong for the cluster (partition 3 of
#: a two-partition topic, an offset past the end).
partition_numbers = st.integers(0, 3) | st.just(2**31 - 1)
offsets = st.integers(0, 5) | st.sampled_from([10**6, 2**63 - 1])
timestamps = st.integers(0, 2**63 - 1) | st.sampled_from([0, 2**63 - 1])


@dataclass(frozen=True)
class Shaped:
    """Objects with one of our bodies' field names: `good` ones fit the schema, `any` ones
    have any value in any field, miss required ones and carry an unknown one."""

    good: st.SearchStrategy[Any]
    any: st.SearchStrategy[Any]

    @property
    def mostly_good(self) -> st.SearchStrategy[Any]:
        return st.one_of(self.good, self.good, self.any)


#: A field: its well-typed values, and anything else it may get.
Field = tuple[st.SearchStrategy[Any], st.SearchStrategy[Any]]


def shaped(required: dict[str, Field], optional: dict[str, Field] | None = None) -> Shaped:
    optional = optional or {}
    good = st.fixed_dictionaries(
        {name: field[0] for name, field in required.items()},
        optional={name: field[0] for name, field in optional.items()},
    )
    every = {name: field[0] | field[1] for name, field in {**required, **optional}.items()}
    extra = st.dictionaries(st.text(max_size=6), anything, max_size=1)
    noisy = st.tuples(st.fixed_dictionaries({}, optional=every), extra).map(
        lambda pair: {**pair[1], **pair[0]}
    )
    return Shaped(good, noisy)


header = shaped(
    {"key": (st.text(max_size=8) | lone_surrogates, anything), "value": (base64_text, anything)}
)
payloads = base64_text | st.none() | json_values
record_fields: dict[str, Field] = {
    "key": (payloads, anything),
    "partition": (partition_numbers | st.none(), anything),
    "timestamp": (timestamps | st.none(), anything),
    "headers": (st.lists(header.good, max_size=2) | st.none(), st.lists(header.any) | anything),
}
record = shaped({"value": (payloads, anything)}, record_fields)
record_to_partition = shaped(
    {"value": (payloads, anything)},
    {name: field for name, field in record_fields.items() if name != "partition"},
)
schema_text = st.sampled_from(['"string"', '"int"', '{"type": "object"}', "{", '{"type": "x"}'])
schema_fields: dict[str, Field] = {
    "key_schema": (schema_text | st.text(max_size=8), anything),
    "value_schema": (schema_text | st.text(max_size=8), anything),
    "key_schema_id": (st.integers(0, 3) | st.just(2**31 - 1), anything),
    "value_schema_id": (st.integers(0, 3) | st.just(2**31 - 1), anything),
}


def produce_bodies(item: Shaped) -> Shaped:
    """Produce bodies of records like `item`: without schemas, with them (which only the
    schema formats take), and as the bare array that v1 also takes."""
    records: Field = (st.lists(item.good, min_size=1, max_size=3), st.lists(item.any) | anything)
    plain = shaped({"records": records})
    with_schemas = shaped({"records": records}, schema_fields)
    bare = st.lists(item.good, min_size=1, max_size=3)
    return Shaped(st.one_of(plain.good, plain.good, with_schemas.good, bare), with_schemas.any)


def topic_names(topic: str) -> st.SearchStrategy[str]:
    """Mostly our topic; a missing one; and names Kafka refuses. Never an arbitrary valid
    name, which a subscription could create on a broker that auto-creates topics."""
    invalid = st.text(max_size=8).filter(lambda name: TOPIC_NAME.fullmatch(name) is None)
    return st.one_of(
        st.just(topic),
        st.just(topic),
        st.sampled_from([f"{topic}-missing", "", "bad name", "a" * 250]) | invalid,
    )


def partition_lists(topic: str) -> Shaped:
    item = shaped(
        {"topic": (topic_names(topic), anything), "partition": (partition_numbers, anything)}
    )
    return shaped({"partitions": (st.lists(item.good, max_size=3), st.lists(item.any) | anything)})


def offset_lists(topic: str) -> Shaped:
    item = shaped(
        {
            "topic": (topic_names(topic), anything),
            "partition": (partition_numbers, anything),
            "offset": (offsets, anything),
        },
        {"metadata": (st.text(max_size=8) | st.none(), anything)},
    )
    return shaped({"offsets": (st.lists(item.good, max_size=3), st.lists(item.any) | anything)})


def subscriptions(topic: str) -> Shaped:
    patterns = st.sampled_from(
        [re.escape(topic), f"{re.escape(topic)}-nothing.*", "(", "[a-", "*", "a{2,1}"]
    )
    return shaped(
        {},
        {
            "topics": (st.lists(topic_names(topic), max_size=3), anything),
            "topic_pattern": (patterns, anything),
        },
    )


def _options(*values: str) -> Field:
    return (st.sampled_from(values) | st.none(), anything)


new_consumer = shaped(
    {},
    {
        "name": (
            st.text(min_size=1, max_size=12).filter(lambda n: not set(n) & set("/?#")),
            anything,
        ),
        "id": (
            st.text(min_size=1, max_size=12).filter(lambda n: not set(n) & set("/?#")),
            anything,
        ),
        "format": _options("binary", "json", "avro", "text", "nosuch", "BINARY"),
        "auto.offset.reset": _options("earliest", "smallest", "latest", "none", "x"),
        "enable.auto.commit": (st.sampled_from([True, False, "true", "FALSE", "yes"]), anything),
        "auto.commit.enable": (st.sampled_from([True, False, "true", "false"]), anything),
        "fetch.min.bytes": (edge_numbers | st.sampled_from(["1", " 2", "-1"]), anything),
        "consumer.request.timeout.ms": (edge_numbers, anything),
        "isolation.level": _options("read_committed", "read_uncommitted", "x"),
    },
)


def body_bytes(bodies: Shaped) -> st.SearchStrategy[bytes]:
    """Mostly bodies shaped like ours; also any JSON, and any bytes at all."""
    as_json = st.one_of(bodies.mostly_good, json_values).map(lambda v: json.dumps(v).encode())
    return st.one_of(as_json, as_json, as_json, st.binary(max_size=64))


def dialect_headers(content_types: list[str]) -> st.SearchStrategy[tuple[str, str]]:
    """(Content-Type, Accept): mostly an Accept of the Content-Type's own dialect."""
    own = st.sampled_from(content_types).map(lambda ct: (ct, V1 if ".v1+" in ct else V2))
    return st.one_of(own, own, st.tuples(st.sampled_from(content_types), st.sampled_from(ACCEPTS)))


#: Path segments where a partition number goes.
partition_segments = st.one_of(
    st.sampled_from(["0", "1"]),
    st.sampled_from(["2", "-1", "2147483648", str(2**63), str(10**30), "abc", "0x1", "1.0"]),
    st.just("\u0663"),
)

_QUERY_KEYS = ["offset", "count", "timeout", "max_bytes", "async", ""]
_QUERY_VALUES = ["", "0", "1", "-1", "2147483648", str(2**63), str(10**30), "1e3", " 5", "x"]


def _harmless(pairs: list[tuple[str, str]]) -> bool:
    """No valid long timeout: a read may wait that long, and examples must stay quick."""
    return not any(
        key == "timeout" and value.isascii() and value.isdigit() and int(value) > 300
        for key, value in pairs
    )


query_pairs = st.lists(
    st.tuples(
        st.sampled_from(_QUERY_KEYS) | st.text(max_size=4),
        st.sampled_from(_QUERY_VALUES) | st.integers(0, 300).map(str) | st.text(max_size=6),
    ),
    max_size=4,
).filter(_harmless)
#: Raw query strings, sent as they are: bad percent-encodings and odd separators.
raw_queries = st.sampled_from(
    ["offset=%ff", "offset=%zz", "%", "offset=0&offset=1", "offset=0;count=1", "&&=", "offset"]
)


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture
async def fuzz_bridge(
    bridge_settings: Settings, aiohttp_client: Callable[..., Awaitable[BridgeClient]]
) -> BridgeClient:
    settings = replace(bridge_settings, consumer_request_timeout_ms=READ_TIMEOUT_MS)
    return await aiohttp_client(create_app(settings))


@pytest.fixture
async def fuzz_topic(new_topic: NewTopicFactory) -> str:
    return await new_topic(partitions=2, prefix="fuzz")


async def post(
    bridge: BridgeClient, path: str, body: bytes, content_type: str, accept: str
) -> tuple[int, Any]:
    response = await bridge.post(
        path, data=body, headers={"Content-Type": content_type, "Accept": accept}
    )
    return await sane_answer(response, f"POST {path} {content_type} {body[:200]!r}")


async def create_instance(bridge: BridgeClient, group: str) -> str:
    response = await bridge.post(
        f"/consumers/{group}",
        json={"format": "binary", "auto.offset.reset": "earliest"},
        headers={"Content-Type": V2},
    )
    status, created = await sane_answer(response)
    assert status == 200, created
    return str(URL(created["base_uri"]).raw_path)


# --- the tests -------------------------------------------------------------------------------


async def test_produce_bodies(fuzz_bridge: BridgeClient, fuzz_topic: str) -> None:
    to_topic = st.tuples(
        st.sampled_from([f"/topics/{fuzz_topic}", f"/topics/{fuzz_topic}/"]),
        body_bytes(produce_bodies(record)),
    )
    to_partition = st.tuples(
        partition_segments.map(lambda p: f"/topics/{fuzz_topic}/partitions/{quote(p)}"),
        body_bytes(produce_bodies(record_to_partition)),
    )
    suffixes = st.sampled_from(["", "", "", "?async=true", "?async=false", "?async=maybe"])
    examples = st.tuples(to_topic | to_partition, suffixes, dialect_headers(BODY_TYPES))

    async def example(drawn: tuple[tuple[str, bytes], str, tuple[str, str]]) -> None:
        (path, body), suffix, (content_type, accept) = drawn
        await post(fuzz_bridge, path + suffix, body, content_type, accept)

    await run_examples(example, examples, max_examples=400)
    await assert_still_serving(fuzz_bridge, fuzz_topic)


async def test_consumer_creation_bodies(fuzz_bridge: BridgeClient, fuzz_topic: str) -> None:
    group = f"fuzz-{uuid.uuid4().hex[:8]}"
    groups = st.just(group) | st.text(min_size=1, max_size=6).map(lambda g: f"{group}{g}")
    examples = st.tuples(groups, dialect_headers(CONSUMER_TYPES), body_bytes(new_consumer))

    async def example(drawn: tuple[str, tuple[str, str], bytes]) -> None:
        group_name, (content_type, accept), body = drawn
        path = f"/consumers/{quote(group_name, safe='')}"
        status, created = await post(fuzz_bridge, path, body, content_type, accept)
        if status == 200:
            # The instance exists: its URL works, and it goes away when deleted.
            instance = URL(created["base_uri"]).raw_path
            deleted = await fuzz_bridge.delete(instance, headers={"Accept": V2})
            assert (await sane_answer(deleted, f"DELETE {instance}"))[0] == 204

    await run_examples(example, examples, max_examples=80)
    await assert_still_serving(fuzz_bridge, fuzz_topic)


async def test_consumer_request_bodies(fuzz_bridge: BridgeClient, fuzz_topic: str) -> None:
    instance = await create_instance(fuzz_bridge, f"fuzz-{uuid.uuid4().hex[:8]}")
    operations = st.one_of(
        st.tuples(st.just("subscription"), body_bytes(subscriptions(fuzz_topic))),
        st.tuples(st.just("assignments"), body_bytes(partition_lists(fuzz_topic))),
        st.tuples(st.just("positions"), body_bytes(offset_lists(fuzz_topic))),
        st.tuples(st.just("positions/beginning"), body_bytes(partition_lists(fuzz_topic))),
        st.tuples(st.just("positions/end"), body_bytes(partition_lists(fuzz_topic))),
        st.tuples(st.just("offsets"), body_bytes(offset_lists(fuzz_topic))),
        st.tuples(st.just(""), body_bytes(offset_lists(fuzz_topic))),
    )
    examples = st.tuples(operations, dialect_headers(CONSUMER_TYPES), st.booleans())

    async def example(drawn: tuple[tuple[str, bytes], tuple[str, str], bool]) -> None:
        (operation, body), (content_type, accept), reset = drawn
        path = f"{instance}/{operation}".rstrip("/")
        await post(fuzz_bridge, path, body, content_type, accept)
        if reset:
            # Start the next example from nothing now and then, so that both fresh and
            # used instances meet the bodies.
            response = await fuzz_bridge.delete(f"{instance}/subscription")
            await sane_answer(response, "DELETE subscription")
        # Committed offsets are asked for with a partition list (a GET with a body).
        response = await fuzz_bridge.get(
            f"{instance}/offsets", data=body, headers={"Content-Type": content_type}
        )
        await sane_answer(response, f"GET {instance}/offsets {body[:200]!r}")

    await run_examples(example, examples, max_examples=300)
    await assert_still_serving(fuzz_bridge, fuzz_topic)


async def test_read_query_strings(fuzz_bridge: BridgeClient, fuzz_topic: str) -> None:
    instance = await create_instance(fuzz_bridge, f"fuzz-{uuid.uuid4().hex[:8]}")
    response = await fuzz_bridge.post(
        f"{instance}/assignments",
        json={"partitions": [{"topic": fuzz_topic, "partition": 0}]},
        headers={"Content-Type": V2},
    )
    assert (await sane_answer(response))[0] == 204
    await assert_still_serving(fuzz_bridge, fuzz_topic)  # one record to read
    resources = st.sampled_from(["records", "messages", "offsets"]).flatmap(
        lambda leaf: partition_segments.map(
            lambda p: f"/topics/{fuzz_topic}/partitions/{quote(p)}/{leaf}"
        )
    ) | st.just(f"{instance}/records")
    queries = (
        query_pairs.map(
            lambda pairs: "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)
        )
        | raw_queries
    )
    examples = st.tuples(resources, queries, st.sampled_from(ACCEPTS))

    async def example(drawn: tuple[str, str, str]) -> None:
        path, query, accept = drawn
        url = URL(f"{path}?{query}", encoded=True)
        response = await fuzz_bridge.get(url, headers={"Accept": accept})
        await sane_answer(response, f"GET {url} Accept {accept}")

    await run_examples(example, examples, max_examples=200)
    await assert_still_serving(fuzz_bridge, fuzz_topic)

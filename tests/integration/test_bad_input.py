"""Bad input that fuzzers rarely find, over real HTTP, in both dialects where they differ:
bodies of 0 bytes and of the size limit and one byte either side, invalid UTF-8, JSON nested
far too deep, partitions and offsets far out of range, unknown consumer groups and
instances, and a consumer deleted while another request waits on its long read.

Every answer is checked to be below 500 and, when an error, the dialect's envelope.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import orjson
import pytest

from bridge.app import create_app
from bridge.settings import Settings
from tests.conftest import BridgeClient, NewTopicFactory
from tests.integration.bad_input_helpers import assert_still_serving, sane_answer
from tests.integration.conftest import EndOffsets
from tests.integration.consumer_helpers import (
    b64,
    create_consumer,
    group_committed,
    put_records,
    raw,
    read_records,
)
from tests.integration.helpers import BINARY_V1, BINARY_V2, JSON_V2, V1, V2, error_of
from tests.kafka_target import KafkaTarget

#: (dialect, media type of requests without records, of binary produce requests)
DIALECTS = [pytest.param(1, V1, BINARY_V1, id="v1"), pytest.param(2, V2, BINARY_V2, id="v2")]
#: A body limit small enough to test at its edges cheaply.
LIMIT = 4096
#: Numbers no partition or offset can be; 2**63 - 1 is the largest offset Kafka has.
HUGE = [2**63, 10**30, 2**31, -1]
#: A run of 19 digits: documents holding one take the standard library's parser (in
#: bridge_codecs.jsontext, for integers beyond 64 bits), a second path for bad input to take.
#: As a number it is a valid timestamp.
LONG_DIGITS = b"1234567890123456789"


def _dumps(body: Any) -> bytes:
    """JSON of `body`, integers of any size included (orjson stops at 64 bits)."""
    return json.dumps(body).encode()


def json_v1(fmt: str) -> str:
    return f"application/vnd.kafka.{fmt}.v1+json"


@pytest.fixture
async def small_bridge(
    bridge_settings: Settings, aiohttp_client: Callable[..., Awaitable[BridgeClient]]
) -> BridgeClient:
    """A bridge with a body limit of LIMIT bytes and reads that wait 200 ms by default."""
    settings = replace(bridge_settings, max_body_bytes=LIMIT, consumer_request_timeout_ms=200)
    return await aiohttp_client(create_app(settings))


def produce_body_of_size(size: int) -> bytes:
    """A valid one-record produce body of exactly `size` bytes (JSON whitespace pads it)."""
    body = orjson.dumps({"records": [{"value": b64(b"sized")}]})
    assert len(body) <= size
    return body + b" " * (size - len(body))


# --- 0 bytes and the size limit ----------------------------------------------------------


@pytest.mark.parametrize(("dialect", "media", "binary"), DIALECTS)
async def test_bodies_at_the_size_limit_and_one_byte_over(
    small_bridge: BridgeClient,
    new_topic: NewTopicFactory,
    end_offsets: EndOffsets,
    dialect: int,
    media: str,
    binary: str,
) -> None:
    topic = await new_topic(partitions=1)
    for size in (LIMIT - 1, LIMIT):
        response = await small_bridge.post(
            f"/topics/{topic}", data=produce_body_of_size(size), headers={"Content-Type": binary}
        )
        assert (await sane_answer(response, f"{size} bytes"))[0] == 200
    response = await small_bridge.post(
        f"/topics/{topic}", data=produce_body_of_size(LIMIT + 1), headers={"Content-Type": binary}
    )
    body = await error_of(response, 413, 413, dialect=dialect)
    assert str(LIMIT) in body["message"]
    # Without a Content-Length (chunked), the limit holds as the body streams in.
    chunks = [produce_body_of_size(LIMIT + 1)[i : i + 1000] for i in range(0, LIMIT + 1, 1000)]

    async def stream() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    response = await small_bridge.post(
        f"/topics/{topic}", data=stream(), headers={"Content-Type": binary}
    )
    await error_of(response, 413, 413, dialect=dialect)
    # The consumer API has the same limit.
    response = await small_bridge.post(
        f"/consumers/big-{uuid.uuid4().hex[:8]}",
        data=b"{" + b" " * LIMIT + b"}",
        headers={"Content-Type": media},
    )
    await error_of(response, 413, 413, dialect=dialect)
    assert await end_offsets(topic) == {0: 2}
    await assert_still_serving(small_bridge, topic)


@pytest.mark.parametrize(("dialect", "media", "binary"), DIALECTS)
async def test_empty_bodies(
    small_bridge: BridgeClient, new_topic: NewTopicFactory, dialect: int, media: str, binary: str
) -> None:
    """0 bytes: an error where the body says what to do; where it only narrows what is done
    (creating a consumer, seeking every partition, committing everything), the default."""
    topic = await new_topic(partitions=1)
    required = [
        (f"/topics/{topic}", binary),
        (f"/topics/{topic}/partitions/0", binary),
        ("/admin/topics", media),
    ]
    for path, content_type in required:
        response = await small_bridge.post(path, data=b"", headers={"Content-Type": content_type})
        body = await error_of(response, 422, 422, dialect=dialect)
        assert "empty" in body["message"]

    instance = await create_consumer(
        small_bridge, f"empty-{uuid.uuid4().hex[:8]}", content_type=media
    )
    response = await small_bridge.post(
        f"/consumers/empty-{uuid.uuid4().hex[:8]}", data=b"", headers={"Content-Type": media}
    )
    status, created = await sane_answer(response, "create with no body")
    assert status == 200
    assert created["instance_id"]
    for leaf in ("subscription", "assignments", "positions"):
        response = await small_bridge.post(
            f"{instance}/{leaf}", data=b"", headers={"Content-Type": media}
        )
        await error_of(response, 422, 422, dialect=dialect)
    response = await small_bridge.get(
        f"{instance}/offsets", data=b"", headers={"Content-Type": media}
    )
    await error_of(response, 422, 422, dialect=dialect)
    for leaf in ("positions/beginning", "positions/end"):
        response = await small_bridge.post(
            f"{instance}/{leaf}", data=b"", headers={"Content-Type": media}
        )
        assert (await sane_answer(response, leaf))[0] == 204
    response = await small_bridge.post(
        f"{instance}/offsets", data=b"", headers={"Content-Type": media}
    )
    # Committing everything handed out, which is nothing: v1 lists it, v2 has no body.
    assert await sane_answer(response, "commit") == ((200, []) if dialect == 1 else (204, None))


# --- invalid UTF-8 and lone surrogates ---------------------------------------------------

INVALID_UTF8 = {
    "stray byte": b"\xff",
    "overlong slash": b"\xc0\xaf",
    "truncated sequence": b"\xe2\x82",
    "encoded surrogate": b"\xed\xa0\x80",
    "beyond U+10FFFF": b"\xf4\x90\x80\x80",
}
#: JSON escapes of one half of a surrogate pair: valid JSON grammar, but not Unicode text.
LONE_SURROGATES = {"high": rb"\ud800", "low": rb"\udc00", "reversed pair": rb"\ude00\ud83d"}


def _bodies_with(text: bytes, long_number: bool) -> dict[str, bytes]:
    """Bodies that would be accepted but for `text` inside a string: a record's value, a
    header key, a consumer name, an object key."""
    digits = LONG_DIGITS if long_number else b""
    timestamp = b', "timestamp": ' + LONG_DIGITS if long_number else b""
    return {
        "produce value": b'{"records": [{"value": "' + text + b'"' + timestamp + b"}]}",
        "produce header key": b'{"records": [{"value": "YQ==", "headers": [{"key": "'
        + text
        + b'", "value": "YQ=="}]'
        + timestamp
        + b"}]}",
        "consumer name": b'{"name": "' + text + digits + b'"}',
        "object key": b'{"records": [{"value": "YQ==", "' + text + digits + b'": 1}]}',
    }


@pytest.mark.parametrize("long_number", [False, True], ids=["orjson", "stdlib"])
@pytest.mark.parametrize(("dialect", "media", "binary"), DIALECTS)
async def test_invalid_utf8_and_lone_surrogates_are_400(
    small_bridge: BridgeClient,
    new_topic: NewTopicFactory,
    end_offsets: EndOffsets,
    dialect: int,
    media: str,
    binary: str,
    long_number: bool,
) -> None:
    topic = await new_topic(partitions=1)
    group = f"utf8-{uuid.uuid4().hex[:8]}"
    texts = {**INVALID_UTF8, **LONE_SURROGATES}
    for name, text in texts.items():
        for kind, body in _bodies_with(text, long_number).items():
            path = f"/consumers/{group}" if kind == "consumer name" else f"/topics/{topic}"
            content_type = media if kind == "consumer name" else binary
            response = await small_bridge.post(
                path, data=body, headers={"Content-Type": content_type}
            )
            what = f"{name} in {kind}: {body!r}"
            status, error = await sane_answer(response, what)
            assert (status, error["error_code"]) == (400, 400), what
    assert await end_offsets(topic) == {0: 0}
    await assert_still_serving(small_bridge, topic)


@pytest.mark.parametrize("long_number", [False, True], ids=["orjson", "stdlib"])
async def test_escaped_surrogate_pairs_are_text(
    small_bridge: BridgeClient, new_topic: NewTopicFactory, long_number: bool
) -> None:
    """The control case: an escaped pair (what ASCII-only JSON writers send) is one
    character, and a header key holding it is produced."""
    topic = await new_topic(partitions=1)
    body = _bodies_with(rb"\ud83d\ude00", long_number)["produce header key"]
    response = await small_bridge.post(
        f"/topics/{topic}", data=body, headers={"Content-Type": BINARY_V2}
    )
    assert (await sane_answer(response, repr(body)))[0] == 200
    read = await small_bridge.get(
        f"/topics/{topic}/partitions/0/records?offset=0&timeout=5000",
        headers={"Accept": BINARY_V2},
    )
    _, records = await sane_answer(read)
    assert [h["key"] for h in records[0]["headers"]] == ["\U0001f600"]


# --- nesting -------------------------------------------------------------------------------


@pytest.mark.parametrize("long_number", [False, True], ids=["orjson", "stdlib"])
@pytest.mark.parametrize(("dialect", "media", "binary"), DIALECTS)
async def test_json_nested_100000_deep_is_400(
    bridge: BridgeClient,
    new_topic: NewTopicFactory,
    dialect: int,
    media: str,
    binary: str,
    long_number: bool,
) -> None:
    topic = await new_topic(partitions=1)
    depth = 100_000
    middle = LONG_DIGITS if long_number else b"1"
    deep_values = {
        "arrays": b"[" * depth + middle + b"]" * depth,
        "objects": b'{"a":' * depth + middle + b"}" * depth,
    }
    for name, deep in deep_values.items():
        for path, content_type, body in (
            (f"/topics/{topic}", binary, deep),
            (f"/topics/{topic}", binary, b'{"records": [{"value": ' + deep + b"}]}"),
            (f"/consumers/deep-{uuid.uuid4().hex[:8]}", media, deep),
        ):
            response = await bridge.post(path, data=body, headers={"Content-Type": content_type})
            status, error = await sane_answer(response, f"{name} to {path}")
            assert (status, error["error_code"]) == (400, 400)
    await assert_still_serving(bridge, topic)


async def test_json_records_the_bridge_cannot_write_are_not_decodable(
    bridge: BridgeClient, new_topic: NewTopicFactory, kafka: KafkaTarget
) -> None:
    """In the json format, a value nested deeper than the bridge can write is refused with
    422 on produce. Records in Kafka that other producers wrote can hold what no response
    can: nesting that deep, a lone surrogate escape. Reads answer those 406 (not in the
    consumer's format) after the records before them, never 500; a consumer seeks past."""
    topic = await new_topic(partitions=1)
    for depth in (300, 1_000):
        value = b"[" * depth + b"]" * depth
        response = await bridge.post(
            f"/topics/{topic}",
            data=b'{"records": [{"value": ' + value + b"}]}",
            headers={"Content-Type": JSON_V2},
        )
        status, answer = await sane_answer(response, f"produce {depth} deep")
        assert status == (200 if depth == 300 else 422), answer
    # orjson reads up to 1024 levels; the long number sends the second through the
    # standard library, which reads the escape as a lone surrogate.
    unwritable = [b"[" * 1_020 + b"]" * 1_020, b'["\\ud800", ' + LONG_DIGITS + b"]"]
    positions = await put_records(kafka, topic, [*unwritable, b'"after"'], partition=0)
    bad_offsets = [offset for _, offset in positions[:2]]
    for path, accept in (
        (f"/topics/{topic}/partitions/0/records", JSON_V2),
        (f"/topics/{topic}/partitions/0/messages", json_v1("json")),
    ):
        response = await bridge.get(f"{path}?offset=0&count=2", headers={"Accept": accept})
        status, records = await sane_answer(response, f"read {path} from 0")
        assert status == 200
        assert len(records) == 1  # the 300-deep one; the next is not decodable
        for offset in bad_offsets:
            response = await bridge.get(
                f"{path}?offset={offset}&count=2", headers={"Accept": accept}
            )
            status, error = await sane_answer(response, f"read {path} at {offset}")
            assert status == 406, error
            assert "cannot be written as JSON" in error["message"]

    instance = await create_consumer(
        bridge, f"unwritable-{uuid.uuid4().hex[:8]}", {"format": "json"}
    )
    response = await bridge.post(
        f"{instance}/assignments",
        json={"partitions": [{"topic": topic, "partition": 0}]},
        headers={"Content-Type": V2},
    )
    assert (await sane_answer(response))[0] == 204
    for offset in bad_offsets:
        response = await bridge.post(
            f"{instance}/positions",
            json={"offsets": [{"topic": topic, "partition": 0, "offset": offset}]},
            headers={"Content-Type": V2},
        )
        assert (await sane_answer(response))[0] == 204
        response = await bridge.get(f"{instance}/records?timeout=5000", headers={"Accept": JSON_V2})
        status, error = await sane_answer(response, f"consumer read at {offset}")
        assert status == 406, error
    response = await bridge.post(
        f"{instance}/positions",
        json={"offsets": [{"topic": topic, "partition": 0, "offset": bad_offsets[-1] + 1}]},
        headers={"Content-Type": V2},
    )
    assert (await sane_answer(response))[0] == 204
    values = [r["value"] for r in await read_records(bridge, instance, accept=JSON_V2)]
    assert values == ["after"]


# --- numbers out of range ----------------------------------------------------------------


@pytest.mark.parametrize(("dialect", "media", "binary"), DIALECTS)
async def test_huge_and_negative_partitions_in_paths_are_404(
    bridge: BridgeClient,
    new_topic: NewTopicFactory,
    end_offsets: EndOffsets,
    dialect: int,
    media: str,
    binary: str,
) -> None:
    topic = await new_topic(partitions=1)
    code = 40402 if dialect == 1 else 404
    record_type = binary if dialect == 2 else BINARY_V1
    for number in HUGE:
        base = f"/topics/{topic}/partitions/{number}"
        for path in (base, f"{base}/offsets", f"{base}/records?offset=0", f"{base}/messages"):
            response = await bridge.get(path, headers={"Accept": record_type})
            await error_of(response, 404, code, dialect=dialect, content_type=media)
        response = await bridge.post(
            base,
            data=orjson.dumps({"records": [{"value": "YQ=="}]}),
            headers={"Content-Type": binary},
        )
        await error_of(response, 404, code, dialect=dialect)
    assert await end_offsets(topic) == {0: 0}


@pytest.mark.parametrize(("dialect", "media", "binary"), DIALECTS)
async def test_huge_and_negative_numbers_in_bodies_are_422(
    bridge: BridgeClient,
    new_topic: NewTopicFactory,
    end_offsets: EndOffsets,
    dialect: int,
    media: str,
    binary: str,
) -> None:
    topic = await new_topic(partitions=1)
    instance = await create_consumer(bridge, f"huge-{uuid.uuid4().hex[:8]}", content_type=media)
    assigned = {"partitions": [{"topic": topic, "partition": 0}]}
    response = await bridge.post(
        f"{instance}/assignments", json=assigned, headers={"Content-Type": media}
    )
    assert (await sane_answer(response))[0] == 204
    for number in HUGE:
        partition = {"topic": topic, "partition": number}
        offset = {"topic": topic, "partition": 0, "offset": number}
        cases: list[tuple[str, str, Any]] = [
            (f"/topics/{topic}", binary, {"records": [{"value": "YQ==", "partition": number}]}),
            (f"{instance}/assignments", media, {"partitions": [partition]}),
            (f"{instance}/positions/beginning", media, {"partitions": [partition]}),
            (f"{instance}/positions", media, {"offsets": [{**offset, "partition": number}]}),
            (f"{instance}/offsets", media, {"offsets": [{**offset, "partition": number}]}),
        ]
        if number != 2**31:  # a valid offset, tested below
            cases += [
                (f"{instance}/positions", media, {"offsets": [offset]}),
                (f"{instance}/offsets", media, {"offsets": [offset]}),
            ]
        for path, content_type, body in cases:
            response = await bridge.post(
                path, data=_dumps(body), headers={"Content-Type": content_type}
            )
            what = f"{path} {body}"
            status, error = await sane_answer(response, what)
            assert (status, error["error_code"]) == (422, 422), what
        response = await bridge.get(
            f"{instance}/offsets",
            data=_dumps({"partitions": [partition]}),
            headers={"Content-Type": media},
        )
        await error_of(response, 422, 422, dialect=dialect)
    assert await end_offsets(topic) == {0: 0}


@pytest.mark.parametrize(("dialect", "media", "binary"), DIALECTS)
async def test_offsets_at_and_past_the_64_bit_edge(
    small_bridge: BridgeClient, new_topic: NewTopicFactory, dialect: int, media: str, binary: str
) -> None:
    """2**63 - 1 is a valid offset: seeking to it, committing it and reading there answer
    normally; 2**63 and beyond are 422 in query strings as in bodies."""
    topic = await new_topic(partitions=1)
    top = 2**63 - 1
    record_type = BINARY_V2 if dialect == 2 else json_v1("binary")
    for leaf in ("records", "messages"):
        path = f"/topics/{topic}/partitions/0/{leaf}"
        response = await small_bridge.get(f"{path}?offset={top}", headers={"Accept": record_type})
        # Past the end of the partition: the offset is out of range (404), not an error.
        status, _ = await sane_answer(response, f"{leaf} at {top}")
        assert status in (200, 404)
        queries = [f"offset={top + 1}", "offset=-1", f"offset=0&count={2**31}"]
        queries.append(f"offset=0&max_bytes={top + 1}")
        if leaf == "records":  # v1's messages never wait, and ignore a timeout
            queries.append(f"offset=0&timeout={2**31}")
        for query in queries:
            response = await small_bridge.get(f"{path}?{query}", headers={"Accept": record_type})
            await error_of(response, 422, 422, dialect=dialect, content_type=media)
    group = f"edge-{uuid.uuid4().hex[:8]}"
    instance = await create_consumer(small_bridge, group, content_type=media)
    partitions = {"partitions": [{"topic": topic, "partition": 0}]}
    offsets = {"offsets": [{"topic": topic, "partition": 0, "offset": top}]}
    for leaf, body, expected in (
        ("assignments", partitions, 204),
        ("positions", offsets, 204),
        ("offsets", offsets, 200 if dialect == 1 else 204),
    ):
        response = await small_bridge.post(
            f"{instance}/{leaf}", data=_dumps(body), headers={"Content-Type": media}
        )
        assert (await sane_answer(response, leaf))[0] == expected
    response = await small_bridge.get(
        f"{instance}/records?timeout=200", headers={"Accept": record_type}
    )
    assert (await sane_answer(response, "read past the end"))[0] == 200
    response = await small_bridge.get(
        f"{instance}/offsets", data=_dumps(partitions), headers={"Content-Type": media}
    )
    status, committed = await sane_answer(response, "committed")
    assert status == 200
    assert [c["offset"] for c in committed["offsets"]] == [top]


# --- unknown consumers ---------------------------------------------------------------------


def consumer_requests(topic: str) -> list[tuple[str, str, Any]]:
    """Every consumer route below an instance, with a valid body where it takes one."""
    partitions = {"partitions": [{"topic": topic, "partition": 0}]}
    offsets = {"offsets": [{"topic": topic, "partition": 0, "offset": 0}]}
    return [
        ("DELETE", "", None),
        ("POST", "", offsets),
        ("POST", "/offsets", offsets),
        ("GET", "/offsets", partitions),
        ("GET", f"/topics/{topic}", None),
        ("GET", "/records", None),
        ("POST", "/subscription", {"topics": [topic]}),
        ("GET", "/subscription", None),
        ("DELETE", "/subscription", None),
        ("POST", "/assignments", partitions),
        ("GET", "/assignments", None),
        ("POST", "/positions", offsets),
        ("POST", "/positions/beginning", partitions),
        ("POST", "/positions/end", partitions),
    ]


@pytest.mark.parametrize(("dialect", "media", "binary"), DIALECTS)
async def test_unknown_groups_and_instances_are_404_on_every_route(
    bridge: BridgeClient, new_topic: NewTopicFactory, dialect: int, media: str, binary: str
) -> None:
    topic = await new_topic(partitions=1)
    group = f"known-{uuid.uuid4().hex[:8]}"
    known = await create_consumer(bridge, group, content_type=media)
    name = known.rsplit("/", 1)[1]
    code = 40403 if dialect == 1 else 404
    record_type = BINARY_V2 if dialect == 2 else json_v1("binary")
    unknown = [
        f"/consumers/missing-{uuid.uuid4().hex[:8]}/instances/missing",
        f"/consumers/{group}/instances/missing",  # a known group, another name
        f"/consumers/missing-{uuid.uuid4().hex[:8]}/instances/{name}",  # the name elsewhere
    ]
    for instance in unknown:
        for method, leaf, body in consumer_requests(topic):
            reads = leaf == "/records" or leaf.startswith("/topics/")
            headers = {"Accept": record_type} if reads else {"Accept": media}
            if body is not None:
                headers["Content-Type"] = media
            response = await bridge.request(
                method,
                f"{instance}{leaf}",
                data=None if body is None else _dumps(body),
                headers=headers,
            )
            what = f"{method} {instance}{leaf}"
            status, error = await sane_answer(response, what)
            assert (status, error["error_code"]) == (404, code), what
            assert "not found" in error["message"], what
    # The known instance was not disturbed by any of it.
    response = await bridge.get(f"{known}/assignments", headers={"Accept": media})
    assert await sane_answer(response) == (200, {"partitions": []})


# --- delete during a long read -----------------------------------------------------------


@pytest.mark.parametrize(("dialect", "media", "binary"), DIALECTS)
async def test_delete_while_a_long_read_waits(
    bridge: BridgeClient,
    new_topic: NewTopicFactory,
    kafka: KafkaTarget,
    dialect: int,
    media: str,
    binary: str,
) -> None:
    """A read waiting up to 5 s when its instance is deleted: both answer well before the
    read's timeout, and a record that arrived meanwhile is not lost: either the read handed
    it out (and the group committed it on deletion), or the group's next reader gets it."""
    topic = await new_topic(partitions=1)
    group = f"deleted-{uuid.uuid4().hex[:8]}"
    config = {"format": "binary", "auto.offset.reset": "earliest", "auto.commit.enable": "true"}
    instance = await create_consumer(bridge, group, config, content_type=media)
    partitions = {"partitions": [{"topic": topic, "partition": 0}]}
    response = await bridge.post(
        f"{instance}/assignments", data=_dumps(partitions), headers={"Content-Type": media}
    )
    assert (await sane_answer(response))[0] == 204
    record_type = BINARY_V2 if dialect == 2 else json_v1("binary")
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def long_read() -> tuple[int, Any]:
        response = await bridge.get(
            f"{instance}/records?timeout=5000", headers={"Accept": record_type}
        )
        return await sane_answer(response, "long read")

    async def delete() -> tuple[int, Any]:
        await asyncio.sleep(0.5)  # the read is waiting by now
        await put_records(kafka, topic, [b"meanwhile"], partition=0)
        response = await bridge.delete(instance, headers={"Accept": media})
        return await sane_answer(response, "delete")

    (read_status, read), (delete_status, _) = await asyncio.gather(long_read(), delete())
    assert loop.time() - started < 5.0, "a request waited out the read's whole timeout"
    assert read_status == 200
    assert delete_status == 204
    handed_out = [raw(r["value"]) for r in read]
    assert handed_out in ([], [b"meanwhile"])
    # Whatever the read handed out, deleting the instance committed (auto-commit).
    committed = await group_committed(kafka, group, topic, partitions=1)
    assert committed.get(0, 0) == len(handed_out)
    # The instance is gone; the group's next reader starts at the committed offset.
    response = await bridge.get(f"{instance}/records", headers={"Accept": record_type})
    await error_of(response, 404, 40403 if dialect == 1 else 404, dialect=dialect)
    successor = await create_consumer(bridge, group, config)
    response = await bridge.post(
        f"{successor}/assignments", data=_dumps(partitions), headers={"Content-Type": V2}
    )
    assert (await sane_answer(response))[0] == 204
    later = await read_records(bridge, successor, timeout_ms=2_000)
    assert handed_out + [raw(r["value"]) for r in later] == [b"meanwhile"]

"""Records rendered into a read's response body (bridge/consumers/records.py), without a
broker: the one-pass good path and the record-by-record search for the first record that
cannot be decoded or written, which must agree with each other whatever the codec does, and
large bodies, which come in parts."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime

import orjson
import pytest
from aiokafka.structs import ConsumerRecord

from bridge.consumers.records import KafkaRecord, decode_records, render_records
from bridge.dialects import DIALECTS
from bridge.errors import BridgeError, ErrorKind
from bridge_codecs.base import CodecContext, CodecError, CodecUnavailableError, JSONValue
from bridge_codecs.binary import BinaryCodec
from bridge_codecs.json import JsonCodec
from bridge_codecs.text import TextCodec

V1, V2 = DIALECTS[1], DIALECTS[2]
DEEP: list[object] = [[[]]]
for _ in range(1_100):
    DEEP = [DEEP]


def records(
    *pairs: tuple[bytes | None, bytes | None],
    headers: tuple[tuple[str, bytes | None], ...] = (),
) -> list[KafkaRecord]:
    return [
        ConsumerRecord(
            "t", index % 2, 10 + index, 1_000 + index, 0, key, value, None, 0, 0, headers
        )
        for index, (key, value) in enumerate(pairs)
    ]


class _Scripted(TextCodec):
    """Text, with payloads naming what happens: b"bad" fails to decode; b"surrogate" and
    b"deep" decode to values no JSON response can hold, b"big" to one only the standard
    library writes and b"datetime" to one only orjson does. A batch holding b"unprepared" or
    b"gone" cannot be prepared, as a schema codec's with an unknown schema id; on its own,
    b"unprepared" still cannot, and for b"gone" the registry fails."""

    name = "scripted"

    def decode(self, payload: bytes) -> JSONValue:
        special: dict[bytes, Callable[[], JSONValue]] = {
            b"surrogate": lambda: "\ud800",
            b"deep": lambda: DEEP,
            b"big": lambda: 2**70,
            b"datetime": lambda: datetime(2020, 1, 2),
        }
        if payload == b"bad":
            raise CodecError("not scripted")
        return special[payload]() if payload in special else super().decode(payload)

    async def deserializer(self, payloads: Iterable[bytes]) -> Callable[[bytes], JSONValue]:
        batch = list(payloads)
        if batch == [b"gone"]:
            raise CodecUnavailableError("the registry is away")
        if batch == [b"unprepared"]:
            raise CodecError("cannot prepare this one")
        if b"gone" in batch or b"unprepared" in batch:
            raise CodecError("one of these cannot be prepared")
        return self.decode


SCRIPTED = _Scripted(CodecContext())


async def test_good_path_writes_the_dialects_objects() -> None:
    read = records((None, b"\x00\xff"), (b"k", b""), (b"key", None), headers=(("h", b"v"),))
    codec = BinaryCodec(CodecContext())
    rendered = await render_records(codec, read, V2.records_body)
    assert rendered.count == 3
    assert rendered.failure is None
    assert json.loads(rendered.body) == [
        {
            "topic": "t",
            "key": key,
            "value": value,
            "partition": index % 2,
            "offset": 10 + index,
            "timestamp": 1_000 + index,
            "headers": [{"key": "h", "value": "dg=="}],
        }
        for index, (key, value) in enumerate([(None, "AP8="), ("aw==", ""), ("a2V5", None)])
    ]
    rendered = await render_records(codec, records((None, b"v")), V1.records_body)
    assert json.loads(rendered.body) == [
        {"key": None, "value": "dg==", "partition": 0, "offset": 10}
    ]


async def test_null_header_values_and_no_headers() -> None:
    codec = TextCodec(CodecContext())
    with_null = await render_records(
        codec, records((None, b"v"), headers=(("a", None),)), V2.records_body
    )
    assert json.loads(with_null.body)[0]["headers"] == [{"key": "a", "value": None}]
    without = await render_records(codec, records((None, b"v")), V2.records_body)
    assert json.loads(without.body)[0]["headers"] == []


async def test_integers_beyond_64_bits_are_written_exactly() -> None:
    big = 123456789012345678901234567890
    read = records((None, b"1"), (b"%d" % big, b"[%d]" % big))
    rendered = await render_records(JsonCodec(CodecContext()), read, V1.records_body)
    assert rendered.count == 2
    assert rendered.failure is None
    assert [(r["key"], r["value"]) for r in json.loads(rendered.body)] == [(None, 1), (big, [big])]


async def test_records_that_no_one_writer_can_write_together_are_written_one_by_one() -> None:
    read = records((None, b"big"), (None, b"datetime"), (None, b"a"))
    rendered = await render_records(SCRIPTED, read, V2.records_body)
    assert rendered.count == 3
    assert rendered.failure is None
    values = [r["value"] for r in json.loads(rendered.body)]
    assert values == [2**70, "2020-01-02T00:00:00", "a"]


def _text(payload: bytes | None) -> str | None:
    return None if payload is None else payload.decode()


def _failure(rendered_failure: BridgeError | None) -> str:
    assert rendered_failure is not None
    assert rendered_failure.kind is ErrorKind.RECORD_NOT_DECODABLE
    return rendered_failure.message


@pytest.mark.parametrize(
    ("pairs", "count", "part", "why"),
    [
        # The first failure in record order wins, whatever side the good path met first.
        ([(b"a", b"a"), (b"a", b"bad"), (b"bad", b"a")], 1, "value", "not scripted"),
        ([(b"a", b"a"), (b"bad", b"bad")], 1, "key", "not scripted"),
        # Preparing the batch failed: record by record, only the unprepared one fails.
        ([(None, b"a"), (None, b"a"), (None, b"unprepared")], 2, "value", "cannot prepare"),
        # Decoded, but no JSON response can hold it; records after it are not delivered.
        ([(b"a", b"a"), (None, b"surrogate"), (None, b"a")], 1, "value", "cannot be written"),
        ([(b"a", b"a"), (b"deep", b"a"), (None, b"a")], 1, "key", "cannot be written"),
        # An unwritable record before an undecodable one is the one reported.
        ([(None, b"a"), (None, b"deep"), (None, b"bad")], 1, "value", "cannot be written"),
        ([(None, b"a"), (None, b"bad"), (None, b"deep")], 1, "value", "not scripted"),
        ([(None, b"surrogate")], 0, "value", "cannot be written"),
    ],
)
@pytest.mark.parametrize("dialect", [1, 2])
async def test_first_failing_record_and_the_records_before_it(
    pairs: list[tuple[bytes | None, bytes | None]], count: int, part: str, why: str, dialect: int
) -> None:
    read = records(*pairs)
    rendered = await render_records(SCRIPTED, read, DIALECTS[dialect].records_body)
    assert rendered.count == count
    expected = [(_text(key), _text(value)) for key, value in pairs[:count]]
    assert [(r["key"], r["value"]) for r in json.loads(rendered.body)] == expected
    message = _failure(rendered.failure)
    assert f"The {part} of the record at offset {10 + count} of partition {count % 2}" in message
    assert why in message
    assert f"with offset {11 + count}" in message


async def test_registry_failure_delivers_what_came_before_and_keeps_the_rest() -> None:
    # The batch cannot be prepared, so record by record; the registry fails on b"gone".
    read = records((b"a", b"a"), (None, b"gone"), (None, b"a"))
    rendered = await render_records(SCRIPTED, read, V2.records_body)
    assert rendered.count == 1
    assert rendered.failure is None  # not the record's fault: it is read again next time
    assert [r["offset"] for r in json.loads(rendered.body)] == [10]
    for first_fails in (read[1:], read[1:2]):
        with pytest.raises(BridgeError) as raised:
            await render_records(SCRIPTED, first_fails, V2.records_body)
        assert raised.value.kind is ErrorKind.SCHEMA_REGISTRY_ERROR


# --- large reads, written in parts


def _long_read(count: int, special: dict[int, bytes]) -> list[KafkaRecord]:
    """`count` records of 150-byte values, keys on every third, the `special` values at
    their indexes."""
    return records(
        *[
            (b"k%d" % i if i % 3 == 0 else None, special.get(i, b"%03d" % i + b"v" * 147))
            for i in range(count)
        ],
        headers=(("h", b"x"),),
    )


@pytest.mark.parametrize("dialect", [1, 2])
async def test_a_large_body_comes_in_parts_that_join_into_one_encoding(dialect: int) -> None:
    """No part reaches 64 KiB (where each allocation becomes an mmap on the bridge's malloc
    settings), and the parts joined are byte for byte one JSON encoding of every object."""
    read = _long_read(1_000, {5: b"", 7: b"\xff" * 40})
    writer = DIALECTS[dialect].records_body
    rendered = await render_records(BinaryCodec(CodecContext()), read, writer)
    assert rendered.count == 1_000
    assert rendered.failure is None
    assert len(rendered.parts) >= 4
    assert max(map(len, rendered.parts)) < 64 * 1024
    decoded = await decode_records(BinaryCodec(CodecContext()), read)
    assert rendered.body == orjson.dumps(writer(read, decoded.keys, decoded.values))


@pytest.mark.parametrize(("bad", "why"), [(b"bad", "not scripted"), (b"deep", "cannot be written")])
async def test_a_failure_deep_into_a_large_read_delivers_every_record_before_it(
    bad: bytes, why: str
) -> None:
    read = _long_read(600, {450: bad})
    rendered = await render_records(SCRIPTED, read, V2.records_body)
    assert rendered.count == 450
    body = json.loads(rendered.body)
    assert [r["offset"] for r in body] == [r.offset for r in read[:450]]
    assert [r["value"] for r in body] == [_text(r.value) for r in read[:450]]
    message = _failure(rendered.failure)
    assert f"record at offset {read[450].offset} " in message
    assert why in message

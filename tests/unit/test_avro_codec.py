"""The `avro` format: Avro's JSON encoding on the HTTP side, Avro binary in the Confluent wire
format in Kafka, schemas in a real schema registry over HTTP (tests/schema_registry.py or
SCHEMA_REGISTRY_URL). fastavro, an independent Avro implementation, checks the bytes."""

from __future__ import annotations

import io
import json
import math
import socket
import uuid
from typing import Any, ClassVar

import fastavro
import httpx
import pytest

from bridge_codecs.avro import AvroCodec, parse_schema
from bridge_codecs.base import (
    CodecContext,
    CodecError,
    CodecUnavailableError,
    JSONValue,
    SchemaSpec,
    SerializeTarget,
)
from bridge_codecs.schema_registry import frame, unframe
from bridge_codecs.testing import CodecContract
from tests.schema_registry import running_registry

PERSON: dict[str, Any] = {
    "type": "record",
    "name": "Person",
    "namespace": "com.example",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "name", "type": "string"},
        {"name": "email", "type": ["null", "string"], "default": None},
        {"name": "tags", "type": {"type": "array", "items": "string"}, "default": []},
        {
            "name": "address",
            "type": [
                "null",
                {
                    "type": "record",
                    "name": "Address",
                    "fields": [
                        {"name": "city", "type": "string"},
                        {"name": "zip", "type": "int"},
                    ],
                },
            ],
            "default": None,
        },
    ],
}
PERSON_TEXT = json.dumps(PERSON)
ADA: dict[str, Any] = {
    "id": 1,
    "name": "Ada",
    "email": {"string": "ada@example.com"},
    "tags": ["math", "ü"],
    "address": {"com.example.Address": {"city": "London", "zip": 12345}},
}


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def without_logical_types(schema: Any) -> Any:
    """The schema as fastavro must read it to give the underlying types (days, not dates)."""
    if isinstance(schema, dict):
        return {k: without_logical_types(v) for k, v in schema.items() if k != "logicalType"}
    if isinstance(schema, list):
        return [without_logical_types(item) for item in schema]
    return schema


def fastavro_bytes(schema: Any, value: Any) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(without_logical_types(schema)), value)
    return out.getvalue()


def fastavro_value(schema: Any, data: bytes) -> Any:
    parsed = fastavro.parse_schema(without_logical_types(schema))
    return fastavro.schemaless_reader(io.BytesIO(data), parsed, None)


def rejection(schema: Any, value: JSONValue) -> str:
    with pytest.raises(CodecError) as caught:
        parse_schema(json.dumps(schema)).encode(value)
    return str(caught.value)


def schema_error(text: str) -> str:
    with pytest.raises(CodecError) as caught:
        parse_schema(text).encoder()
    return str(caught.value)


def corruption(schema: Any, data: bytes) -> str:
    with pytest.raises(CodecError) as caught:
        parse_schema(json.dumps(schema)).decode(data)
    return str(caught.value)


# --- the contract every codec meets ---------------------------------------------------------


class TestAvroContract(CodecContract):
    codec_name = "avro"
    codec_factory = AvroCodec
    schema = SchemaSpec(schema=PERSON_TEXT)
    topic = unique("contract")
    valid_values: ClassVar[tuple[JSONValue, ...]] = (
        ADA,
        {"id": -(2**63), "name": "", "email": None, "tags": [], "address": None},
        {"id": 2**63 - 1, "name": "héllo ✓ 日本 😀", "email": None, "tags": [], "address": None},
    )
    invalid_values: ClassVar[tuple[JSONValue, ...]] = (
        {},
        {"id": 1},
        {"id": "1", "name": "x"},
        {"id": 2**63, "name": "x"},
        {"id": 1, "name": "x", "email": "not wrapped"},
        {"id": 1, "name": "x", "extra": 1},
        {"id": 1, "name": "\ud800"},
        "Ada",
        [ADA],
    )
    invalid_payloads: ClassVar[tuple[bytes, ...]] = (
        b"",
        b"\x00\x00\x00",
        b'{"id": 1}',
        b"\x01\x00\x00\x00\x01\x02",
        frame(2**31 - 1, b"\x02\x00"),
    )

    @pytest.fixture(autouse=True)
    def _registry(self, schema_registry_url: str) -> None:
        self.registry_url = schema_registry_url

    def make_context(self) -> CodecContext:
        return CodecContext(settings={"schema.registry.url": self.registry_url})


# --- values both ways, checked against fastavro -----------------------------------------------

DATE: dict[str, Any] = {"type": "int", "logicalType": "date"}
DECIMAL_BYTES: dict[str, Any] = {
    "type": "bytes",
    "logicalType": "decimal",
    "precision": 6,
    "scale": 2,
}
DECIMAL_FIXED: dict[str, Any] = {
    "type": "fixed",
    "name": "Money",
    "size": 4,
    "logicalType": "decimal",
    "precision": 8,
    "scale": 2,
}
COLOR: dict[str, Any] = {"type": "enum", "name": "Color", "symbols": ["RED", "GREEN", "BLUE"]}
NODE: dict[str, Any] = {
    "type": "record",
    "name": "Node",
    "fields": [
        {"name": "value", "type": "int"},
        {"name": "next", "type": ["null", "Node"]},
    ],
}
EVERYTHING_UNION: list[Any] = [
    "null",
    "int",
    "string",
    "bytes",
    {"type": "array", "items": "int"},
    {"type": "map", "values": "string"},
    COLOR,
    {"type": "fixed", "name": "Two", "size": 2},
    {
        "type": "record",
        "name": "Point",
        "namespace": "geo",
        "fields": [{"name": "x", "type": "int"}],
    },
]

#: (schema, JSON form, the value as fastavro writes and reads it)
ROUND_TRIPS: list[tuple[Any, JSONValue, Any]] = [
    ("null", None, None),
    ("boolean", True, True),
    ("boolean", False, False),
    ("int", 0, 0),
    ("int", -1, -1),
    ("int", 12, 12),
    ("int", 2**31 - 1, 2**31 - 1),
    ("int", -(2**31), -(2**31)),
    ("long", 2**63 - 1, 2**63 - 1),
    ("long", -(2**63), -(2**63)),
    ("float", 1.5, 1.5),
    ("float", 0.1, 0.1),
    ("float", -3.25e10, -3.25e10),
    ("double", 0.1, 0.1),
    ("double", 1e300, 1e300),
    ("double", -0.0, -0.0),
    ("bytes", "", b""),
    ("bytes", "\u0000\u0001\u007f\u0080\u00ff", b"\x00\x01\x7f\x80\xff"),
    ("string", "", ""),
    ("string", "héllo ✓ 日本 😀", "héllo ✓ 日本 😀"),
    (COLOR, "GREEN", "GREEN"),
    ({"type": "fixed", "name": "Four", "size": 4}, "\u00ffab\u0000", b"\xffab\x00"),
    ({"type": "fixed", "name": "Empty", "size": 0}, "", b""),
    ({"type": "array", "items": "long"}, [], []),
    ({"type": "array", "items": "long"}, [1, -2, 2**40], [1, -2, 2**40]),
    ({"type": "array", "items": "null"}, [None, None], [None, None]),
    ({"type": "map", "values": "string"}, {}, {}),
    ({"type": "map", "values": "string"}, {"a": "x", "ü": ""}, {"a": "x", "ü": ""}),
    (
        {"type": "array", "items": {"type": "map", "values": COLOR}},
        [{"x": "RED"}, {}],
        [{"x": "RED"}, {}],
    ),
    (
        PERSON,
        ADA,
        {**ADA, "email": "ada@example.com", "address": ADA["address"]["com.example.Address"]},
    ),
    (["null", "string"], None, None),
    (["null", "string"], {"string": "x"}, "x"),
    (["string", "null"], {"string": ""}, ""),
    (EVERYTHING_UNION, {"int": 5}, 5),
    (EVERYTHING_UNION, {"string": "s"}, "s"),
    (EVERYTHING_UNION, {"bytes": "\u00ff"}, b"\xff"),
    (EVERYTHING_UNION, {"array": [1, 2]}, [1, 2]),
    (EVERYTHING_UNION, {"map": {"k": "v"}}, {"k": "v"}),
    (EVERYTHING_UNION, {"Color": "BLUE"}, ("Color", "BLUE")),
    (EVERYTHING_UNION, {"Two": "\u0001\u0002"}, ("Two", b"\x01\x02")),
    (EVERYTHING_UNION, {"geo.Point": {"x": -7}}, ("geo.Point", {"x": -7})),
    (NODE, {"value": 1, "next": None}, {"value": 1, "next": None}),
    (
        NODE,
        {"value": 1, "next": {"Node": {"value": 2, "next": {"Node": {"value": 3, "next": None}}}}},
        {"value": 1, "next": {"value": 2, "next": {"value": 3, "next": None}}},
    ),
    # Logical types are their underlying types: days, milliseconds, two's-complement bytes.
    (DATE, 19358, 19358),
    ({"type": "long", "logicalType": "timestamp-millis"}, 1672531200000, 1672531200000),
    ({"type": "long", "logicalType": "timestamp-micros"}, -1, -1),
    ({"type": "int", "logicalType": "time-millis"}, 3600000, 3600000),
    (
        {"type": "string", "logicalType": "uuid"},
        "b1e7c1d8-1a0e-4c57-9d8a-7b0d2f0c5e11",
        "b1e7c1d8-1a0e-4c57-9d8a-7b0d2f0c5e11",
    ),
    (DECIMAL_BYTES, "\u0004\u00d2", b"\x04\xd2"),  # 12.34
    (DECIMAL_BYTES, "\u00fb\u002e", b"\xfb\x2e"),  # -12.34
    (DECIMAL_FIXED, "\u0000\u0000\u0004\u00d2", b"\x00\x00\x04\xd2"),
    (["null", DATE], {"int": 1}, 1),
]


@pytest.mark.parametrize(("schema", "value", "python"), ROUND_TRIPS)
def test_round_trip_matches_fastavro(schema: Any, value: JSONValue, python: Any) -> None:
    info = parse_schema(json.dumps(schema))
    data = info.encode(value)
    # The bytes are what an independent implementation writes, and it reads them back.
    assert data == fastavro_bytes(schema, python)
    read = fastavro_value(schema, data)
    expected = python[1] if isinstance(python, tuple) else python
    if isinstance(expected, float) and schema == "float":
        assert read == pytest.approx(expected, rel=1e-7)
    else:
        assert read == expected
    # And back to the same JSON form, with the same JSON types.
    decoded = info.decode(data)
    assert decoded == value
    assert json.dumps(decoded, sort_keys=True) == json.dumps(value, sort_keys=True)


def test_reference_int_schema_bytes() -> None:
    # The v1 reference's example schema, with a name on a primitive: zig-zag 12 is 0x18.
    info = parse_schema('{"name":"int","type": "int"}')
    assert info.encode(12) == b"\x18"
    assert info.encode(24) == b"\x30"
    assert info.decode(b"\x32") == 25
    assert info.record_name is None


def test_floats_are_their_shortest_form_and_specials_are_strings() -> None:
    floats = parse_schema('"float"')
    # A 32-bit 0.1 is 0.100000001490116...; the JSON form is 0.1, as Java writes it.
    assert floats.decode(fastavro_bytes("float", 0.1)) == 0.1
    assert floats.decode(fastavro_bytes("float", 16777217.0)) == 16777216.0
    for schema in ("float", "double"):
        info = parse_schema(json.dumps(schema))
        for text in ("NaN", "Infinity", "-Infinity"):
            data = info.encode(text)
            read = fastavro_value(schema, data)
            assert str(read).lower().lstrip("-") in ("nan", "inf")
            assert info.decode(data) == text
        assert fastavro_value(schema, info.encode("-Infinity")) == -math.inf
        # Integers are numbers too.
        assert info.decode(info.encode(3)) == 3.0


def test_integral_numbers_are_accepted_for_int_and_long() -> None:
    assert parse_schema('"int"').encode(7.0) == b"\x0e"
    assert parse_schema('"long"').encode(-1.0) == b"\x01"


def test_missing_fields_take_their_defaults() -> None:
    schema = {
        "type": "record",
        "name": "Defaults",
        "fields": [
            {"name": "a", "type": "int", "default": 7},
            {"name": "b", "type": ["string", "null"], "default": "x"},
            {"name": "c", "type": "bytes", "default": "\u00ff"},
            {"name": "d", "type": COLOR, "default": "BLUE"},
            {
                "name": "e",
                "type": {
                    "type": "record",
                    "name": "Inner",
                    "fields": [{"name": "f", "type": ["null", "long"], "default": None}],
                },
                "default": {},
            },
            {"name": "g", "type": {"type": "map", "values": "int"}, "default": {"k": 1}},
        ],
    }
    info = parse_schema(json.dumps(schema))
    data = info.encode({})
    assert fastavro_value(schema, data) == {
        "a": 7,
        "b": "x",
        "c": b"\xff",
        "d": "BLUE",
        "e": {"f": None},
        "g": {"k": 1},
    }
    assert info.decode(data) == {
        "a": 7,
        "b": {"string": "x"},
        "c": "\u00ff",
        "d": "BLUE",
        "e": {"f": None},
        "g": {"k": 1},
    }
    # Given fields win over defaults.
    assert info.decode(info.encode({"a": 1, "b": None}))["a"] == 1


def test_null_union_branch_may_be_named() -> None:
    info = parse_schema('["null", "string"]')
    assert info.encode({"null": None}) == info.encode(None) == b"\x00"


# --- values that do not fit: CodecError saying where and why --------------------------------


@pytest.mark.parametrize(
    ("schema", "value", "message"),
    [
        ("int", "12", "expected int, got string"),
        ("int", True, "expected int, got boolean"),
        ("int", 1.5, "expected int, got 1.5"),
        ("int", 2**31, "expected int, got 2147483648, which is beyond 32 bits"),
        ("long", -(2**63) - 1, "beyond 64 bits"),
        ("float", 1e39, "expected float, got 1e+39, which is beyond its range"),
        ("double", "1.5", "expected double, got string"),
        ("boolean", 0, "expected boolean, got number"),
        ("string", 5, "expected string, got number"),
        ("string", "\ud800", "lone surrogate at index 0"),
        ("bytes", "\u0100", "got U+0100 at index 0"),
        ("null", 0, "expected null, got number"),
        (COLOR, "PINK", "expected a symbol of enum 'Color' (RED, GREEN, BLUE), got \"PINK\""),
        (COLOR, 1, "expected a symbol of enum 'Color' (RED, GREEN, BLUE), got number"),
        ({"type": "fixed", "name": "F", "size": 2}, "abc", "expected fixed 'F' of 2 bytes, got 3"),
        ({"type": "array", "items": "int"}, {"a": 1}, "expected array, got object"),
        ({"type": "array", "items": "int"}, [1, "2"], "element '[1]': expected int, got string"),
        ({"type": "map", "values": "int"}, [], "expected map (an object), got array"),
        (
            {"type": "map", "values": "int"},
            {"k": None},
            "element '[\"k\"]': expected int, got null",
        ),
        (
            ["null", "string"],
            "bare",
            'expected null or {"string": ...} (a union), got string',
        ),
        (["int", "string"], None, 'expected {"int": ...} or {"string": ...} (a union), got null'),
        (["null", "string"], {"str": "x"}, "the union has no branch 'str'; its branches are null"),
        (["null", "string"], {"string": "x", "int": 1}, "(a union), got object"),
        (["null", "string"], {"string": 1}, "expected string, got number"),
        (PERSON, {"name": "x"}, "field 'id': missing, and record 'com.example.Person' gives no"),
        (PERSON, {"id": "1", "name": "x"}, "field 'id': expected long, got string"),
        (PERSON, {"id": 1, "name": "x", "nmae": "y"}, "has no field 'nmae'; its fields are id,"),
        (PERSON, {"id": 1, "name": "x", "tags": ["a", 2]}, "field 'tags[1]': expected string"),
        (
            PERSON,
            {"id": 1, "name": "x", "address": {"com.example.Address": {"city": "L", "zip": "1"}}},
            "field 'address.zip': expected int, got string",
        ),
        (
            PERSON,
            {"id": 1, "name": "x", "address": {"Address": {"city": "L", "zip": 1}}},
            "field 'address': the union has no branch 'Address'; its branches are null, "
            "com.example.Address",
        ),
        (PERSON, [], "expected record 'com.example.Person', got array"),
        (
            {"type": "array", "items": PERSON},
            [{"id": 1, "name": "x"}, {"id": 2}],
            "element '[1].name': missing",
        ),
    ],
)
def test_values_that_do_not_fit(schema: Any, value: JSONValue, message: str) -> None:
    assert message in rejection(schema, value)


def test_deep_values_are_rejected_not_crashed() -> None:
    deep: JSONValue = None
    for _ in range(5000):
        deep = {"Node": {"value": 1, "next": deep}}
    assert rejection(NODE, deep["Node"]) == "the value is nested too deeply"
    # 5000 nodes of a linked list, each `value` 1 and `next` the Node branch of the union.
    data = b"\x02\x02" * 5000 + b"\x02\x00"
    assert corruption(NODE, data) == "not valid Avro data: nested too deeply"


# --- schemas that cannot be used --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "the schema is not valid JSON: "),
        ('"strnig"', "not a valid Avro schema: unknown type 'strnig'"),
        ('{"type": "record", "name": "R", "fields": [{"name": "a"}]}', "missing 'type'"),
        ('{"type": "array"}', "not a valid Avro schema: a type is missing 'items'"),
        ('{"type": "fixed", "name": "F"}', "a type is missing 'size'"),
        ('{"type": "fixed", "name": "F", "size": -1}', "fixed 'F' needs a size of 0 or more"),
        ('{"type": "enum", "name": "E", "symbols": []}', "enum 'E' needs a non-empty list"),
        ('{"type": "enum", "name": "E", "symbols": ["a-b"]}', "Every symbol must match"),
        ('{"type": "record", "name": "1R", "fields": []}', 'the name "1R" is not a valid Avro'),
        (
            '{"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}, '
            '{"name": "a", "type": "long"}]}',
            "record 'R' has two fields named 'a'",
        ),
        ('["null", ["int"]]', "a union may not directly contain another union"),
        ('["int", "null", "int"]', "a union may not contain 'int' twice"),
        ("[]", "a union needs at least one type"),
        (
            '{"type": "record", "name": "R", "fields": [{"name": "a", "type": "int", '
            '"default": "x"}]}',
            "not a valid Avro schema: Default value <x> must match schema type: int",
        ),
        (
            '{"type": "record", "name": "R", "fields": [{"name": "a", "type": ["null", "int"], '
            '"default": 1}]}',
            "the default of field 'a' of record 'R' does not fit: expected null, got number",
        ),
        ("42", "not a valid Avro schema"),
        (
            '{"type": "record", "name": "R", "fields": [{"name": "a", "type": "R", '
            '"default": {}}]}',
            "not a valid Avro schema: the default of field 'a' of record 'R' contains itself",
        ),
        ('{"type": "record", "name": "R", "fields": [1]}', "Record field must be a dict"),
    ],
)
def test_invalid_schemas(text: str, message: str) -> None:
    found = schema_error(text)
    assert message in found, found


# --- payloads that are not Avro data of their schema ----------------------------------------


@pytest.mark.parametrize(
    ("schema", "data", "message"),
    [
        ("int", b"", "it ends early"),
        ("int", b"\x80", "it ends early"),
        ("int", b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", "is too long"),
        ("int", b"\xff\xff\xff\xff\x1f", "the int at byte 0 is beyond 32 bits"),
        ("int", b"\x02\x00", "1 byte is left over after the value"),
        ("boolean", b"\x02", "the boolean at byte 0 is 2, not 0 or 1"),
        ("string", b"\x04\xc3", "it ends early"),
        ("string", b"\x04\xc3\x28", "the string at byte 1 is not valid UTF-8"),
        ("bytes", b"\x01", "the bytes at byte 0 has a negative length (-1)"),
        ("double", b"\x00\x00", "it ends early"),
        (["null", "int"], b"\x04", "the union branch 2 at byte 0 does not exist"),
        (COLOR, b"\x06", "enum 'Color' has no symbol 3"),
        ({"type": "fixed", "name": "F", "size": 4}, b"abc", "it ends early"),
        ({"type": "array", "items": "long"}, b"\xfe\xff\xff\xff\x0f", "claims 2147483647 items"),
        ({"type": "array", "items": "null"}, b"\xfe\xff\xff\xff\x0f\x00", "more than 1000000"),
        ({"type": "map", "values": "int"}, b"\x02\x02a", "it ends early"),
    ],
)
def test_payloads_that_are_not_avro(schema: Any, data: bytes, message: str) -> None:
    found = corruption(schema, data)
    assert found.startswith("not valid Avro data: "), found
    assert message in found, found


def test_blocks_with_byte_sizes_are_read() -> None:
    # Writers may give a block's item count as negative, followed by its size in bytes.
    info = parse_schema('{"type": "array", "items": "int"}')
    assert info.decode(b"\x03\x04\x02\x04\x02\x06\x00") == [1, 2, 3]


# --- the codec, with a real schema registry -----------------------------------------------------


def codec_for(url: str, **settings: str) -> AvroCodec:
    return AvroCodec(CodecContext(settings={"schema.registry.url": url, **settings}))


def target(
    topic: str, *, schema: str | None = None, schema_id: int | None = None
) -> SerializeTarget:
    return SerializeTarget(topic, is_key=False, schema=SchemaSpec(schema, schema_id))


async def subjects(url: str) -> list[str]:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{url}/subjects")
        response.raise_for_status()
        return list(response.json())


async def test_inline_schema_is_registered_and_framed(schema_registry_url: str) -> None:
    codec = codec_for(schema_registry_url)
    topic = unique()
    values = await codec.serializer(target(topic, schema=PERSON_TEXT))
    keys = await codec.serializer(SerializeTarget(topic, True, SchemaSpec(schema='"string"')))
    assert type(values.schema_id) is int
    assert type(keys.schema_id) is int
    assert values.schema_id != keys.schema_id
    assert {f"{topic}-value", f"{topic}-key"} <= set(await subjects(schema_registry_url))

    payload = values.encode(ADA)
    schema_id, data = unframe(payload)
    assert schema_id == values.schema_id
    assert data == parse_schema(PERSON_TEXT).encode(ADA)
    assert keys.encode("k") == frame(keys.schema_id, b"\x02k")

    # The same schema by its id (differently spelt inline: same schema) encodes the same.
    by_id = await codec.serializer(target(topic, schema_id=values.schema_id))
    assert by_id.encode(ADA) == payload
    spelt = json.dumps(PERSON, indent=2, sort_keys=True)
    both = await codec.serializer(target(topic, schema=spelt, schema_id=values.schema_id))
    assert both.schema_id == values.schema_id
    assert both.encode(ADA) == payload

    # A second codec (another bridge) reads them.
    decode = await codec_for(schema_registry_url).deserializer(iter([payload, keys.encode("k")]))
    assert decode(payload) == ADA
    assert decode(keys.encode("k")) == "k"
    await codec.close()


async def test_schema_id_problems(schema_registry_url: str) -> None:
    codec = codec_for(schema_registry_url)
    topic = unique()
    ints = await codec.serializer(target(topic, schema='"int"'))
    assert ints.schema_id is not None
    with pytest.raises(CodecError, match="does not match schema id"):
        await codec.serializer(target(topic, schema='"long"', schema_id=ints.schema_id))
    with pytest.raises(CodecError, match="schema id 2147483000 is not known"):
        await codec.serializer(target(topic, schema_id=2_147_483_000))
    # A JSON Schema in the registry is not an Avro schema.
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{schema_registry_url}/subjects/{unique()}/versions",
            json={"schema": '{"type": "integer"}', "schemaType": "JSON"},
        )
        json_id = response.json()["id"]
    with pytest.raises(CodecError, match=f"schema id {json_id} is a JSON schema, not Avro"):
        await codec.serializer(target(topic, schema_id=json_id))
    with pytest.raises(CodecError, match="is a JSON schema, not Avro"):
        await codec.deserializer([frame(json_id, b"1")])
    with pytest.raises(CodecError, match="needs value_schema or value_schema_id"):
        await codec.serializer(target(topic))
    with pytest.raises(CodecError, match="unknown type 'nope'"):
        await codec.serializer(target(topic, schema='"nope"'))
    assert f"{topic}-value" in await subjects(schema_registry_url)


async def test_decoding_a_batch(schema_registry_url: str) -> None:
    codec = codec_for(schema_registry_url)
    topic = unique()
    ints = await codec.serializer(target(topic, schema='"int"'))
    people = await codec.serializer(target(topic, schema=PERSON_TEXT))
    good = [ints.encode(1), people.encode(ADA), ints.encode(-5)]
    bad = [b"plain text", frame(ints.schema_id or 0, b"\x80"), ints.encode(1)[:5]]
    decode = await codec.deserializer(iter(good + bad))
    assert [decode(p) for p in good] == [1, ADA, -5]
    messages = []
    for payload in bad:
        with pytest.raises(CodecError) as caught:
            decode(payload)
        messages.append(str(caught.value))
    assert "not in the schema registry's wire format" in messages[0]
    assert messages[1] == f"not valid Avro data of schema id {ints.schema_id}: it ends early"
    assert messages[2] == messages[1]
    # A payload whose schema id the registry does not know fails when preparing.
    with pytest.raises(CodecError, match="schema id 2147483000 is not known"):
        await codec.deserializer([*good, frame(2_147_483_000, b"")])


@pytest.mark.parametrize(
    ("strategy", "subject"),
    [("record", "com.example.Person"), ("topic_record", "{topic}-com.example.Person")],
)
async def test_record_subject_name_strategies(strategy: str, subject: str) -> None:
    with running_registry() as url:
        codec = codec_for(url, **{"schema.registry.subject.name.strategy": strategy})
        topic = unique()
        await codec.serializer(target(topic, schema=PERSON_TEXT))
        # Schemas that are not records fall back to the topic's subject.
        await codec.serializer(target(topic, schema='"int"'))
        assert set(await subjects(url)) == {subject.format(topic=topic), f"{topic}-value"}


async def test_schemas_are_cached_and_registry_failures_are_unavailable() -> None:
    with running_registry() as url:
        codec = codec_for(url)
        topic = unique()
        values = await codec.serializer(target(topic, schema=PERSON_TEXT))
        payload = values.encode(ADA)
        await codec.deserializer([payload])
        other = await codec_for(url).serializer(target(topic, schema='"string"'))
        unseen = other.encode("x")
    # The registry is gone: what the codec has seen needs no registry call.
    again = await codec.serializer(target(topic, schema=PERSON_TEXT))
    assert again.encode(ADA) == payload
    assert (await codec.serializer(target(topic, schema_id=values.schema_id))).encode(
        ADA
    ) == payload
    assert (await codec.deserializer([payload]))(payload) == ADA
    # What it has not seen: the registry is unavailable, which is not the client's fault.
    with pytest.raises(CodecUnavailableError, match="failed"):
        await codec.deserializer([unseen])
    with pytest.raises(CodecUnavailableError, match="failed"):
        await codec.serializer(target(topic, schema='"long"'))


async def test_without_a_registry_url_the_format_is_unavailable() -> None:
    codec = AvroCodec(CodecContext())
    with pytest.raises(CodecUnavailableError, match="needs a schema registry"):
        await codec.serializer(target("t", schema='"int"'))
    with pytest.raises(CodecUnavailableError, match="needs a schema registry"):
        await codec.deserializer([frame(1, b"\x02")])
    # Payloads that name no schema are still reported as the client's problem.
    decode = await codec.deserializer([b"not framed"])
    with pytest.raises(CodecError, match="wire format"):
        decode(b"not framed")


async def test_unreachable_registry() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    codec = codec_for(f"http://127.0.0.1:{port}")
    with pytest.raises(CodecUnavailableError, match=f"127.0.0.1:{port} failed"):
        await codec.serializer(target("t", schema='"int"'))
    # A bad schema is the client's problem even so: it is checked before the registry is asked.
    with pytest.raises(CodecError, match="unknown type"):
        await codec.serializer(target("t", schema='"integer"'))

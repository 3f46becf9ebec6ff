"""The `jsonschema` format: schemas checked against their draft, values against their schema,
and the Confluent wire format, with a real schema registry over HTTP (tests/schema_registry.py
or SCHEMA_REGISTRY_URL)."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import httpx
import pytest
from schema_registry.client.schema import AvroSchema

from bridge_codecs.base import (
    CodecContext,
    CodecError,
    CodecUnavailableError,
    JSONValue,
    SchemaSpec,
    SerializeTarget,
)
from bridge_codecs.json_schema import JsonSchemaCodec, SchemaDocument, load_schema
from bridge_codecs.schema_registry import SchemaRegistry, frame
from bridge_codecs.testing import CodecContract

BIG = 123456789012345678901234567890
DRAFT4 = "http://json-schema.org/draft-04/schema#"
DRAFT2020 = "https://json-schema.org/draft/2020-12/schema"

PERSON: dict[str, Any] = {
    "title": "Person",
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer", "minimum": 0},
        "tags": {"type": "array", "items": {"type": "string"}},
        "address": {
            "type": "object",
            "properties": {"zip": {"type": "string", "pattern": "^[0-9]{5}$"}},
            "required": ["zip"],
        },
    },
    "required": ["name"],
}
PERSON_TEXT = json.dumps(PERSON)


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def reason(schema: str | JSONValue, value: JSONValue) -> str:
    """Why `value` does not fit `schema` (a string, or a document to dump)."""
    text = schema if isinstance(schema, str) else json.dumps(schema)
    with pytest.raises(CodecError) as caught:
        load_schema(text).check(value)
    return str(caught.value)


def schema_error(text: str) -> str:
    with pytest.raises(CodecError) as caught:
        load_schema(text)
    return str(caught.value)


# --- the contract every codec meets ---------------------------------------------------------


class TestJsonSchemaContract(CodecContract):
    codec_name = "jsonschema"
    codec_factory = JsonSchemaCodec
    schema = SchemaSpec(schema=PERSON_TEXT)
    topic = unique("contract")
    valid_values: ClassVar[tuple[JSONValue, ...]] = (
        {"name": "Ada"},
        {"name": "héllo ✓ 日本 😀", "age": BIG, "tags": ["a", ""], "address": {"zip": "12345"}},
        {"name": "", "age": 0, "extra": [1.5, True, None, {"n": -(2**70)}]},
    )
    invalid_values: ClassVar[tuple[JSONValue, ...]] = (
        {},
        {"name": 5},
        {"name": "x", "age": -1},
        {"name": "x", "age": 1.5},
        {"name": "x", "address": {"zip": "1234"}},
        "Ada",
        [{"name": "Ada"}],
        {"name": "\ud800"},  # fits the schema but has no UTF-8 form
    )
    invalid_payloads: ClassVar[tuple[bytes, ...]] = (
        b"",
        b'{"name": "Ada"}',
        b"\x01\x00\x00\x00\x01{}",
        b"\x00\x00\x00",
        frame(2**31 - 1, b'{"name": "Ada"}'),
    )

    @pytest.fixture(autouse=True)
    def _registry(self, schema_registry_url: str) -> None:
        self.registry_url = schema_registry_url

    def make_context(self) -> CodecContext:
        return CodecContext(settings={"schema.registry.url": self.registry_url})


# --- schemas: valid for their draft, draft 7 by default --------------------------------------


def test_schema_without_draft_is_draft_7() -> None:
    # Tuple `items` is draft 7 (2020-12 calls it prefixItems and rejects an array here).
    document = load_schema('{"type": "array", "items": [{"type": "integer"}, {"type": "string"}]}')
    assert document.draft == "draft 7"
    document.check([1, "a", None])
    assert "$[1]" in reason('{"items": [{"type": "integer"}, {"type": "string"}]}', [1, 2])
    # Draft 7's exclusiveMinimum is a number; draft 4's boolean form is refused.
    message = schema_error('{"type": "number", "minimum": 0, "exclusiveMinimum": true}')
    assert message.startswith("not a valid draft 7 JSON Schema at $.exclusiveMinimum:"), message


@pytest.mark.parametrize(
    ("schema", "draft", "fits", "does_not_fit"),
    [
        (
            {"$schema": DRAFT4, "type": "number", "minimum": 0, "exclusiveMinimum": True},
            "draft 4",
            0.5,
            0,
        ),
        (
            {"$schema": "http://json-schema.org/draft-06/schema#", "const": "x"},
            "draft 6",
            "x",
            "y",
        ),
        (
            {"$schema": "http://json-schema.org/draft-07/schema", "maxLength": 2},
            "draft 7",
            "ab",
            "abc",
        ),
        (
            {
                "$schema": "https://json-schema.org/draft/2019-09/schema",
                "dependentRequired": {"a": ["b"]},
            },
            "draft 2019-09",
            {"a": 1, "b": 2},
            {"a": 1},
        ),
        (
            {"$schema": DRAFT2020, "prefixItems": [{"type": "integer"}], "items": False},
            "draft 2020-12",
            [1],
            [1, 2],
        ),
        (
            {"$schema": "http://json-schema.org/draft-03/schema#", "type": "string"},
            "draft 3",
            "s",
            1,
        ),
    ],
)
def test_schema_draft_follows_dollar_schema(
    schema: dict[str, Any], draft: str, fits: JSONValue, does_not_fit: JSONValue
) -> None:
    document = load_schema(json.dumps(schema))
    assert document.draft == draft
    document.check(fits)
    assert reason(schema, does_not_fit).startswith("does not match the schema at $")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{", "the schema is not valid JSON: "),
        ('{"type": NaN}', "the schema is not valid JSON: "),
        ("", "the schema is not valid JSON: "),
        ('[{"type": "string"}]', "a JSON Schema is a JSON object or a boolean, not an array"),
        ('"string"', "a JSON Schema is a JSON object or a boolean, not a string"),
        ("42", "a JSON Schema is a JSON object or a boolean, not a number"),
        ("null", "a JSON Schema is a JSON object or a boolean, not null"),
        ('{"type": "strnig"}', "not a valid draft 7 JSON Schema at $.type: 'strnig' is not valid"),
        (
            '{"properties": {"a": {"minLength": -1}}}',
            "not a valid draft 7 JSON Schema at $.properties.a.minLength: -1 is less than",
        ),
        ('{"pattern": "(unclosed"}', "not a valid draft 7 JSON Schema at $.pattern: '(unclosed'"),
        ('{"required": "name"}', "not a valid draft 7 JSON Schema at $.required: 'name' is not"),
        (
            '{"$schema": "https://example.com/my-meta-schema", "type": "string"}',
            "$schema 'https://example.com/my-meta-schema' names no JSON Schema draft this",
        ),
        ('{"$schema": 7}', "$schema must be a string naming a draft, got 7"),
        (
            json.dumps({"$schema": DRAFT2020, "items": [{"type": "string"}]}),
            "not a valid draft 2020-12 JSON Schema at $.items: ",
        ),
    ],
)
def test_invalid_schemas_say_why(text: str, expected: str) -> None:
    assert schema_error(text).startswith(expected)


def test_boolean_schemas() -> None:
    load_schema("true").check({"anything": [BIG]})
    assert reason("false", 1) == "does not match the schema at $: False schema does not allow 1"


# --- values: the message names the path and the reason --------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"age": 3}, "does not match the schema at $: 'name' is a required property"),
        ({"name": 5}, "does not match the schema at $.name: 5 is not of type 'string'"),
        (
            {"name": "x", "age": -1},
            "does not match the schema at $.age: -1 is less than the minimum of 0",
        ),
        (
            {"name": "x", "tags": ["a", "b", 3]},
            "does not match the schema at $.tags[2]: 3 is not of type 'string'",
        ),
        (
            {"name": "x", "address": {"zip": "1234"}},
            "does not match the schema at $.address.zip: '1234' does not match '^[0-9]{5}$'",
        ),
        (
            {"name": "x", "address": {}},
            "does not match the schema at $.address: 'zip' is a required property",
        ),
        ([], "does not match the schema at $: [] is not of type 'object'"),
    ],
)
def test_value_that_does_not_fit_names_path_and_reason(value: JSONValue, expected: str) -> None:
    assert reason(PERSON, value) == expected


def test_long_reasons_are_shortened() -> None:
    message = reason({"type": "string"}, ["x" * 10_000])
    assert message.startswith("does not match the schema at $: ['xxxx")
    assert message.endswith("…")
    assert len(message) < 400


def test_big_integers_are_compared_exactly() -> None:
    schema = {"type": "integer", "maximum": BIG}
    load_schema(json.dumps(schema)).check(BIG)
    message = reason(schema, BIG + 1)
    assert (
        message == f"does not match the schema at $: {BIG + 1} is greater than the maximum of {BIG}"
    )
    # A big integer in the schema text itself is read exactly too.
    load_schema(f'{{"const": {BIG}}}').check(BIG)
    assert "was expected" in reason(f'{{"const": {BIG}}}', BIG - 1)


def test_integer_type_accepts_integral_floats_as_json_schema_does() -> None:
    # JSON Schema defines integers by value: 1.0 is one.
    load_schema('{"type": "integer"}').check(1.0)
    assert "is not of type 'integer'" in reason('{"type": "integer"}', 1.5)


def test_format_is_an_annotation() -> None:
    load_schema('{"format": "email"}').check("not an e-mail address")
    load_schema('{"format": "date-time"}').check("yesterday")


def test_local_references_resolve_and_remote_ones_are_never_fetched() -> None:
    local = {
        "definitions": {"positive": {"type": "integer", "minimum": 1}},
        "properties": {"n": {"$ref": "#/definitions/positive"}},
    }
    load_schema(json.dumps(local)).check({"n": 1})
    assert reason(local, {"n": 0}) == (
        "does not match the schema at $.n: 0 is less than the minimum of 1"
    )
    remote = {"properties": {"n": {"$ref": "https://example.com/schemas/n.json"}}}
    assert reason(remote, {"n": 0}) == (
        "the schema cannot be applied: $ref 'https://example.com/schemas/n.json' does not "
        "resolve (only references within the schema do)"
    )


def test_recursive_schema_and_deep_values() -> None:
    tree = {"type": "object", "properties": {"child": {"$ref": "#"}}, "additionalProperties": False}
    value: dict[str, Any] = {}
    for _ in range(20):
        value = {"child": value}
    load_schema(json.dumps(tree)).check(value)
    for _ in range(5000):
        value = {"child": value}
    assert reason(tree, value) == "nested too deeply to validate against the schema"


def test_schema_document_title() -> None:
    assert load_schema(PERSON_TEXT).title == "Person"
    assert load_schema("{}").title is None
    assert load_schema("true").title is None
    assert isinstance(load_schema("{}"), SchemaDocument)
    assert "$.title: 5 is not of type 'string'" in schema_error('{"title": 5}')


# --- with a registry --------------------------------------------------------------------------


@pytest.fixture
async def codec(schema_registry_url: str) -> AsyncIterator[JsonSchemaCodec]:
    made = JsonSchemaCodec(CodecContext(settings={"schema.registry.url": schema_registry_url}))
    yield made
    await made.close()


def fresh_codec(url: str, **settings: str) -> JsonSchemaCodec:
    """A codec with empty caches, as after a restart of the bridge."""
    return JsonSchemaCodec(CodecContext(settings={"schema.registry.url": url, **settings}))


def values(topic: str, schema: str | None = None, schema_id: int | None = None) -> SerializeTarget:
    return SerializeTarget(topic, is_key=False, schema=SchemaSpec(schema, schema_id))


async def registry_get(url: str, path: str) -> tuple[int, Any]:
    async with httpx.AsyncClient(base_url=url) as client:
        response = await client.get(path)
        return response.status_code, response.json()


async def register_elsewhere(url: str, subject: str, schema: str, schema_type: str) -> int:
    """Register a schema as another client would (no cache of this codec knows it)."""
    async with httpx.AsyncClient(base_url=url) as client:
        response = await client.post(
            f"/subjects/{subject}/versions", json={"schema": schema, "schemaType": schema_type}
        )
        assert response.status_code == 200, response.text
        schema_id: int = response.json()["id"]
        return schema_id


async def test_inline_schema_is_registered_under_the_topic_subject(
    codec: JsonSchemaCodec, schema_registry_url: str
) -> None:
    topic = unique()
    serializer = await codec.serializer(values(topic, PERSON_TEXT))
    schema_id = serializer.schema_id
    assert isinstance(schema_id, int)
    status, versions = await registry_get(schema_registry_url, f"/subjects/{topic}-value/versions")
    assert (status, versions) == (200, [1])
    status, registered = await registry_get(schema_registry_url, f"/schemas/ids/{schema_id}")
    assert status == 200
    assert registered["schemaType"] == "JSON"
    assert json.loads(registered["schema"]) == PERSON

    # Keys go under {topic}-key; the same schema keeps its id.
    keys = await codec.serializer(SerializeTarget(topic, True, SchemaSpec(PERSON_TEXT)))
    assert keys.schema_id == schema_id
    status, _ = await registry_get(schema_registry_url, f"/subjects/{topic}-key/versions")
    assert status == 200
    # Registering again is idempotent.
    again = await codec.serializer(values(topic, PERSON_TEXT))
    assert again.schema_id == schema_id


async def test_record_strategy_uses_the_title(schema_registry_url: str) -> None:
    codec = fresh_codec(schema_registry_url, **{"schema.registry.subject.name.strategy": "record"})
    title = unique("Title")
    serializer = await codec.serializer(values(unique(), json.dumps({"title": title})))
    status, _ = await registry_get(schema_registry_url, f"/subjects/{title}/versions")
    assert status == 200
    assert isinstance(serializer.schema_id, int)


async def test_encode_frames_compact_json_with_exact_integers(codec: JsonSchemaCodec) -> None:
    serializer = await codec.serializer(values(unique(), PERSON_TEXT))
    assert serializer.schema_id is not None
    payload = serializer.encode({"name": "Ada", "age": BIG, "tags": ["ü"]})
    header = b"\x00" + serializer.schema_id.to_bytes(4, "big")
    assert payload == header + f'{{"name":"Ada","age":{BIG},"tags":["ü"]}}'.encode()

    decode = await codec.deserializer([payload])
    decoded = decode(payload)
    assert decoded == {"name": "Ada", "age": BIG, "tags": ["ü"]}
    assert type(decoded["age"]) is int


async def test_encode_names_the_failing_path(codec: JsonSchemaCodec) -> None:
    serializer = await codec.serializer(values(unique(), PERSON_TEXT))
    with pytest.raises(CodecError) as caught:
        serializer.encode({"name": "x", "tags": ["a", 7]})
    assert str(caught.value) == "does not match the schema at $.tags[1]: 7 is not of type 'string'"


async def test_schema_by_id(codec: JsonSchemaCodec, schema_registry_url: str) -> None:
    registered = await codec.serializer(values(unique(), PERSON_TEXT))
    assert registered.schema_id is not None
    # A codec that never saw the schema fetches it by id.
    other = fresh_codec(schema_registry_url)
    try:
        by_id = await other.serializer(values(unique(), schema_id=registered.schema_id))
        assert by_id.schema_id == registered.schema_id
        assert by_id.encode({"name": "Ada"}) == registered.encode({"name": "Ada"})
        with pytest.raises(CodecError, match=r"at \$\.age: -1 is less than the minimum of 0"):
            by_id.encode({"name": "Ada", "age": -1})
        # Both given and the same schema (spacing and key order aside): fine.
        reordered = json.dumps(dict(reversed(PERSON.items())), indent=4)
        both = await other.serializer(values(unique(), reordered, registered.schema_id))
        assert both.schema_id == registered.schema_id
    finally:
        await other.close()


async def test_schema_and_id_that_disagree(codec: JsonSchemaCodec) -> None:
    registered = await codec.serializer(values(unique(), PERSON_TEXT))
    with pytest.raises(CodecError) as caught:
        await codec.serializer(values(unique(), '{"type": "string"}', registered.schema_id))
    assert str(caught.value) == (
        f"value_schema and value_schema_id {registered.schema_id} name different schemas; "
        "give one of them"
    )


async def test_unknown_schema_id(codec: JsonSchemaCodec) -> None:
    with pytest.raises(CodecError, match="schema id 2147483000 is not known"):
        await codec.serializer(values(unique(), schema_id=2_147_483_000))


async def test_avro_schema_id_is_refused(codec: JsonSchemaCodec, schema_registry_url: str) -> None:
    avro = SchemaRegistry({"schema.registry.url": schema_registry_url}, "avro")
    avro_id = await avro.register(unique(), AvroSchema('{"type": "string", "doc": "jsc"}'))
    with pytest.raises(
        CodecError, match=rf"schema id {avro_id} is not a JSON Schema \(its schemaType is AVRO\)"
    ):
        await codec.serializer(values(unique(), schema_id=avro_id))
    # Reading a record framed with it fails only that record.
    payload = frame(avro_id, b'"x"')
    decode = await codec.deserializer([payload])
    with pytest.raises(CodecError, match="is not a JSON Schema"):
        decode(payload)


async def test_missing_and_invalid_schemas_are_refused_before_the_registry(
    schema_registry_url: str,
) -> None:
    topic = unique()
    codec = JsonSchemaCodec(CodecContext())  # no registry configured
    with pytest.raises(CodecError, match="needs key_schema or key_schema_id for keys"):
        await codec.serializer(SerializeTarget(topic, True))
    with pytest.raises(CodecError, match="not a valid draft 7 JSON Schema"):
        await codec.serializer(values(topic, '{"type": 5}'))
    # A valid schema then needs the registry, which is not the client's fault.
    with pytest.raises(CodecUnavailableError, match="needs a schema registry"):
        await codec.serializer(values(topic, PERSON_TEXT))
    status, _ = await registry_get(schema_registry_url, f"/subjects/{topic}-value/versions")
    assert status == 404


async def test_registry_down_is_unavailable_not_the_clients_fault() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    codec = fresh_codec(f"http://127.0.0.1:{port}")
    with pytest.raises(CodecUnavailableError, match="failed"):
        await codec.serializer(values(unique(), PERSON_TEXT))
    with pytest.raises(CodecUnavailableError):
        await codec.deserializer([frame(1, b"{}")])


# --- consuming -------------------------------------------------------------------------------


async def test_decode_does_not_validate(codec: JsonSchemaCodec) -> None:
    serializer = await codec.serializer(values(unique(), PERSON_TEXT))
    assert serializer.schema_id is not None
    # Another producer wrote a value under this id that does not fit the schema.
    payload = frame(serializer.schema_id, b'{"name": 5, "n": 12345678901234567890123}')
    decode = await codec.deserializer(iter([payload]))
    assert decode(payload) == {"name": 5, "n": 12345678901234567890123}


async def test_bad_payloads_fail_alone(codec: JsonSchemaCodec) -> None:
    serializer = await codec.serializer(values(unique(), PERSON_TEXT))
    assert serializer.schema_id is not None
    good = serializer.encode({"name": "Ada"})
    unknown = frame(2_147_483_001, b"{}")
    not_json = frame(serializer.schema_id, b"{oops")
    unframed = b'{"name": "Ada"}'
    decode = await codec.deserializer([good, unknown, not_json, unframed, good])
    assert decode(good) == {"name": "Ada"}
    cases = [
        (unknown, "schema id 2147483001 is not known to the schema registry"),
        (not_json, "not valid JSON: "),
        (unframed, "not in the schema registry's wire format"),
        (b"\x00\x00\x00\x00", "not in the schema registry's wire format"),
    ]
    for payload, expected in cases:
        with pytest.raises(CodecError) as caught:
            decode(payload)
        assert str(caught.value).startswith(expected), (payload, caught.value)


async def test_draft_4_schema_from_the_registry(schema_registry_url: str) -> None:
    """A valid draft 4 schema that python-schema-registry-client cannot load (it checks
    every schema it fetches against draft 7): records written with it still decode."""
    draft4 = json.dumps({"$schema": DRAFT4, "minimum": 0, "exclusiveMinimum": True})
    schema_id = await register_elsewhere(schema_registry_url, unique(), draft4, "JSON")
    codec = fresh_codec(schema_registry_url)
    try:
        payload = frame(schema_id, b"0.5")
        decode = await codec.deserializer([payload])
        assert decode(payload) == 0.5
        # Producing by its id needs the schema itself, which the client library refuses.
        with pytest.raises(CodecError, match="checks every schema against draft 7"):
            await codec.serializer(values(unique(), schema_id=schema_id))
    finally:
        await codec.close()

    # Given inline, the codec checks it against draft 4 and registers it itself.
    codec = fresh_codec(schema_registry_url)
    try:
        serializer = await codec.serializer(values(unique(), draft4))
        assert serializer.schema_id == schema_id
        assert serializer.encode(0.5) == frame(schema_id, b"0.5")
        with pytest.raises(CodecError, match="less than or equal to the minimum of 0"):
            serializer.encode(0)
    finally:
        await codec.close()

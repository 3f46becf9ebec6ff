"""The `avro` embedded format: the AvroCodec (schemas looked up in and registered with the
schema registry, compiled schemas cached per schema id and per inline schema text, the
serializer and deserializer of the Confluent wire format), and AvroSchemaInfo, one schema
with its compiled encoder and decoder. The parts live beside it: `avro_schema` (parsing and
checking schemas), `avro_compile` (compiling them), `avro_binary` (the primitive types and
running what was compiled) and `avro_errors` (what goes wrong, in words).

Values are in Avro's JSON encoding in requests and responses, Avro binary in the Confluent
wire format (magic byte 0, 4-byte schema id) in Kafka. The JSON form is the one the
Confluent REST Proxy uses:

- a union value is `{"<branch>": value}`, where the branch is a primitive type name
  (`"string"`), `"array"`, `"map"` or a named type's full name (`"com.example.Rec"`);
  only null is written bare, as `null` (`{"null": null}` is accepted too);
- `bytes` and `fixed` are strings whose characters are the byte values (`"\\u00ff"`);
- enums are their symbols; records and maps are objects; arrays are arrays;
- logical types appear as their underlying type: a `date` is an int of days, a
  `timestamp-millis` a long, a `decimal` a bytes (or fixed) string;
- `float` and `double` NaN and infinities, which JSON cannot write as numbers, are the
  strings `"NaN"`, `"Infinity"` and `"-Infinity"`, both ways.

On produce a record field that is missing takes the schema's default, and a field that the
record does not have is rejected (a misspelt field name would otherwise be lost silently).

Schemas are parsed and compiled once (per schema id, and per schema text given inline) into
plain functions that encode or decode a value in one pass; the registry is asked at most
once per distinct schema, never per record.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, Final

from schema_registry.client.schema import AvroSchema

from bridge_codecs.avro_binary import Decoder, Encoder, run_decoder, run_encoder
from bridge_codecs.avro_compile import Compiler
from bridge_codecs.avro_errors import Invalid
from bridge_codecs.avro_schema import RegistrySchema, Schema, parse_raw
from bridge_codecs.base import (
    Codec,
    CodecContext,
    CodecError,
    JSONValue,
    Serializer,
    SerializeTarget,
)
from bridge_codecs.schema_registry import SchemaRegistry, frame, schema_ids, unframe

__all__ = ["AvroCodec", "AvroSchemaInfo", "parse_schema"]

#: Inline schema texts whose compiled form is kept.
_INLINE_CACHE_SIZE: Final = 256


def parse_schema(text: str) -> AvroSchemaInfo:
    """Parse and check a schema given as JSON text; CodecError says what is wrong."""
    try:
        raw = json.loads(text)
    except (TypeError, ValueError, RecursionError) as exc:
        raise CodecError(f"the schema is not valid JSON: {exc}") from None
    return AvroSchemaInfo.from_raw(raw, text)


class AvroSchemaInfo:
    """One Avro schema, parsed and checked, with its encoder and decoder compiled on demand."""

    def __init__(
        self, raw: Any, text: str, parsed: Schema, named: dict[str, Schema], canonical: str
    ) -> None:
        self.raw = raw
        self.text = text
        self.parsed = parsed
        self.named = named
        #: Avro's Parsing Canonical Form: equal for schemas that read and write the same.
        self.canonical = canonical
        self._encoder: Encoder | None = None
        self._decoder: Decoder | None = None
        self._registry_schema: AvroSchema | None = None

    @classmethod
    def from_raw(cls, raw: Any, text: str | None = None) -> AvroSchemaInfo:
        """Parse a schema already loaded from JSON; CodecError says what is wrong with it."""
        parsed, named, canonical = parse_raw(raw)
        return cls(raw, json.dumps(raw) if text is None else text, parsed, named, canonical)

    @property
    def record_name(self) -> str | None:
        """The full name of the schema's record, for the record subject name strategies."""
        if isinstance(self.parsed, dict) and self.parsed.get("type") in ("record", "error"):
            return str(self.parsed["name"])
        return None

    def registry_schema(self) -> AvroSchema:
        """The schema as the registry client registers it."""
        if self._registry_schema is None:
            self._registry_schema = RegistrySchema(self.text)
        return self._registry_schema

    def encoder(self) -> Encoder:
        """The function that appends a JSON value's Avro binary form to a buffer.

        Compiling checks the schema's default values: CodecError if one does not fit.
        """
        if self._encoder is None:
            try:
                self._encoder = Compiler(self.named).encoder(self.parsed)
            except Invalid as exc:
                raise CodecError(f"not a valid Avro schema: {exc.message}") from None
        return self._encoder

    def decoder(self) -> Decoder:
        if self._decoder is None:
            self._decoder = Compiler(self.named).decoder(self.parsed)
        return self._decoder

    def encode(self, value: JSONValue) -> bytes:
        """The Avro binary form of one JSON value (unframed); CodecError if it does not fit."""
        encode = self.encoder()
        out = bytearray()
        run_encoder(encode, value, out)
        return bytes(out)

    def decode(self, data: bytes) -> JSONValue:
        """The JSON form of one Avro binary value (unframed); CodecError if it is not one."""
        return run_decoder(self.decoder(), data, "")


class AvroCodec(Codec):
    """Avro with a Confluent-compatible schema registry."""

    name = "avro"
    requires_schema = True

    def __init__(self, context: CodecContext) -> None:
        super().__init__(context)
        self._registry = SchemaRegistry(context.settings, "avro")
        self._by_id: dict[int, AvroSchemaInfo] = {}
        self._inline: OrderedDict[str, AvroSchemaInfo] = OrderedDict()

    def _parse_inline(self, text: str) -> AvroSchemaInfo:
        found = self._inline.get(text)
        if found is not None:
            self._inline.move_to_end(text)
            return found
        info = parse_schema(text)
        self._inline[text] = info
        if len(self._inline) > _INLINE_CACHE_SIZE:
            self._inline.popitem(last=False)
        return info

    async def _registered(self, schema_id: int) -> AvroSchemaInfo:
        """The schema registered with `schema_id`; CodecError if it is unknown or not Avro."""
        found = self._by_id.get(schema_id)
        if found is not None:
            return found
        schema = await self._registry.schema(schema_id)
        if schema.schema_type != "AVRO":
            raise CodecError(f"schema id {schema_id} is a {schema.schema_type} schema, not Avro")
        try:
            info = AvroSchemaInfo.from_raw(schema.raw_schema)
        except CodecError as exc:
            raise CodecError(f"schema id {schema_id}: {exc}") from None
        self._by_id[schema_id] = info
        return info

    async def serializer(self, target: SerializeTarget) -> Serializer:
        spec = target.schema
        if not spec.given:
            side = "key" if target.is_key else "value"
            raise CodecError(f"the avro format needs {side}_schema or {side}_schema_id")
        given = self._parse_inline(spec.schema) if spec.schema is not None else None
        if spec.schema_id is not None:
            schema_id = int(spec.schema_id)  # JSON Schema's integers include 3.0
            registered = await self._registered(schema_id)
            if given is not None and given.canonical != registered.canonical:
                raise CodecError(
                    f"the schema given does not match schema id {schema_id} (their Parsing "
                    "Canonical Forms differ); give one or the other"
                )
            info = given or registered
            encode_value = info.encoder()
        else:
            assert given is not None
            encode_value = given.encoder()  # checks the defaults before registering
            subject = self._registry.subject(target.topic, target.is_key, given.record_name)
            schema_id = await self._registry.register(subject, given.registry_schema())
        prefix = frame(schema_id, b"")

        def encode(value: JSONValue) -> bytes:
            out = bytearray(prefix)
            run_encoder(encode_value, value, out)
            return bytes(out)

        return Serializer(encode=encode, schema_id=schema_id)

    async def deserializer(self, payloads: Iterable[bytes]) -> Callable[[bytes], JSONValue]:
        decoders: dict[int, Decoder] = {}
        for schema_id in sorted(schema_ids(list(payloads))):
            decoders[schema_id] = (await self._registered(schema_id)).decoder()

        def decode(payload: bytes) -> JSONValue:
            schema_id, data = unframe(payload)
            decode_value = decoders.get(schema_id)
            if decode_value is None:  # not among the payloads the decoder was prepared for
                raise CodecError(f"schema id {schema_id} was not prepared for")
            return run_decoder(decode_value, data, f" of schema id {schema_id}")

        return decode

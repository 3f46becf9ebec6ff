"""The `jsonschema` embedded format: JSON values checked against a JSON Schema from a schema
registry, stored as compact UTF-8 JSON in the Confluent wire format (magic byte 0, the 4-byte
schema id, then the JSON text), as Confluent's `KafkaJsonSchemaSerializer` writes them.

Producing needs `key_schema`/`value_schema` (a JSON Schema document as a string) or
`key_schema_id`/`value_schema_id`. A schema given as a string must be valid for the draft its
`$schema` names (draft 7 when it names none, as Confluent's serializer assumes); it is
registered under the subject of `schema.registry.subject.name.strategy` (its `title` is the
record name) and its id is reported back. Every value must validate against the schema before
anything is sent. `format` is an annotation, not checked: which formats `jsonschema` can check
depends on optional packages, and the bridge must not accept a value on one installation that
it refuses on another. Only references inside the schema (`#/definitions/...`) resolve; the
bridge never fetches a `$ref` URL.

Consuming does not validate (as Confluent's deserializer does not by default): a record must be
in the wire format, name a schema id the registry knows as a JSON Schema, and hold JSON text.
Integers of any size are exact in both directions.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

import referencing
import referencing.exceptions
from jsonschema import (
    Draft3Validator,
    Draft4Validator,
    Draft6Validator,
    Draft7Validator,
    Draft201909Validator,
    Draft202012Validator,
)
from jsonschema.exceptions import SchemaError, best_match
from jsonschema.protocols import Validator
from schema_registry.client.schema import BaseSchema, JsonSchema

from bridge_codecs import jsontext
from bridge_codecs.base import (
    Codec,
    CodecContext,
    CodecError,
    CodecUnavailableError,
    JSONValue,
    Serializer,
    SerializeTarget,
)
from bridge_codecs.json import JsonCodec
from bridge_codecs.schema_registry import SchemaRegistry, frame, schema_ids, unframe

__all__ = ["JsonSchemaCodec", "SchemaDocument", "load_schema"]

#: The draft of a schema whose `$schema` names none (Confluent's serializer default).
DEFAULT_DRAFT: type[Validator] = Draft7Validator

_DRAFT_NAMES: dict[type[Validator], str] = {
    Draft3Validator: "draft 3",
    Draft4Validator: "draft 4",
    Draft6Validator: "draft 6",
    Draft7Validator: "draft 7",
    Draft201909Validator: "draft 2019-09",
    Draft202012Validator: "draft 2020-12",
}

#: Longest message quoted from jsonschema (it repeats the offending value, which may be huge).
_MAX_REASON = 300

#: References resolve within the schema only: no `$ref` URL is ever fetched.
_NO_REMOTE_REFERENCES: referencing.Registry[Any] = referencing.Registry()


def _uri(text: str) -> str:
    """A `$schema` URI as jsonschema compares them (`...draft-07/schema#` is `...schema`)."""
    return urlsplit(text).geturl()


_DRAFTS_BY_URI = {_uri(cls.META_SCHEMA["$schema"]): cls for cls in _DRAFT_NAMES}


def _shorten(text: str) -> str:
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return "a number"
    return "null"


def _canonical(document: object) -> str:
    """The text two equal schemas share, whatever their key order and spacing."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


class _RegistrySchema(JsonSchema):
    """python-schema-registry-client's JSON schema, without its draft-7-only check (the
    codec checks a schema against its own draft first) and with boolean schemas allowed."""

    def parse_schema(self, schema: dict[Any, Any]) -> dict[Any, Any]:
        return schema

    @property
    def name(self) -> str | None:
        schema: object = self.raw_schema
        return _title(schema)


def _title(document: object) -> str | None:
    """The record name of a JSON Schema: its `title`, if it is a string."""
    if isinstance(document, dict):
        title = document.get("title")
        if isinstance(title, str):
            return title
    return None


@dataclass(frozen=True)
class SchemaDocument:
    """A JSON Schema checked against its draft, with its validator compiled once."""

    document: JSONValue
    validator: Validator

    @property
    def draft(self) -> str:
        return _DRAFT_NAMES.get(type(self.validator), type(self.validator).__name__)

    @property
    def title(self) -> str | None:
        return _title(self.document)

    def check(self, value: JSONValue) -> None:
        """Raise CodecError naming where and why `value` does not fit the schema."""
        try:
            error = best_match(self.validator.iter_errors(value))
        except referencing.exceptions.Unresolvable as exc:
            raise CodecError(
                f"the schema cannot be applied: $ref {exc.ref!r} does not resolve (only "
                "references within the schema do)"
            ) from None
        except RecursionError:
            raise CodecError("nested too deeply to validate against the schema") from None
        if error is not None:
            raise CodecError(
                f"does not match the schema at {error.json_path}: {_shorten(error.message)}"
            )


def _draft(document: dict[str, Any]) -> type[Validator]:
    """The draft a schema's `$schema` names, or the default draft when it names none."""
    if "$schema" not in document:
        return DEFAULT_DRAFT
    declared = document["$schema"]
    if not isinstance(declared, str):
        raise CodecError(f"$schema must be a string naming a draft, got {declared!r}")
    draft = _DRAFTS_BY_URI.get(_uri(declared))
    if draft is None:
        raise CodecError(
            f"$schema {declared!r} names no JSON Schema draft this bridge knows "
            f"({', '.join(_DRAFT_NAMES.values())})"
        )
    return draft


def compile_schema(document: JSONValue) -> SchemaDocument:
    """Check a parsed JSON Schema against the draft its `$schema` names and compile it."""
    if isinstance(document, bool):  # `true` accepts every value, `false` none
        return SchemaDocument(document, DEFAULT_DRAFT(document, registry=_NO_REMOTE_REFERENCES))
    if not isinstance(document, dict):
        raise CodecError(f"a JSON Schema is a JSON object or a boolean, not {_json_type(document)}")
    draft = _draft(document)
    try:
        draft.check_schema(document)
    except SchemaError as exc:
        where = f" at {exc.json_path}" if exc.path else ""
        raise CodecError(
            f"not a valid {_DRAFT_NAMES[draft]} JSON Schema{where}: {_shorten(exc.message)}"
        ) from None
    except RecursionError:
        raise CodecError("the schema is nested too deeply") from None
    return SchemaDocument(document, draft(document, registry=_NO_REMOTE_REFERENCES))


def load_schema(text: str) -> SchemaDocument:
    """A JSON Schema given as a string (a produce request's `key_schema`/`value_schema`)."""
    try:
        document = jsontext.loads(text.encode("utf-8"))
    except (ValueError, RecursionError) as exc:  # incl. UnicodeEncodeError
        raise CodecError(f"the schema is not valid JSON: {exc}") from None
    return compile_schema(document)


class JsonSchemaCodec(Codec):
    """JSON values validated against registered JSON Schemas, in the Confluent wire format."""

    name = "jsonschema"
    requires_schema: ClassVar[bool] = True

    def __init__(self, context: CodecContext) -> None:
        super().__init__(context)
        self._registry = SchemaRegistry(context.settings, self.name)
        self._json = JsonCodec(context)
        #: Compiled schemas by registry id, for producing.
        self._compiled: dict[int, SchemaDocument] = {}
        #: Ids the registry knows as JSON Schemas, for consuming.
        self._json_ids: set[int] = set()

    # --- the registry ----------------------------------------------------------------------

    async def _fetch(self, schema_id: int) -> BaseSchema:
        """The registry's schema `schema_id`, which must be a JSON Schema."""
        try:
            found = await self._registry.schema(schema_id)
        except (CodecError, CodecUnavailableError):
            raise
        except SchemaError as exc:
            # python-schema-registry-client checks every JSON schema it fetches against
            # draft 7 only, so a valid draft 4 or draft 3 schema can fail here.
            raise _RegistryClientRejected(schema_id, exc.message) from None
        except Exception as exc:  # the client library failed to parse what the registry sent
            raise CodecError(
                f"schema id {schema_id}: the schema registry's answer could not be read ({exc!r})"
            ) from None
        if found.schema_type != "JSON":
            raise CodecError(
                f"schema id {schema_id} is not a JSON Schema "
                f"(its schemaType is {found.schema_type})"
            )
        self._json_ids.add(schema_id)
        return found

    async def _compiled_by_id(self, schema_id: int) -> SchemaDocument:
        cached = self._compiled.get(schema_id)
        if cached is not None:
            return cached
        found = await self._fetch(schema_id)
        try:
            compiled = compile_schema(found.raw_schema)
        except CodecError as exc:
            raise CodecError(f"schema id {schema_id} cannot be used: {exc}") from None
        self._compiled[schema_id] = compiled
        return compiled

    # --- producing -------------------------------------------------------------------------

    async def serializer(self, target: SerializeTarget) -> Serializer:
        spec = target.schema
        side = "key" if target.is_key else "value"
        # A schema given as text is checked before the registry is asked anything.
        given = load_schema(spec.schema) if spec.schema is not None else None
        if spec.schema_id is not None:
            schema_id = spec.schema_id
            compiled = await self._compiled_by_id(schema_id)
            if given is not None and _canonical(given.document) != _canonical(compiled.document):
                raise CodecError(
                    f"{side}_schema and {side}_schema_id {schema_id} name different schemas; "
                    "give one of them"
                )
        elif spec.schema is not None and given is not None:
            subject = self._registry.subject(target.topic, target.is_key, given.title)
            schema_id = await self._registry.register(subject, _RegistrySchema(spec.schema))
            compiled = self._compiled.setdefault(schema_id, given)
            self._json_ids.add(schema_id)
        else:
            raise CodecError(
                f"the jsonschema format needs {side}_schema or {side}_schema_id for {side}s"
            )
        return Serializer(encode=self._encoder(compiled, schema_id), schema_id=schema_id)

    def _encoder(self, compiled: SchemaDocument, schema_id: int) -> Callable[[JSONValue], bytes]:
        to_json = self._json.encode

        def encode(value: JSONValue) -> bytes:
            compiled.check(value)
            return frame(schema_id, to_json(value))

        return encode

    # --- consuming -------------------------------------------------------------------------

    async def deserializer(self, payloads: Iterable[bytes]) -> Callable[[bytes], JSONValue]:
        # An id that cannot be used fails only the records that name it, in `decode`.
        problems: dict[int, str] = {}
        for schema_id in sorted(schema_ids(list(payloads)) - self._json_ids):
            try:
                await self._fetch(schema_id)
            except _RegistryClientRejected:
                # Only a JSON schema is checked against a draft: the id names one, and reading
                # does not validate, so its records decode.
                self._json_ids.add(schema_id)
            except CodecError as exc:
                problems[schema_id] = str(exc)
        known = self._json_ids
        from_json = self._json.decode

        def decode(payload: bytes) -> JSONValue:
            schema_id, body = unframe(payload)
            if schema_id not in known:
                raise CodecError(
                    problems.get(schema_id, f"schema id {schema_id} was not looked up")
                )
            return from_json(body)

        return decode

    async def close(self) -> None:
        # The registry client opens a connection per request: nothing stays open.
        self._compiled.clear()
        self._json_ids.clear()


class _RegistryClientRejected(CodecError):
    """The registry client refused a JSON schema it fetched (it knows draft 7 only)."""

    def __init__(self, schema_id: int, reason: str) -> None:
        super().__init__(
            f"schema id {schema_id} is a JSON Schema that the schema registry client cannot "
            f"load (it checks every schema against draft 7): {_shorten(reason)}"
        )

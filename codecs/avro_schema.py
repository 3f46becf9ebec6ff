"""Avro schemas as the avro codec reads them: parsing one (with fastavro) and checking what
fastavro lets through but Avro does not allow, its Parsing Canonical Form, the names of its
types and union branches, and the wrapper the registry client registers it in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final, TypeAlias

import fastavro
from fastavro.schema import SchemaParseException, UnknownType, to_parsing_canonical_form
from schema_registry.client.schema import AvroSchema

from bridge_codecs.avro_errors import shorten
from bridge_codecs.base import CodecError

__all__ = ["NAMED", "PRIMITIVES", "RegistrySchema", "Schema", "branch_name", "parse_raw", "type_of"]

#: A parsed schema as fastavro normalises it: a type name, a union list or a dict.
Schema: TypeAlias = Any

PRIMITIVES: Final = frozenset(
    {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
)
NAMED: Final = frozenset({"record", "error", "enum", "fixed"})
_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class _SchemaError(Exception):
    """A schema this codec cannot use; the message says why."""


def parse_raw(raw: Any) -> tuple[Schema, dict[str, Schema], str]:
    """Parse and check a schema already loaded from JSON: the parsed schema, its named types
    by full name, and its Parsing Canonical Form; CodecError says what is wrong with it."""
    named: dict[str, Schema] = {}
    try:
        parsed = fastavro.parse_schema(raw, named_schemas=named, _write_hint=False)
    except KeyError as exc:
        raise CodecError(f"not a valid Avro schema: a type is missing {exc}") from None
    except UnknownType as exc:
        unknown = exc.name.get("type") if isinstance(exc.name, dict) else exc.name
        raise CodecError(f"not a valid Avro schema: unknown type {unknown!r}") from None
    except SchemaParseException as exc:
        raise CodecError(f"not a valid Avro schema: {exc}") from None
    except (TypeError, ValueError, AttributeError, RecursionError) as exc:
        raise CodecError(f"not a valid Avro schema ({type(exc).__name__}: {exc})") from None
    try:
        _check(parsed, named, set())
        canonical = to_parsing_canonical_form(raw)
    except _SchemaError as exc:
        raise CodecError(f"not a valid Avro schema: {exc}") from None
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        raise CodecError(f"not a valid Avro schema ({type(exc).__name__}: {exc})") from None
    return parsed, named, canonical


class RegistrySchema(AvroSchema):
    """The registry client's schema wrapper, safe for schemas that are not records.

    The client reads `name` when it logs that a subject does not have the schema yet, and
    its own `name` fails on a primitive schema such as `"string"`.
    """

    @property
    def name(self) -> str | None:
        schema: Any = self.schema  # typed as a dict, but "string" for a primitive
        if isinstance(schema, dict):
            found = schema.get("name")
            return found if isinstance(found, str) else None
        return None


def type_of(schema: Schema) -> str:
    """The type of a parsed schema: a primitive or complex type name, `union`, or a
    named type's full name for a reference."""
    if isinstance(schema, list):
        return "union"
    if isinstance(schema, dict):
        kind = schema.get("type")
        if isinstance(kind, str):
            return kind
        raise _SchemaError(f"a schema's type must be a string, got {shorten(kind)}")
    if isinstance(schema, str):
        return schema
    raise _SchemaError(f"not a schema: {shorten(schema)}")


def branch_name(schema: Schema) -> str:
    """What a union branch is called in the JSON form: its full name or its type."""
    kind = type_of(schema)
    if kind in NAMED:
        return str(schema["name"])
    return kind


def _check_name(name: object, what: str) -> None:
    if not isinstance(name, str) or not all(_NAME.match(part) for part in name.split(".")):
        raise _SchemaError(f"{what} {shorten(name)} is not a valid Avro name")


def _check(schema: Schema, named: Mapping[str, Schema], seen: set[str]) -> None:
    """What fastavro lets through but Avro does not allow."""
    kind = type_of(schema)
    if kind == "union":
        if not schema:
            raise _SchemaError("a union needs at least one type")
        branches: set[str] = set()
        for branch in schema:
            if isinstance(branch, list):
                raise _SchemaError("a union may not directly contain another union")
            name = branch_name(branch)
            if name in branches:
                raise _SchemaError(f"a union may not contain {name!r} twice")
            branches.add(name)
            _check(branch, named, seen)
        return
    if kind in PRIMITIVES:
        return
    if kind in NAMED:
        name = schema["name"]
        _check_name(name, "the name")
        if name in seen:
            return
        seen.add(name)
        if kind == "enum":
            symbols = schema.get("symbols")
            if not isinstance(symbols, list) or not symbols:
                raise _SchemaError(f"enum {name!r} needs a non-empty list of symbols")
            for symbol in symbols:
                if not isinstance(symbol, str) or not _NAME.match(symbol):
                    raise _SchemaError(f"enum {name!r}: {shorten(symbol)} is not a valid symbol")
        elif kind == "fixed":
            size = schema.get("size")
            if type(size) is not int or size < 0:
                raise _SchemaError(f"fixed {name!r} needs a size of 0 or more bytes")
        else:
            fields = schema.get("fields")
            if not isinstance(fields, list):
                raise _SchemaError(f"record {name!r} needs a list of fields")
            field_names: set[str] = set()
            for field in fields:
                field_name = field.get("name")
                if not isinstance(field_name, str) or not _NAME.match(field_name):
                    raise _SchemaError(
                        f"record {name!r}: {shorten(field_name)} is not a valid field name"
                    )
                if field_name in field_names:
                    raise _SchemaError(f"record {name!r} has two fields named {field_name!r}")
                field_names.add(field_name)
                _check(field["type"], named, seen)
        return
    if kind == "array":
        _check(schema["items"], named, seen)
        return
    if kind == "map":
        _check(schema["values"], named, seen)
        return
    if kind not in named:
        raise _SchemaError(f"unknown type {kind!r}")

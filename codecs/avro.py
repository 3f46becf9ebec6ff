"""The `avro` embedded format: values in Avro's JSON encoding in requests and responses, Avro
binary in the Confluent wire format (magic byte 0, 4-byte schema id) in Kafka.

The JSON form is the one the Confluent REST Proxy uses (Avro's JSON encoding):

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
import math
import re
import struct
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, NoReturn, TypeAlias

import fastavro
from fastavro.schema import SchemaParseException, UnknownType, to_parsing_canonical_form
from schema_registry.client.schema import AvroSchema

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

#: A parsed schema as fastavro normalises it: a type name, a union list or a dict.
Schema: TypeAlias = Any
#: Appends the Avro binary form of one JSON value to the buffer.
Encoder: TypeAlias = Callable[[Any, bytearray], None]
#: Reads one value from the reader and returns its JSON form.
Decoder: TypeAlias = Callable[["_Reader"], Any]

_PRIMITIVES: Final = frozenset(
    {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
)
_NAMED: Final = frozenset({"record", "error", "enum", "fixed"})
_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_INT_MIN: Final = -(2**31)
_INT_MAX: Final = 2**31 - 1
_LONG_MIN: Final = -(2**63)
_LONG_MAX: Final = 2**63 - 1
_FLOAT: Final = struct.Struct("<f")
_DOUBLE: Final = struct.Struct("<d")
#: The JSON strings that stand for the floating-point values JSON numbers cannot be.
_SPECIAL_FLOATS: Final = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
#: At most this many items of zero-byte types (null, empty records) in one decoded array:
#: a corrupt count must not make the bridge build an enormous list from a few bytes.
_MAX_EMPTY_ITEMS: Final = 1_000_000
#: Inline schema texts whose compiled form is kept.
_INLINE_CACHE_SIZE: Final = 256


# --- errors -------------------------------------------------------------------------------


class _Invalid(Exception):
    """A JSON value that does not fit its schema; `path` is filled in innermost first."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.path: list[str] = []

    def describe(self) -> str:
        if not self.path:
            return self.message
        parts = list(reversed(self.path))
        where = parts[0]
        for part in parts[1:]:
            where += part if part.startswith("[") else f".{part}"
        noun = "element" if parts[0].startswith("[") else "field"
        return f"{noun} '{where}': {self.message}"


class _DefaultLoop(_Invalid):
    """A default value that needs itself (a record's default holding that record)."""


class _Corrupt(Exception):
    """Bytes that are not Avro data of the writer's schema."""


def _kind(value: object) -> str:
    """What a JSON value is, in the words of JSON."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _short(value: object) -> str:
    """A value as JSON, cut short if long."""
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= 40 else text[:37] + "..."


def _expected(what: str, value: object) -> NoReturn:
    raise _Invalid(f"expected {what}, got {_kind(value)}")


def _names(names: Iterable[str], limit: int = 10) -> str:
    listed = list(names)
    shown = ", ".join(listed[:limit])
    return shown + (f" and {len(listed) - limit} more" if len(listed) > limit else "")


# --- schemas ------------------------------------------------------------------------------


class _SchemaError(Exception):
    """A schema this codec cannot use; the message says why."""


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
            self._registry_schema = _RegistrySchema(self.text)
        return self._registry_schema

    def encoder(self) -> Encoder:
        """The function that appends a JSON value's Avro binary form to a buffer.

        Compiling checks the schema's default values: CodecError if one does not fit.
        """
        if self._encoder is None:
            try:
                self._encoder = _Compiler(self.named).encoder(self.parsed)
            except _Invalid as exc:
                raise CodecError(f"not a valid Avro schema: {exc.message}") from None
        return self._encoder

    def decoder(self) -> Decoder:
        if self._decoder is None:
            self._decoder = _Compiler(self.named).decoder(self.parsed)
        return self._decoder

    def encode(self, value: JSONValue) -> bytes:
        """The Avro binary form of one JSON value (unframed); CodecError if it does not fit."""
        encode = self.encoder()
        out = bytearray()
        _run_encoder(encode, value, out)
        return bytes(out)

    def decode(self, data: bytes) -> JSONValue:
        """The JSON form of one Avro binary value (unframed); CodecError if it is not one."""
        return _run_decoder(self.decoder(), data, "")


class _RegistrySchema(AvroSchema):
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


def _type_of(schema: Schema) -> str:
    """The type of a parsed schema: a primitive or complex type name, `union`, or a
    named type's full name for a reference."""
    if isinstance(schema, list):
        return "union"
    if isinstance(schema, dict):
        kind = schema.get("type")
        if isinstance(kind, str):
            return kind
        raise _SchemaError(f"a schema's type must be a string, got {_short(kind)}")
    if isinstance(schema, str):
        return schema
    raise _SchemaError(f"not a schema: {_short(schema)}")


def _branch_name(schema: Schema) -> str:
    """What a union branch is called in the JSON form: its full name or its type."""
    kind = _type_of(schema)
    if kind in _NAMED:
        return str(schema["name"])
    return kind


def _check_name(name: object, what: str) -> None:
    if not isinstance(name, str) or not all(_NAME.match(part) for part in name.split(".")):
        raise _SchemaError(f"{what} {_short(name)} is not a valid Avro name")


def _check(schema: Schema, named: Mapping[str, Schema], seen: set[str]) -> None:
    """What fastavro lets through but Avro does not allow."""
    kind = _type_of(schema)
    if kind == "union":
        if not schema:
            raise _SchemaError("a union needs at least one type")
        branches: set[str] = set()
        for branch in schema:
            if isinstance(branch, list):
                raise _SchemaError("a union may not directly contain another union")
            name = _branch_name(branch)
            if name in branches:
                raise _SchemaError(f"a union may not contain {name!r} twice")
            branches.add(name)
            _check(branch, named, seen)
        return
    if kind in _PRIMITIVES:
        return
    if kind in _NAMED:
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
                    raise _SchemaError(f"enum {name!r}: {_short(symbol)} is not a valid symbol")
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
                        f"record {name!r}: {_short(field_name)} is not a valid field name"
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


# --- the binary encoding ------------------------------------------------------------------


def _write_long(value: int, out: bytearray) -> None:
    """Zig-zag and variable-length encoding of a 64-bit integer (Avro `int` and `long`)."""
    value = (value << 1) ^ (value >> 63)
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def _long_bytes(value: int) -> bytes:
    out = bytearray()
    _write_long(value, out)
    return bytes(out)


class _Reader:
    __slots__ = ("data", "end", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.end = len(data)


def _read_long(reader: _Reader) -> int:
    data = reader.data
    pos = reader.pos
    byte = data[pos]
    pos += 1
    value = byte & 0x7F
    shift = 7
    while byte & 0x80:
        if shift > 63:
            raise _Corrupt(f"a variable-length integer at byte {reader.pos} is too long")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
    if value >> 64:
        raise _Corrupt(f"the integer at byte {reader.pos} is beyond 64 bits")
    reader.pos = pos
    return (value >> 1) ^ -(value & 1)


def _read_length(reader: _Reader, what: str) -> int:
    start = reader.pos
    length = _read_long(reader)
    if length < 0:
        raise _Corrupt(f"the {what} at byte {start} has a negative length ({length})")
    if reader.pos + length > reader.end:
        raise IndexError(what)
    return length


def _json_float(value: float) -> float | str:
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def _json_float32(value: float) -> float | str:
    """A 32-bit float as the shortest double that reads back as the same float (0.1, not
    0.10000000149011612), as Java's Float.toString writes it."""
    if not math.isfinite(value):
        return _json_float(value)
    for digits in range(6, 10):
        candidate = float(f"{value:.{digits}g}")
        if _FLOAT.unpack(_FLOAT.pack(candidate))[0] == value:
            return candidate
    return value


# Encoders of the primitive types.


def _integral(value: object, what: str) -> int:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise _Invalid(f"expected {what}, got {value!r}")
    _expected(what, value)


def _encode_null(value: Any, out: bytearray) -> None:
    if value is not None:
        _expected("null", value)


def _encode_boolean(value: Any, out: bytearray) -> None:
    if value is True:
        out.append(1)
    elif value is False:
        out.append(0)
    else:
        _expected("boolean", value)


def _encode_int(value: Any, out: bytearray) -> None:
    if type(value) is not int:
        value = _integral(value, "int")
    if not _INT_MIN <= value <= _INT_MAX:
        raise _Invalid(f"expected int, got {value}, which is beyond 32 bits")
    _write_long(value, out)


def _encode_long(value: Any, out: bytearray) -> None:
    if type(value) is not int:
        value = _integral(value, "long")
    if not _LONG_MIN <= value <= _LONG_MAX:
        raise _Invalid(f"expected long, got {value}, which is beyond 64 bits")
    _write_long(value, out)


def _floating(value: Any, what: str) -> float:
    kind = type(value)
    if kind is float:
        return float(value)
    if kind is int:
        try:
            return float(value)
        except OverflowError:
            raise _Invalid(f"expected {what}, got {value}, which is beyond its range") from None
    if kind is str and value in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[value]
    _expected(what, value)


def _encode_float(value: Any, out: bytearray) -> None:
    number = _floating(value, "float")
    try:
        out += _FLOAT.pack(number)
    except OverflowError:
        raise _Invalid(f"expected float, got {value}, which is beyond its range") from None


def _encode_double(value: Any, out: bytearray) -> None:
    out += _DOUBLE.pack(_floating(value, "double"))


def _latin1(value: Any, what: str) -> bytes:
    if type(value) is not str:
        _expected(f"{what} (a string of characters U+0000 to U+00FF)", value)
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise _Invalid(
            f"expected {what} as a string of characters U+0000 to U+00FF (one per byte), "
            f"got U+{ord(value[exc.start]):04X} at index {exc.start}"
        ) from None


def _utf8(value: Any) -> bytes:
    if type(value) is not str:
        _expected("string", value)
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _Invalid(
            f"the string has a lone surrogate at index {exc.start}, which has no UTF-8 form"
        ) from None


def _encode_bytes(value: Any, out: bytearray) -> None:
    data = _latin1(value, "bytes")
    _write_long(len(data), out)
    out += data


def _encode_string(value: Any, out: bytearray) -> None:
    data = _utf8(value)
    _write_long(len(data), out)
    out += data


_PRIMITIVE_ENCODERS: Final[dict[str, Encoder]] = {
    "null": _encode_null,
    "boolean": _encode_boolean,
    "int": _encode_int,
    "long": _encode_long,
    "float": _encode_float,
    "double": _encode_double,
    "bytes": _encode_bytes,
    "string": _encode_string,
}


# Decoders of the primitive types.


def _decode_null(reader: _Reader) -> None:
    return None


def _decode_boolean(reader: _Reader) -> bool:
    byte = reader.data[reader.pos]
    if byte > 1:
        raise _Corrupt(f"the boolean at byte {reader.pos} is {byte}, not 0 or 1")
    reader.pos += 1
    return byte == 1


def _decode_int(reader: _Reader) -> int:
    start = reader.pos
    value = _read_long(reader)
    if not _INT_MIN <= value <= _INT_MAX:
        raise _Corrupt(f"the int at byte {start} is beyond 32 bits")
    return value


def _decode_float(reader: _Reader) -> float | str:
    (value,) = _FLOAT.unpack_from(reader.data, reader.pos)
    reader.pos += 4
    return _json_float32(value)


def _decode_double(reader: _Reader) -> float | str:
    (value,) = _DOUBLE.unpack_from(reader.data, reader.pos)
    reader.pos += 8
    return _json_float(value)


def _decode_bytes(reader: _Reader) -> str:
    length = _read_length(reader, "bytes")
    start = reader.pos
    reader.pos = start + length
    return reader.data[start : start + length].decode("latin-1")


def _decode_string(reader: _Reader) -> str:
    length = _read_length(reader, "string")
    start = reader.pos
    reader.pos = start + length
    try:
        return reader.data[start : start + length].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Corrupt(f"the string at byte {start} is not valid UTF-8 ({exc.reason})") from None


_PRIMITIVE_DECODERS: Final[dict[str, Decoder]] = {
    "null": _decode_null,
    "boolean": _decode_boolean,
    "int": _decode_int,
    "long": _read_long,
    "float": _decode_float,
    "double": _decode_double,
    "bytes": _decode_bytes,
    "string": _decode_string,
}


# --- compiling schemas into encoders and decoders -----------------------------------------


class _Compiler:
    """Turns a parsed schema into nested closures, once; named types are compiled once each
    and may refer to themselves (recursive records)."""

    def __init__(self, named: Mapping[str, Schema]) -> None:
        self._named = named
        self._encoders: dict[tuple[str, bool], list[Encoder | None]] = {}
        self._decoders: dict[str, list[Decoder | None]] = {}
        self._zero_width: dict[str, bool] = {}
        #: Record field defaults, encoded once everything is compiled.
        self._defaults: list[_PendingDefault] = []

    # Encoding.

    def encoder(self, schema: Schema) -> Encoder:
        encode = self._encoder(schema, as_default=False)
        # Encoding one default may compile more records, with defaults of their own.
        while self._defaults:
            self._defaults.pop().resolve()
        return encode

    def default_encoder(self, schema: Schema) -> Encoder:
        """The encoder of default values, whose unions take their first branch, bare."""
        return self._encoder(schema, as_default=True)

    def _encoder(self, schema: Schema, *, as_default: bool) -> Encoder:
        kind = _type_of(schema)
        if kind in _PRIMITIVES:
            return _PRIMITIVE_ENCODERS[kind]
        if kind == "union":
            return self._union_encoder(schema, as_default)
        if kind == "array":
            return self._array_encoder(self._encoder(schema["items"], as_default=as_default))
        if kind == "map":
            return self._map_encoder(self._encoder(schema["values"], as_default=as_default))
        if kind in _NAMED:
            return self._named_encoder(str(schema["name"]), schema, as_default)
        return self._named_encoder(kind, self._named[kind], as_default)

    def _named_encoder(self, name: str, schema: Schema, as_default: bool) -> Encoder:
        key = (name, as_default)
        cell = self._encoders.get(key)
        if cell is None:
            cell = self._encoders[key] = [None]
            kind = schema["type"]
            if kind == "enum":
                cell[0] = _enum_encoder(name, schema["symbols"])
            elif kind == "fixed":
                cell[0] = _fixed_encoder(name, schema["size"])
            else:
                cell[0] = self._record_encoder(name, schema, as_default)
        done = cell[0]
        if done is not None:
            return done

        def recursive(value: Any, out: bytearray) -> None:
            encode = cell[0]
            assert encode is not None
            encode(value, out)

        return recursive

    def _record_encoder(self, name: str, schema: Schema, as_default: bool) -> Encoder:
        fields: list[list[Any]] = []
        for field in schema["fields"]:
            # [name, encoder, default: None, its bytes, or a _PendingDefault until encoded]
            slot: list[Any] = [field["name"], None, None]
            fields.append(slot)
            if "default" in field:
                where = f"field {field['name']!r} of record {name!r}"
                slot[2] = _PendingDefault(self, slot, field["type"], field["default"], where)
                self._defaults.append(slot[2])
        for slot, field in zip(fields, schema["fields"], strict=True):
            slot[1] = self._encoder(field["type"], as_default=as_default)
        field_names = frozenset(slot[0] for slot in fields)
        field_names_in_order = [slot[0] for slot in fields]
        record = f"record {name!r}"

        def encode(value: Any, out: bytearray) -> None:
            if not isinstance(value, dict):
                _expected(record, value)
            found = 0
            for field_name, encode_field, default in fields:
                try:
                    item = value[field_name]
                except KeyError:
                    if default is None:
                        error = _Invalid(f"missing, and {record} gives no default")
                        error.path.append(field_name)
                        raise error from None
                    if type(default) is not bytes:  # while compiling a default
                        default = default.resolve()
                    out += default
                    continue
                found += 1
                try:
                    encode_field(item, out)
                except _Invalid as exc:
                    exc.path.append(field_name)
                    raise
            if found != len(value):
                extra = [key for key in value if key not in field_names]
                raise _Invalid(
                    f"{record} has no field {_names(repr(key) for key in extra)}; "
                    f"its fields are {_names(field_names_in_order) or 'none'}"
                )

        return encode

    def _union_encoder(self, schema: list[Schema], as_default: bool) -> Encoder:
        if as_default:
            # A default value is the value of the union's first branch, written bare.
            first = self._encoder(schema[0], as_default=True)
            index = _long_bytes(0)

            def encode_default(value: Any, out: bytearray) -> None:
                out += index
                first(value, out)

            return encode_default

        names = [_branch_name(branch) for branch in schema]
        branches: dict[str, tuple[bytes, Encoder]] = {
            name: (_long_bytes(number), self._encoder(branch, as_default=False))
            for number, (name, branch) in enumerate(zip(names, schema, strict=True))
        }
        null = branches.get("null")
        null_index = null[0] if null is not None else None
        forms = ["null" if name == "null" else f"{{{json.dumps(name)}: ...}}" for name in names]
        shape = f"{_names(forms, limit=4).replace(', ', ' or ')} (a union)"

        def encode(value: Any, out: bytearray) -> None:
            if value is None:
                if null_index is None:
                    raise _Invalid(f"expected {shape}, got null")
                out += null_index
                return
            if type(value) is not dict or len(value) != 1:
                _expected(shape, value)
            ((name, item),) = value.items()
            branch = branches.get(name)
            if branch is None:
                raise _Invalid(
                    f"the union has no branch {name!r}; its branches are {_names(names)}"
                )
            out += branch[0]
            branch[1](item, out)

        return encode

    @staticmethod
    def _array_encoder(encode_item: Encoder) -> Encoder:
        def encode(value: Any, out: bytearray) -> None:
            if type(value) is not list:
                _expected("array", value)
            if value:
                _write_long(len(value), out)
                for index, item in enumerate(value):
                    try:
                        encode_item(item, out)
                    except _Invalid as exc:
                        exc.path.append(f"[{index}]")
                        raise
            out.append(0)

        return encode

    @staticmethod
    def _map_encoder(encode_value: Encoder) -> Encoder:
        def encode(value: Any, out: bytearray) -> None:
            if not isinstance(value, dict):
                _expected("map (an object)", value)
            if value:
                _write_long(len(value), out)
                for key, item in value.items():
                    try:
                        _encode_string(key, out)
                        encode_value(item, out)
                    except _Invalid as exc:
                        exc.path.append(f"[{json.dumps(key, ensure_ascii=False)}]")
                        raise
            out.append(0)

        return encode

    # Decoding.

    def decoder(self, schema: Schema) -> Decoder:
        kind = _type_of(schema)
        if kind in _PRIMITIVES:
            return _PRIMITIVE_DECODERS[kind]
        if kind == "union":
            return self._union_decoder(schema)
        if kind == "array":
            items = schema["items"]
            return _array_decoder(self.decoder(items), self._is_zero_width(items))
        if kind == "map":
            return _map_decoder(self.decoder(schema["values"]))
        if kind in _NAMED:
            return self._named_decoder(str(schema["name"]), schema)
        return self._named_decoder(kind, self._named[kind])

    def _named_decoder(self, name: str, schema: Schema) -> Decoder:
        cell = self._decoders.get(name)
        if cell is None:
            cell = self._decoders[name] = [None]
            kind = schema["type"]
            if kind == "enum":
                cell[0] = _enum_decoder(name, schema["symbols"])
            elif kind == "fixed":
                cell[0] = _fixed_decoder(schema["size"])
            else:
                fields = [(f["name"], self.decoder(f["type"])) for f in schema["fields"]]
                cell[0] = _record_decoder(fields)
        done = cell[0]
        if done is not None:
            return done

        def recursive(reader: _Reader) -> Any:
            decode = cell[0]
            assert decode is not None
            return decode(reader)

        return recursive

    def _union_decoder(self, schema: list[Schema]) -> Decoder:
        branches = [
            (_branch_name(branch), None if branch == "null" else self.decoder(branch))
            for branch in schema
        ]
        count = len(branches)

        def decode(reader: _Reader) -> Any:
            start = reader.pos
            index = _read_long(reader)
            if not 0 <= index < count:
                raise _Corrupt(f"the union branch {index} at byte {start} does not exist")
            name, decode_branch = branches[index]
            if decode_branch is None:
                return None
            return {name: decode_branch(reader)}

        return decode

    def _is_zero_width(self, schema: Schema) -> bool:
        """Whether values of this type can take no bytes at all (null, empty records)."""
        kind = _type_of(schema)
        if kind == "null":
            return True
        if kind in _PRIMITIVES or kind in ("union", "array", "map", "enum"):
            return False
        if kind == "fixed":
            return bool(schema["size"] == 0)
        if kind not in _NAMED:
            schema = self._named[kind]
            if schema["type"] == "fixed":
                return bool(schema["size"] == 0)
            if schema["type"] == "enum":
                return False
        name = str(schema["name"])
        if name not in self._zero_width:
            self._zero_width[name] = False  # while in progress: a cycle takes bytes
            self._zero_width[name] = all(
                self._is_zero_width(field["type"]) for field in schema["fields"]
            )
        return self._zero_width[name]


class _PendingDefault:
    """A record field's default value, encoded once it is first needed (defaults may hold
    records whose fields have defaults); the bytes then replace it in the field's slot."""

    def __init__(
        self, compiler: _Compiler, slot: list[Any], schema: Schema, value: Any, where: str
    ) -> None:
        self._compiler = compiler
        self._slot = slot
        self._schema = schema
        self._value = value
        self._where = where
        self._resolving = False

    def resolve(self) -> bytes:
        done = self._slot[2]
        if isinstance(done, bytes):
            return done
        if self._resolving:
            raise _DefaultLoop(f"the default of {self._where} contains itself")
        self._resolving = True
        out = bytearray()
        try:
            self._compiler.default_encoder(self._schema)(self._value, out)
        except _DefaultLoop:
            raise
        except _Invalid as exc:
            raise _Invalid(f"the default of {self._where} does not fit: {exc.describe()}") from None
        finally:
            self._resolving = False
        encoded = self._slot[2] = bytes(out)
        return encoded


def _enum_encoder(name: str, symbols: list[str]) -> Encoder:
    indexes = {symbol: _long_bytes(number) for number, symbol in enumerate(symbols)}
    shape = f"a symbol of enum {name!r} ({_names(symbols)})"

    def encode(value: Any, out: bytearray) -> None:
        index = indexes.get(value) if type(value) is str else None
        if index is None:
            if type(value) is str:
                raise _Invalid(f"expected {shape}, got {_short(value)}")
            _expected(shape, value)
        out += index

    return encode


def _fixed_encoder(name: str, size: int) -> Encoder:
    what = f"fixed {name!r} of {size} bytes"

    def encode(value: Any, out: bytearray) -> None:
        data = _latin1(value, what)
        if len(data) != size:
            raise _Invalid(f"expected {what}, got {len(data)} bytes")
        out += data

    return encode


def _enum_decoder(name: str, symbols: list[str]) -> Decoder:
    count = len(symbols)

    def decode(reader: _Reader) -> str:
        start = reader.pos
        index = _read_long(reader)
        if not 0 <= index < count:
            raise _Corrupt(f"enum {name!r} has no symbol {index} (at byte {start})")
        return symbols[index]

    return decode


def _fixed_decoder(size: int) -> Decoder:
    def decode(reader: _Reader) -> str:
        start = reader.pos
        if start + size > reader.end:
            raise IndexError("fixed")
        reader.pos = start + size
        return reader.data[start : start + size].decode("latin-1")

    return decode


def _record_decoder(fields: list[tuple[str, Decoder]]) -> Decoder:
    def decode(reader: _Reader) -> dict[str, Any]:
        return {name: decode_field(reader) for name, decode_field in fields}

    return decode


def _block_count(reader: _Reader, zero_width: bool, total: int) -> int:
    """The number of items in the next block of an array or map (0 at the end)."""
    start = reader.pos
    count = _read_long(reader)
    if count < 0:
        count = -count
        _read_long(reader)  # the block's size in bytes, for skipping it
    if zero_width:
        if total + count > _MAX_EMPTY_ITEMS:
            raise _Corrupt(f"the array at byte {start} has more than {_MAX_EMPTY_ITEMS} items")
    elif count > reader.end - reader.pos:
        # Every item takes at least one byte.
        raise _Corrupt(f"the block at byte {start} claims {count} items, more than there are bytes")
    return count


def _array_decoder(decode_item: Decoder, zero_width: bool) -> Decoder:
    def decode(reader: _Reader) -> list[Any]:
        items: list[Any] = []
        while count := _block_count(reader, zero_width, len(items)):
            items.extend([decode_item(reader) for _ in range(count)])
        return items

    return decode


def _map_decoder(decode_value: Decoder) -> Decoder:
    def decode(reader: _Reader) -> dict[str, Any]:
        entries: dict[str, Any] = {}
        while count := _block_count(reader, False, 0):
            for _ in range(count):
                key = _decode_string(reader)
                entries[key] = decode_value(reader)
        return entries

    return decode


def _run_encoder(encode: Encoder, value: Any, out: bytearray) -> None:
    try:
        encode(value, out)
    except _Invalid as exc:
        raise CodecError(exc.describe()) from None
    except RecursionError:
        raise CodecError("the value is nested too deeply") from None


def _run_decoder(decode: Decoder, data: bytes, schema: str) -> JSONValue:
    reader = _Reader(data)
    try:
        value = decode(reader)
    except _Corrupt as exc:
        raise CodecError(f"not valid Avro data{schema}: {exc}") from None
    except (IndexError, struct.error):
        raise CodecError(f"not valid Avro data{schema}: it ends early") from None
    except RecursionError:
        raise CodecError(f"not valid Avro data{schema}: nested too deeply") from None
    if reader.pos != len(data):
        left = len(data) - reader.pos
        what = "1 byte is" if left == 1 else f"{left} bytes are"
        raise CodecError(f"not valid Avro data{schema}: {what} left over after the value")
    return value


# --- the codec ----------------------------------------------------------------------------


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
            _run_encoder(encode_value, value, out)
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
            return _run_decoder(decode_value, data, f" of schema id {schema_id}")

        return decode

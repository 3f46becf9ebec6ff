"""Compiling a parsed Avro schema into one encoder and one decoder, nested closures that
convert between a value's JSON form and its Avro binary in one pass: records (with their
fields' defaults), enums, fixed, arrays, maps and unions (`{"<branch>": value}`, null bare),
named types compiled once each and possibly recursive.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from bridge_codecs.avro_binary import (
    PRIMITIVE_DECODERS,
    PRIMITIVE_ENCODERS,
    Decoder,
    Encoder,
    Reader,
    decode_string,
    encode_string,
    latin1,
    long_bytes,
    read_long,
    write_long,
)
from bridge_codecs.avro_errors import Corrupt, DefaultLoop, Invalid, expected, name_list, shorten
from bridge_codecs.avro_schema import NAMED, PRIMITIVES, Schema, branch_name, type_of

__all__ = ["Compiler"]

#: At most this many items of zero-byte types (null, empty records) in one decoded array:
#: a corrupt count must not make the bridge build an enormous list from a few bytes.
_MAX_EMPTY_ITEMS: Final = 1_000_000


class Compiler:
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
        kind = type_of(schema)
        if kind in PRIMITIVES:
            return PRIMITIVE_ENCODERS[kind]
        if kind == "union":
            return self._union_encoder(schema, as_default)
        if kind == "array":
            return self._array_encoder(self._encoder(schema["items"], as_default=as_default))
        if kind == "map":
            return self._map_encoder(self._encoder(schema["values"], as_default=as_default))
        if kind in NAMED:
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
                expected(record, value)
            found = 0
            for field_name, encode_field, default in fields:
                try:
                    item = value[field_name]
                except KeyError:
                    if default is None:
                        error = Invalid(f"missing, and {record} gives no default")
                        error.path.append(field_name)
                        raise error from None
                    if type(default) is not bytes:  # while compiling a default
                        default = default.resolve()
                    out += default
                    continue
                found += 1
                try:
                    encode_field(item, out)
                except Invalid as exc:
                    exc.path.append(field_name)
                    raise
            if found != len(value):
                extra = [key for key in value if key not in field_names]
                raise Invalid(
                    f"{record} has no field {name_list(repr(key) for key in extra)}; "
                    f"its fields are {name_list(field_names_in_order) or 'none'}"
                )

        return encode

    def _union_encoder(self, schema: list[Schema], as_default: bool) -> Encoder:
        if as_default:
            # A default value is the value of the union's first branch, written bare.
            first = self._encoder(schema[0], as_default=True)
            index = long_bytes(0)

            def encode_default(value: Any, out: bytearray) -> None:
                out += index
                first(value, out)

            return encode_default

        names = [branch_name(branch) for branch in schema]
        branches: dict[str, tuple[bytes, Encoder]] = {
            name: (long_bytes(number), self._encoder(branch, as_default=False))
            for number, (name, branch) in enumerate(zip(names, schema, strict=True))
        }
        null = branches.get("null")
        null_index = null[0] if null is not None else None
        forms = ["null" if name == "null" else f"{{{json.dumps(name)}: ...}}" for name in names]
        shape = f"{name_list(forms, limit=4).replace(', ', ' or ')} (a union)"

        def encode(value: Any, out: bytearray) -> None:
            if value is None:
                if null_index is None:
                    raise Invalid(f"expected {shape}, got null")
                out += null_index
                return
            if type(value) is not dict or len(value) != 1:
                expected(shape, value)
            ((name, item),) = value.items()
            branch = branches.get(name)
            if branch is None:
                raise Invalid(
                    f"the union has no branch {name!r}; its branches are {name_list(names)}"
                )
            out += branch[0]
            branch[1](item, out)

        return encode

    @staticmethod
    def _array_encoder(encode_item: Encoder) -> Encoder:
        def encode(value: Any, out: bytearray) -> None:
            if type(value) is not list:
                expected("array", value)
            if value:
                write_long(len(value), out)
                for index, item in enumerate(value):
                    try:
                        encode_item(item, out)
                    except Invalid as exc:
                        exc.path.append(f"[{index}]")
                        raise
            out.append(0)

        return encode

    @staticmethod
    def _map_encoder(encode_value: Encoder) -> Encoder:
        def encode(value: Any, out: bytearray) -> None:
            if not isinstance(value, dict):
                expected("map (an object)", value)
            if value:
                write_long(len(value), out)
                for key, item in value.items():
                    try:
                        encode_string(key, out)
                        encode_value(item, out)
                    except Invalid as exc:
                        exc.path.append(f"[{json.dumps(key, ensure_ascii=False)}]")
                        raise
            out.append(0)

        return encode

    # Decoding.

    def decoder(self, schema: Schema) -> Decoder:
        kind = type_of(schema)
        if kind in PRIMITIVES:
            return PRIMITIVE_DECODERS[kind]
        if kind == "union":
            return self._union_decoder(schema)
        if kind == "array":
            items = schema["items"]
            return _array_decoder(self.decoder(items), self._is_zero_width(items))
        if kind == "map":
            return _map_decoder(self.decoder(schema["values"]))
        if kind in NAMED:
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

        def recursive(reader: Reader) -> Any:
            decode = cell[0]
            assert decode is not None
            return decode(reader)

        return recursive

    def _union_decoder(self, schema: list[Schema]) -> Decoder:
        branches = [
            (branch_name(branch), None if branch == "null" else self.decoder(branch))
            for branch in schema
        ]
        count = len(branches)

        def decode(reader: Reader) -> Any:
            start = reader.pos
            index = read_long(reader)
            if not 0 <= index < count:
                raise Corrupt(f"the union branch {index} at byte {start} does not exist")
            name, decode_branch = branches[index]
            if decode_branch is None:
                return None
            return {name: decode_branch(reader)}

        return decode

    def _is_zero_width(self, schema: Schema) -> bool:
        """Whether values of this type can take no bytes at all (null, empty records)."""
        kind = type_of(schema)
        if kind == "null":
            return True
        if kind in PRIMITIVES or kind in ("union", "array", "map", "enum"):
            return False
        if kind == "fixed":
            return bool(schema["size"] == 0)
        if kind not in NAMED:
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
        self, compiler: Compiler, slot: list[Any], schema: Schema, value: Any, where: str
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
            raise DefaultLoop(f"the default of {self._where} contains itself")
        self._resolving = True
        out = bytearray()
        try:
            self._compiler.default_encoder(self._schema)(self._value, out)
        except DefaultLoop:
            raise
        except Invalid as exc:
            raise Invalid(f"the default of {self._where} does not fit: {exc.describe()}") from None
        finally:
            self._resolving = False
        encoded = self._slot[2] = bytes(out)
        return encoded


def _enum_encoder(name: str, symbols: list[str]) -> Encoder:
    indexes = {symbol: long_bytes(number) for number, symbol in enumerate(symbols)}
    shape = f"a symbol of enum {name!r} ({name_list(symbols)})"

    def encode(value: Any, out: bytearray) -> None:
        index = indexes.get(value) if type(value) is str else None
        if index is None:
            if type(value) is str:
                raise Invalid(f"expected {shape}, got {shorten(value)}")
            expected(shape, value)
        out += index

    return encode


def _fixed_encoder(name: str, size: int) -> Encoder:
    what = f"fixed {name!r} of {size} bytes"

    def encode(value: Any, out: bytearray) -> None:
        data = latin1(value, what)
        if len(data) != size:
            raise Invalid(f"expected {what}, got {len(data)} bytes")
        out += data

    return encode


def _enum_decoder(name: str, symbols: list[str]) -> Decoder:
    count = len(symbols)

    def decode(reader: Reader) -> str:
        start = reader.pos
        index = read_long(reader)
        if not 0 <= index < count:
            raise Corrupt(f"enum {name!r} has no symbol {index} (at byte {start})")
        return symbols[index]

    return decode


def _fixed_decoder(size: int) -> Decoder:
    def decode(reader: Reader) -> str:
        start = reader.pos
        if start + size > reader.end:
            raise IndexError("fixed")
        reader.pos = start + size
        return reader.data[start : start + size].decode("latin-1")

    return decode


def _record_decoder(fields: list[tuple[str, Decoder]]) -> Decoder:
    def decode(reader: Reader) -> dict[str, Any]:
        return {name: decode_field(reader) for name, decode_field in fields}

    return decode


def _block_count(reader: Reader, zero_width: bool, total: int) -> int:
    """The number of items in the next block of an array or map (0 at the end)."""
    start = reader.pos
    count = read_long(reader)
    if count < 0:
        count = -count
        read_long(reader)  # the block's size in bytes, for skipping it
    if zero_width:
        if total + count > _MAX_EMPTY_ITEMS:
            raise Corrupt(f"the array at byte {start} has more than {_MAX_EMPTY_ITEMS} items")
    elif count > reader.end - reader.pos:
        # Every item takes at least one byte.
        raise Corrupt(f"the block at byte {start} claims {count} items, more than there are bytes")
    return count


def _array_decoder(decode_item: Decoder, zero_width: bool) -> Decoder:
    def decode(reader: Reader) -> list[Any]:
        items: list[Any] = []
        while count := _block_count(reader, zero_width, len(items)):
            items.extend([decode_item(reader) for _ in range(count)])
        return items

    return decode


def _map_decoder(decode_value: Decoder) -> Decoder:
    def decode(reader: Reader) -> dict[str, Any]:
        entries: dict[str, Any] = {}
        while count := _block_count(reader, False, 0):
            for _ in range(count):
                key = decode_string(reader)
                entries[key] = decode_value(reader)
        return entries

    return decode

"""Avro binary for single values: the variable-length integers, the reader over a payload,
the encoders and decoders of the primitive types with their JSON forms (`bytes` as strings
of characters U+0000 to U+00FF, NaN and the infinities as strings), and running a compiled
encoder or decoder with its errors turned into CodecError.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from typing import Any, Final, TypeAlias

from bridge_codecs.avro_errors import Corrupt, Invalid, expected
from bridge_codecs.base import CodecError, JSONValue

__all__ = [
    "PRIMITIVE_DECODERS",
    "PRIMITIVE_ENCODERS",
    "Decoder",
    "Encoder",
    "Reader",
    "decode_string",
    "encode_string",
    "latin1",
    "long_bytes",
    "read_long",
    "run_decoder",
    "run_encoder",
    "write_long",
]

#: Appends the Avro binary form of one JSON value to the buffer.
Encoder: TypeAlias = Callable[[Any, bytearray], None]
#: Reads one value from the reader and returns its JSON form.
Decoder: TypeAlias = Callable[["Reader"], Any]

_INT_MIN: Final = -(2**31)
_INT_MAX: Final = 2**31 - 1
_LONG_MIN: Final = -(2**63)
_LONG_MAX: Final = 2**63 - 1
_FLOAT: Final = struct.Struct("<f")
_DOUBLE: Final = struct.Struct("<d")
#: The JSON strings that stand for the floating-point values JSON numbers cannot be.
_SPECIAL_FLOATS: Final = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def write_long(value: int, out: bytearray) -> None:
    """Zig-zag and variable-length encoding of a 64-bit integer (Avro `int` and `long`)."""
    value = (value << 1) ^ (value >> 63)
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def long_bytes(value: int) -> bytes:
    out = bytearray()
    write_long(value, out)
    return bytes(out)


class Reader:
    __slots__ = ("data", "end", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.end = len(data)


def read_long(reader: Reader) -> int:
    data = reader.data
    pos = reader.pos
    byte = data[pos]
    pos += 1
    value = byte & 0x7F
    shift = 7
    while byte & 0x80:
        if shift > 63:
            raise Corrupt(f"a variable-length integer at byte {reader.pos} is too long")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
    if value >> 64:
        raise Corrupt(f"the integer at byte {reader.pos} is beyond 64 bits")
    reader.pos = pos
    return (value >> 1) ^ -(value & 1)


def _read_length(reader: Reader, what: str) -> int:
    start = reader.pos
    length = read_long(reader)
    if length < 0:
        raise Corrupt(f"the {what} at byte {start} has a negative length ({length})")
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
        raise Invalid(f"expected {what}, got {value!r}")
    expected(what, value)


def _encode_null(value: Any, out: bytearray) -> None:
    if value is not None:
        expected("null", value)


def _encode_boolean(value: Any, out: bytearray) -> None:
    if value is True:
        out.append(1)
    elif value is False:
        out.append(0)
    else:
        expected("boolean", value)


def _encode_int(value: Any, out: bytearray) -> None:
    if type(value) is not int:
        value = _integral(value, "int")
    if not _INT_MIN <= value <= _INT_MAX:
        raise Invalid(f"expected int, got {value}, which is beyond 32 bits")
    write_long(value, out)


def _encode_long(value: Any, out: bytearray) -> None:
    if type(value) is not int:
        value = _integral(value, "long")
    if not _LONG_MIN <= value <= _LONG_MAX:
        raise Invalid(f"expected long, got {value}, which is beyond 64 bits")
    write_long(value, out)


def _floating(value: Any, what: str) -> float:
    kind = type(value)
    if kind is float:
        return float(value)
    if kind is int:
        try:
            return float(value)
        except OverflowError:
            raise Invalid(f"expected {what}, got {value}, which is beyond its range") from None
    if kind is str and value in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[value]
    expected(what, value)


def _encode_float(value: Any, out: bytearray) -> None:
    number = _floating(value, "float")
    try:
        out += _FLOAT.pack(number)
    except OverflowError:
        raise Invalid(f"expected float, got {value}, which is beyond its range") from None


def _encode_double(value: Any, out: bytearray) -> None:
    out += _DOUBLE.pack(_floating(value, "double"))


def latin1(value: Any, what: str) -> bytes:
    if type(value) is not str:
        expected(f"{what} (a string of characters U+0000 to U+00FF)", value)
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise Invalid(
            f"expected {what} as a string of characters U+0000 to U+00FF (one per byte), "
            f"got U+{ord(value[exc.start]):04X} at index {exc.start}"
        ) from None


def _utf8(value: Any) -> bytes:
    if type(value) is not str:
        expected("string", value)
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise Invalid(
            f"the string has a lone surrogate at index {exc.start}, which has no UTF-8 form"
        ) from None


def _encode_bytes(value: Any, out: bytearray) -> None:
    data = latin1(value, "bytes")
    write_long(len(data), out)
    out += data


def encode_string(value: Any, out: bytearray) -> None:
    data = _utf8(value)
    write_long(len(data), out)
    out += data


PRIMITIVE_ENCODERS: Final[dict[str, Encoder]] = {
    "null": _encode_null,
    "boolean": _encode_boolean,
    "int": _encode_int,
    "long": _encode_long,
    "float": _encode_float,
    "double": _encode_double,
    "bytes": _encode_bytes,
    "string": encode_string,
}


# Decoders of the primitive types.


def _decode_null(reader: Reader) -> None:
    return None


def _decode_boolean(reader: Reader) -> bool:
    byte = reader.data[reader.pos]
    if byte > 1:
        raise Corrupt(f"the boolean at byte {reader.pos} is {byte}, not 0 or 1")
    reader.pos += 1
    return byte == 1


def _decode_int(reader: Reader) -> int:
    start = reader.pos
    value = read_long(reader)
    if not _INT_MIN <= value <= _INT_MAX:
        raise Corrupt(f"the int at byte {start} is beyond 32 bits")
    return value


def _decode_float(reader: Reader) -> float | str:
    (value,) = _FLOAT.unpack_from(reader.data, reader.pos)
    reader.pos += 4
    return _json_float32(value)


def _decode_double(reader: Reader) -> float | str:
    (value,) = _DOUBLE.unpack_from(reader.data, reader.pos)
    reader.pos += 8
    return _json_float(value)


def _decode_bytes(reader: Reader) -> str:
    length = _read_length(reader, "bytes")
    start = reader.pos
    reader.pos = start + length
    return reader.data[start : start + length].decode("latin-1")


def decode_string(reader: Reader) -> str:
    length = _read_length(reader, "string")
    start = reader.pos
    reader.pos = start + length
    try:
        return reader.data[start : start + length].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Corrupt(f"the string at byte {start} is not valid UTF-8 ({exc.reason})") from None


PRIMITIVE_DECODERS: Final[dict[str, Decoder]] = {
    "null": _decode_null,
    "boolean": _decode_boolean,
    "int": _decode_int,
    "long": read_long,
    "float": _decode_float,
    "double": _decode_double,
    "bytes": _decode_bytes,
    "string": decode_string,
}


# Running a compiled encoder or decoder.


def run_encoder(encode: Encoder, value: Any, out: bytearray) -> None:
    try:
        encode(value, out)
    except Invalid as exc:
        raise CodecError(exc.describe()) from None
    except RecursionError:
        raise CodecError("the value is nested too deeply") from None


def run_decoder(decode: Decoder, data: bytes, schema: str) -> JSONValue:
    reader = Reader(data)
    try:
        value = decode(reader)
    except Corrupt as exc:
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

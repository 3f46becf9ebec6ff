"""The `binary` embedded format: record bytes carried in JSON as standard base64 strings."""

from __future__ import annotations

import binascii

from bridge_codecs.base import CodecError, JSONValue, SimpleCodec

__all__ = ["BinaryCodec"]

_EXPECTED = "expected a base64-encoded string"
_JSON_TYPES = {bool: "boolean", int: "number", float: "number", list: "array", dict: "object"}


class BinaryCodec(SimpleCodec):
    """Base64 (RFC 4648 standard alphabet, padding required) in JSON, raw bytes in Kafka."""

    name = "binary"

    def encode(self, value: JSONValue) -> bytes:
        if not isinstance(value, str):
            got = "null" if value is None else _JSON_TYPES.get(type(value), type(value).__name__)
            raise CodecError(f"{_EXPECTED}, got a JSON {got}")
        # strict_mode still accepts surplus padding ("a2V5=", "a2V5===="): padded base64 is
        # whole groups of four characters ending in at most two '='.
        if len(value) % 4 or value.endswith("==="):
            raise CodecError(f"{_EXPECTED}: its length must be a multiple of 4, with padding")
        try:
            return binascii.a2b_base64(value, strict_mode=True)
        except ValueError as exc:  # binascii.Error, or characters outside ASCII
            raise CodecError(f"{_EXPECTED}: {exc}") from None

    def decode(self, payload: bytes) -> JSONValue:
        return binascii.b2a_base64(payload, newline=False).decode("ascii")

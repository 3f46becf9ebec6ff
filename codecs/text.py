"""The `text` embedded format: a JSON string in the request, its UTF-8 bytes in Kafka."""

from __future__ import annotations

from bridge_codecs.base import CodecError, JSONValue, SimpleCodec

__all__ = ["TextCodec"]

_JSON_TYPES = {bool: "boolean", int: "number", float: "number", list: "array", dict: "object"}


class TextCodec(SimpleCodec):
    """A string in JSON, strict UTF-8 in Kafka."""

    name = "text"

    def encode(self, value: JSONValue) -> bytes:
        if not isinstance(value, str):
            got = "null" if value is None else _JSON_TYPES.get(type(value), type(value).__name__)
            raise CodecError(f"expected a string, got a JSON {got}")
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate such as "\ud800" from a JSON escape
            raise CodecError(f"expected a string that can be encoded as UTF-8: {exc}") from None

    def decode(self, payload: bytes) -> JSONValue:
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CodecError(f"not valid UTF-8 text: {exc}") from None

"""The `json` embedded format: any JSON value in the request, its JSON text in Kafka."""

from __future__ import annotations

from bridge_codecs import jsontext
from bridge_codecs.base import CodecError, JSONValue, SimpleCodec

__all__ = ["JsonCodec"]


class JsonCodec(SimpleCodec):
    """Compact UTF-8 JSON in Kafka; integers of any size are kept exact both ways."""

    name = "json"

    def encode(self, value: JSONValue) -> bytes:
        try:
            return jsontext.dumps(value)
        except (TypeError, ValueError, RecursionError) as exc:  # incl. UnicodeEncodeError
            raise CodecError(f"not encodable as JSON: {exc}") from None

    def decode(self, payload: bytes) -> JSONValue:
        try:
            return jsontext.loads(payload)
        except (ValueError, RecursionError) as exc:  # incl. JSONDecodeError, UnicodeDecodeError
            raise CodecError(f"not valid JSON: {exc}") from None

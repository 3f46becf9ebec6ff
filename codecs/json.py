"""The `json` embedded format: any JSON value in the request, its JSON text in Kafka."""

from __future__ import annotations

import json
import re
from typing import NoReturn

import orjson

from bridge_codecs.base import CodecError, JSONValue, SimpleCodec

__all__ = ["JsonCodec"]

# orjson reads an integer outside the 64-bit range as a float, silently dropping digits. Such
# a number has at least 19 digits, so only payloads with a run that long take the exact (and
# slower) standard-library parser; a match inside a string merely costs speed.
_LONG_NUMBER = re.compile(rb"[0-9]{19}")


class JsonCodec(SimpleCodec):
    """Compact UTF-8 JSON in Kafka; integers of any size are kept exact both ways."""

    name = "json"

    def encode(self, value: JSONValue) -> bytes:
        try:
            return orjson.dumps(value)
        except orjson.JSONEncodeError:
            # Mostly an integer beyond 64 bits, which JSON allows; the standard library writes
            # it exactly. Anything orjson rejected for another reason fails there as well.
            pass
        try:
            text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
            return text.encode("utf-8")
        except (TypeError, ValueError, RecursionError) as exc:  # incl. UnicodeEncodeError
            raise CodecError(f"not encodable as JSON: {exc}") from None

    def decode(self, payload: bytes) -> JSONValue:
        try:
            if _LONG_NUMBER.search(payload) is None:
                return orjson.loads(payload)
            return json.loads(payload.decode("utf-8"), parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:  # incl. JSONDecodeError, UnicodeDecodeError
            raise CodecError(f"not valid JSON: {exc}") from None


def _reject_constant(name: str) -> NoReturn:
    # The standard library accepts NaN and Infinity, which are not JSON (orjson rejects them).
    raise ValueError(f"{name} is not a JSON value")

"""Reading JSON text fast and exactly: orjson, except where it would lose digits.

orjson reads an integer outside the 64-bit range as a float, silently dropping digits. Such
a number has at least 19 digits, so only documents with a run that long take the exact (and
slower) standard-library parser; a match inside a string merely costs speed. Request bodies
and the `json` format both read JSON through here.
"""

from __future__ import annotations

import json
import re
from typing import Any, NoReturn

import orjson

_LONG_NUMBER = re.compile(rb"[0-9]{19}")


def _reject_constant(name: str) -> NoReturn:
    # The standard library accepts NaN and Infinity, which are not JSON (orjson rejects them).
    raise ValueError(f"{name} is not a JSON value")


def loads(document: bytes) -> Any:
    """The parsed document; ValueError (or RecursionError) when it is not JSON."""
    if _LONG_NUMBER.search(document) is None:
        return orjson.loads(document)
    return json.loads(document.decode("utf-8"), parse_constant=_reject_constant)


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON of `value`, integers of any size written exactly.

    orjson first (the hot path); it refuses integers beyond 64 bits, which JSON allows and
    consumed records may hold, so those documents go through the standard library.
    """
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return text.encode("utf-8")

"""Reading JSON text fast and exactly: orjson, except where it would lose digits.

orjson reads an integer outside the 64-bit range as a float, silently dropping digits. Such
a number has at least 19 digits, so only documents with a run of 19 ASCII digits take the
exact (and slower) standard-library parser; a run inside a string or a fraction merely costs
speed. Request bodies and the `json` format both read JSON through here.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

import orjson

#: Every ASCII digit to "0", every other byte to a space: a run of digits survives as a run
#: of "0". One `translate` and one `in` cost a tenth of the regular expression `[0-9]{19}`.
_DIGITS_ONLY = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_RUN = b"0" * 19


def has_long_digit_run(document: bytes) -> bool:
    """Whether `document` holds 19 ASCII digits in a row (where orjson could lose digits)."""
    return _LONG_RUN in document.translate(_DIGITS_ONLY)


def _reject_constant(name: str) -> NoReturn:
    # The standard library accepts NaN and Infinity, which are not JSON (orjson rejects them).
    raise ValueError(f"{name} is not a JSON value")


def loads(document: bytes) -> Any:
    """The parsed document; ValueError (or RecursionError) when it is not JSON."""
    if not has_long_digit_run(document):
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

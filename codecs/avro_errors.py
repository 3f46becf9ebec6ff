"""What goes wrong with Avro values and data, and how the avro codec words it: a JSON value
that does not fit its schema (with the path to it), bytes that are not Avro data, and the
helpers that describe values and lists of names in those messages.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import NoReturn

__all__ = ["Corrupt", "DefaultLoop", "Invalid", "expected", "name_list", "shorten"]


class Invalid(Exception):
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


class DefaultLoop(Invalid):
    """A default value that needs itself (a record's default holding that record)."""


class Corrupt(Exception):
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


def shorten(value: object) -> str:
    """A value as JSON, cut short if long."""
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= 40 else text[:37] + "..."


def expected(what: str, value: object) -> NoReturn:
    """Raise Invalid: `what` was expected, and the value is not one."""
    raise Invalid(f"expected {what}, got {_kind(value)}")


def name_list(names: Iterable[str], limit: int = 10) -> str:
    """Names joined with commas, the first `limit` of them and a count of the rest."""
    listed = list(names)
    shown = ", ".join(listed[:limit])
    return shown + (f" and {len(listed) - limit} more" if len(listed) > limit else "")

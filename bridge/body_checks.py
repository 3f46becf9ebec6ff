"""Quick verdicts on produce bodies, so that a good one skips jsonschema.

jsonschema costs about 13 µs per record (it resolves each `$ref` anew), most of a produce
request's CPU time. These checks, written by hand for the produce bodies of `schemas/v1.json`
and `schemas/v2.json`, answer True only for a body those schemas accept; anything else,
including what they cannot be sure of, answers False and `bridge.validation` asks jsonschema,
which has the last word and writes the error messages. tests/unit/test_body_checks.py
compares the verdicts with jsonschema's; change both when a produce schema changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_INT32_MAX = 2**31 - 1
_INT64_MAX = 2**63 - 1
_BODY_FIELDS = frozenset(
    {"records", "key_schema", "key_schema_id", "value_schema", "value_schema_id"}
)
_HEADER_FIELDS = frozenset({"key", "value"})


def _integer_in(value: Any, low: int, high: int) -> bool:
    """JSON Schema's `integer` from `low` to `high`: 3.0 is one, a boolean is not."""
    kind = type(value)
    if kind is float:
        return bool(value.is_integer() and low <= value <= high)
    return kind is int and bool(low <= value <= high)


def _headers_fit(headers: Any) -> bool:
    if type(headers) is not list:
        return False
    for header in headers:
        if (
            type(header) is not dict
            or header.keys() != _HEADER_FIELDS
            or type(header["key"]) is not str
            or type(header["value"]) is not str
        ):
            return False
    return True


def _records_fit(records: list[Any], fields: frozenset[str]) -> bool:
    """`fields`: what a record may hold besides `value`, which it must."""
    for record in records:
        if type(record) is not dict or "value" not in record or not fields.issuperset(record):
            return False
        if len(record) == 1 or (len(record) == 2 and "key" in record):
            continue  # `value` and perhaps `key`: any JSON value
        # Fields absent from `fields` are absent from `record` too, so get() answers None.
        partition = record.get("partition")
        if partition is not None and not _integer_in(partition, 0, _INT32_MAX):
            return False
        timestamp = record.get("timestamp")
        if timestamp is not None and not _integer_in(timestamp, 0, _INT64_MAX):
            return False
        headers = record.get("headers")
        if headers is not None and not _headers_fit(headers):
            return False
    return True


def _produce_body(record_fields: set[str]) -> Callable[[Any], bool]:
    fields = frozenset(record_fields)

    def fits(data: Any) -> bool:
        if type(data) is not dict or not _BODY_FIELDS.issuperset(data):
            return False
        records = data.get("records")
        if type(records) is not list:
            return False
        for name in ("key_schema", "value_schema"):
            schema = data.get(name)
            if schema is not None and type(schema) is not str:
                return False
        for name in ("key_schema_id", "value_schema_id"):
            schema_id = data.get(name)
            if schema_id is not None and not _integer_in(schema_id, 0, _INT32_MAX):
                return False
        return _records_fit(records, fields)

    return fits


#: By (schema document, body name) as `bridge.validation.validate` is called.
FAST_CHECKS: dict[tuple[str, str], Callable[[Any], bool]] = {
    ("v1", "produce_to_topic"): _produce_body({"key", "value", "partition"}),
    ("v1", "produce_to_partition"): _produce_body({"key", "value"}),
    ("v2", "produce_to_topic"): _produce_body(
        {"key", "value", "partition", "timestamp", "headers"}
    ),
    ("v2", "produce_to_partition"): _produce_body({"key", "value", "timestamp", "headers"}),
}

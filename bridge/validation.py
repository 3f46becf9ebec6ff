"""Checks request bodies against the JSON Schemas in `bridge_schemas` before handlers run.

Validators are compiled once per (dialect, body) and reused; a failure lists every problem
with the JSON path where it was found. Produce bodies, the large and frequent ones, first get
a quick verdict from `bridge.body_checks`; only one it cannot pass goes to jsonschema.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

import bridge_schemas
from bridge.body_checks import FAST_CHECKS
from bridge.errors import BridgeError, ErrorKind
from bridge_codecs import jsontext

#: A response need not list hundreds of problems to be useful.
_MAX_PROBLEMS = 20
#: A JSON escape of half a surrogate pair (`\ud800`): only such a body can hold a string that
#: is not Unicode text.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


@cache
def _validator(dialect: str, body: str) -> Draft202012Validator:
    document = bridge_schemas.load(dialect)
    schema = {**document, "$ref": f"#/$defs/{body}"}
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _where(error: ValidationError) -> str:
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.path)
    return f"body{path}"


def parse_json(raw: bytes) -> Any:
    """The parsed body; MALFORMED_BODY when it is not JSON or holds a string that is not
    Unicode text (an escaped lone surrogate, which no Kafka client, codec or error message
    can encode)."""
    try:
        data = jsontext.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise BridgeError(
            ErrorKind.MALFORMED_BODY, f"The request body is not valid JSON: {exc}"
        ) from None
    if _SURROGATE_ESCAPE.search(raw) is not None and not _all_text(data):
        raise BridgeError(
            ErrorKind.MALFORMED_BODY,
            "The request body is not valid JSON: a string holds half of a surrogate pair "
            "(such as \\ud800 without its partner), which is not Unicode text",
        )
    return data


def _all_text(data: Any) -> bool:
    """Whether every string in `data`, object keys included, encodes as UTF-8."""
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return True


def validate(
    data: Any, dialect: str, body: str, what: str, kind: ErrorKind = ErrorKind.INVALID_BODY
) -> None:
    """Raise `kind` (INVALID_BODY) listing the problems if `data` does not fit the schema.

    `what` names the body in the message, for example "The record list".
    """
    fits = FAST_CHECKS.get((dialect, body))
    if fits is not None and fits(data):
        return
    errors = sorted(
        _validator(dialect, body).iter_errors(data),
        key=lambda e: [(isinstance(part, str), part) for part in e.path],
    )
    if not errors:
        return
    problems = [f"{_where(e)}: {e.message}" for e in errors[:_MAX_PROBLEMS]]
    if len(errors) > _MAX_PROBLEMS:
        problems.append(f"... and {len(errors) - _MAX_PROBLEMS} more")
    raise BridgeError(kind, f"{what} is not valid", problems)

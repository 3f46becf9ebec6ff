"""Checks request bodies against the JSON Schemas in `bridge_schemas` before handlers run.

Validators are compiled once per (dialect, body) and reused; a failure lists every problem
with the JSON path where it was found.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

import bridge_schemas
from bridge.errors import BridgeError, ErrorKind
from bridge_codecs import jsontext

#: A response need not list hundreds of problems to be useful.
_MAX_PROBLEMS = 20


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
    """The parsed body; MALFORMED_BODY when it is not JSON."""
    try:
        return jsontext.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise BridgeError(
            ErrorKind.MALFORMED_BODY, f"The request body is not valid JSON: {exc}"
        ) from None


def validate(
    data: Any, dialect: str, body: str, what: str, kind: ErrorKind = ErrorKind.INVALID_BODY
) -> None:
    """Raise `kind` (INVALID_BODY) listing the problems if `data` does not fit the schema.

    `what` names the body in the message, for example "The record list".
    """
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

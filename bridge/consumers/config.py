"""A consumer instance's configuration: what a creation request asked for, checked and
normalised, with the bridge's defaults filling the gaps.

Both dialects create consumers with the same body; the field names of both are taken (`id`
and `name`, `auto.commit.enable` and `enable.auto.commit`, `smallest` and `earliest`), and
the values may be JSON booleans and numbers or the strings that Confluent clients send.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bridge.errors import BridgeError, ErrorKind

DEFAULT_FORMAT = "binary"
_OFFSET_RESETS = {
    "earliest": "earliest",
    "smallest": "earliest",
    "latest": "latest",
    "largest": "latest",
    "none": "none",
}
_ISOLATION_LEVELS = ("read_uncommitted", "read_committed")
_INT32_MAX = 2**31 - 1


@dataclass(frozen=True)
class ConsumerDefaults:
    """What an instance gets for each setting its creation request leaves out."""

    auto_offset_reset: str = "latest"
    auto_commit: bool = True
    fetch_min_bytes: int = 1
    isolation_level: str = "read_uncommitted"
    request_timeout_ms: int = 5_000


@dataclass(frozen=True)
class ConsumerConfig:
    group: str
    name: str
    format: str
    auto_offset_reset: str
    auto_commit: bool
    fetch_min_bytes: int
    isolation_level: str
    #: How long a read waits for records when the request gives no `timeout`.
    request_timeout_ms: int

    @classmethod
    def from_body(
        cls, group: str, body: Mapping[str, Any], defaults: ConsumerDefaults
    ) -> ConsumerConfig:
        """The configuration a creation body asks for; INVALID_CONSUMER_CONFIG if it cannot be.

        The body has already been checked against the `new_consumer` schema (field names and
        JSON types); this checks the values.
        """
        problems: list[str] = []

        def invalid(field: str, value: Any, expected: str) -> None:
            problems.append(f"{field}: {value!r} is not valid; expected {expected}")

        name = _one_of(body, "name", "id", problems)
        fmt = body.get("format")
        fmt = DEFAULT_FORMAT if fmt is None else fmt.lower()

        reset = body.get("auto.offset.reset")
        auto_offset_reset = defaults.auto_offset_reset
        if reset is not None:
            if reset.lower() in _OFFSET_RESETS:
                auto_offset_reset = _OFFSET_RESETS[reset.lower()]
            else:
                invalid("auto.offset.reset", reset, "earliest, latest, smallest, largest or none")

        auto_commit = defaults.auto_commit
        flag = _one_of(body, "enable.auto.commit", "auto.commit.enable", problems)
        if flag is not None:
            parsed = _flag(flag)
            if parsed is None:
                sent = next(f for f in ("enable.auto.commit", "auto.commit.enable") if f in body)
                invalid(sent, flag, "true or false")
            else:
                auto_commit = parsed

        isolation = body.get("isolation.level")
        isolation_level = defaults.isolation_level
        if isolation is not None:
            if isolation.lower() in _ISOLATION_LEVELS:
                isolation_level = isolation.lower()
            else:
                invalid("isolation.level", isolation, " or ".join(_ISOLATION_LEVELS))

        fetch_min_bytes = _count(body, "fetch.min.bytes", defaults.fetch_min_bytes, problems)
        request_timeout_ms = _count(
            body, "consumer.request.timeout.ms", defaults.request_timeout_ms, problems
        )
        if problems:
            raise BridgeError(
                ErrorKind.INVALID_CONSUMER_CONFIG,
                "One or more consumer configuration options have invalid values",
                problems,
            )
        return cls(
            group=group,
            name=name if name is not None else f"kafka-bridge-consumer-{uuid.uuid4()}",
            format=fmt,
            auto_offset_reset=auto_offset_reset,
            auto_commit=auto_commit,
            fetch_min_bytes=fetch_min_bytes,
            isolation_level=isolation_level,
            request_timeout_ms=request_timeout_ms,
        )


def _one_of(body: Mapping[str, Any], first: str, second: str, problems: list[str]) -> Any:
    """The value of a setting that two spellings name; both given must agree."""
    a, b = body.get(first), body.get(second)
    if a is not None and b is not None and a != b:
        problems.append(f"{first} ({a!r}) and {second} ({b!r}) disagree; give one of them")
    return a if a is not None else b


def _flag(value: bool | str) -> bool | None:
    if isinstance(value, bool):
        return value
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    return None


def _count(body: Mapping[str, Any], field: str, default: int, problems: list[str]) -> int:
    value = body.get(field)
    if value is None:
        return default
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip())
    if number is None or not 0 <= number <= _INT32_MAX:
        problems.append(
            f"{field}: {value!r} is not valid; expected an integer from 0 to {_INT32_MAX}"
        )
        return default
    return number

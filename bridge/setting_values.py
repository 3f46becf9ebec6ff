"""Value parsers for settings: each takes the stripped text of one value and returns it typed,
or raises ValueError saying what it wants (the caller adds the key and the source)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def non_empty(text: str) -> str:
    if not text:
        raise ValueError("must not be empty")
    return text


def bootstrap_servers(text: str) -> str:
    if not text:
        # An empty value is usually a template variable that was never filled in; falling
        # back to the in-memory development broker in that case would silently lose data.
        raise ValueError(
            "must not be empty (leave it unset to start the embedded development broker)"
        )
    servers = [part.strip() for part in text.split(",")]
    if any(not server or " " in server for server in servers):
        raise ValueError("expected host:port[,host:port...]")
    return ",".join(servers)


def host(text: str) -> str:
    if not text or any(ch.isspace() for ch in text):
        raise ValueError("expected a host name or IP address")
    return text


def optional_host(text: str) -> str | None:
    return host(text) if text else None


def int_range(low: int, high: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        # int() alone would also take "1_000", "+5" and non-ASCII digits.
        if not re.fullmatch(r"-?[0-9]+", text):
            raise ValueError("expected an integer")
        number = int(text)
        if number < low or (high is not None and number > high):
            raise ValueError(f"must be between {low} and {high}" if high else f"must be >= {low}")
        return number

    return parse


def boolean(text: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise ValueError("expected true or false")
    return text.lower() == "true"


def optional_url(text: str) -> str | None:
    if not text:
        return None  # an empty value unsets it, so a flag can undo what a file set
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("expected an absolute http:// or https:// URL")
    if parts.query or parts.fragment:
        raise ValueError("must not have a query or a fragment")
    return text.rstrip("/")


def log_level(text: str) -> str:
    level = text.upper()
    level = "WARNING" if level == "WARN" else level
    if level not in LOG_LEVELS:
        raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}")
    return level


def choice(*options: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text.lower() not in options:
            raise ValueError(f"expected one of {', '.join(options)}")
        return text.lower()

    return parse


def optional_int_range(low: int, high: int | None = None) -> Callable[[str], int | None]:
    """An integer in range, or empty for unset."""
    parse_int = int_range(low, high)

    def parse(text: str) -> int | None:
        return parse_int(text) if text else None

    return parse


def optional_file(text: str) -> str | None:
    """A path to a readable file, or empty for unset; checked now so a typo fails at start."""
    if not text:
        return None
    path = Path(text)
    if not path.is_file():
        raise ValueError("no such file")
    return str(path)


def _comma_list(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def http_tokens(text: str) -> tuple[str, ...]:
    """A comma list of HTTP tokens (method or header names); empty means none."""
    items = _comma_list(text)
    if not all(_TOKEN.fullmatch(item) for item in items):
        raise ValueError("expected a comma-separated list of HTTP method or header names")
    return items


def origins(text: str) -> tuple[str, ...]:
    """A comma list of `*` or `scheme://host[:port]` origins; empty means none."""
    items = _comma_list(text)
    for item in items:
        parts = urlsplit(item)
        if item != "*" and (not parts.scheme or not parts.netloc or parts.path):
            raise ValueError("expected `*` or origins such as https://app.example.com:8443")
    return tuple(item.rstrip("/") for item in items)

"""HTTP content negotiation: what a request's Content-Type says, and which type to answer in.

This module owns the media-type grammar shared by both dialects (Confluent REST Proxy v1 and
Kafka Bridge v2): parsing `Content-Type` into an API version and embedded format, and
choosing a response type from `Accept`. It knows nothing about handlers or codecs; embedded
format names are opaque strings because formats are plugins.
"""

from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass

import mimeparse

from bridge.errors import BridgeError, ErrorKind

__all__ = [
    "LATEST_VERSION",
    "SUPPORTED_VERSIONS",
    "BodyType",
    "ResponseType",
    "negotiate_response",
    "parse_content_type",
    "requested_format",
]

SUPPORTED_VERSIONS: frozenset[int] = frozenset({1, 2})
LATEST_VERSION: int = 2

# Bounded so that clients sending endless distinct headers cannot grow memory; real traffic
# uses a handful of distinct values, so hits dominate.
_CACHE_SIZE = 256
# Header values are echoed in error messages; cap them so a huge header is not reflected.
_MAX_ECHO = 200

_JSON = "application/json"
_FORMAT = r"[a-z0-9][a-z0-9_-]*"
# `vnd.kafka[.fmt][.vN]+json`. The lookahead stops a version segment (`v2` in
# `vnd.kafka.v2+json`) from being read as a format, and so forbids formats named like `v9`.
_KAFKA_SUBTYPE = re.compile(
    rf"vnd\.kafka(?:\.(?!v[0-9]+[.+])(?P<fmt>{_FORMAT}))?(?:\.v(?P<ver>0|[1-9][0-9]*))?\+json"
)
_FORMAT_NAME = re.compile(_FORMAT)


@dataclass(frozen=True)
class BodyType:
    """What a request's Content-Type says about its body."""

    version: int | None  # None: the type named no API version
    embedded_format: str | None  # None: the type named no embedded format (callers assume binary)


@dataclass(frozen=True)
class ResponseType:
    """The negotiated response: the dialect to answer in and the exact Content-Type to send."""

    version: int
    content_type: str


def _echo(header: str) -> str:
    return header if len(header) <= _MAX_ECHO else header[:_MAX_ECHO] + "..."


def _versions_text() -> str:
    return ", ".join(f"v{v}" for v in sorted(SUPPORTED_VERSIONS))


def parse_content_type(header: str | None) -> BodyType | None:
    """Read a request's Content-Type; None when it is absent or blank.

    Raises a 415 `BridgeError` for types the bridge does not accept and for API versions it
    does not support.
    """
    if header is None:
        return None
    normalized = header.strip().lower()
    if not normalized:
        return None
    return _parse_content_type(normalized)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _parse_content_type(header: str) -> BodyType:
    try:
        main, sub, _params = mimeparse.parse_mime_type(header)
    except ValueError:
        raise _unsupported_type(header) from None
    if main == "application":
        # Both are listed by the references as compatibility fallbacks with no version/format.
        if sub in ("json", "octet-stream"):
            return BodyType(None, None)
        match = _KAFKA_SUBTYPE.fullmatch(sub)
        if match is not None:
            ver = match.group("ver")
            version = int(ver) if ver is not None else None
            if version is not None and version not in SUPPORTED_VERSIONS:
                raise BridgeError(
                    ErrorKind.UNSUPPORTED_MEDIA_TYPE,
                    f"Unsupported API version v{version} in Content-Type {_echo(header)!r}; "
                    f"supported versions: {_versions_text()}",
                )
            return BodyType(version, match.group("fmt"))
    raise _unsupported_type(header)


def _unsupported_type(header: str) -> BridgeError:
    return BridgeError(
        ErrorKind.UNSUPPORTED_MEDIA_TYPE,
        f"Unsupported Content-Type {_echo(header)!r}; expected "
        "application/vnd.kafka[.<embedded_format>][.v<version>]+json, application/json "
        f"or application/octet-stream (supported versions: {_versions_text()})",
    )


class _Kind(enum.Enum):
    KAFKA = "kafka"  # a `vnd.kafka...+json` range, possibly with version and format
    JSON = "json"  # exactly application/json
    WILDCARD = "wildcard"  # application/* or */*
    OTHER = "other"  # well-formed but nothing the bridge produces


# Precedence of matching ranges (RFC 9110 section 12.5.1: the most specific range that
# matches a candidate decides its quality).
_SPEC_KAFKA_VERSION_FORMAT = 7
_SPEC_KAFKA_VERSION = 6
_SPEC_KAFKA_FORMAT = 5
_SPEC_KAFKA = 4
_SPEC_JSON = 3
_SPEC_APPLICATION_ANY = 2
_SPEC_ANY = 1
_SPEC_NONE = 0


@dataclass(frozen=True)
class _Range:
    kind: _Kind
    version: int | None
    fmt: str | None
    q: float
    specificity: int


@dataclass(frozen=True)
class _Candidate:
    version: int
    content_type: str
    kafka: bool


def negotiate_response(
    accept: str | None, *, version: int | None = None, record_format: str | None = None
) -> ResponseType:
    """Choose the response version and Content-Type from an Accept header.

    `version` pins the dialect (when the request's Content-Type named one); `record_format`
    is the embedded format of records in the response (e.g. consumer reads), or None when the
    response carries no records. Raises a 406 `BridgeError` when nothing acceptable remains.
    """
    if version is not None and version not in SUPPORTED_VERSIONS:
        # Callers pass versions already validated by parse_content_type or the router.
        raise ValueError(f"unsupported API version {version}")
    if record_format is not None:
        record_format = record_format.lower()
        if _FORMAT_NAME.fullmatch(record_format) is None:
            raise ValueError(f"invalid embedded format name {record_format!r}")
    normalized = (accept or "").strip().lower() or "*/*"
    return _negotiate(normalized, version, record_format)


def requested_format(accept: str | None) -> str | None:
    """The embedded format an Accept header asks for, where the request itself does not
    fix one (group-less partition reads): that of its most preferred `vnd.kafka.<format>`
    range; None when no range names a format."""
    normalized = (accept or "").strip().lower()
    if not normalized:
        return None
    named = [r for r in _parse_accept(normalized) if r.kind is _Kind.KAFKA and r.fmt and r.q > 0]
    if not named:
        return None
    # max() keeps the first of equals: the client's own order breaks ties.
    return max(named, key=lambda r: r.q).fmt


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _negotiate(accept: str, version: int | None, record_format: str | None) -> ResponseType:
    ranges = _parse_accept(accept)
    best: tuple[float, int] | None = None
    chosen: _Candidate | None = None
    for candidate in _candidates(version, record_format):
        q, specificity = _quality(candidate, ranges, record_format)
        if q <= 0:
            continue
        # Strictly greater: ties go to the earlier candidate, i.e. the server's preference.
        if best is None or (q, specificity) > best:
            best = (q, specificity)
            chosen = candidate
    if chosen is None:
        producible = ", ".join(c.content_type for c in _candidates(version, record_format))
        raise BridgeError(
            ErrorKind.NOT_ACCEPTABLE,
            f"None of the media types in Accept {_echo(accept)!r} can be produced; "
            f"this resource can respond with: {producible}",
        )
    return ResponseType(chosen.version, chosen.content_type)


def _candidates(version: int | None, record_format: str | None) -> list[_Candidate]:
    if version is not None:
        versions = [version]
    else:
        others = sorted(SUPPORTED_VERSIONS - {LATEST_VERSION}, reverse=True)
        versions = [LATEST_VERSION, *others]
    prefix = f"application/vnd.kafka.{record_format}" if record_format else "application/vnd.kafka"
    candidates = [_Candidate(v, f"{prefix}.v{v}+json", kafka=True) for v in versions]
    json_version = version if version is not None else LATEST_VERSION
    candidates.append(_Candidate(json_version, _JSON, kafka=False))
    return candidates


def _quality(
    candidate: _Candidate, ranges: tuple[_Range, ...], record_format: str | None
) -> tuple[float, int]:
    """The q and specificity of the most specific range matching `candidate`."""
    best_spec = _SPEC_NONE
    best_q = 0.0
    for r in ranges:
        if not _matches(r, candidate, record_format):
            continue
        # Equally specific duplicates: take the most permissive q rather than guess an order.
        if r.specificity > best_spec or (r.specificity == best_spec and r.q > best_q):
            best_spec, best_q = r.specificity, r.q
    return best_q, best_spec


def _matches(r: _Range, candidate: _Candidate, record_format: str | None) -> bool:
    if r.kind is _Kind.WILDCARD:
        return True
    if r.kind is _Kind.JSON:
        return not candidate.kafka
    if r.kind is _Kind.KAFKA and candidate.kafka:
        if r.version is not None and r.version != candidate.version:
            return False
        # A format in Accept only constrains responses that carry records; elsewhere it is
        # irrelevant and ignored.
        return r.fmt is None or record_format is None or r.fmt == record_format
    return False


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _parse_accept(accept: str) -> tuple[_Range, ...]:
    ranges: list[_Range] = []
    for element in accept.split(","):
        element = element.strip()
        if not element:
            # RFC 9110 list syntax tolerates empty elements (`a/b, , c/d`).
            continue
        ranges.append(_parse_range(element, accept))
    if not ranges:
        # Only empty elements: the same as a blank header.
        return (_Range(_Kind.WILDCARD, None, None, 1.0, _SPEC_ANY),)
    return tuple(ranges)


def _parse_range(element: str, accept: str) -> _Range:
    try:
        main, sub, params = mimeparse.parse_media_range(element)
    except ValueError:
        raise _bad_accept(accept) from None
    # parse_media_range already maps a missing or out-of-range q to 1.
    q = float(params["q"])
    if not main or not sub or (main == "*" and sub != "*"):
        raise _bad_accept(accept)
    if main == "*":
        return _Range(_Kind.WILDCARD, None, None, q, _SPEC_ANY)
    if main != "application":
        return _Range(_Kind.OTHER, None, None, q, _SPEC_NONE)
    if sub == "*":
        return _Range(_Kind.WILDCARD, None, None, q, _SPEC_APPLICATION_ANY)
    if sub == "json":
        return _Range(_Kind.JSON, None, None, q, _SPEC_JSON)
    match = _KAFKA_SUBTYPE.fullmatch(sub)
    if match is None:
        return _Range(_Kind.OTHER, None, None, q, _SPEC_NONE)
    fmt = match.group("fmt")
    ver = match.group("ver")
    if ver is None:
        spec = _SPEC_KAFKA_FORMAT if fmt else _SPEC_KAFKA
        return _Range(_Kind.KAFKA, None, fmt, q, spec)
    version = int(ver)
    if version not in SUPPORTED_VERSIONS:
        # Never matches: a client asking only for v9 gets 406, not a v2 answer.
        return _Range(_Kind.OTHER, None, None, q, _SPEC_NONE)
    spec = _SPEC_KAFKA_VERSION_FORMAT if fmt else _SPEC_KAFKA_VERSION
    return _Range(_Kind.KAFKA, version, fmt, q, spec)


def _bad_accept(accept: str) -> BridgeError:
    return BridgeError(
        ErrorKind.NOT_ACCEPTABLE,
        f"Malformed Accept header {_echo(accept)!r}; expected a comma-separated list of "
        "media ranges such as application/vnd.kafka.v2+json",
    )

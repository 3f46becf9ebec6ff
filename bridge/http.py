"""Per-request plumbing shared by all handlers: the negotiated context, JSON bodies in and out.

The negotiation middleware stores a `RequestContext` on each API request; handlers read the
dialect and response type from it and answer through `json_response`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bridge.dialects import Dialect
from bridge.errors import BridgeError, ErrorKind
from bridge.negotiation import BodyType, ResponseType, negotiate_response
from bridge.validation import parse_json, validate
from bridge_codecs import jsontext

_INT32_MAX = 2**31 - 1


@dataclass(frozen=True, slots=True)
class RequestContext:
    dialect: Dialect
    response: ResponseType
    #: What the Content-Type said; None when the request had no Content-Type.
    body_type: BodyType | None


CONTEXT = web.RequestKey("bridge_context", RequestContext)


def context(request: web.Request) -> RequestContext:
    return request[CONTEXT]


def json_response(
    request: web.Request, data: Any, status: int = 200, content_type: str | None = None
) -> web.Response:
    return web.Response(
        body=jsontext.dumps(data),
        status=status,
        headers={"Content-Type": content_type or request[CONTEXT].response.content_type},
    )


def no_content() -> web.Response:
    return web.Response(status=204)


async def read_json(
    request: web.Request,
    body: str,
    what: str,
    *,
    document: str | None = None,
    empty: Any = None,
    invalid: ErrorKind = ErrorKind.INVALID_BODY,
) -> Any:
    """The request body parsed and checked against the schema named `body`.

    The schema comes from the dialect's document unless `document` names another. An empty
    body is an error unless `empty` is given, which is then returned in its place. A body
    that does not fit the schema raises `invalid`.
    """
    raw = await request.read()
    if not raw.strip():
        if empty is not None:
            return empty
        raise BridgeError(ErrorKind.INVALID_BODY, f"{what} is missing: the request body is empty")
    data = parse_json(raw)
    dialect = request[CONTEXT].dialect
    if document is None and dialect.accepts_bare_record_array and isinstance(data, list):
        data = {"records": data}
    validate(data, document or dialect.schema_document, body, what, invalid)
    return data


def path_partition(request: web.Request) -> int:
    """The `{partition}` path segment; anything but a partition number is not found."""
    raw = request.match_info["partition"]
    if raw.isascii() and raw.isdigit() and int(raw) <= _INT32_MAX:
        return int(raw)
    topic = request.match_info.get("topic", "")
    raise BridgeError(
        ErrorKind.PARTITION_NOT_FOUND, f"Partition '{raw}' of topic '{topic}' not found"
    )


def query_flag(request: web.Request, name: str) -> bool:
    raw = request.query.get(name)
    if raw is None or raw.lower() == "false":
        return False
    if raw.lower() == "true":
        return True
    raise BridgeError(
        ErrorKind.INVALID_BODY, f"Query parameter '{name}' must be true or false, not '{raw}'"
    )


def query_int(
    request: web.Request, name: str, maximum: int = 2**63 - 1, minimum: int = 0
) -> int | None:
    """An integer query parameter from `minimum` to `maximum`; None when it is absent."""
    raw = request.query.get(name)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or not minimum <= int(raw) <= maximum:
        raise BridgeError(
            ErrorKind.INVALID_BODY,
            f"Query parameter '{name}' must be an integer from {minimum} to {maximum}, "
            f"not '{raw[:40]}'",
        )
    return int(raw)


def external_url(request: web.Request, advertised_url: str | None) -> str:
    """The bridge's URL as its client sees it, for URLs handed out (no trailing slash).

    The configured advertised URL wins; else the request's, as corrected by a proxy through
    `Forwarded` (RFC 7239) or `X-Forwarded-Proto/Host/Path` (`X-Forwarded-Prefix` too).
    """
    if advertised_url:
        return advertised_url.rstrip("/")
    forwarded = request.forwarded[0] if request.forwarded else {}
    proto = forwarded.get("proto") or _first(request.headers.get("X-Forwarded-Proto"))
    host = forwarded.get("host") or _first(request.headers.get("X-Forwarded-Host"))
    prefix = _first(request.headers.get("X-Forwarded-Path")) or _first(
        request.headers.get("X-Forwarded-Prefix")
    )
    base = f"{proto or request.scheme}://{host or request.host}"
    if prefix:
        base += "/" + prefix.strip("/")
    return base.rstrip("/")


def _first(header: str | None) -> str | None:
    """The first (client-most) entry of a comma-separated proxy header."""
    if header is None:
        return None
    return header.split(",")[0].strip() or None


def record_response_type(request: web.Request, fmt: str) -> ResponseType:
    """The response type of records in format `fmt`; 406 when Accept names another format."""
    try:
        return negotiate_response(request.headers.get("Accept"), record_format=fmt)
    except BridgeError as exc:
        version = request[CONTEXT].dialect.version
        raise BridgeError(
            ErrorKind.CONSUMER_FORMAT_MISMATCH,
            f"The records are in format '{fmt}', which the Accept header does not allow; "
            f"ask for application/vnd.kafka.{fmt}.v{version}+json",
        ) from exc

"""Middlewares: negotiation of each API request, and the one place errors become responses.

Every error, whether raised by a handler, the Kafka layer or aiohttp itself (404, 405,
413), leaves as the dialect's JSON envelope; an unexpected exception is logged with its
traceback and answered with a 500 that carries no internals.
"""

from __future__ import annotations

import functools
import json
import logging
import re

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler

from bridge.dialects import DIALECTS, Dialect
from bridge.errors import BridgeError, ErrorKind
from bridge.http import CONTEXT, RequestContext
from bridge.negotiation import (
    LATEST_VERSION,
    SUPPORTED_VERSIONS,
    negotiate_response,
    parse_content_type,
)

log = logging.getLogger(__name__)

#: The error a request's response reports, once `error_response` has built it.
REPORTED_ERROR = web.RequestKey("bridge_reported_error", BridgeError)

#: Probes and documents that answer whatever the client accepts.
UNNEGOTIATED_PATHS = frozenset({"/", "/healthy", "/ready", "/openapi", "/openapi.json", "/metrics"})

_HTTP_KINDS = {
    400: ErrorKind.MALFORMED_BODY,
    404: ErrorKind.ROUTE_NOT_FOUND,
    405: ErrorKind.METHOD_NOT_ALLOWED,
    406: ErrorKind.NOT_ACCEPTABLE,
    413: ErrorKind.BODY_TOO_LARGE,
    415: ErrorKind.UNSUPPORTED_MEDIA_TYPE,
}
_VERSION_HINT = re.compile(r"vnd\.kafka(?:\.[a-z0-9_-]+)?\.v(\d+)\+json")


def _guess_dialect(request: web.Request) -> Dialect:
    """The dialect to write an error in when negotiation did not get as far as choosing."""
    negotiated: RequestContext | None = request.get(CONTEXT)
    if negotiated is not None:
        return negotiated.dialect
    for header in ("Content-Type", "Accept"):
        match = _VERSION_HINT.search(request.headers.get(header, "").lower())
        if match and int(match.group(1)) in SUPPORTED_VERSIONS:
            return DIALECTS[int(match.group(1))]
    return DIALECTS[LATEST_VERSION]


def _envelope_bytes(envelope: dict[str, object]) -> bytes:
    try:
        return orjson.dumps(envelope)
    except TypeError:
        # A message quoting client text can hold a lone surrogate, which orjson refuses;
        # ASCII escapes write any string.
        return json.dumps(envelope, ensure_ascii=True).encode()


def error_response(
    request: web.Request, error: BridgeError, headers: dict[str, str] | None = None
) -> web.Response:
    dialect = _guess_dialect(request)
    status, _ = dialect.error_status(error)
    request[REPORTED_ERROR] = error  # for the metrics and the access log
    negotiated = request.get(CONTEXT)
    content_type = (
        negotiated.response.content_type
        if negotiated is not None
        else f"application/vnd.kafka.v{dialect.version}+json"
    )
    return web.Response(
        body=_envelope_bytes(dialect.error_body(error)),
        status=status,
        headers={**error.headers, **(headers or {}), "Content-Type": content_type},
    )


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except BridgeError as error:
        return error_response(request, error)
    except web.HTTPException as exc:
        kind = _HTTP_KINDS.get(exc.status)
        if kind is None:
            raise
        message = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason
        if exc.status == 404:
            message = f"No such resource: {request.method} {request.path}"
        elif exc.status == 405:
            message = f"Method {request.method} is not allowed on {request.path}"
        # Keep what the HTTP error must carry, such as the Allow header of a 405.
        kept = {name: exc.headers[name] for name in ("Allow",) if name in exc.headers}
        return error_response(request, BridgeError(kind, message), kept)
    except Exception:
        log.exception("unexpected error serving %s %s", request.method, request.path)
        internal = BridgeError(ErrorKind.INTERNAL, "Internal server error; the bridge logged it")
        return error_response(request, internal)


@web.middleware
async def negotiation_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if (request.path.rstrip("/") or "/") in UNNEGOTIATED_PATHS:
        return await handler(request)
    headers = request.headers
    content_type, accept = headers.get("Content-Type"), headers.get("Accept")
    try:
        request[CONTEXT] = _negotiated(content_type, accept)
    except BridgeError:
        request[CONTEXT] = _negotiated_with_stray_content_type(request, content_type, accept)
    return await handler(request)


@functools.lru_cache(maxsize=256)
def _negotiated(content_type: str | None, accept: str | None) -> RequestContext:
    """The context of a request with these headers: clients send the same few pairs, so
    each is worked out once."""
    body_type = parse_content_type(content_type)
    version = body_type.version if body_type is not None else None
    response = negotiate_response(accept, version=version)
    return RequestContext(DIALECTS[response.version], response, body_type)


def _negotiated_with_stray_content_type(
    request: web.Request, content_type: str | None, accept: str | None
) -> RequestContext:
    """Negotiation after a failure: a body-less request's unusable Content-Type says
    nothing, so it is negotiated as if it had none; anything else raises again."""
    try:
        parse_content_type(content_type)
    except BridgeError:
        if request.body_exists:
            raise
        return _negotiated(None, accept)
    return _negotiated(content_type, accept)  # Accept was the problem: raises it again

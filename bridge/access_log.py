"""Request ids and the access log: one line per request on the `bridge.access` logger.

A request keeps the `X-Request-Id` its client sent when that id is sane (short, and only
characters that are safe in a log line); otherwise it gets a new one. Either way the id is
stored on the request and echoed in the response's `X-Request-Id`: set when the response
is prepared, so it reaches error responses and handler-streamed responses alike.

The line carries its fields twice: in a readable message for the text log format, and as
`extra` attributes that the JSON format writes as keys of their own.
"""

from __future__ import annotations

import itertools
import logging
import re
import secrets

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from bridge.metrics import answered, route_label
from bridge.middlewares import REPORTED_ERROR
from bridge.settings import Settings

access_logger = logging.getLogger("bridge.access")

HEADER = "X-Request-Id"
REQUEST_ID = web.RequestKey("bridge_request_id", str)
#: Ids are logged and echoed, so a client's own is kept only when it is short and plain.
_SANE_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")

# A random prefix per process and a counter: unique, and far cheaper than a uuid4 per request.
_PREFIX = secrets.token_hex(6)
_counter = itertools.count(1)


def new_request_id() -> str:
    return f"{_PREFIX}-{next(_counter):x}"


def request_id_of(request: web.Request) -> str:
    """The client's id when sane, else a new one."""
    given = request.headers.get(HEADER)
    if given is not None and _SANE_ID.fullmatch(given):
        return given
    return new_request_id()


async def echo_request_id(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """on_response_prepare: every response, however it was built, carries the id."""
    request_id = request.get(REQUEST_ID)
    if request_id is not None:
        response.headers[HEADER] = request_id


def access_log_middleware(settings: Settings) -> Middleware:
    """Gives each request its id and, when `log.access` is on, logs it once answered.

    Put it first among the middlewares, so it sees the status the client gets."""
    enabled = settings.access_log

    @web.middleware
    async def access_log(request: web.Request, handler: Handler) -> web.StreamResponse:
        request[REQUEST_ID] = request_id_of(request)
        if not enabled:
            return await handler(request)
        return await answered(request, handler, _log_if_enabled)

    return access_log


def _log_if_enabled(request: web.Request, status: int, seconds: float) -> None:
    if access_logger.isEnabledFor(logging.INFO):
        _log(request, status, seconds * 1000)


def _log(request: web.Request, status: int, duration_ms: float) -> None:
    request_id = request[REQUEST_ID]
    route = route_label(request)
    error = request.get(REPORTED_ERROR) if status >= 400 else None
    fields = {
        "request_id": request_id,
        "method": request.method,
        "route": route,
        # Still percent-encoded: a decoded path could smuggle a line break into the log.
        "path": request.rel_url.raw_path,
        "status": status,
        "duration_ms": round(duration_ms, 3),
        "remote": request.remote,
    }
    if error is not None:
        fields["error_kind"] = error.kind.value
    access_logger.info(
        '%s "%s %s" %d %.1fms route=%s id=%s%s',
        fields["remote"],
        fields["method"],
        fields["path"],
        status,
        duration_ms,
        route,
        request_id,
        f" error={error.kind.value}" if error is not None else "",
        extra=fields,
    )

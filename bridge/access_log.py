"""Request ids, the access log (one line per request on the `bridge.access` logger), and the
one middleware that times each request for the access log and the metrics.

A request keeps the `X-Request-Id` its client sent when that id is sane (short, and only
characters that are safe in a log line); otherwise it gets a new one. Either way the id is
stored on the request and echoed in the response's `X-Request-Id`: the request middleware
sets it on whatever response comes back, error envelopes included, and a handler that
streams its response sets it before sending (`echo_request_id`). A signal on every
response prepared would cost each request a coroutine more.

The line carries its fields twice: in a readable message for the text log format, and as
`extra` attributes that the JSON format writes as keys of their own. It is logged once per
request, so it costs as little as it can: where the bridge's own handler alone would
receive it (the usual case), the handler renders the line straight from its fields, with no
LogRecord; otherwise the record is built directly, with no look-up of the calling frame,
which the formats do not show.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import secrets
import time

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from bridge.log_format import JsonFormatter, sole_batching_handler
from bridge.metrics import CLIENT_CLOSED, Metrics, route_label
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

_MESSAGE = '%s "%s %s" %d %.1fms route=%s id=%s%s'


def new_request_id() -> str:
    return f"{_PREFIX}-{next(_counter):x}"


def request_id_of(request: web.Request) -> str:
    """The client's id when sane, else a new one."""
    given = request.headers.get(HEADER)
    if given is not None and _SANE_ID.fullmatch(given):
        return given
    return new_request_id()


def echo_request_id(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """Put the request's id on a response it has not sent yet. The request middleware does
    it for every response a handler returns or raises; a handler that sends its response
    itself (`prepare`, then writes) calls this first."""
    request_id = request.get(REQUEST_ID)
    if request_id is not None:
        response.headers[HEADER] = request_id


def request_middleware(settings: Settings, metrics: Metrics | None = None) -> Middleware:
    """Gives each request its id; once it is answered, counts it in `metrics` (when given)
    and, when `log.access` is on, logs it.

    Put it first among the middlewares, so it sees the status the client gets: an HTTP
    exception's, or CLIENT_CLOSED when the client left first."""
    log_access = settings.access_log
    if metrics is None and not log_access:

        @web.middleware
        async def identify(request: web.Request, handler: Handler) -> web.StreamResponse:
            request[REQUEST_ID] = request_id = request_id_of(request)
            try:
                response = await handler(request)
            except web.HTTPException as exc:  # aiohttp answers it: it is the response
                exc.headers[HEADER] = request_id
                raise
            if not response.prepared:
                response.headers[HEADER] = request_id
            return response

        return identify

    @web.middleware
    async def timed(request: web.Request, handler: Handler) -> web.StreamResponse:
        request[REQUEST_ID] = request_id = request_id_of(request)
        if metrics is not None:
            metrics.in_flight += 1
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            if not response.prepared:
                response.headers[HEADER] = request_id
            return response
        except web.HTTPException as exc:
            status = exc.status
            exc.headers[HEADER] = request_id
            raise
        except asyncio.CancelledError:
            status = CLIENT_CLOSED
            raise
        finally:
            elapsed = time.perf_counter() - started
            route = None
            if metrics is not None:
                metrics.in_flight -= 1
                route = metrics.observe(request, status, elapsed)
            if log_access:
                _log(request, status, elapsed * 1000, route)

    return timed


def _log(request: web.Request, status: int, duration_ms: float, route: str | None) -> None:
    """The request's line, unless the access logger is off; `route`: its label, if known."""
    handler = sole_batching_handler(access_logger)  # None also when the logger is off
    if handler is None and not access_logger.isEnabledFor(logging.INFO):
        return
    request_id = request[REQUEST_ID]
    if route is None:
        route = route_label(request)
    error = request.get(REPORTED_ERROR) if status >= 400 else None
    method = request.method
    # Still percent-encoded: a decoded path could smuggle a line break into the log.
    path = request.rel_url.raw_path
    remote = request.remote
    suffix = "" if error is None else f" error={error.kind.value}"
    args = (remote, method, path, status, duration_ms, route, request_id, suffix)

    def fields() -> dict[str, object]:
        """The line's fields, as keys of their own in the JSON format."""
        named: dict[str, object] = {
            "request_id": request_id,
            "method": method,
            "route": route,
            "path": path,
            "status": status,
            "duration_ms": round(duration_ms, 3),
            "remote": remote,
        }
        if error is not None:
            named["error_kind"] = error.kind.value
        return named

    if handler is not None:
        # The text format shows the message alone: its fields are not needed.
        direct = fields() if isinstance(handler.formatter, JsonFormatter) else _NO_FIELDS
        if handler.log_directly(access_logger, _MESSAGE % args, direct):
            return
    # What `Logger.info(..., extra=fields)` does, less its walk up the stack for the caller.
    record = logging.getLogRecordFactory()(
        access_logger.name, logging.INFO, __file__, _LINE, _MESSAGE, args, None, "_log"
    )
    record.__dict__.update(fields())
    access_logger.handle(record)


_NO_FIELDS: dict[str, object] = {}
_LINE = _log.__code__.co_firstlineno

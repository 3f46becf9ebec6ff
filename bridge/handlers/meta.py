"""The bridge's own resources: version info, liveness and readiness."""

from __future__ import annotations

import orjson
from aiohttp import web

from bridge import __version__
from bridge.errors import BridgeError, ErrorKind
from bridge.middlewares import error_response
from bridge.services import SERVICES


async def bridge_info(request: web.Request) -> web.Response:
    return web.Response(
        body=orjson.dumps({"bridge_version": __version__}),
        headers={"Content-Type": "application/json"},
    )


async def healthy(request: web.Request) -> web.Response:
    return web.Response(status=200)


async def ready(request: web.Request) -> web.Response:
    """200 while a Kafka broker answers (a probe bounded to 2 s, shared by concurrent checks
    and reused for half a second), 503 while none does."""
    services = request.app[SERVICES]
    if services.health is not None:
        answers = await services.health.check()
    else:
        answers = await services.metadata.ping()
    if answers:
        return web.Response(status=200)
    error = BridgeError(ErrorKind.UNAVAILABLE, "Not ready: no Kafka broker answers")
    return error_response(request, error)

"""Request admission: the in-flight request cap (429) and the API switches (503).

Probes and the bridge's own documents are always admitted, so that a saturated or partly
switched-off bridge can still be watched and scraped.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from bridge.errors import BridgeError, ErrorKind
from bridge.handlers import consumers, partition_records, produce
from bridge.settings import Settings

#: Paths that are never refused: a saturated bridge must still answer its probes.
ALWAYS_ADMITTED = frozenset({"/healthy", "/ready", "/metrics", "/openapi", "/openapi.json"})

#: How long a refused client is asked to wait, in seconds; in-flight requests are short.
RETRY_AFTER_S = "1"

_PRODUCER_HANDLERS = frozenset({produce.produce_to_topic, produce.produce_to_partition})
_CONSUMER_MODULES = frozenset({consumers.__name__, partition_records.__name__})


def _api_of(request: web.Request) -> str | None:
    """Which switchable API serves the request: "producer", "consumer" or None."""
    handler = request.match_info.handler
    if handler in _PRODUCER_HANDLERS:
        return "producer"
    if getattr(handler, "__module__", None) in _CONSUMER_MODULES:
        return "consumer"
    return None


def admission_middleware(settings: Settings) -> Middleware:
    """Refuses a request beyond `max_inflight_requests` (429 with Retry-After), and the
    requests of an API that is switched off (503)."""
    limit = settings.max_inflight_requests
    disabled = {
        api
        for api, enabled in (
            ("producer", settings.producer_enabled),
            ("consumer", settings.consumer_enabled),
        )
        if not enabled
    }
    in_flight = 0

    @web.middleware
    async def admit(request: web.Request, handler: Handler) -> web.StreamResponse:
        nonlocal in_flight
        if request.path.rstrip("/") in ALWAYS_ADMITTED:
            return await handler(request)
        api = _api_of(request) if disabled else None
        if api in disabled:
            raise BridgeError(
                ErrorKind.UNAVAILABLE,
                f"The {api} API is switched off on this bridge (http.{api}.enabled=false)",
            )
        if limit and in_flight >= limit:
            raise BridgeError(
                ErrorKind.TOO_MANY_REQUESTS,
                f"Too many requests in flight (http.max.inflight.requests={limit}); "
                f"retry after {RETRY_AFTER_S} s",
                headers={"Retry-After": RETRY_AFTER_S},
            )
        in_flight += 1
        try:
            return await handler(request)
        finally:
            in_flight -= 1

    return admit

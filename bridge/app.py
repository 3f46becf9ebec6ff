"""The application factory: middlewares, routes and the Kafka services' lifecycle."""

from __future__ import annotations

from aiohttp import web

from bridge.access_log import request_middleware
from bridge.auth import auth_middleware
from bridge.cors import add_cors_headers, cors_middleware
from bridge.limits import admission_middleware
from bridge.metrics import METRICS, Metrics
from bridge.middlewares import error_middleware, negotiation_middleware
from bridge.routes import add_probe_routes, add_routes
from bridge.services import SERVICES, SETTINGS, kafka_services
from bridge.settings import Settings
from bridge.tracing import tracing_lifecycle, tracing_middlewares


def create_app(settings: Settings) -> web.Application:
    metrics = Metrics()
    cors = bool(settings.cors_allowed_origins)
    app = web.Application(
        # Outermost first. The request id, the metrics and the access log come before the
        # errors, so they see the status the client gets, whichever way the response leaves.
        # Errors: every BridgeError below becomes the dialect's envelope.
        # CORS: refuses other origins and answers preflights before authentication, since
        # browsers send them without credentials; its headers go on every response, error
        # envelopes and 401s included, through on_response_prepare (add_cors_headers).
        # Authentication before admission: an unauthenticated client takes no in-flight slot.
        # A feature that is off (tracing, CORS, authentication) is left out of the chain:
        # each middleware costs every request a coroutine call.
        middlewares=[
            request_middleware(settings, metrics),
            *tracing_middlewares(settings),  # the server span: none when tracing is off
            error_middleware,
            *([cors_middleware(settings)] if cors else []),
            # Reads the credential files: AuthConfigError.
            *([auth_middleware(settings)] if settings.auth_type != "none" else []),
            admission_middleware(settings),
            negotiation_middleware,
        ],
        client_max_size=settings.max_body_bytes,
    )
    app[SETTINGS] = settings
    app[METRICS] = metrics
    metrics.watch_app(app)
    if cors:
        app.on_response_prepare.append(add_cors_headers)
    # Tracing first: the produce pipeline takes it, and it flushes after the Kafka clients close.
    app.cleanup_ctx.append(tracing_lifecycle(settings))
    app.cleanup_ctx.append(kafka_services)
    add_routes(app)
    if settings.management_port is None:
        add_probe_routes(app)
    return app


def create_management_app(api_app: web.Application) -> web.Application:
    """/metrics, /healthy and /ready for the management port, sharing `api_app`'s services
    and metrics. Start it after the API app: it takes the services the API app opened."""
    settings = api_app[SETTINGS]
    app = web.Application(middlewares=[request_middleware(settings), error_middleware])
    app[SETTINGS] = settings
    app[METRICS] = api_app[METRICS]

    async def share_services(app: web.Application) -> None:
        if SERVICES not in api_app:
            raise RuntimeError("the management app was started before the API app")
        app[SERVICES] = api_app[SERVICES]

    app.on_startup.append(share_services)
    add_probe_routes(app)
    return app

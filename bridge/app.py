"""The application factory: middlewares, routes and the Kafka services' lifecycle."""

from __future__ import annotations

from aiohttp import web

from bridge.middlewares import error_middleware, negotiation_middleware
from bridge.routes import add_routes
from bridge.services import SETTINGS, kafka_services
from bridge.settings import Settings

def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        middlewares=[error_middleware, negotiation_middleware],
        client_max_size=settings.max_body_bytes,
    )
    app[SETTINGS] = settings
    app.cleanup_ctx.append(kafka_services)
    add_routes(app)
    return app

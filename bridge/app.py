"""The application factory: middlewares, routes and the Kafka services' lifecycle."""

from __future__ import annotations

from aiohttp import web

from bridge.middlewares import error_middleware, negotiation_middleware
from bridge.routes import add_routes
from bridge.services import SETTINGS, kafka_services
from bridge.settings import Settings

#: Largest request body accepted; a batch of records up to Kafka's default request size
#: and its JSON/base64 overhead fits.
MAX_BODY_BYTES = 16 * 1024 * 1024


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        middlewares=[error_middleware, negotiation_middleware],
        client_max_size=MAX_BODY_BYTES,
    )
    app[SETTINGS] = settings
    app.cleanup_ctx.append(kafka_services)
    add_routes(app)
    return app

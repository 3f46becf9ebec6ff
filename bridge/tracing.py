"""Tracing as the rest of the bridge sees it: a `Tracing` object on the app, its middleware,
and its lifecycle.

The base `Tracing` is tracing switched off: every hook does nothing and nothing of
OpenTelemetry is imported. `tracing=opentelemetry` swaps in `bridge.otel_tracing`, loaded
only then, so the `tracing` extra stays optional and the hot path of an untraced bridge
pays for a context manager and nothing more.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractContextManager, nullcontext

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from bridge.config import ConfigError
from bridge.consumers.records import KafkaRecord
from bridge.kafka.producer import Delivery, OutgoingRecord
from bridge.settings import Settings

INSTALL_HINT = "pip install 'kafka-bridge[tracing]'"


class TracingConfigError(ConfigError):
    """Tracing asked for but not possible: packages missing or OTEL_* variables wrong."""


class SendSpan:
    """One produce request's records on their way to Kafka; untraced, they go as they are."""

    __slots__ = ("records",)

    def __init__(self, records: Sequence[OutgoingRecord]) -> None:
        #: What to send: the records, with trace context headers when traced.
        self.records = records

    def delivered(self, deliveries: Sequence[Delivery]) -> None:
        """Report what the broker said about each record."""


class ReadSpan:
    """One read of records by a consumer; untraced, what it received goes unrecorded."""

    __slots__ = ()

    def received(self, records: Sequence[KafkaRecord]) -> None:
        """Report the records handed to the client."""


_UNTRACED_READ = ReadSpan()


class Tracing:
    """Tracing switched off."""

    async def serve(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Run `handler` for `request` inside the request's server span."""
        return await handler(request)

    def producing(
        self, topic: str, partition: int | None, records: Sequence[OutgoingRecord]
    ) -> AbstractContextManager[SendSpan]:
        """The span of one produce request's send."""
        return nullcontext(SendSpan(records))

    def reading(
        self, *, group: str | None = None, topic: str | None = None
    ) -> AbstractContextManager[ReadSpan]:
        """The span of one read: by a consumer of `group`, or group-less from `topic`."""
        return nullcontext(_UNTRACED_READ)

    async def close(self) -> None:
        """Flush what is left to export and stop."""


NO_TRACING = Tracing()
TRACING = web.AppKey("tracing", Tracing)


def build_tracing(settings: Settings) -> Tracing:
    """The tracing `settings` ask for; TracingConfigError when it cannot be had."""
    if settings.tracing != "opentelemetry":
        return NO_TRACING
    try:
        from bridge.otel_tracing import from_environment
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("opentelemetry"):
            raise
        raise missing_packages(exc.name) from None
    return from_environment()


def missing_packages(module: str | None) -> TracingConfigError:
    return TracingConfigError(
        f"tracing=opentelemetry needs the OpenTelemetry packages (no module '{module}'); "
        f"install them with: {INSTALL_HINT}"
    )


def tracing_lifecycle(
    settings: Settings,
) -> Callable[[web.Application], AsyncIterator[None]]:
    """cleanup_ctx: the app's Tracing from `settings`, or the one already set on the app
    before start-up (tests hand in their own exporter so); shut down (flushed) at cleanup."""

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        tracing = app[TRACING] if TRACING in app else build_tracing(settings)
        app[TRACING] = tracing
        yield
        await tracing.close()

    return lifecycle


@web.middleware
async def tracing_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    return await request.app[TRACING].serve(request, handler)


def tracing_middlewares(settings: Settings) -> list[Middleware]:
    """The middleware to add: none at all when tracing is off."""
    return [tracing_middleware] if settings.tracing == "opentelemetry" else []

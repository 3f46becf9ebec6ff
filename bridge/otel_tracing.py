"""Tracing with OpenTelemetry (the `tracing` extra), imported only when `tracing=opentelemetry`.

Spans: one SERVER span per HTTP request, a PRODUCER span per produce request whose W3C trace
context travels in each record's `traceparent`/`tracestate` headers (unless the client set
its own `traceparent` on the record), and a CONSUMER span per read, linked to the contexts
the read records carry. Export is configured the standard way, by the OTEL_* variables.

The bridge keeps its own TracerProvider rather than installing a global one, so the spans
of one app never leak into another (tests start many) and shutdown flushes exactly ours.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager

from aiohttp import web
from aiohttp.typedefs import Handler
from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

from bridge import __version__
from bridge.consumers.records import KafkaRecord
from bridge.errors import BridgeError
from bridge.kafka.producer import Delivery, OutgoingRecord
from bridge.tracing import (
    ReadSpan,
    SendSpan,
    Tracing,
    TracingConfigError,
    missing_packages,
)

DEFAULT_SERVICE_NAME = "kafka-bridge"
#: The only OTLP protocol the `tracing` extra's exporter speaks.
OTLP_PROTOCOL = "http/protobuf"
TRACEPARENT = "traceparent"
_CONTEXT_HEADERS = (TRACEPARENT, "tracestate")
_KNOWN_METHODS = frozenset(
    {"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"}
)


class OpenTelemetryTracing(Tracing):
    def __init__(
        self, processors: Sequence[SpanProcessor], resource: Resource | None = None
    ) -> None:
        # The sampler comes from OTEL_TRACES_SAMPLER; OTEL_SDK_DISABLED=true makes every
        # tracer a no-op. Shutdown is ours (`close`), not an atexit hook per provider.
        self._provider = TracerProvider(
            resource=resource or service_resource(), shutdown_on_exit=False
        )
        for processor in processors:
            self._provider.add_span_processor(processor)
        self._tracer = self._provider.get_tracer("kafka-bridge", __version__)
        self._propagator = TraceContextTextMapPropagator()

    async def serve(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        method = request.method if request.method in _KNOWN_METHODS else "_OTHER"
        route = _route(request)
        name = "HTTP" if method == "_OTHER" else method
        attributes: dict[str, AttributeValue] = {
            "http.request.method": method,
            "url.path": request.path,
            "url.scheme": request.scheme,
            "network.protocol.version": f"{request.version.major}.{request.version.minor}",
        }
        if route is not None:
            name = f"{name} {route}"
            attributes["http.route"] = route
        if "User-Agent" in request.headers:
            attributes["user_agent.original"] = request.headers["User-Agent"]
        with self._tracer.start_as_current_span(
            name,
            context=self._propagator.extract(request.headers),
            kind=SpanKind.SERVER,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                _set_http_status(span, exc.status)
                raise
            except BaseException as exc:
                # Whatever gets past the error middleware (a cancelled request, say).
                span.set_attribute("error.type", type(exc).__qualname__)
                span.set_status(Status(StatusCode.ERROR, type(exc).__qualname__))
                raise
            _set_http_status(span, response.status)
            return response

    def producing(
        self, topic: str, partition: int | None, records: Sequence[OutgoingRecord]
    ) -> AbstractContextManager[SendSpan]:
        return self._producing(topic, partition, records)

    @contextmanager
    def _producing(
        self, topic: str, partition: int | None, records: Sequence[OutgoingRecord]
    ) -> Iterator[SendSpan]:
        attributes: dict[str, AttributeValue] = {
            "messaging.system": "kafka",
            "messaging.operation.name": "send",
            "messaging.operation.type": "send",
            "messaging.destination.name": topic,
            "messaging.batch.message_count": len(records),
        }
        if partition is not None:
            attributes["messaging.destination.partition.id"] = str(partition)
        with self._tracer.start_as_current_span(
            f"send {topic}", kind=SpanKind.PRODUCER, attributes=attributes
        ) as span:
            carrier: dict[str, str] = {}
            self._propagator.inject(carrier)
            headers = tuple((key, value.encode("ascii")) for key, value in carrier.items())
            with _error_type(span):
                yield _TracedSend(span, [_carrying(record, headers) for record in records])

    def reading(
        self, *, group: str | None = None, topic: str | None = None
    ) -> AbstractContextManager[ReadSpan]:
        return self._reading(group, topic)

    @contextmanager
    def _reading(self, group: str | None, topic: str | None) -> Iterator[ReadSpan]:
        attributes: dict[str, AttributeValue] = {
            "messaging.system": "kafka",
            "messaging.operation.name": "poll",
            "messaging.operation.type": "receive",
        }
        if group is not None:
            attributes["messaging.consumer.group.name"] = group
        if topic is not None:
            attributes["messaging.destination.name"] = topic
        destination = group if group is not None else topic
        name = "poll" if destination is None else f"poll {destination}"
        with (
            self._tracer.start_as_current_span(
                name, kind=SpanKind.CONSUMER, attributes=attributes
            ) as span,
            _error_type(span),
        ):
            yield _TracedRead(span, self._propagator)

    async def close(self) -> None:
        # Flushing may wait on the exporter's network calls: off the event loop.
        await asyncio.to_thread(self._provider.shutdown)


class _TracedSend(SendSpan):
    __slots__ = ("_span",)

    def __init__(self, span: trace.Span, records: Sequence[OutgoingRecord]) -> None:
        super().__init__(records)
        self._span = span

    def delivered(self, deliveries: Sequence[Delivery]) -> None:
        failures = [d.error for d in deliveries if d.error is not None]
        if failures:
            self._span.set_attribute("error.type", failures[0].kind.value)
            self._span.set_status(
                Status(
                    StatusCode.ERROR,
                    f"{len(failures)} of {len(deliveries)} records not delivered: "
                    f"{failures[0].message}",
                )
            )


class _TracedRead(ReadSpan):
    __slots__ = ("_propagator", "_span")

    def __init__(self, span: trace.Span, propagator: TraceContextTextMapPropagator) -> None:
        self._span = span
        self._propagator = propagator

    def received(self, records: Sequence[KafkaRecord]) -> None:
        self._span.set_attribute("messaging.batch.message_count", len(records))
        topics = {record.topic for record in records}
        if len(topics) == 1:
            self._span.set_attribute("messaging.destination.name", topics.pop())
        # Records of one produce request share a context: one link each, in order.
        linked: dict[tuple[int, int], trace.SpanContext] = {}
        for record in records:
            carrier = {
                key.lower(): value.decode("latin-1")
                for key, value in record.headers
                if value is not None and key.lower() in _CONTEXT_HEADERS
            }
            if TRACEPARENT not in carrier:
                continue
            context = self._propagator.extract(carrier)
            span_context = trace.get_current_span(context).get_span_context()
            if span_context.is_valid:
                linked.setdefault((span_context.trace_id, span_context.span_id), span_context)
        for span_context in linked.values():
            self._span.add_link(span_context)


@contextmanager
def _error_type(span: trace.Span) -> Iterator[None]:
    """A BridgeError's kind as the span's `error.type` (the span records the exception)."""
    try:
        yield
    except BridgeError as exc:
        span.set_attribute("error.type", exc.kind.value)
        raise


def _route(request: web.Request) -> str | None:
    """The matched route's template (`/topics/{topic}`), never the raw path."""
    resource = request.match_info.route.resource
    return None if resource is None else resource.canonical


def _set_http_status(span: trace.Span, status: int) -> None:
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_attribute("error.type", str(status))
        span.set_status(Status(StatusCode.ERROR))


def _carrying(record: OutgoingRecord, headers: tuple[tuple[str, bytes], ...]) -> OutgoingRecord:
    """`record` with the trace context headers, unless the client gave it a traceparent."""
    if any(key.lower() == TRACEPARENT for key, _ in record.headers):
        return record
    return dataclasses.replace(record, headers=record.headers + headers)


# --- configuration from the OTEL_* environment variables


def service_resource() -> Resource:
    """The resource from OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES; `kafka-bridge`
    when they name no service."""
    resource = Resource.create({SERVICE_VERSION: __version__})
    named = os.environ.get("OTEL_SERVICE_NAME") or "service.name=" in os.environ.get(
        "OTEL_RESOURCE_ATTRIBUTES", ""
    )
    if not named:
        resource = resource.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    return resource


def from_environment(environ: Mapping[str, str] = os.environ) -> OpenTelemetryTracing:
    """Tracing exported as OTEL_TRACES_EXPORTER says, each exporter behind a
    BatchSpanProcessor (tuned by the OTEL_BSP_* variables)."""
    processors = [BatchSpanProcessor(exporter) for exporter in exporters(environ)]
    return OpenTelemetryTracing(processors, service_resource())


def exporters(environ: Mapping[str, str] = os.environ) -> list[SpanExporter]:
    """The exporters OTEL_TRACES_EXPORTER names: otlp (the default), console, none. The OTLP
    exporter itself reads OTEL_EXPORTER_OTLP_* from the process environment."""
    names = [
        name.strip().lower()
        for name in environ.get("OTEL_TRACES_EXPORTER", "otlp").split(",")
        if name.strip()
    ]
    return [_exporter(name, environ) for name in names if name != "none"]


def _exporter(name: str, environ: Mapping[str, str]) -> SpanExporter:
    if name == "console":
        return ConsoleSpanExporter()
    if name != "otlp":
        raise TracingConfigError(
            f"OTEL_TRACES_EXPORTER names '{name}'; the bridge exports to otlp, console or none"
        )
    protocol = environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    )
    if protocol is not None and protocol.strip().lower() != OTLP_PROTOCOL:
        raise TracingConfigError(
            f"OTLP protocol '{protocol}' is not supported: the bridge exports OTLP over "
            f"{OTLP_PROTOCOL} (OTEL_EXPORTER_OTLP_PROTOCOL)"
        )
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("opentelemetry"):
            raise
        raise missing_packages(exc.name) from None
    # Endpoint, headers, timeout, compression and certificates: OTEL_EXPORTER_OTLP_*.
    # (Typed through a variable: mypy runs where the exporter may not be installed.)
    exporter: SpanExporter = OTLPSpanExporter()
    return exporter

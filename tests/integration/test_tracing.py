"""OpenTelemetry tracing against the real broker: server, producer and consumer spans, and the
W3C trace context the bridge puts in (and reads from) record headers."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from bridge.app import create_app
from bridge.otel_tracing import OpenTelemetryTracing
from bridge.settings import Settings
from bridge.tracing import TRACING, TracingConfigError
from tests.conftest import BridgeClient, NewTopicFactory, ReadRecords
from tests.integration.consumer_helpers import b64, create_consumer, read_until
from tests.integration.helpers import BINARY_V2, V2, json_of

ClientFactory = Callable[..., Awaitable[BridgeClient]]
Traced = tuple[BridgeClient, InMemorySpanExporter]

#: A client's own context (the W3C specification's example ids).
CLIENT_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN_ID = "00f067aa0ba902b7"
CLIENT_TRACEPARENT = f"00-{CLIENT_TRACE_ID}-{CLIENT_SPAN_ID}-01"


@pytest.fixture
async def traced(bridge_settings: Settings, aiohttp_client: ClientFactory) -> Traced:
    """A bridge with tracing on, exporting each span as it ends to memory."""
    exporter = InMemorySpanExporter()
    app = create_app(dataclasses.replace(bridge_settings, tracing="opentelemetry"))
    app[TRACING] = OpenTelemetryTracing([SimpleSpanProcessor(exporter)])
    return await aiohttp_client(app), exporter


def spans_named(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.name == name]


def only_span(exporter: InMemorySpanExporter, name: str) -> ReadableSpan:
    spans = spans_named(exporter, name)
    names = [span.name for span in exporter.get_finished_spans()]
    assert len(spans) == 1, names
    return spans[0]


def ids(span: ReadableSpan) -> tuple[str, str]:
    """The span's trace id and span id, in hex as a traceparent writes them."""
    assert span.context is not None
    return f"{span.context.trace_id:032x}", f"{span.context.span_id:016x}"


def context_of(traceparent: bytes) -> tuple[str, str]:
    """The trace id and parent id of a traceparent header; its flags must say sampled."""
    version, trace_id, span_id, flags = traceparent.decode("ascii").split("-")
    assert version == "00"
    assert int(flags, 16) & 1, traceparent
    return trace_id, span_id


def headers_of(record: Any) -> dict[str, bytes]:
    return {key: value for key, value in record.headers}


async def produce(
    client: BridgeClient,
    topic: str,
    records: list[dict[str, Any]],
    headers: dict[str, str] | None = None,
) -> None:
    response = await client.post(
        f"/topics/{topic}",
        json={"records": records},
        headers={"Content-Type": BINARY_V2, "Accept": V2, **(headers or {})},
    )
    offsets = (await json_of(response))["offsets"]
    assert all("error_code" not in offset for offset in offsets), offsets


async def test_produce_makes_server_and_producer_spans_in_one_trace(
    traced: Traced, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    client, exporter = traced
    topic = await new_topic(partitions=1)
    await produce(client, topic, [{"value": b64(b"a")}, {"value": b64(b"b")}])

    server = only_span(exporter, "POST /topics/{topic}")
    producer = only_span(exporter, f"send {topic}")
    assert server.kind is SpanKind.SERVER
    assert server.attributes is not None
    assert server.attributes["http.request.method"] == "POST"
    assert server.attributes["http.route"] == "/topics/{topic}"
    assert server.attributes["url.path"] == f"/topics/{topic}"
    assert server.attributes["http.response.status_code"] == 200
    assert server.parent is None  # no context came with the request

    assert producer.kind is SpanKind.PRODUCER
    assert producer.parent is not None
    assert server.context is not None
    assert producer.parent.span_id == server.context.span_id
    assert ids(producer)[0] == ids(server)[0]
    assert producer.attributes is not None
    assert producer.attributes["messaging.system"] == "kafka"
    assert producer.attributes["messaging.destination.name"] == topic
    assert producer.attributes["messaging.batch.message_count"] == 2

    trace_id, span_id = ids(producer)
    records = await read_records(topic, 2)
    assert [r.value for r in records] == [b"a", b"b"]
    for record in records:
        assert context_of(headers_of(record)["traceparent"]) == (trace_id, span_id)


async def test_client_traceparent_makes_the_request_span_its_child(traced: Traced) -> None:
    client, exporter = traced
    response = await client.get("/topics", headers={"traceparent": CLIENT_TRACEPARENT})
    assert response.status == 200

    server = only_span(exporter, "GET /topics")
    assert server.parent is not None
    assert server.parent.is_remote
    assert f"{server.parent.span_id:016x}" == CLIENT_SPAN_ID
    assert ids(server)[0] == CLIENT_TRACE_ID


async def test_route_template_names_the_span_never_the_raw_path(traced: Traced) -> None:
    client, exporter = traced
    response = await client.get("/topics/some-topic-name/partitions/0", headers={"Accept": V2})
    await response.read()
    response = await client.get("/no/such/thing", headers={"Accept": V2})
    assert response.status == 404

    names = [span.name for span in exporter.get_finished_spans()]
    assert "GET /topics/{topic}/partitions/{partition}" in names
    assert "GET" in names  # a path no route matched gives no template
    assert not any("some-topic-name" in name or "/no/such" in name for name in names)
    unmatched = only_span(exporter, "GET")
    assert unmatched.attributes is not None
    assert unmatched.attributes["http.response.status_code"] == 404
    assert "http.route" not in unmatched.attributes
    assert unmatched.status.status_code is not StatusCode.ERROR  # 4xx is the client's


async def test_a_records_own_traceparent_is_kept(
    traced: Traced, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    client, exporter = traced
    topic = await new_topic(partitions=1)
    own = {"key": "traceparent", "value": b64(CLIENT_TRACEPARENT.encode())}
    await produce(
        client,
        topic,
        [
            {"value": b64(b"theirs"), "headers": [own]},
            {"value": b64(b"ours"), "headers": [{"key": "other", "value": b64(b"x")}]},
        ],
        headers={"traceparent": f"00-{'1' * 32}-{'2' * 16}-01", "tracestate": "vendor=abc"},
    )
    trace_id, span_id = ids(only_span(exporter, f"send {topic}"))
    assert trace_id == "1" * 32

    theirs, ours = await read_records(topic, 2)
    assert list(theirs.headers) == [("traceparent", CLIENT_TRACEPARENT.encode())]
    headers = headers_of(ours)
    assert set(headers) == {"other", "traceparent", "tracestate"}
    assert headers["other"] == b"x"
    assert context_of(headers["traceparent"]) == (trace_id, span_id)
    assert headers["tracestate"] == b"vendor=abc"


async def test_reads_make_consumer_spans_linked_to_the_records_context(
    traced: Traced, new_topic: NewTopicFactory
) -> None:
    client, exporter = traced
    topic = await new_topic(partitions=1)
    await produce(client, topic, [{"value": b64(b"one")}, {"value": b64(b"two")}])
    produced = ids(only_span(exporter, f"send {topic}"))

    # Group-less partition read.
    response = await client.get(
        f"/topics/{topic}/partitions/0/records?offset=0&timeout=5000",
        headers={"Accept": BINARY_V2},
    )
    assert len(await json_of(response, content_type=BINARY_V2)) == 2
    # A consumer instance, assigned (no group to form, so no rebalance to wait for).
    group = f"g-{topic}"
    path = await create_consumer(
        client, group, {"format": "binary", "auto.offset.reset": "earliest"}
    )
    response = await client.post(
        f"{path}/assignments",
        json={"partitions": [{"topic": topic, "partition": 0}]},
        headers={"Content-Type": V2},
    )
    assert response.status == 204, await response.text()
    assert len(await read_until(client, path, 2)) == 2

    for name, attribute, value in (
        (f"poll {topic}", "messaging.destination.name", topic),
        (f"poll {group}", "messaging.consumer.group.name", group),
    ):
        delivering = [
            span
            for span in spans_named(exporter, name)
            if span.attributes and span.attributes.get("messaging.batch.message_count")
        ]
        assert len(delivering) >= 1, [span.name for span in exporter.get_finished_spans()]
        consumer = delivering[0]
        assert consumer.kind is SpanKind.CONSUMER
        assert consumer.attributes is not None
        assert consumer.attributes["messaging.system"] == "kafka"
        assert consumer.attributes[attribute] == value
        # Both records came from one produce request: one link to its span.
        assert [
            (f"{link.context.trace_id:032x}", f"{link.context.span_id:016x}")
            for link in consumer.links
        ] == [produced]
        # The read belongs to its own request's trace, not the producer's.
        assert consumer.parent is not None
        assert ids(consumer)[0] != produced[0]


async def test_spans_are_flushed_when_the_app_stops(
    bridge_settings: Settings, aiohttp_client: ClientFactory
) -> None:
    exporter = InMemorySpanExporter()
    app = create_app(dataclasses.replace(bridge_settings, tracing="opentelemetry"))
    # Batched as in production, with a delay no test waits for: only the shutdown flushes.
    app[TRACING] = OpenTelemetryTracing(
        [BatchSpanProcessor(exporter, schedule_delay_millis=60_000)]
    )
    client = await aiohttp_client(app)
    assert (await client.get("/topics")).status == 200
    assert exporter.get_finished_spans() == ()
    await client.close()
    assert [span.name for span in exporter.get_finished_spans()] == ["GET /topics"]


async def test_untraced_bridge_adds_no_headers(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=1)
    await produce(
        bridge, topic, [{"value": b64(b"plain")}], headers={"traceparent": CLIENT_TRACEPARENT}
    )
    (record,) = await read_records(topic, 1)
    assert record.value == b"plain"
    assert list(record.headers) == []


async def test_bad_exporter_configuration_stops_start_up(
    bridge_settings: Settings, aiohttp_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    app = create_app(dataclasses.replace(bridge_settings, tracing="opentelemetry"))
    with pytest.raises(TracingConfigError, match="OTEL_TRACES_EXPORTER names 'zipkin'"):
        await aiohttp_client(app)

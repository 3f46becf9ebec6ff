"""Prometheus metrics: request series by route template (never a consumer's name), records and
bytes produced and consumed per format, the live gauges, errors by kind, and the management
app that serves the probes and metrics instead of the API app."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable

from prometheus_client.parser import text_string_to_metric_families

from bridge import __version__
from bridge.app import create_app, create_management_app
from bridge.metrics import METRICS
from bridge.settings import Settings
from tests.conftest import BridgeClient, NewTopicFactory, ReadRecords
from tests.integration.consumer_helpers import b64, create_consumer, read_until
from tests.integration.helpers import BINARY_V2, JSON_V2, V2, error_of, json_of

AiohttpClient = Callable[..., Awaitable[BridgeClient]]
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: BridgeClient) -> tuple[str, Samples]:
    """The /metrics text, and every sample by (name, labels)."""
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    text = await response.text()
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    return text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def requests(samples: Samples, method: str, route: str, status: int, dialect: str) -> float:
    return value(
        samples,
        "kafka_bridge_http_requests_total",
        method=method,
        route=route,
        status=str(status),
        dialect=dialect,
    )


async def test_requests_are_labelled_by_route_template_never_by_consumer_name(
    bridge: BridgeClient,
) -> None:
    group, name = f"metricsgroup{uuid.uuid4().hex[:8]}", f"zebra{uuid.uuid4().hex[:8]}"
    created = await bridge.post(
        f"/consumers/{group}", json={"name": name}, headers={"Content-Type": V2}
    )
    await json_of(created)
    instance = f"/consumers/{group}/instances/{name}"
    for _ in range(2):
        assert (await bridge.get(f"{instance}/subscription", headers={"Accept": V2})).status == 200
    assert (await bridge.delete(f"{instance}/")).status == 204  # the trailing-slash twin
    await error_of(await bridge.get(f"/no/such/{name}", headers={"Accept": V2}), 404, 404)

    text, samples = await scrape(bridge)
    assert name not in text
    assert group not in text
    assert requests(samples, "POST", "/consumers/{group}", 200, "v2") == 1
    subscription = "/consumers/{group}/instances/{name}/subscription"
    assert requests(samples, "GET", subscription, 200, "v2") == 2
    assert requests(samples, "DELETE", "/consumers/{group}/instances/{name}", 204, "v2") == 1
    assert requests(samples, "GET", "unmatched", 404, "v2") == 1
    latency = "kafka_bridge_http_request_duration_seconds_count"
    assert value(samples, latency, method="GET", route=subscription, status="200") == 2
    # Cumulative buckets, as Prometheus reads them: every read took under a minute.
    buckets = {
        dict(labels)["le"]: count
        for (sample, labels), count in samples.items()
        if sample == "kafka_bridge_http_request_duration_seconds_bucket"
        and dict(labels).get("route") == subscription
    }
    assert buckets["+Inf"] == buckets["60.0"] == 2
    counts = [buckets[le] for le in sorted(buckets, key=lambda le: float(le))]
    assert counts == sorted(counts)
    seconds = "kafka_bridge_http_request_duration_seconds_sum"
    assert 0 < value(samples, seconds, method="GET", route=subscription, status="200") < 60
    assert value(samples, "kafka_bridge_errors_total", kind="route_not_found") == 1
    # Probes and metrics count as requests of their own route.
    _, again = await scrape(bridge)
    assert requests(again, "GET", "/metrics", 200, "none") == 1


async def test_an_error_counts_with_its_status_and_kind(bridge: BridgeClient) -> None:
    missing = f"missing-{uuid.uuid4().hex[:8]}"
    await error_of(await bridge.get(f"/topics/{missing}", headers={"Accept": V2}), 404, 404)
    await error_of(
        await bridge.post(f"/topics/{missing}", data=b"{", headers={"Content-Type": BINARY_V2}),
        400,
        400,
    )
    _, samples = await scrape(bridge)
    assert requests(samples, "GET", "/topics/{topic}", 404, "v2") == 1
    assert requests(samples, "POST", "/topics/{topic}", 400, "v2") == 1
    assert value(samples, "kafka_bridge_errors_total", kind="topic_not_found") == 1
    assert value(samples, "kafka_bridge_errors_total", kind="malformed_body") == 1


async def test_produced_records_and_bytes_per_format(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    json_topic, binary_topic = await new_topic(partitions=1), await new_topic(partitions=1)
    json_body = {"records": [{"key": "k1", "value": {"a": [1, 2]}}, {"value": "just text"}]}
    response = await bridge.post(
        f"/topics/{json_topic}", json=json_body, headers={"Content-Type": JSON_V2}
    )
    await json_of(response)
    binary_body = {"records": [{"key": b64(b"key"), "value": b64(b"\x00" * 100)}]}
    response = await bridge.post(
        f"/topics/{binary_topic}", json=binary_body, headers={"Content-Type": BINARY_V2}
    )
    await json_of(response)

    _, samples = await scrape(bridge)
    for fmt, topic, count in (("json", json_topic, 2), ("binary", binary_topic, 1)):
        in_kafka = await read_records(topic, count)
        size = sum(len(r.key or b"") + len(r.value or b"") for r in in_kafka)
        labels = {"direction": "produced", "format": fmt}
        assert value(samples, "kafka_bridge_records_total", **labels) == count
        assert value(samples, "kafka_bridge_record_bytes_total", **labels) == size
    assert value(samples, "kafka_bridge_records_total", direction="consumed", format="json") == 0


async def test_consumed_records_and_bytes_per_format(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=1)
    for record in ({"key": "a", "value": {"n": 1}}, {"value": [True, None]}):
        # One record per request: Tansu reports wrong end offsets after a multi-record batch.
        response = await bridge.post(
            f"/topics/{topic}/partitions/0",
            json={"records": [record]},
            headers={"Content-Type": JSON_V2},
        )
        await json_of(response)
    size = sum(len(r.key or b"") + len(r.value or b"") for r in await read_records(topic, 2))

    # A group-less partition read, in binary.
    response = await bridge.get(
        f"/topics/{topic}/partitions/0/records?offset=0", headers={"Accept": BINARY_V2}
    )
    assert len(await json_of(response, content_type=BINARY_V2)) == 2
    # A consumer instance's read, in json (its response is streamed by the handler).
    path = await create_consumer(
        bridge, f"g-{uuid.uuid4().hex[:8]}", {"format": "json", "auto.offset.reset": "earliest"}
    )
    assigned = await bridge.post(
        f"{path}/assignments",
        json={"partitions": [{"topic": topic, "partition": 0}]},
        headers={"Content-Type": V2},
    )
    assert assigned.status == 204
    assert len(await read_until(bridge, path, 2, accept=JSON_V2)) == 2
    assert (await bridge.delete(path)).status == 204

    _, samples = await scrape(bridge)
    for fmt in ("binary", "json"):
        labels = {"direction": "consumed", "format": fmt}
        assert value(samples, "kafka_bridge_records_total", **labels) == 2
        assert value(samples, "kafka_bridge_record_bytes_total", **labels) == size


async def test_live_gauges_follow_consumers_connections_and_tasks(bridge: BridgeClient) -> None:
    runner = bridge.server.runner
    assert runner is not None
    assert runner.server is not None
    bridge.app[METRICS].watch_server(runner.server)
    group = f"gauges-{uuid.uuid4().hex[:8]}"
    _, samples = await scrape(bridge)
    assert value(samples, "kafka_bridge_consumer_instances") == 0
    assert value(samples, "kafka_bridge_http_connections") >= 1
    assert value(samples, "kafka_bridge_http_requests_in_flight") == 1  # the scrape itself
    assert value(samples, "kafka_bridge_event_loop_tasks") >= 1
    assert value(samples, "process_resident_memory_bytes") > 0
    assert value(samples, "kafka_bridge_build_info", version=__version__) == 1

    paths = [await create_consumer(bridge, group) for _ in range(2)]
    _, samples = await scrape(bridge)
    assert value(samples, "kafka_bridge_consumer_instances") == 2
    for remaining, path in enumerate(paths[::-1]):
        assert (await bridge.delete(path)).status == 204
        _, samples = await scrape(bridge)
        assert value(samples, "kafka_bridge_consumer_instances") == 1 - remaining


async def test_management_app_serves_probes_and_metrics_instead_of_the_api_app(
    bridge_settings: Settings, aiohttp_client: AiohttpClient
) -> None:
    settings = dataclasses.replace(bridge_settings, management_port=9999)
    api = await aiohttp_client(create_app(settings))
    management = await aiohttp_client(create_management_app(api.app))

    for path in ("/metrics", "/healthy", "/ready", "/metrics/"):
        await error_of(await api.get(path, headers={"Accept": V2}), 404, 404)
        response = await management.get(path)
        assert response.status == 200, path
        assert response.headers["X-Request-Id"]
    assert (await api.get("/topics", headers={"Accept": V2})).status == 200
    await error_of(await management.get("/topics"), 404, 404)

    # The management app reports the API app's traffic and consumers; not its own.
    path = await create_consumer(api, f"mgmt-{uuid.uuid4().hex[:8]}")
    _, samples = await scrape(management)
    assert requests(samples, "GET", "/topics", 200, "v2") == 1
    # Unnegotiated paths: no dialect.
    assert requests(samples, "GET", "unmatched", 404, "none") == 4
    assert value(samples, "kafka_bridge_consumer_instances") == 1
    assert not any(dict(labels).get("route") == "/metrics" for _, labels in samples)
    assert (await api.delete(path)).status == 204

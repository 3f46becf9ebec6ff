"""The `kafka-bridge` command as operators run it: a separate process on the real broker, its
management listener, and the graceful shutdown that SIGTERM starts with live consumers and
requests in flight."""

from __future__ import annotations

import asyncio
import base64
import signal
import time
from collections.abc import AsyncIterator, Iterator

import aiohttp
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from tests.conftest import NewTopicFactory
from tests.integration.process_helpers import BridgeProcess, start_bridge, wait_until_healthy
from tests.kafka_target import KafkaTarget

V2 = "application/vnd.kafka.v2+json"
BINARY_V2 = "application/vnd.kafka.binary.v2+json"


@pytest.fixture
def stop_leftovers() -> Iterator[list[BridgeProcess]]:
    started: list[BridgeProcess] = []
    yield started
    for bridge in started:
        if bridge.process.poll() is None:
            bridge.process.kill()
            bridge.process.wait()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def test_management_listener_serves_probes_and_metrics_apart_from_the_api(
    kafka: KafkaTarget, session: aiohttp.ClientSession, stop_leftovers: list[BridgeProcess]
) -> None:
    bridge = start_bridge(kafka, "--log-format", "json")
    stop_leftovers.append(bridge)
    await wait_until_healthy(bridge, session)
    for path in ("/healthy", "/ready", "/metrics"):
        async with session.get(bridge.management_url + path) as response:
            assert response.status == 200, path
        async with session.get(bridge.url + path) as response:
            assert response.status == 404, path
    async with session.get(bridge.url + "/topics", headers={"Accept": V2}) as response:
        assert response.status == 200
    async with session.get(bridge.management_url + "/metrics") as response:
        assert "kafka_bridge_" in await response.text()

    bridge.process.send_signal(signal.SIGTERM)
    assert bridge.process.wait(timeout=20) == 0
    lines = [line for line in bridge.log().splitlines() if line.strip()]
    # --log-format json: every line the process logged is one JSON object.
    assert lines
    for line in lines:
        assert isinstance(orjson.loads(line), dict), line


async def test_sigterm_finishes_requests_in_flight_then_commits_and_closes_consumers(
    kafka: KafkaTarget,
    session: aiohttp.ClientSession,
    new_topic: NewTopicFactory,
    stop_leftovers: list[BridgeProcess],
) -> None:
    bridge = start_bridge(kafka, "-D", "http.shutdown.timeout.ms=10000")
    stop_leftovers.append(bridge)
    await wait_until_healthy(bridge, session)
    topic = await new_topic(partitions=1)
    group = f"shutdown-{topic}"
    record = {"records": [{"value": base64.b64encode(b"handed out").decode()}]}
    async with session.post(
        f"{bridge.url}/topics/{topic}", json=record, headers={"Content-Type": BINARY_V2}
    ) as response:
        assert response.status == 200, await response.text()

    async with session.post(
        f"{bridge.url}/consumers/{group}",
        json={"name": "c1", "format": "binary", "auto.offset.reset": "earliest"},
        headers={"Content-Type": V2},
    ) as response:
        assert response.status == 200, await response.text()
        instance = (await response.json(content_type=None))["base_uri"]
    async with session.post(
        f"{instance}/subscription", json={"topics": [topic]}, headers={"Content-Type": V2}
    ) as response:
        assert response.status == 204
    received: list[object] = []
    deadline = time.monotonic() + 20
    while not received and time.monotonic() < deadline:
        async with session.get(
            f"{instance}/records?timeout=1000", headers={"Accept": BINARY_V2}
        ) as response:
            assert response.status == 200, await response.text()
            received = await response.json(content_type=None)
    assert len(received) == 1

    # A long read is in flight when SIGTERM arrives: it is answered, not cut.
    long_read = asyncio.create_task(
        session.get(f"{instance}/records?timeout=3000", headers={"Accept": BINARY_V2})
    )
    await asyncio.sleep(0.5)
    signalled = time.monotonic()
    bridge.process.send_signal(signal.SIGTERM)
    response = await long_read
    assert response.status == 200
    assert await response.json(content_type=None) == []
    response.release()
    await asyncio.sleep(0.2)
    with pytest.raises(aiohttp.ClientConnectionError):
        async with session.get(f"{bridge.url}/topics", headers={"Accept": V2}):
            pass
    assert await asyncio.to_thread(bridge.process.wait, 20) == 0
    assert time.monotonic() - signalled < 15
    log = bridge.log()
    assert "shutting down" in log, log
    assert "Traceback" not in log, log

    # The record handed out before the shutdown was committed when the consumer closed.
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        assert await consumer.committed(TopicPartition(topic, 0)) == 1
    finally:
        await consumer.stop()

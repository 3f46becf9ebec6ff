"""Request admission: the in-flight cap answers 429 with Retry-After, the API switches answer
503, and probes are admitted whatever the load."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from bridge.app import create_app
from bridge.settings import Settings
from tests.conftest import BridgeClient, NewTopicFactory
from tests.integration.helpers import BINARY_V2, V1, V2, error_of, json_of

AiohttpClient = Callable[..., Awaitable[BridgeClient]]

BINARY_V1 = "application/vnd.kafka.binary.v1+json"
RECORD = b'{"records": [{"value": "aGk="}]}'


async def bridge_with(
    settings: Settings, aiohttp_client: AiohttpClient, **changes: Any
) -> BridgeClient:
    return await aiohttp_client(create_app(dataclasses.replace(settings, **changes)))


async def test_requests_beyond_the_in_flight_cap_are_429_with_retry_after(
    bridge_settings: Settings, aiohttp_client: AiohttpClient, new_topic: NewTopicFactory
) -> None:
    bridge = await bridge_with(bridge_settings, aiohttp_client, max_inflight_requests=2)
    topic = await new_topic(partitions=1)
    # Two reads at the end of an empty partition wait their whole timeout.
    waiting_read = f"/topics/{topic}/partitions/0/records?offset=0&timeout=3000"
    held = [
        asyncio.create_task(bridge.get(waiting_read, headers={"Accept": BINARY_V2}))
        for _ in range(2)
    ]
    await asyncio.sleep(0.5)
    assert not any(task.done() for task in held)

    refused = await bridge.get("/topics", headers={"Accept": V2})
    await error_of(refused, 429, 429)
    assert refused.headers["Retry-After"] == "1"
    refused_v1 = await bridge.post(
        f"/topics/{topic}", data=RECORD, headers={"Content-Type": BINARY_V1, "Accept": V1}
    )
    await error_of(refused_v1, 429, 42901, dialect=1)
    assert refused_v1.headers["Retry-After"] == "1"
    for probe in ("/healthy", "/ready", "/metrics"):
        assert (await bridge.get(probe)).status == 200, probe

    for response in await asyncio.gather(*held):
        assert await json_of(response, content_type=BINARY_V2) == []
    assert topic in await json_of(await bridge.get("/topics", headers={"Accept": V2}))


async def test_in_flight_cap_of_zero_means_no_limit(
    bridge_settings: Settings, aiohttp_client: AiohttpClient
) -> None:
    bridge = await bridge_with(bridge_settings, aiohttp_client, max_inflight_requests=0)
    responses = await asyncio.gather(*(bridge.get("/topics") for _ in range(20)))
    assert [response.status for response in responses] == [200] * 20


async def test_producer_api_switched_off_is_503(
    bridge_settings: Settings, aiohttp_client: AiohttpClient, new_topic: NewTopicFactory
) -> None:
    bridge = await bridge_with(bridge_settings, aiohttp_client, producer_enabled=False)
    topic = await new_topic(partitions=1)
    v2 = await bridge.post(f"/topics/{topic}", data=RECORD, headers={"Content-Type": BINARY_V2})
    body = await error_of(v2, 503, 503)
    assert "http.producer.enabled" in body["message"]
    v1 = await bridge.post(
        f"/topics/{topic}/partitions/0",
        data=RECORD,
        headers={"Content-Type": BINARY_V1, "Accept": V1},
    )
    await error_of(v1, 503, 503, dialect=1)
    # The rest of the API still serves, the consumer side included.
    await json_of(await bridge.get(f"/topics/{topic}"))
    created = await bridge.post("/consumers/limits-group", json={}, headers={"Content-Type": V2})
    instance = await json_of(created)
    assert (
        await bridge.delete(f"/consumers/limits-group/instances/{instance['instance_id']}")
    ).status == 204


async def test_consumer_api_switched_off_is_503(
    bridge_settings: Settings, aiohttp_client: AiohttpClient, new_topic: NewTopicFactory
) -> None:
    bridge = await bridge_with(bridge_settings, aiohttp_client, consumer_enabled=False)
    topic = await new_topic(partitions=1)
    created = await bridge.post("/consumers/g", json={}, headers={"Content-Type": V2})
    body = await error_of(created, 503, 503)
    assert "http.consumer.enabled" in body["message"]
    read = await bridge.get(
        f"/topics/{topic}/partitions/0/messages?offset=0", headers={"Accept": V1}
    )
    await error_of(read, 503, 503, dialect=1)
    records = await bridge.get("/consumers/g/instances/x/records", headers={"Accept": BINARY_V2})
    await error_of(records, 503, 503)
    # Producing still works.
    produced = await bridge.post(
        f"/topics/{topic}", data=RECORD, headers={"Content-Type": BINARY_V2}
    )
    assert (await json_of(produced))["offsets"][0]["offset"] == 0

"""The harness's own requests, outside the measured windows: topics, a checked first produce
request per run, schema registration, and the idle consumer instances of the memory figure.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from benchmarks.scenarios import ACCEPT, AVRO_SCHEMA, Scenario, produce_body

_V2_JSON = "application/vnd.kafka.v2+json"


class Topics:
    """Creates each run's topic and deletes it afterwards (the embedded broker keeps
    everything in memory)."""

    def __init__(self, bootstrap_servers: str) -> None:
        self._admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)

    async def __aenter__(self) -> Topics:
        await self._admin.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._admin.close()

    async def create(self, name: str, partitions: int) -> None:
        await self._admin.create_topics([NewTopic(name, partitions, 1)])

    async def delete(self, name: str) -> None:
        try:
            await self._admin.delete_topics([name])
        except Exception as exc:  # deleting only saves memory; a failure is not fatal
            print(f"  (could not delete topic {name}: {exc!r})")


async def first_produce(
    bridge_url: str, topic: str, scenario: Scenario, value_size: int
) -> int | None:
    """One produce request whose answer is checked record by record; it also warms the
    bridge's metadata cache. Returns the value schema id for avro."""
    body = produce_body(scenario, value_size, None)
    headers = {"Content-Type": scenario.content_type, "Accept": ACCEPT}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{bridge_url}/topics/{topic}", data=body, headers=headers) as response,
    ):
        payload = await response.read()
    answer: dict[str, Any] = orjson.loads(payload) if payload else {}
    failed = [o for o in answer.get("offsets", []) if o.get("offset") is None]
    if response.status != 200 or failed:
        raise RuntimeError(f"{scenario.name}: the bridge answered {response.status} {answer}")
    schema_id = answer.get("value_schema_id")
    return int(schema_id) if schema_id is not None else None


async def register_schema(registry_url: str, topic: str) -> int:
    """What an aiokafka application would do once: register the value schema of `topic`."""
    body = {"schema": orjson.dumps(AVRO_SCHEMA).decode()}
    headers = {"Content-Type": "application/vnd.schemaregistry.v1+json"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{registry_url}/subjects/{topic}-value/versions",
            data=orjson.dumps(body),
            headers=headers,
        ) as response,
    ):
        answer = await response.json(content_type=None)
    if response.status != 200:
        raise RuntimeError(f"registering the schema: {response.status} {answer}")
    return int(answer["id"])


async def create_consumers(bridge_url: str, group: str, count: int) -> list[str]:
    """Create `count` consumer instances (not subscribed); returns their URLs."""
    headers = {"Content-Type": _V2_JSON, "Accept": _V2_JSON}
    gate = asyncio.Semaphore(8)
    async with aiohttp.ClientSession() as session:

        async def create(index: int) -> str:
            config = {"name": f"idle-{index}", "format": "binary"}
            async with (
                gate,
                session.post(
                    f"{bridge_url}/consumers/{group}", data=orjson.dumps(config), headers=headers
                ) as response,
            ):
                answer = await response.json(content_type=None)
            if response.status != 200:
                raise RuntimeError(f"creating consumer {index}: {response.status} {answer}")
            return str(answer["base_uri"])

        return list(await asyncio.gather(*(create(i) for i in range(count))))


async def delete_consumers(urls: list[str]) -> None:
    gate = asyncio.Semaphore(8)
    async with aiohttp.ClientSession() as session:

        async def delete(url: str) -> None:
            async with gate, session.delete(url, headers={"Accept": _V2_JSON}) as response:
                await response.read()

        await asyncio.gather(*(delete(url) for url in urls))

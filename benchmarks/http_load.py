"""The in-process HTTP load generator: aiohttp, one connection per concurrent request.

Used when `wrk` is not installed; for consuming, it also creates the consumer instance,
subscribes and reads the first records when wrk reads the rest (`benchmarks.wrk`). Bodies
are built once; the client does no per-request encoding.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import aiohttp
import orjson

from benchmarks.jobs import ConsumeJob, ProduceJob
from benchmarks.scenarios import ACCEPT, Scenario, produce_body
from benchmarks.stats import Recorder, RunResult, consume_result

_V2_JSON = "application/vnd.kafka.v2+json"
BINARY_RECORDS = "application/vnd.kafka.binary.v2+json"
MAX_READ_ERRORS = 10


async def produce(job: ProduceJob) -> RunResult:
    assert job.bridge_url is not None
    scenario = Scenario("", job.records_per_request, job.value_format)
    body = produce_body(scenario, job.value_size, job.value_schema_id)
    url = f"{job.bridge_url}/topics/{job.topic}"
    headers = {"Content-Type": scenario.content_type, "Accept": ACCEPT}
    recorder = Recorder(job.warmup_s, job.duration_s)
    connector = aiohttp.TCPConnector(limit=job.concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client() -> None:
            while recorder.running():
                started = time.perf_counter()
                try:
                    async with session.post(url, data=body, headers=headers) as response:
                        await response.read()
                        ok = response.status == 200
                except aiohttp.ClientError:
                    ok = False
                recorder.record(started, job.records_per_request, ok)

        await asyncio.gather(*(client() for _ in range(job.concurrency)))
    return recorder.result()


async def consume(job: ConsumeJob) -> RunResult:
    """Create an instance, subscribe, read until `job.records` arrived, delete the instance.

    Records per second count from the first response that carried records, so that joining
    the group (timed separately as the time to the first record) is not part of them.
    """
    async with aiohttp.ClientSession() as session, consumer_instance(session, job) as instance:
        return await _read_all(session, instance, job)


@contextlib.asynccontextmanager
async def consumer_instance(session: aiohttp.ClientSession, job: ConsumeJob) -> AsyncIterator[str]:
    """A new binary consumer instance of `job.group` reading from the earliest offset, with
    no auto-commit: its base URI. Deleted afterwards."""
    assert job.bridge_url is not None
    config = {
        "name": "bench",
        "format": "binary",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    }
    json_headers = {"Content-Type": _V2_JSON, "Accept": _V2_JSON}
    group_url = f"{job.bridge_url}/consumers/{job.group}"
    async with session.post(group_url, data=orjson.dumps(config), headers=json_headers) as r:
        if r.status != 200:
            raise RuntimeError(f"creating the consumer: {r.status} {await r.text()}")
        instance: str = (await r.json(content_type=None))["base_uri"]
    try:
        yield instance
    finally:
        async with session.delete(instance, headers=json_headers):
            pass


def records_url(instance: str) -> str:
    return f"{instance}/records?timeout=1000"


async def subscribe(session: aiohttp.ClientSession, instance: str, job: ConsumeJob) -> float:
    """Subscribe the instance to the job's topic; when it was asked (perf_counter)."""
    subscription = orjson.dumps({"topics": [job.topic]})
    subscribed = time.perf_counter()
    headers = {"Content-Type": _V2_JSON}
    async with session.post(f"{instance}/subscription", data=subscription, headers=headers) as r:
        if r.status != 204:
            raise RuntimeError(f"subscribing: {r.status} {await r.text()}")
    return subscribed


async def read_once(session: aiohttp.ClientSession, instance: str) -> tuple[int, bytes]:
    """One read: its status and body."""
    async with session.get(records_url(instance), headers={"Accept": BINARY_RECORDS}) as response:
        return response.status, await response.read()


async def _read_all(session: aiohttp.ClientSession, instance: str, job: ConsumeJob) -> RunResult:
    subscribed = await subscribe(session, instance, job)
    deadline = subscribed + job.timeout_s
    latencies: list[float] = []
    received = errors = 0
    first_at: float | None = None
    first_batch = 0
    while received < job.records and time.perf_counter() < deadline:
        started = time.perf_counter()
        status, payload = await read_once(session, instance)
        if status != 200:
            errors += 1
            if errors > MAX_READ_ERRORS:
                raise RuntimeError(f"reading: {status} {payload[:500]!r}")
            continue
        count = len(orjson.loads(payload))
        if first_at is not None:  # reads while the group forms are not the steady state
            latencies.append(time.perf_counter() - started)
        received += count
        if count and first_at is None:
            first_at, first_batch = time.perf_counter(), count
    return consume_result(
        received=received,
        errors=errors,
        latencies=latencies,
        subscribed=subscribed,
        first=(first_at, first_batch),
    )

"""The in-process HTTP load generator: aiohttp, one connection per concurrent request.

Used when `wrk` is not installed, and always for consuming, which is a conversation rather
than one request repeated. Bodies are built once; the client does no per-request encoding.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import orjson

from benchmarks.jobs import ConsumeJob, ProduceJob
from benchmarks.scenarios import ACCEPT, Scenario, produce_body
from benchmarks.stats import Recorder, RunResult, consume_result

_V2_JSON = "application/vnd.kafka.v2+json"
_BINARY_RECORDS = "application/vnd.kafka.binary.v2+json"
_MAX_READ_ERRORS = 10


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
    assert job.bridge_url is not None
    group_url = f"{job.bridge_url}/consumers/{job.group}"
    config = {
        "name": "bench",
        "format": "binary",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    }
    json_headers = {"Content-Type": _V2_JSON, "Accept": _V2_JSON}
    async with aiohttp.ClientSession() as session:
        async with session.post(group_url, data=orjson.dumps(config), headers=json_headers) as r:
            if r.status != 200:
                raise RuntimeError(f"creating the consumer: {r.status} {await r.text()}")
            instance = (await r.json(content_type=None))["base_uri"]
        try:
            return await _read_all(session, instance, job)
        finally:
            async with session.delete(instance, headers=json_headers):
                pass


async def _read_all(session: aiohttp.ClientSession, instance: str, job: ConsumeJob) -> RunResult:
    headers = {"Content-Type": _V2_JSON}
    subscription = orjson.dumps({"topics": [job.topic]})
    subscribed = time.perf_counter()
    async with session.post(f"{instance}/subscription", data=subscription, headers=headers) as r:
        if r.status != 204:
            raise RuntimeError(f"subscribing: {r.status} {await r.text()}")
    url = f"{instance}/records?timeout=1000"
    read_headers = {"Accept": _BINARY_RECORDS}
    deadline = subscribed + job.timeout_s
    latencies: list[float] = []
    received = errors = 0
    first_at: float | None = None
    first_batch = 0
    while received < job.records and time.perf_counter() < deadline:
        started = time.perf_counter()
        async with session.get(url, headers=read_headers) as response:
            payload = await response.read()
            if response.status != 200:
                errors += 1
                if errors > _MAX_READ_ERRORS:
                    raise RuntimeError(f"reading: {response.status} {payload[:500]!r}")
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

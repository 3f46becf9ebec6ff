"""The ceiling: the same workloads through aiokafka directly, with the bridge's settings.

A produce burst is what the bridge does with one request: `send` each record, then await
all acknowledgements. A consume run is a group consumer reading with `getmany` and the
bridge's default records per read.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from benchmarks.jobs import ConsumeJob, PreloadJob, ProduceJob
from benchmarks.scenarios import value_encoder
from benchmarks.stats import Recorder, RunResult, consume_result


async def produce(job: ProduceJob) -> RunResult:
    assert job.kafka is not None
    encode = value_encoder(job.value_format, job.value_size, job.value_schema_id)
    producer = AIOKafkaProducer(**job.kafka)
    await producer.start()
    try:
        # The first send fetches the topic's metadata; the bridge's probe request did too.
        await producer.send_and_wait(job.topic, encode())
        recorder = Recorder(job.warmup_s, job.duration_s)

        async def client() -> None:
            while recorder.running():
                started = time.perf_counter()
                futures = [
                    await producer.send(job.topic, value=encode())
                    for _ in range(job.records_per_request)
                ]
                outcomes = await asyncio.gather(*futures, return_exceptions=True)
                ok = not any(isinstance(o, BaseException) for o in outcomes)
                recorder.record(started, job.records_per_request, ok)

        await asyncio.gather(*(client() for _ in range(job.concurrency)))
    finally:
        await producer.stop()
    return recorder.result()


async def consume(job: ConsumeJob) -> RunResult:
    assert job.kafka is not None
    consumer = AIOKafkaConsumer(
        **{
            **job.kafka,
            "group_id": job.group,
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
        }
    )
    await consumer.start()
    try:
        subscribed = time.perf_counter()
        consumer.subscribe([job.topic])
        deadline = subscribed + job.timeout_s
        latencies: list[float] = []
        received = 0
        first_at: float | None = None
        first_batch = 0
        while received < job.records and time.perf_counter() < deadline:
            started = time.perf_counter()
            batches = await consumer.getmany(timeout_ms=1000, max_records=job.max_records)
            if first_at is not None:  # reads while the group forms are not the steady state
                latencies.append(time.perf_counter() - started)
            count = sum(len(records) for records in batches.values())
            received += count
            if count and first_at is None:
                first_at, first_batch = time.perf_counter(), count
        return consume_result(
            received=received,
            errors=0,
            latencies=latencies,
            subscribed=subscribed,
            first=(first_at, first_batch),
        )
    finally:
        await consumer.stop()


async def preload(job: PreloadJob) -> dict[str, Any]:
    """Write the records the consume scenario reads, in bursts of 1,000."""
    encode = value_encoder("binary", job.value_size, None)
    producer = AIOKafkaProducer(**job.kafka)
    await producer.start()
    try:
        written = 0
        while written < job.records:
            burst = min(1000, job.records - written)
            futures = [await producer.send(job.topic, value=encode()) for _ in range(burst)]
            await asyncio.gather(*futures)
            written += burst
    finally:
        await producer.stop()
    return {"records": written}

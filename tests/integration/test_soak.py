"""A bounded soak: the bridge as its own process under a minute of mixed load from a few
hundred connections (produce in both dialects, consumer instances coming and going, partition
reads, metadata, clients that give up), then checks that nothing failed, that every record
the bridge acknowledged is in Kafka, that resident memory levelled off, and that the event
loop's tasks, the open connections and descriptors, and the consumer instances went back to
what they were before the load.

The figures (memory before, peak and after; tasks, descriptors, connections; answers by
status; records) are printed (`pytest -s`) and written to `soak-figures.json` in the test's
temporary directory. SOAK_SECONDS runs the load longer than the default.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from tests.conftest import NewTopicFactory, assigned_consumer
from tests.integration import soak_load as load
from tests.integration.process_helpers import BridgeProcess, start_bridge, wait_until_healthy
from tests.integration.soak_probes import (
    LEVEL_FLOOR_MB,
    LEVEL_RATIO,
    Sampler,
    Scrape,
    levelling,
    memory_of,
    scrape,
)
from tests.kafka_target import KafkaTarget

pytestmark = pytest.mark.soak

#: Seconds of load; CI runs the default, developers can soak longer.
SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "45"))
#: The first part of the load fills pools and buffers; memory is judged after it.
WARMUP_SHARE = 0.2
SAMPLE_INTERVAL_S = 1.0

#: Workers running the mixed operations; every FORCE_CLOSE_EVERY-th opens a new connection
#: per request, the others keep theirs for the whole run.
MIXED_WORKERS = 240
FORCE_CLOSE_EVERY = 5
#: Consumer instance workers: each creates an instance, uses it a few seconds, deletes it.
SUBSCRIBED_GROUPS = 2
SUBSCRIBERS_PER_GROUP = 2
ASSIGNED_WORKERS = 2
V1_CONSUMER_WORKERS = 2
ABANDONING_WORKERS = 2

PARTITIONS = 3
#: Partition reads share this many pooled Kafka consumers; all are started before the
#: baseline, so that the pool's connections and tasks are part of it.
READER_POOL_SIZE = 12

#: After the load, how long the bridge gets to go back to its baseline.
SETTLE_S = 20.0
#: What may stay above the baseline after the load: a task or a descriptor that comes and
#: goes on its own (a metadata refresh, the broker health check) may be caught in a scrape.
TASK_SLACK = 2
FD_SLACK = 2
CONNECTION_SLACK = 0

_Step = Callable[[load.Worker], Awaitable[None]]


def _bridge_flags() -> list[str]:
    return [
        # No in-flight cap: a 429 would be the cap's doing, not a failure.
        *("-D", "http.max.inflight.requests=0"),
        *("-D", f"simpleconsumer.pool.size.max={READER_POOL_SIZE}"),
        *("-D", "simpleconsumer.pool.timeout.ms=10000"),
        # Each consumer instance prefetches up to this much per partition. aiokafka's default,
        # 1 MiB, is up to 6 MiB for an instance subscribed to both topics, tens of MiB for the
        # soak's instances together: memory that comes and goes with the instances, noise
        # that would drown a leak.
        *("-D", "kafka.consumer.max.partition.fetch.bytes=65536"),
    ]


def _workers(
    url: str, topics: load.SoakTopics, tally: load.Tally, stop: asyncio.Event
) -> list[tuple[load.Worker, _Step]]:
    workers: list[tuple[load.Worker, _Step]] = []

    def add(step: _Step, *, force_close: bool = False) -> None:
        worker = load.Worker(len(workers), url, topics, tally, stop, force_close=force_close)
        workers.append((worker, step))

    for i in range(MIXED_WORKERS):
        add(load.mixed, force_close=i % FORCE_CLOSE_EVERY == 0)
    for g in range(SUBSCRIBED_GROUPS):
        group = f"soak-subscribed-{g}-{topics.binary}"
        for _ in range(SUBSCRIBERS_PER_GROUP):
            add(partial(load.subscribed_consumer, group=group))
    for i in range(ASSIGNED_WORKERS):
        group = f"soak-assigned-{i}-{topics.binary}"
        add(partial(load.assigned_consumer, group=group))
    group = f"soak-v1-{topics.binary}"
    for _ in range(V1_CONSUMER_WORKERS):
        add(partial(load.v1_consumer, group=group))
    for _ in range(ABANDONING_WORKERS):
        add(load.abandoned_read, force_close=True)
    return workers


async def _prime(url: str, topics: load.SoakTopics, tally: load.Tally) -> None:
    """Every operation once, and every pooled partition reader started, before the baseline:
    what the bridge creates on first use and keeps is not a leak."""
    stopped = asyncio.Event()
    stopped.set()  # consumer instances skip their reads
    worker = load.Worker(-1, url, topics, tally, stopped, force_close=False)

    async def long_read(session: aiohttp.ClientSession) -> None:
        path = f"/topics/{topics.quiet}/partitions/0/records?offset=0&timeout=1500"
        async with session.get(url + path, headers={"Accept": load.BINARY_V2}) as response:
            assert response.status == 200, await response.text()

    async with worker.connected():
        for step, _ in load.MIXED_OPERATIONS:
            await step(worker)
        await load.every_metadata(worker)
        await load.subscribed_consumer(worker, f"soak-prime-{topics.binary}")
        await load.assigned_consumer(worker, f"soak-prime-{topics.binary}")
        await load.v1_consumer(worker, f"soak-prime-v1-{topics.binary}")
    async with aiohttp.ClientSession() as session:
        # As many concurrent reads as the pool holds, each waiting at the partition's end.
        await asyncio.gather(*(long_read(session) for _ in range(READER_POOL_SIZE)))
    assert tally.problem_count == 0, tally.problems


async def _settle(probe: aiohttp.ClientSession, bridge: BridgeProcess, baseline: Scrape) -> Scrape:
    """Scrape until the gauges are back at the baseline (or SETTLE_S passed); the last scrape."""
    base = baseline.gauges
    deadline = time.monotonic() + SETTLE_S
    while True:
        now = await scrape(probe, bridge.management_url)
        gauges = now.gauges
        settled = (
            gauges["tasks"] <= base["tasks"] + TASK_SLACK
            and gauges["open_fds"] <= base["open_fds"] + FD_SLACK
            and gauges["connections"] <= base["connections"] + CONNECTION_SLACK
            and gauges["consumer_instances"] == 0
            and gauges["in_flight"] == 0
        )
        if settled or time.monotonic() > deadline:
            return now
        await asyncio.sleep(0.5)


async def _read_back(
    kafka: KafkaTarget, topics: load.SoakTopics, topic: str, want: set[str]
) -> tuple[set[str], int]:
    """The ids of every record of `topic`, read straight from Kafka, and how many records.
    Reads until every wanted id came, or until nothing new came for a while."""
    seen: set[str] = set()
    count = 0
    async with assigned_consumer(kafka, topic) as consumer:
        await consumer.seek_to_beginning()
        quiet_since = time.monotonic()
        while not want <= seen and time.monotonic() - quiet_since < 10:
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for records in batches.values():
                for record in records:
                    seen.add(load.record_id_of(topics, topic, record.value))
                    count += 1
                if records:
                    quiet_since = time.monotonic()
        # Anything beyond the wanted ids (there should be none) comes with the last fetches.
        for records in (await consumer.getmany(timeout_ms=500)).values():
            for record in records:
                seen.add(load.record_id_of(topics, topic, record.value))
                count += 1
    return seen, count


def _log_levels(log_text: str) -> Counter[str]:
    """The bridge's log lines by level (text format: date, time, level, logger, message)."""
    levels: Counter[str] = Counter()
    for line in log_text.splitlines():
        fields = line.split(" ", 3)
        if len(fields) > 2 and fields[2] in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            levels[fields[2]] += 1
    return levels


def _report(figures: dict[str, Any], path: Path) -> None:
    text = orjson.dumps(figures, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()
    path.write_text(text)
    print(f"\nsoak figures ({path}):\n{text}")


async def test_soak_of_mixed_load_leaves_no_errors_no_leaks_and_every_record(
    kafka: KafkaTarget, new_topic: NewTopicFactory, tmp_path: Path
) -> None:
    topics = load.SoakTopics(
        binary=await new_topic(PARTITIONS, "soak-binary"),
        json=await new_topic(PARTITIONS, "soak-json"),
        quiet=await new_topic(1, "soak-quiet"),
        partitions=PARTITIONS,
    )
    bridge = start_bridge(kafka, *_bridge_flags(), log_file=tmp_path / "bridge.log")
    pid = bridge.process.pid
    tally = load.Tally()
    # The probe opens a connection per scrape on the management port, never the API's.
    probe = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))
    try:
        await wait_until_healthy(bridge, probe)
        memory_at_start = await memory_of(pid)
        await _prime(bridge.url, topics, tally)
        baseline = await scrape(probe, bridge.management_url)
        memory_before = await memory_of(pid)

        stop = asyncio.Event()
        workers = _workers(bridge.url, topics, tally, stop)
        sampler = Sampler(probe, bridge.management_url, SAMPLE_INTERVAL_S)
        sampler.start()
        started = time.monotonic()
        running = [asyncio.create_task(worker.run(step)) for worker, step in workers]
        await asyncio.sleep(SOAK_SECONDS)
        stop.set()
        stopped = time.monotonic()
        await asyncio.wait_for(asyncio.gather(*running), load.REQUEST_TIMEOUT_S * 2)
        drained = time.monotonic()
        await sampler.stop()

        after = await _settle(probe, bridge, baseline)
        settled = time.monotonic()
        memory_after = await memory_of(pid)

        read_back = {}
        for topic in (topics.binary, topics.json):
            want = tally.acked.get(topic, set())
            seen, count = await _read_back(kafka, topics, topic, want)
            read_back[topic] = {
                "acknowledged": len(want),
                "in_kafka": count,
                "missing": len(want - seen),
                "not_acknowledged": len(seen - want),
                "duplicates": count - len(seen),
            }

        bridge.process.send_signal(signal.SIGTERM)
        exit_code = await asyncio.to_thread(bridge.process.wait, 30)
    finally:
        await probe.close()
        if bridge.process.poll() is None:
            bridge.process.kill()
            bridge.process.wait()

    samples = sampler.samples
    level = levelling(samples, started + WARMUP_SHARE * SOAK_SECONDS, stopped)
    keep_alive_workers = sum(1 for worker, _ in workers if not worker.force_close)
    log_text = bridge.log()
    log_levels = _log_levels(log_text)

    def gauges(name: str) -> dict[str, float]:
        return {
            "before": baseline.gauges[name],
            "peak": sampler.peak(name),
            "after": after.gauges[name],
        }

    figures: dict[str, Any] = {
        "duration_s": {
            "load": round(stopped - started, 1),
            "drain": round(drained - stopped, 1),
            "settle": round(settled - drained, 1),
        },
        "workers": {"total": len(workers), "keeping_their_connection": keep_alive_workers},
        "rss_mb": {
            "at_start": memory_at_start["VmRSS"],
            "before_load": memory_before["VmRSS"],
            "peak": memory_after["VmHWM"],
            "after": memory_after["VmRSS"],
            "samples": [round(s.gauges["rss_mb"], 1) for s in samples],
            "median_growth_first_to_middle_third": round(level.early_mb, 2),
            "median_growth_middle_to_last_third": round(level.late_mb, 2),
            "allowed_middle_to_last_third": round(level.allowed_mb, 2),
        },
        "event_loop_tasks": gauges("tasks"),
        "open_fds": gauges("open_fds"),
        "http_connections": gauges("connections"),
        "consumer_instances": gauges("consumer_instances"),
        "requests_in_flight": gauges("in_flight"),
        "client_answers_by_status": dict(sorted(tally.statuses.items())),
        "server_answers_by_status": dict(sorted(after.requests.items())),
        "requests": sum(tally.statuses.values()),
        "requests_per_s": round(sum(tally.statuses.values()) / (stopped - started), 1),
        "operations": dict(sorted(tally.operations.items())),
        "abandoned_reads": tally.abandoned,
        "consumer_instances_created": tally.consumers_created,
        "consumer_instances_deleted": tally.consumers_deleted,
        "records_read_through_the_bridge": tally.records_read,
        "records": read_back,
        "problems": tally.problem_count,
        "bridge_exit_code": exit_code,
        "bridge_log_lines_by_level": dict(sorted(log_levels.items())),
        "bridge_log": str(bridge.log_file),
    }
    _report(figures, tmp_path / "soak-figures.json")
    every_sample = [{"s": round(s.at - started, 1), **s.gauges} for s in samples]
    (tmp_path / "soak-samples.json").write_bytes(orjson.dumps(every_sample))

    # No failures: every answer was the one expected, on both sides of the connection.
    assert tally.problem_count == 0, tally.problems
    assert set(tally.statuses) <= {200, 204}, tally.statuses
    # 499: an abandoned read, as the bridge counts it.
    assert set(after.requests) <= {200, 204, 499}, after.requests
    assert "Traceback" not in log_text, log_text[-5000:]
    errors = [line for line in log_text.splitlines() if " ERROR " in line]
    assert not errors, errors[:20]
    assert exit_code == 0, log_text[-5000:]
    # Every acknowledged record is in Kafka, and nothing else is.
    for topic, counts in read_back.items():
        assert counts["missing"] == 0, (topic, counts)
        assert counts["not_acknowledged"] == 0, (topic, counts)
    # Memory levelled off.
    assert level.levelled_off, (
        f"resident memory's median grew {level.late_mb:.1f} MB from the middle to the last "
        f"third after {level.early_mb:.1f} MB from the first to the middle (allowed: "
        f"{LEVEL_RATIO} of that, at least {LEVEL_FLOOR_MB} MB): {figures['rss_mb']['samples']}"
    )
    # Nothing leaked: back to the baseline once the clients and their instances are gone.
    base, end = baseline.gauges, after.gauges
    for gauge, slack in (
        ("consumer_instances", 0),
        ("in_flight", 0),
        ("connections", CONNECTION_SLACK),
        ("tasks", TASK_SLACK),
        ("open_fds", FD_SLACK),
    ):
        assert end[gauge] <= base[gauge] + slack, (
            f"{gauge}: {base[gauge]:g} before the load, still {end[gauge]:g} {SETTLE_S:g} s "
            f"after it (allowed: {slack} more); bridge log: {bridge.log_file}"
        )
    # And the load was what it claims: the connections were open at once, every operation ran.
    assert sampler.peak("connections") >= 0.9 * keep_alive_workers, figures["http_connections"]
    expected_operations = {
        "produce v1 binary",
        "produce v1 binary batch",
        "produce v2 binary",
        "produce v2 binary batch",
        "produce v2 binary to partition",
        "produce v2 json",
        "produce v2 json batch",
        "read v1 messages",
        "read v2 partition records",
        "metadata",
        "consumer v1 read",
        "consumer v2 read",
        "consumer v2 commit",
        "abandoned read",
    }
    assert expected_operations <= set(tally.operations), tally.operations
    assert tally.consumers_created >= 2 * (
        SUBSCRIBED_GROUPS * SUBSCRIBERS_PER_GROUP + ASSIGNED_WORKERS + V1_CONSUMER_WORKERS
    ), figures
    assert tally.abandoned > 0
    assert tally.records_read > 0

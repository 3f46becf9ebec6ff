"""One benchmark run: the environment up, every scenario on both sides in interleaved
rounds, the bridge's memory, everything down again.

In each round every scenario runs on the bridge and on aiokafka directly, one right after
the other, the order alternating between rounds, so that both sides of a ratio see the same
machine at nearly the same time.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import probes, profiling, worker, wrk
from benchmarks.environment import (
    BridgeProcess,
    Kafka,
    bridge_arguments,
    bridge_settings,
    code_state,
    free_port,
    kafka,
    schema_registry,
)
from benchmarks.jobs import ConsumeJob, PreloadJob, ProduceJob
from benchmarks.scenarios import Scenario
from benchmarks.stats import RunResult
from bridge.kafka.client_config import consumer_kwargs, producer_kwargs
from bridge.memory import TRIM_INTERVAL_S

SIDES = ("bridge", "direct")
_KIB_PER_MB = 1e6 / 1024
#: The consume topic holds this many times the records read, so that no partition runs dry
#: while they are read: a fetch for a drained partition is held by the broker for
#: fetch.max.wait.ms, and the fetches of the other partitions wait behind it.
BACKLOG = 1.5
#: Records per read of a bridge consumer unless kafka.consumer.max.poll.records says.
_BRIDGE_MAX_POLL_RECORDS = 500
#: The idle and after-load RSS are read this long after the bridge became ready and after
#: the last load: long enough for one of its periodic memory releases (bridge/memory.py) to
#: have run, so that the figure is the settled one, not wherever that cycle happened to be.
SETTLE_S = TRIM_INTERVAL_S + 1


@dataclass(frozen=True)
class Options:
    scenarios: list[Scenario]
    duration_s: float
    warmup_s: float
    concurrency: int
    value_size: int
    rounds: int
    consume_records: int
    idle_consumers: int
    partitions: int
    #: "wrk" or "aiohttp": what drives the bridge's produce requests and steady reads.
    load_client: str
    bridge_sets: list[str] = field(default_factory=list)
    profile_dir: Path | None = None


@dataclass
class Measurements:
    #: scenario name -> side -> one result per round.
    runs: dict[str, dict[str, list[RunResult]]] = field(default_factory=dict)
    #: In MB (10^6 bytes): idle, after_load, peak, per_idle_consumer.
    memory_mb: dict[str, float] = field(default_factory=dict)
    #: The bridge's RSS in MB after each of its runs: (round, scenario, MB).
    rss_after_runs: list[tuple[int, str, float]] = field(default_factory=list)
    kafka: str = ""
    bridge_command: str = ""
    #: The bridge's code when its process started (`environment.code_state`).
    code: str = ""

    def to_json(self) -> dict[str, Any]:
        runs = {
            name: {side: [r.to_json() for r in results] for side, results in sides.items()}
            for name, sides in self.runs.items()
        }
        return {
            "runs": runs,
            "memory_mb": self.memory_mb,
            "rss_after_runs_mb": self.rss_after_runs,
            "kafka": self.kafka,
            "code": self.code,
        }


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _registry(needed: bool) -> Iterator[str | None]:
    if not needed:
        yield None
        return
    with schema_registry() as url:
        yield url


def _json_safe(kwargs: dict[str, Any]) -> dict[str, Any]:
    if "ssl_context" in kwargs:
        raise SystemExit("benchmarks: Kafka over TLS is not supported by the harness")
    return kwargs


class Runner:
    """One bridge process, the aiokafka side's client arguments, and the figures so far."""

    def __init__(self, options: Options, target: Kafka, registry_url: str | None) -> None:
        self.options = options
        self.registry_url = registry_url
        self._target = target
        port = free_port()
        self.argv = self._arguments(port)
        settings = bridge_settings(self.argv)
        self.producer = _json_safe(producer_kwargs(settings))
        self.consumer = _json_safe(consumer_kwargs(settings))
        self.max_records = self.consumer.pop("max_poll_records", None) or _BRIDGE_MAX_POLL_RECORDS
        self.bridge = BridgeProcess(self.argv, port)
        self.measured = Measurements(kafka=target.description)
        self.measured.bridge_command = "python -m bridge " + " ".join(self.argv)
        self.consume_topic = ""

    def _arguments(self, port: int) -> list[str]:
        sets = [arg for setting in self.options.bridge_sets for arg in ("-D", setting)]
        return bridge_arguments(self._target, port, self.registry_url, sets)

    def _topic(self, label: str) -> str:
        return f"bench-{label}-{uuid.uuid4().hex[:8]}"

    async def run(self, topics: probes.Topics) -> Measurements:
        options = self.options
        self.measured.code = code_state()
        await self.bridge.start()
        try:
            await asyncio.sleep(SETTLE_S)
            self._memory("idle", self.bridge.memory_kib()["VmRSS"])
            if any(s.consume for s in options.scenarios):
                self.consume_topic = await self._preload(topics)
            for round_index in range(options.rounds):
                order = SIDES if round_index % 2 == 0 else SIDES[::-1]
                for scenario in options.scenarios:
                    for side in order:
                        result = await self._one(topics, scenario, side, round_index)
                        sides = self.measured.runs.setdefault(scenario.name, {})
                        sides.setdefault(side, []).append(result)
                        self._report(round_index, scenario, side, result)
            await asyncio.sleep(SETTLE_S)
            memory = self.bridge.memory_kib()
            self._memory("after_load", memory["VmRSS"])
            self._memory("peak", memory["VmHWM"])
        finally:
            await self.bridge.stop()
            if self.consume_topic:
                await topics.delete(self.consume_topic)
        if options.idle_consumers:
            await self._per_consumer_memory()
        return self.measured

    def _report(self, round_index: int, scenario: Scenario, side: str, result: RunResult) -> None:
        line = (
            f"round {round_index + 1} {scenario.name:<20} {side:<6} "
            f"{result.requests_per_s:9.0f} req/s {result.records_per_s:10.0f} rec/s "
            f"p99 {result.p99_ms} ms errors {result.errors}"
        )
        if scenario.consume:
            line += f" first {result.first_record_s} s"
        if side == "bridge":
            rss = round(self.bridge.memory_kib()["VmRSS"] / _KIB_PER_MB, 1)
            self.measured.rss_after_runs.append((round_index + 1, scenario.name, rss))
            line += f"; bridge RSS {rss} MB"
        _say(line)

    def _memory(self, name: str, kib: float) -> None:
        self.measured.memory_mb[name] = round(kib / _KIB_PER_MB, 2)

    async def _preload(self, topics: probes.Topics) -> str:
        topic = self._topic("consume")
        await topics.create(topic, self.options.partitions)
        options = self.options
        count = round(options.consume_records * BACKLOG)
        job = PreloadJob(topic, count, options.value_size, self.producer)
        await worker.spawn(job, timeout_s=600)
        _say(f"pre-loaded {count} records into {topic}")
        return topic

    async def _one(
        self, topics: probes.Topics, scenario: Scenario, side: str, round_index: int
    ) -> RunResult:
        profile = self._profile_path(scenario, side, round_index)
        if scenario.consume:
            return await self._consume(side, profile)
        topic = self._topic(f"{scenario.name}-{side}")
        await topics.create(topic, self.options.partitions)
        try:
            return await self._produce(scenario, side, topic, profile)
        finally:
            await topics.delete(topic)

    def _profile_path(self, scenario: Scenario, side: str, round_index: int) -> Path | None:
        folder = self.options.profile_dir
        if folder is None or side != "bridge" or round_index != 0:
            return None
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{scenario.name}.txt"

    async def _produce(
        self, scenario: Scenario, side: str, topic: str, profile: Path | None
    ) -> RunResult:
        options = self.options
        schema_id: int | None = None
        if side == "bridge":
            schema_id = await probes.first_produce(
                self.bridge.url, topic, scenario, options.value_size
            )
        elif scenario.value_format == "avro":
            assert self.registry_url is not None
            schema_id = await probes.register_schema(self.registry_url, topic)
        job = ProduceJob(
            topic=topic,
            records_per_request=scenario.records_per_request,
            value_format=scenario.value_format,
            value_size=options.value_size,
            value_schema_id=schema_id,
            concurrency=options.concurrency,
            duration_s=options.duration_s,
            warmup_s=options.warmup_s,
            bridge_url=self.bridge.url if side == "bridge" else None,
            kafka=self.producer if side == "direct" else None,
        )
        timeout = options.warmup_s + options.duration_s + 120
        sampler = await self._sample(profile, options.warmup_s + options.duration_s)
        try:
            if side == "bridge" and options.load_client == "wrk":
                return await wrk.produce(job)
            return RunResult.from_json(await worker.spawn(job, timeout))
        finally:
            if sampler is not None:
                await sampler.wait()

    async def _consume(self, side: str, profile: Path | None) -> RunResult:
        job = ConsumeJob(
            topic=self.consume_topic,
            group=self._topic(f"group-{side}"),
            records=self.options.consume_records,
            timeout_s=300,
            max_records=self.max_records,
            bridge_url=self.bridge.url if side == "bridge" else None,
            kafka=self.consumer if side == "direct" else None,
        )
        # Long enough for the group to form and the records to be read; cut off at the end.
        sampler = await self._sample(profile, 15)
        try:
            if side == "bridge" and self.options.load_client == "wrk":
                return await wrk.consume(job)
            return RunResult.from_json(await worker.spawn(job, timeout_s=400))
        finally:
            if sampler is not None:
                await sampler.wait()

    async def _sample(self, output: Path | None, seconds: float) -> Any:
        if output is None:
            return None
        return await profiling.record(self.bridge.pid, seconds, output)

    async def _per_consumer_memory(self) -> None:
        """A fresh bridge, so the figure is not blurred by memory the load left behind."""
        count = self.options.idle_consumers
        port = free_port()
        bridge = BridgeProcess(self._arguments(port), port)
        await bridge.start()
        try:
            await asyncio.sleep(1)
            before = bridge.memory_kib()["VmRSS"]
            urls = await probes.create_consumers(bridge.url, self._topic("idle"), count)
            await asyncio.sleep(2)
            after = bridge.memory_kib()["VmRSS"]
            await probes.delete_consumers(urls)
        finally:
            await bridge.stop()
        each = (after - before) / count / _KIB_PER_MB
        self.measured.memory_mb["per_idle_consumer"] = round(each, 3)
        _say(f"{count} idle consumer instances: {after - before} KiB more RSS")


async def run(options: Options) -> Measurements:
    needs_registry = any(s.value_format == "avro" and not s.consume for s in options.scenarios)
    with kafka() as target, _registry(needs_registry) as registry_url:
        runner = Runner(options, target, registry_url)
        async with probes.Topics(target.bootstrap_servers) as topics:
            return await runner.run(topics)

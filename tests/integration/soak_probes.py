"""What the soak measures in the bridge process: the gauges and request counters of its
/metrics (scraped now and then while the load runs), its memory as /proc tells it, and the
check that resident memory levelled off."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

MB = 1024 * 1024

#: Our names for the gauges the soak follows, and their names in /metrics.
GAUGES = {
    "rss_mb": "process_resident_memory_bytes",
    "open_fds": "process_open_fds",
    "tasks": "kafka_bridge_event_loop_tasks",
    "connections": "kafka_bridge_http_connections",
    "consumer_instances": "kafka_bridge_consumer_instances",
    "in_flight": "kafka_bridge_http_requests_in_flight",
}
_REQUESTS = "kafka_bridge_http_requests_total"

#: Resident memory "levels off" when it grows from the middle to the last third of the
#: measured time (the load after its warm-up) by at most LEVEL_RATIO of what it grew from the
#: first to the middle third, or by at most LEVEL_FLOOR_MB, whichever is larger. Each third
#: is summed up by the median of its samples.
#:
#: Why medians of thirds: a leak moves every sample up at a steady rate, so it moves the
#: medians as much as the samples, and it grows as much from the middle to the last third
#: as from the first to the middle: it fails the ratio as soon as it exceeds the floor. A
#: process without a leak climbs while its pools, buffers and allocator arenas fill, then
#: swings under a ceiling: in this soak's samples it rose by up to 8 MB for a second or two
#: and dropped back (collected garbage, bursts of concurrent requests), which a median
#: ignores and a maximum would not. The medians of healthy
#: runs moved by a few MB either way from the middle to the last third; the floor sits
#: above that. With the default duration (thirds of 12 s, at about 300 requests a second)
#: the floor lets through a leak of at most 0.5 MB/s, some 1.7 kB per request: a bridge
#: that keeps 3 kB per request fails (tried). A longer run (SOAK_SECONDS) has longer thirds,
#: so the same floor catches slower leaks. Leaks of tasks, connections or descriptors do
#: not need memory to show: the soak counts those.
LEVEL_RATIO = 0.5
LEVEL_FLOOR_MB = 6.0


@dataclass(frozen=True)
class Scrape:
    """One reading of /metrics."""

    at: float
    gauges: dict[str, float]
    #: Requests answered so far by the API, by status.
    requests: Counter[int]


async def scrape(session: aiohttp.ClientSession, management_url: str) -> Scrape:
    async with session.get(f"{management_url}/metrics") as response:
        assert response.status == 200, await response.text()
        text = await response.text()
    values: dict[str, float] = {}
    requests: Counter[int] = Counter()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == _REQUESTS:
                requests[int(sample.labels["status"])] += int(sample.value)
            else:
                values[sample.name] = sample.value
    gauges = {ours: values[theirs] for ours, theirs in GAUGES.items()}
    gauges["rss_mb"] /= MB
    return Scrape(time.monotonic(), gauges, requests)


class Sampler:
    """Scrapes the bridge every `interval_s` while the load runs."""

    def __init__(self, session: aiohttp.ClientSession, management_url: str, interval_s: float):
        self._session = session
        self._url = management_url
        self._interval_s = interval_s
        self.samples: list[Scrape] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        while True:
            self.samples.append(await scrape(self._session, self._url))
            await asyncio.sleep(self._interval_s)

    def peak(self, gauge: str) -> float:
        return max(sample.gauges[gauge] for sample in self.samples)


async def memory_of(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (the peak resident set) of a process, in MB, from /proc."""
    status = await asyncio.to_thread(Path(f"/proc/{pid}/status").read_text)
    memory = {}
    for line in status.splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            memory[name] = int(value.split()[0]) / 1024  # kB
    return memory


@dataclass(frozen=True)
class Levelling:
    """Growth of resident memory's median from the first to the middle third of the
    measured time, and from the middle to the last."""

    early_mb: float
    late_mb: float

    @property
    def allowed_mb(self) -> float:
        return max(LEVEL_RATIO * self.early_mb, LEVEL_FLOOR_MB)

    @property
    def levelled_off(self) -> bool:
        return self.late_mb <= self.allowed_mb


def levelling(samples: list[Scrape], measured_from: float, until: float) -> Levelling:
    """How the median of `rss_mb` moved across the thirds of [measured_from, until]."""
    third = (until - measured_from) / 3

    def median_of(index: int) -> float:
        low = measured_from + index * third
        values = [s.gauges["rss_mb"] for s in samples if low <= s.at < low + third]
        assert len(values) >= 3, f"too few samples in a third of the measured time: {values}"
        return statistics.median(values)

    first, middle, last = (median_of(i) for i in range(3))
    return Levelling(early_mb=middle - first, late_mb=last - middle)

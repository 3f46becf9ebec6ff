"""The figures of one measured run and the arithmetic on them: percentiles, medians, ratios.

Every load generator (HTTP or aiokafka, in-process or `wrk`) reports a `RunResult`, so the
two sides of a comparison are counted the same way.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class RunResult:
    """What one side did in one run: counts over `seconds`, latencies in milliseconds."""

    requests: int
    records: int
    seconds: float
    errors: int
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    #: Consume runs only: from subscribing to the first record received.
    first_record_s: float | None = None

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def records_per_s(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunResult:
        return cls(**data)


def percentile(ordered: Sequence[float], q: float) -> float:
    """The nearest-rank percentile `q` (0-100) of values sorted in ascending order."""
    if not ordered:
        raise ValueError("no values")
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_percentiles(latencies_s: Sequence[float]) -> tuple[float | None, ...]:
    """p50, p90 and p99 in milliseconds; None each when nothing was measured."""
    if not latencies_s:
        return (None, None, None)
    ordered = sorted(latencies_s)
    return tuple(round(percentile(ordered, q) * 1000, 3) for q in (50, 90, 99))


def median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


class Recorder:
    """Counts what finishes inside the measured window, after a warm-up that is not counted.

    A request that started during the warm-up or ended after the window is left out, so
    the figures describe the steady state alone.
    """

    def __init__(self, warmup_s: float, duration_s: float) -> None:
        self.duration_s = duration_s
        self.start_at = time.perf_counter() + warmup_s
        self.end_at = self.start_at + duration_s
        self.latencies: list[float] = []
        self.requests = 0
        self.records = 0
        self.errors = 0

    def running(self) -> bool:
        return time.perf_counter() < self.end_at

    def record(self, started: float, records: int, ok: bool) -> None:
        finished = time.perf_counter()
        if started < self.start_at or finished > self.end_at:
            return
        if not ok:
            self.errors += 1
            return
        self.latencies.append(finished - started)
        self.requests += 1
        self.records += records

    def result(self) -> RunResult:
        p50, p90, p99 = latency_percentiles(self.latencies)
        return RunResult(self.requests, self.records, self.duration_s, self.errors, p50, p90, p99)


def consume_result(
    *,
    received: int,
    errors: int,
    latencies: Sequence[float],
    subscribed: float,
    first: tuple[float | None, int],
) -> RunResult:
    """A consume run's figures, the same for both sides.

    `first` is when the first records arrived and how many. Records and reads (`latencies`
    holds one per read) count from then on, so that joining the group, timed as
    `first_record_s`, is left out of them.
    """
    first_at, first_batch = first
    if first_at is None:
        return RunResult(0, 0, 0.0, errors, None, None, None)
    p50, p90, p99 = latency_percentiles(latencies)
    return RunResult(
        requests=len(latencies),
        records=received - first_batch,
        seconds=time.perf_counter() - first_at,
        errors=errors,
        p50_ms=p50,
        p90_ms=p90,
        p99_ms=p99,
        first_record_s=round(first_at - subscribed, 3),
    )

"""What the harness asks a worker process to do, as JSON-able dataclasses.

A job names one side: `bridge_url` for the HTTP side, `kafka` (the aiokafka client's keyword
arguments, the same the bridge builds from its settings) for the aiokafka side.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ProduceJob:
    topic: str
    records_per_request: int
    value_format: str
    value_size: int
    value_schema_id: int | None
    concurrency: int
    duration_s: float
    warmup_s: float
    bridge_url: str | None = None
    kafka: dict[str, Any] | None = None


@dataclass(frozen=True)
class ConsumeJob:
    topic: str
    group: str
    records: int
    timeout_s: float
    #: Records per read on the aiokafka side: the bridge's `max.poll.records` default.
    max_records: int = 500
    bridge_url: str | None = None
    kafka: dict[str, Any] | None = None


@dataclass(frozen=True)
class PreloadJob:
    topic: str
    records: int
    value_size: int
    kafka: dict[str, Any]


Job = ProduceJob | ConsumeJob | PreloadJob
_KINDS: dict[str, type[ProduceJob] | type[ConsumeJob] | type[PreloadJob]] = {
    "produce": ProduceJob,
    "consume": ConsumeJob,
    "preload": PreloadJob,
}


def encode_job(job: Job) -> dict[str, Any]:
    kind = next(name for name, cls in _KINDS.items() if isinstance(job, cls))
    return {"kind": kind, "job": asdict(job)}


def decode_job(data: dict[str, Any]) -> Job:
    return _KINDS[data["kind"]](**data["job"])

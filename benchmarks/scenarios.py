"""The workloads: which scenarios exist, and the bytes each one sends.

A produce scenario is named `produce-<records per request>-<format>` (`produce-100-binary`);
`consume` reads pre-loaded records through a consumer instance. The bridge gets HTTP bodies
built once; the aiokafka side encodes each record as an application would (JSON with orjson,
Avro in the Confluent wire format with fastavro) and sends the same number per burst.
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import fastavro
import orjson

FORMATS = ("binary", "json", "avro")
BATCH_SIZES = (1, 100)
CONSUME = "consume"
AVRO_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "BenchValue",
    "namespace": "kafka_bridge.benchmarks",
    "fields": [{"name": "data", "type": "string"}],
}
#: What the bridge answers with; the produce response is read but not decoded per request.
ACCEPT = "application/vnd.kafka.v2+json"


@dataclass(frozen=True)
class Scenario:
    name: str
    records_per_request: int = 0
    value_format: str = "binary"

    @property
    def consume(self) -> bool:
        return self.name == CONSUME

    @property
    def content_type(self) -> str:
        return f"application/vnd.kafka.{self.value_format}.v2+json"


def all_scenarios() -> list[Scenario]:
    produce = [Scenario(f"produce-{n}-{fmt}", n, fmt) for fmt in FORMATS for n in BATCH_SIZES]
    return [*produce, Scenario(CONSUME)]


def parse_scenarios(names: list[str]) -> list[Scenario]:
    """The scenarios named, in the harness's order; ValueError naming an unknown one."""
    known = {s.name: s for s in all_scenarios()}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return [s for s in all_scenarios() if s.name in names]


def _json_value(size: int) -> dict[str, str]:
    # `{"data":""}` is 11 bytes; the string fills the rest of the value's size.
    return {"data": "x" * max(0, size - 11)}


def _avro_value(size: int) -> dict[str, str]:
    # 5 bytes of Confluent header and a length varint of 1-2 bytes precede the string.
    return {"data": "x" * max(0, size - (7 if size > 70 else 6))}


def _binary_value(size: int) -> bytes:
    return os.urandom(size)


def produce_body(scenario: Scenario, size: int, value_schema_id: int | None) -> bytes:
    """The HTTP body of one produce request; avro names its schema by id once it has one."""
    value: Any
    if scenario.value_format == "binary":
        value = base64.b64encode(_binary_value(size)).decode()
    elif scenario.value_format == "json":
        value = _json_value(size)
    else:
        value = _avro_value(size)
    body: dict[str, Any] = {"records": [{"value": value}] * scenario.records_per_request}
    if scenario.value_format == "avro":
        if value_schema_id is None:
            body["value_schema"] = orjson.dumps(AVRO_SCHEMA).decode()
        else:
            body["value_schema_id"] = value_schema_id
    return orjson.dumps(body)


def value_encoder(value_format: str, size: int, schema_id: int | None) -> Callable[[], bytes]:
    """What the aiokafka side calls once per record to get the value's bytes."""
    if value_format == "binary":
        raw = _binary_value(size)
        return lambda: raw
    if value_format == "json":
        data = _json_value(size)
        return lambda: orjson.dumps(data)
    if schema_id is None:
        raise ValueError("avro values need a schema id")
    parsed = fastavro.parse_schema(AVRO_SCHEMA)
    header = b"\x00" + schema_id.to_bytes(4, "big")
    avro = _avro_value(size)

    def encode() -> bytes:
        out = io.BytesIO()
        out.write(header)
        fastavro.schemaless_writer(out, parsed, avro)
        return out.getvalue()

    return encode

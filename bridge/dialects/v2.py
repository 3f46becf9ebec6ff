"""The v2 dialect: the Kafka Bridge HTTP API, whose `error_code` is the HTTP status."""

from __future__ import annotations

from binascii import b2a_base64
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

from bridge.consumers.instance import CommittedOffset
from bridge.consumers.records import KafkaRecord
from bridge.dialects.base import Dialect
from bridge.dialects.v1 import V1Dialect
from bridge.errors import BridgeError, ErrorKind
from bridge.produce import ProduceResult
from bridge_codecs.base import JSONValue

#: Same statuses as v1 except where the v2 API answers differently; the code is the status.
_STATUS_OVERRIDES = {ErrorKind.KAFKA_RETRIABLE: 503, ErrorKind.SCHEMA_REGISTRY_ERROR: 502}
_CODES = MappingProxyType(
    {
        kind: (status, status)
        for kind, (status, _) in V1Dialect.error_codes.items()
        for status in (_STATUS_OVERRIDES.get(kind, status),)
    }
)


def _headers(headers: Sequence[tuple[str, bytes | None]]) -> list[dict[str, str | None]]:
    return [
        {"key": key, "value": None if raw is None else b2a_base64(raw, newline=False).decode()}
        for key, raw in headers
    ]


class V2Dialect(Dialect):
    version = 2
    schema_document = "v2"
    accepts_bare_record_array = False
    error_codes = _CODES

    def error_body(self, error: BridgeError) -> dict[str, Any]:
        body: dict[str, Any] = {"error_code": self.error_status(error)[1], "message": error.message}
        if error.details:
            body["validation_errors"] = list(error.details)
        return body

    def produce_body(self, result: ProduceResult) -> dict[str, Any]:
        offsets: list[dict[str, Any]] = []
        for delivery in result.deliveries:
            if delivery.error is None:
                offsets.append({"partition": delivery.partition, "offset": delivery.offset})
            else:
                offsets.append(
                    {
                        "error_code": self.error_status(delivery.error)[1],
                        "message": delivery.error.message,
                    }
                )
        body: dict[str, Any] = {"offsets": offsets}
        # Confluent v2 clients read the schema ids; the Kafka Bridge has no schema formats.
        if result.key_schema_id is not None or result.value_schema_id is not None:
            body["key_schema_id"] = result.key_schema_id
            body["value_schema_id"] = result.value_schema_id
        return body

    def records_body(
        self,
        records: Sequence[KafkaRecord],
        keys: Sequence[JSONValue],
        values: Sequence[JSONValue],
    ) -> list[dict[str, Any]]:
        return [
            {
                "topic": r.topic,
                "key": key,
                "value": value,
                "partition": r.partition,
                "offset": r.offset,
                "timestamp": r.timestamp,
                # Written as []; unlike a new list per record, nothing for the GC to track.
                "headers": _headers(r.headers) if r.headers else (),
            }
            for r, key, value in zip(records, keys, values, strict=True)
        ]

    def commit_body(self, committed: list[CommittedOffset]) -> list[dict[str, Any]] | None:
        return None

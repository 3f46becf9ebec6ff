"""The v1 dialect: Confluent REST Proxy v1 error codes and response shapes."""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

from bridge.consumers.instance import CommittedOffset
from bridge.consumers.records import KafkaRecord
from bridge.dialects.base import Dialect
from bridge.errors import BridgeError, ErrorKind
from bridge.produce import ProduceResult
from bridge_codecs.base import JSONValue

_CODES = MappingProxyType(
    {
        ErrorKind.UNAUTHENTICATED: (401, 40101),
        ErrorKind.CORS_REJECTED: (403, 403),
        ErrorKind.TOPIC_NOT_FOUND: (404, 40401),
        ErrorKind.PARTITION_NOT_FOUND: (404, 40402),
        ErrorKind.CONSUMER_NOT_FOUND: (404, 40403),
        ErrorKind.PARTITION_NOT_ASSIGNED: (404, 40402),
        ErrorKind.OFFSET_OUT_OF_RANGE: (404, 404),
        ErrorKind.ROUTE_NOT_FOUND: (404, 404),
        ErrorKind.METHOD_NOT_ALLOWED: (405, 405),
        ErrorKind.NOT_ACCEPTABLE: (406, 406),
        ErrorKind.CONSUMER_FORMAT_MISMATCH: (406, 40601),
        # The v2 reference answers 406 for a record not in the consumer's format.
        ErrorKind.RECORD_NOT_DECODABLE: (406, 40601),
        ErrorKind.TOPIC_ALREADY_EXISTS: (409, 409),
        ErrorKind.CONSUMER_ALREADY_SUBSCRIBED: (409, 40901),
        ErrorKind.CONSUMER_ALREADY_EXISTS: (409, 40902),
        ErrorKind.SUBSCRIPTION_CONFLICT: (409, 40903),
        ErrorKind.CONSUMER_NOT_SUBSCRIBED: (409, 409),
        ErrorKind.GROUP_REBALANCED: (409, 409),
        ErrorKind.BODY_TOO_LARGE: (413, 413),
        ErrorKind.UNSUPPORTED_MEDIA_TYPE: (415, 415),
        ErrorKind.TOO_MANY_CONSUMERS: (429, 429),
        ErrorKind.TOO_MANY_REQUESTS: (429, 42901),
        ErrorKind.MALFORMED_BODY: (400, 400),
        ErrorKind.INVALID_BODY: (422, 422),
        ErrorKind.KEY_SCHEMA_MISSING: (422, 42201),
        ErrorKind.VALUE_SCHEMA_MISSING: (422, 42202),
        ErrorKind.RESPONSE_TOO_LARGE: (422, 422),
        ErrorKind.INVALID_CONSUMER_CONFIG: (422, 42204),
        ErrorKind.INVALID_SCHEMA: (422, 42205),
        ErrorKind.KAFKA_ERROR: (500, 50002),
        ErrorKind.KAFKA_RETRIABLE: (500, 50003),
        ErrorKind.SCHEMA_REGISTRY_ERROR: (502, 50201),
        ErrorKind.UNAVAILABLE: (503, 503),
        ErrorKind.POOL_EXHAUSTED: (503, 50301),
        ErrorKind.INTERNAL: (500, 500),
    }
)

#: Per-record error codes of a v1 produce response.
_NON_RETRIABLE, _RETRIABLE = 1, 2


class V1Dialect(Dialect):
    version = 1
    schema_document = "v1"
    accepts_bare_record_array = True
    error_codes = _CODES

    def error_body(self, error: BridgeError) -> dict[str, Any]:
        message = error.message
        if error.details:
            message = f"{message}: {'; '.join(error.details)}"
        return {"error_code": self.error_status(error)[1], "message": message}

    def produce_body(self, result: ProduceResult) -> dict[str, Any]:
        offsets: list[dict[str, Any]] = []
        for delivery in result.deliveries:
            if delivery.error is None:
                offsets.append(
                    {
                        "partition": delivery.partition,
                        "offset": delivery.offset,
                        "error_code": None,
                        "error": None,
                    }
                )
            else:
                retriable = delivery.error.kind is ErrorKind.KAFKA_RETRIABLE
                offsets.append(
                    {
                        "partition": None,
                        "offset": None,
                        "error_code": _RETRIABLE if retriable else _NON_RETRIABLE,
                        "error": delivery.error.message,
                    }
                )
        return {
            "key_schema_id": result.key_schema_id,
            "value_schema_id": result.value_schema_id,
            "offsets": offsets,
        }

    def records_body(
        self,
        records: Sequence[KafkaRecord],
        keys: Sequence[JSONValue],
        values: Sequence[JSONValue],
    ) -> list[dict[str, Any]]:
        return [
            {"key": key, "value": value, "partition": r.partition, "offset": r.offset}
            for r, key, value in zip(records, keys, values, strict=True)
        ]

    def commit_body(self, committed: list[CommittedOffset]) -> list[dict[str, Any]] | None:
        # `consumed` and `committed` are equal after a successful commit (the reference):
        # both are the offset the group reads next.
        return [
            {
                "topic": c.topic,
                "partition": c.partition,
                "consumed": c.offset,
                "committed": c.offset,
            }
            for c in committed
        ]

"""The bridge's domain errors: what went wrong, independent of how a dialect writes it.

Handlers and the Kafka layer raise `BridgeError` with an `ErrorKind`; the error middleware
asks the request's dialect to turn it into a status, an `error_code` and a JSON envelope.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence


class ErrorKind(enum.Enum):
    """Every failure the API can report. Each dialect maps each kind to a status and code."""

    TOPIC_NOT_FOUND = "topic_not_found"
    TOPIC_ALREADY_EXISTS = "topic_already_exists"
    PARTITION_NOT_FOUND = "partition_not_found"
    CONSUMER_NOT_FOUND = "consumer_not_found"
    ROUTE_NOT_FOUND = "route_not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    MALFORMED_BODY = "malformed_body"
    INVALID_BODY = "invalid_body"
    KEY_SCHEMA_MISSING = "key_schema_missing"
    VALUE_SCHEMA_MISSING = "value_schema_missing"
    INVALID_SCHEMA = "invalid_schema"
    INVALID_CONSUMER_CONFIG = "invalid_consumer_config"
    CONSUMER_ALREADY_EXISTS = "consumer_already_exists"
    CONSUMER_ALREADY_SUBSCRIBED = "consumer_already_subscribed"
    SUBSCRIPTION_CONFLICT = "subscription_conflict"
    #: A commit refused because the group rebalanced: the member lost its partitions.
    GROUP_REBALANCED = "group_rebalanced"
    CONSUMER_FORMAT_MISMATCH = "consumer_format_mismatch"
    CONSUMER_NOT_SUBSCRIBED = "consumer_not_subscribed"
    PARTITION_NOT_ASSIGNED = "partition_not_assigned"
    RECORD_NOT_DECODABLE = "record_not_decodable"
    TOO_MANY_CONSUMERS = "too_many_consumers"
    OFFSET_OUT_OF_RANGE = "offset_out_of_range"
    POOL_EXHAUSTED = "pool_exhausted"
    RESPONSE_TOO_LARGE = "response_too_large"
    UNAUTHENTICATED = "unauthenticated"
    #: A CORS request from an origin, or preflight for a method or header, not allowed.
    CORS_REJECTED = "cors_rejected"
    TOO_MANY_REQUESTS = "too_many_requests"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    NOT_ACCEPTABLE = "not_acceptable"
    BODY_TOO_LARGE = "body_too_large"
    KAFKA_ERROR = "kafka_error"
    KAFKA_RETRIABLE = "kafka_retriable"
    SCHEMA_REGISTRY_ERROR = "schema_registry_error"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"


class BridgeError(Exception):
    """A failure to report to the client in its dialect's error envelope.

    `details` lists the individual problems (for example one line per invalid record);
    the v2 dialect writes them as `validation_errors`, v1 appends them to the message.
    `headers` go on the error response as they are (`Retry-After`, `WWW-Authenticate`).
    """

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        details: Sequence[str] = (),
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.details = tuple(details)
        self.headers: Mapping[str, str] = headers or {}

    def __repr__(self) -> str:
        return f"BridgeError({self.kind.name}, {self.message!r})"

"""What a dialect decides: how bodies are read and how results and errors are written.

Handlers are shared by both dialects; they ask the request's dialect for these few things.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from bridge.consumers.instance import CommittedOffset
from bridge.consumers.records import KafkaRecord
from bridge.errors import BridgeError, ErrorKind
from bridge.produce import ProduceResult
from bridge_codecs.base import JSONValue


class Dialect(ABC):
    version: ClassVar[int]
    #: Name of the dialect's schema document in `bridge_schemas`.
    schema_document: ClassVar[str]
    #: Whether a produce body may be a bare array of records (v1) besides `{"records": []}`.
    accepts_bare_record_array: ClassVar[bool]
    #: ErrorKind -> (HTTP status, error_code).
    error_codes: ClassVar[Mapping[ErrorKind, tuple[int, int]]]

    def error_status(self, error: BridgeError) -> tuple[int, int]:
        return self.error_codes.get(error.kind, (500, 500))

    @abstractmethod
    def error_body(self, error: BridgeError) -> dict[str, Any]:
        """The JSON envelope of an error."""

    @abstractmethod
    def produce_body(self, result: ProduceResult) -> dict[str, Any]:
        """The JSON answer to a produce request."""

    @abstractmethod
    def records_body(
        self,
        records: Sequence[KafkaRecord],
        keys: Sequence[JSONValue],
        values: Sequence[JSONValue],
    ) -> list[dict[str, Any]]:
        """The JSON answer to a read: one object per record, with its decoded key and value
        (`keys[i]` and `values[i]` are those of `records[i]`)."""

    @abstractmethod
    def commit_body(self, committed: list[CommittedOffset]) -> list[dict[str, Any]] | None:
        """The JSON answer to committing offsets, or None for `204 No Content`."""

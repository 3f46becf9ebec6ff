"""The one small interface every embedded format implements.

The bridge handles what is common to all formats itself: Kafka nulls (a JSON `null` key or
value never reaches a codec, and a Kafka null is handed back as JSON `null`), the record
envelope (partition, offset, timestamp, headers) and error reporting. A codec only turns one
JSON value into bytes and back.

Formats that need a schema registry (avro, jsonschema) resolve their schemas in the async
`serializer` / `deserializer` steps, once per request and per distinct schema, and then
encode or decode each record synchronously.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

#: A value as it appears in a JSON document (after parsing).
JSONValue = Any


class CodecError(ValueError):
    """A value that this format cannot encode or a payload it cannot decode.

    The message says why, in words a client can act on; the bridge adds which record.
    """


class CodecUnavailableError(RuntimeError):
    """A service the codec needs (a schema registry) failed or is not configured.

    Not the client's fault: the bridge answers with a 5xx that says so, and keeps serving
    every other format.
    """


@dataclass(frozen=True)
class SchemaSpec:
    """The schema a produce request names for its keys or its values, if any."""

    schema: str | None = None
    schema_id: int | None = None

    @property
    def given(self) -> bool:
        return self.schema is not None or self.schema_id is not None


@dataclass(frozen=True)
class SerializeTarget:
    """Where encoded values go: codecs with subjects (schema registries) need this."""

    topic: str
    is_key: bool
    schema: SchemaSpec = field(default_factory=SchemaSpec)


@dataclass(frozen=True)
class Serializer:
    """Encodes the non-null values of one side (keys or values) of one request."""

    encode: Callable[[JSONValue], bytes]
    #: The registry id of the schema used, reported back to producers; None without schemas.
    schema_id: int | None = None


@dataclass(frozen=True)
class CodecContext:
    """What the bridge hands every codec when it is created.

    `settings` holds the bridge's settings as a flat mapping of property names to strings
    (for example `schema.registry.url`), so that plugins can read their own keys.
    """

    settings: Mapping[str, str] = field(default_factory=dict)


class Codec(ABC):
    """One embedded format, such as `binary` or `avro`."""

    #: The format's name as it appears in media types (`application/vnd.kafka.NAME.v2+json`)
    #: and in a consumer's `format` field. The registry sets it from the entry-point name.
    name: ClassVar[str] = ""
    #: True when producing needs `key_schema`/`value_schema` (or their ids) in the request.
    requires_schema: ClassVar[bool] = False

    def __init__(self, context: CodecContext) -> None:
        self.context = context

    @abstractmethod
    async def serializer(self, target: SerializeTarget) -> Serializer:
        """Prepare to encode values for `target`; raise CodecError for a bad schema."""

    @abstractmethod
    async def deserializer(self, payloads: Iterable[bytes]) -> Callable[[bytes], JSONValue]:
        """Prepare to decode these payloads (fetching any schemas they name) and return
        the function that decodes one of them; it raises CodecError for a bad payload."""

    async def close(self) -> None:
        """Release what the codec holds (registry connections); called at shutdown."""
        return None


class SimpleCodec(Codec):
    """Base for formats without schemas: implement `encode` and `decode`."""

    @abstractmethod
    def encode(self, value: JSONValue) -> bytes:
        """Encode one non-null JSON value; raise CodecError if it does not fit the format."""

    @abstractmethod
    def decode(self, payload: bytes) -> JSONValue:
        """Decode one non-null payload; raise CodecError if it is not in the format."""

    async def serializer(self, target: SerializeTarget) -> Serializer:
        return Serializer(encode=self.encode)

    async def deserializer(self, payloads: Iterable[bytes]) -> Callable[[bytes], JSONValue]:
        return self.decode

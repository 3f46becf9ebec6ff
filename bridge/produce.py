"""The produce pipeline shared by both dialects: records in, deliveries out.

A request is checked whole before anything is sent: the topic and every partition exist,
the embedded format is known, schemas are given where the format needs them, and every key,
value and header encodes. Only then are all records sent together, so a bad record never
leaves half a request written.
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bridge.codec_registry import CodecRegistry, UnknownFormatError
from bridge.errors import BridgeError, ErrorKind
from bridge.kafka.metadata import ClusterMetadata
from bridge.kafka.producer import Delivery, OutgoingRecord, SharedProducer
from bridge.tracing import NO_TRACING, Tracing
from bridge_codecs.base import (
    Codec,
    CodecError,
    CodecUnavailableError,
    SchemaSpec,
    Serializer,
    SerializeTarget,
    SimpleCodec,
)

#: The embedded format of a request whose media type names none (the references' rule).
DEFAULT_FORMAT = "binary"


@dataclass(slots=True)
class ProduceRequest:
    topic: str
    #: The partition named in the path, if the request was sent to one.
    partition: int | None
    embedded_format: str
    #: Records as validated against the dialect's schema: `key`, `value`, `partition`,
    #: `timestamp`, `headers` (a missing `key` and a `null` one both mean no key).
    records: Sequence[Mapping[str, Any]]
    key_schema: SchemaSpec = field(default_factory=SchemaSpec)
    value_schema: SchemaSpec = field(default_factory=SchemaSpec)

    @classmethod
    def from_body(
        cls, topic: str, partition: int | None, embedded_format: str, body: Mapping[str, Any]
    ) -> ProduceRequest:
        return cls(
            topic=topic,
            partition=partition,
            embedded_format=embedded_format,
            records=body["records"],
            key_schema=_schema_spec(body.get("key_schema"), body.get("key_schema_id")),
            value_schema=_schema_spec(body.get("value_schema"), body.get("value_schema_id")),
        )


#: The SchemaSpec of a request that names no schema: most do, so they share one.
_NO_SCHEMA = SchemaSpec()


def _schema_spec(schema: str | None, schema_id: float | None) -> SchemaSpec:
    if schema is None and schema_id is None:
        return _NO_SCHEMA
    return SchemaSpec(schema, _integer(schema_id))


@dataclass(slots=True)
class ProduceResult:
    deliveries: Sequence[Delivery]
    key_schema_id: int | None = None
    value_schema_id: int | None = None
    #: Records Kafka acknowledged (async produce: handed to the producer), and their key and
    #: value bytes as sent.
    written: int = 0
    written_bytes: int = 0


def _decode_headers(
    index: int, headers: Sequence[Mapping[str, str]] | None, problems: list[str]
) -> tuple[tuple[str, bytes], ...]:
    decoded = []
    for header in headers or ():
        try:
            decoded.append((header["key"], binascii.a2b_base64(header["value"], strict_mode=True)))
        except (binascii.Error, ValueError):
            problems.append(f"records[{index}]: header '{header['key']}' is not valid base64")
    return tuple(decoded)


def _integer(*candidates: float | None) -> int | None:
    """The first given number as an int: JSON Schema counts 1.0 as an integer, Kafka not."""
    for candidate in candidates:
        if candidate is not None:
            return int(candidate)
    return None


class ProducePipeline:
    def __init__(
        self,
        metadata: ClusterMetadata,
        producer: SharedProducer,
        codecs: CodecRegistry,
        auto_create_topics: bool = False,
        tracing: Tracing = NO_TRACING,
    ) -> None:
        self._metadata = metadata
        self._tracing = tracing
        self._producer = producer
        self._codecs = codecs
        self._auto_create_topics = auto_create_topics
        self._plain_serializers: dict[str, Serializer] = {}

    def codec(self, name: str) -> Codec:
        try:
            return self._codecs.get(name)
        except UnknownFormatError as exc:
            raise BridgeError(ErrorKind.UNSUPPORTED_MEDIA_TYPE, str(exc)) from None

    async def _check_partitions(
        self, request: ProduceRequest, numbered: list[tuple[int, int]]
    ) -> None:
        """The topic exists, and so do the partition of the path and the `numbered` ones
        (index of the record, partition) of the records."""
        wanted = {number for _, number in numbered}
        if request.partition is not None:
            wanted.add(request.partition)
        try:
            topic = await self._metadata.topic(request.topic, partitions=wanted)
        except BridgeError as exc:
            if exc.kind is ErrorKind.TOPIC_NOT_FOUND and self._auto_create_topics:
                return  # the producer's own metadata request may create it
            raise
        if request.partition is not None:
            topic.partition(request.partition)
        for index, number in numbered:
            if not topic.has_partition(number):
                raise BridgeError(
                    ErrorKind.PARTITION_NOT_FOUND,
                    f"records[{index}]: partition {number} of topic '{topic.name}' not found "
                    f"(it has {len(topic.partitions)} partitions)",
                )

    @staticmethod
    def _check_schemas(codec: Codec, is_key: bool, spec: SchemaSpec, used: bool) -> None:
        """A format with schemas needs one for a side (keys or values) that is used; a
        format without them takes none."""
        side = "key" if is_key else "value"
        if codec.requires_schema and used and not spec.given:
            kind = ErrorKind.KEY_SCHEMA_MISSING if is_key else ErrorKind.VALUE_SCHEMA_MISSING
            raise BridgeError(
                kind,
                f"Request includes {side}s and uses the {codec.name} format, which needs "
                f"{side}_schema or {side}_schema_id",
            )
        if not codec.requires_schema and spec.given:
            raise BridgeError(
                ErrorKind.INVALID_BODY,
                f"The {codec.name} format does not use schemas; remove {side}_schema "
                f"and {side}_schema_id",
            )

    async def _serializer(self, codec: Codec, request: ProduceRequest, is_key: bool) -> Serializer:
        """The codec's serializer for the keys or the values of `request`."""
        side, spec = ("key", request.key_schema) if is_key else ("value", request.value_schema)
        try:
            return await codec.serializer(SerializeTarget(request.topic, is_key, spec))
        except CodecError as exc:
            raise BridgeError(ErrorKind.INVALID_SCHEMA, f"Invalid {side} schema: {exc}") from None
        except CodecUnavailableError as exc:
            raise BridgeError(ErrorKind.SCHEMA_REGISTRY_ERROR, str(exc)) from None

    def _plain_serializer(self, codec: Codec) -> Serializer | None:
        """The serializer of a format without schemas, which encodes alike for every topic
        and side: made once. None for other formats, which are asked each time."""
        plain = self._plain_serializers.get(codec.name)
        if (
            plain is None
            and isinstance(codec, SimpleCodec)
            and type(codec).serializer is SimpleCodec.serializer
        ):
            plain = self._plain_serializers[codec.name] = Serializer(encode=codec.encode)
        return plain

    def _encode(
        self,
        request: ProduceRequest,
        keys: Serializer | None,
        values: Serializer | None,
    ) -> list[OutgoingRecord]:
        problems: list[str] = []
        outgoing: list[OutgoingRecord] = []
        # One plain pass: this runs for every record of every request.
        encode_key = keys.encode if keys is not None else None
        encode_value = values.encode if values is not None else None
        path_partition = request.partition
        for index, record in enumerate(request.records):
            before = len(problems)
            key = value = None
            data = record.get("key")
            if data is not None and encode_key is not None:
                try:
                    key = encode_key(data)
                except CodecError as exc:
                    problems.append(f"records[{index}].key: {exc}")
            data = record.get("value")
            if data is not None and encode_value is not None:
                try:
                    value = encode_value(data)
                except CodecError as exc:
                    problems.append(f"records[{index}].value: {exc}")
            if key is None and value is None and len(problems) == before:
                problems.append(
                    f"records[{index}]: a record needs a key or a value "
                    "(a tombstone is a null value with a key)"
                )
            partition = path_partition
            if partition is None and (number := record.get("partition")) is not None:
                partition = int(number)  # JSON Schema counts 1.0 as an integer, Kafka not
            timestamp = record.get("timestamp")
            headers = record.get("headers")
            outgoing.append(
                OutgoingRecord(
                    key,
                    value,
                    partition,
                    None if timestamp is None else int(timestamp),
                    _decode_headers(index, headers, problems) if headers else (),
                )
            )
        if problems:
            raise BridgeError(
                ErrorKind.INVALID_BODY,
                f"The record list is not valid for the {request.embedded_format} format",
                problems,
            )
        return outgoing

    async def prepare(
        self, request: ProduceRequest
    ) -> tuple[list[OutgoingRecord], int | None, int | None]:
        """Check and encode the whole request: the records, and the key and value schema ids."""
        records = request.records
        if not records:
            raise BridgeError(ErrorKind.INVALID_BODY, "records may not be empty")
        codec = self.codec(request.embedded_format)
        # One pass: which sides the records use, and the partitions they name.
        keyed = valued = False
        numbered: list[tuple[int, int]] = []
        for index, record in enumerate(records):
            if record.get("key") is not None:
                keyed = True
            if record.get("value") is not None:
                valued = True
            if (number := record.get("partition")) is not None:
                numbered.append((index, int(number)))
        if (
            numbered
            or request.partition is not None
            or not self._metadata.cached_topic(request.topic)
        ):
            await self._check_partitions(request, numbered)
        plain = self._plain_serializer(codec)
        self._check_schemas(codec, True, request.key_schema, keyed)
        keys = (plain or await self._serializer(codec, request, True)) if keyed else None
        self._check_schemas(codec, False, request.value_schema, valued)
        values = (plain or await self._serializer(codec, request, False)) if valued else None
        outgoing = self._encode(request, keys, values)
        return (
            outgoing,
            keys.schema_id if keys else None,
            values.schema_id if values else None,
        )

    async def produce(
        self, request: ProduceRequest, producer: SharedProducer | None = None
    ) -> ProduceResult:
        """Produce with `producer` (a caller's own, under principal propagation) or else the
        shared one."""
        outgoing, key_schema_id, value_schema_id = await self.prepare(request)
        producer = self._producer if producer is None else producer
        if self._tracing is NO_TRACING:
            deliveries = await producer.send_all(request.topic, outgoing)
        else:
            with self._tracing.producing(request.topic, request.partition, outgoing) as send:
                deliveries = await producer.send_all(request.topic, send.records)
                send.delivered(deliveries)
        written = written_bytes = 0
        for record, delivery in zip(outgoing, deliveries, strict=True):
            if delivery.error is None:
                written += 1
                written_bytes += len(record.key or b"") + len(record.value or b"")
        return ProduceResult(
            deliveries,
            key_schema_id,
            value_schema_id,
            written=written,
            written_bytes=written_bytes,
        )

    async def produce_nowait(
        self, request: ProduceRequest, producer: SharedProducer | None = None
    ) -> ProduceResult:
        """Hand the records over without awaiting acknowledgements; the result counts them."""
        outgoing, _, _ = await self.prepare(request)
        producer = self._producer if producer is None else producer
        with self._tracing.producing(request.topic, request.partition, outgoing) as send:
            await producer.send_nowait(request.topic, send.records)
        return ProduceResult((), written=len(outgoing), written_bytes=_payload_bytes(outgoing))


def _payload_bytes(records: Sequence[OutgoingRecord]) -> int:
    return sum(len(r.key or b"") + len(r.value or b"") for r in records)

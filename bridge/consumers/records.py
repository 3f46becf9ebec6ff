"""Records on their way out of a consumer: their size against `max_bytes`, and their keys and
values decoded by the consumer's codec, stopping at the first record that cannot be, or
whose decoded key or value cannot be written in a JSON response.

The envelope (topic, partition, offset, timestamp, headers) is the same for every format;
only keys and values go through the codec, and a Kafka null stays JSON `null`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from aiokafka.structs import ConsumerRecord

from bridge.errors import BridgeError, ErrorKind
from bridge_codecs import jsontext
from bridge_codecs.base import Codec, CodecError, CodecUnavailableError, JSONValue

KafkaRecord: TypeAlias = ConsumerRecord[bytes, bytes]


@dataclass(frozen=True, slots=True)
class DeliveredRecord:
    """A record as the client receives it, before a dialect writes it as JSON."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: JSONValue
    value: JSONValue
    headers: tuple[tuple[str, bytes | None], ...]


def record_size(record: KafkaRecord) -> int:
    """What a record counts against `max_bytes`: its key and value bytes, before encoding."""
    return len(record.key or b"") + len(record.value or b"")


@dataclass(frozen=True)
class Decoded:
    """The records that decoded, in order, and the error of the first one that did not."""

    records: list[DeliveredRecord]
    failure: BridgeError | None


Decode = Callable[[bytes], JSONValue]


async def _decoder(codec: Codec, payloads: list[bytes]) -> Decode | None:
    """The codec's decoder for these payloads; None if preparing failed on one of them."""
    if not payloads:
        return None
    try:
        return await codec.deserializer(payloads)
    except CodecUnavailableError as exc:
        raise BridgeError(ErrorKind.SCHEMA_REGISTRY_ERROR, str(exc)) from None
    except CodecError:
        # A payload the codec could not prepare for (say, an unknown schema id): decode
        # record by record below, so that only that record fails.
        return None


async def _decode_one(codec: Codec, prepared: Decode | None, payload: bytes | None) -> Any:
    if payload is None:
        return None
    if prepared is None:
        prepared = await codec.deserializer([payload])
    return prepared(payload)


async def decode_records(codec: Codec, records: Sequence[KafkaRecord]) -> Decoded:
    """Decode `records` in order; stop at the first one whose key or value fails, or cannot
    be written as JSON (nested deeper than the writer goes, or a string that is not Unicode
    text: valid JSON in Kafka can hold both, and codecs are plugins)."""
    decoded = await _decode_all(codec, records)
    try:
        jsontext.dumps([(r.key, r.value) for r in decoded.records])
    except (TypeError, ValueError, RecursionError):
        return _writable_prefix(codec.name, records, decoded.records)
    return decoded


def _writable_prefix(
    fmt: str, records: Sequence[KafkaRecord], delivered: list[DeliveredRecord]
) -> Decoded:
    """The records before the first one that cannot be written, and its error."""
    for index, record in enumerate(delivered):
        for part, value in (("key", record.key), ("value", record.value)):
            try:
                jsontext.dumps([[value]])  # as deep as in a response: [{"value": ...}]
            except (TypeError, ValueError, RecursionError) as exc:  # incl. UnicodeEncodeError
                why = f"cannot be written as JSON: {exc}"
                return Decoded(delivered[:index], not_decodable(fmt, records[index], part, why))
    return Decoded(delivered, None)


async def _decode_all(codec: Codec, records: Sequence[KafkaRecord]) -> Decoded:
    key_decoder = await _decoder(codec, [r.key for r in records if r.key is not None])
    value_decoder = await _decoder(codec, [r.value for r in records if r.value is not None])
    delivered: list[DeliveredRecord] = []
    for record in records:
        part = "key"
        try:
            key = await _decode_one(codec, key_decoder, record.key)
            part = "value"
            value = await _decode_one(codec, value_decoder, record.value)
        except CodecError as exc:
            return Decoded(delivered, not_decodable(codec.name, record, part, str(exc)))
        except CodecUnavailableError as exc:
            if delivered:
                return Decoded(delivered, None)  # the rest stays for the next read
            raise BridgeError(ErrorKind.SCHEMA_REGISTRY_ERROR, str(exc)) from None
        delivered.append(
            DeliveredRecord(
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                timestamp=record.timestamp,
                key=key,
                value=value,
                headers=tuple(record.headers),
            )
        )
    return Decoded(delivered, None)


def not_decodable(fmt: str, record: KafkaRecord, part: str, why: str) -> BridgeError:
    return BridgeError(
        ErrorKind.RECORD_NOT_DECODABLE,
        f"The {part} of the record at offset {record.offset} of partition {record.partition} "
        f"of topic '{record.topic}' is not in this consumer's format '{fmt}' ({why}). "
        "The records before it were delivered; it stays next in line until the consumer "
        f"seeks past it (POST .../positions with offset {record.offset + 1}).",
    )

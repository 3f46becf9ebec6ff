"""Records on their way out of a consumer: their size against `max_bytes`, and the response
body that carries them: keys and values decoded by the consumer's codec, each record written
as the dialect's JSON object, stopping at the first record that cannot be decoded or whose
decoded key or value cannot be written in a JSON response.

The envelope (topic, partition, offset, timestamp, headers) is the same for every format;
only keys and values go through the codec, and a Kafka null stays JSON `null`.

Reads are hot (hundreds of records each), so the good path is one synchronous pass per side
with the codec's prepared decoders and a few JSON encodings of the dialect's objects; only
when either fails are the records gone through one by one, to find the first that failed.
The body comes in parts of about `PART_BYTES`, written one after the other, so that no large
buffer is allocated for it.
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
Decode = Callable[[bytes], JSONValue]
#: A dialect's writer: one JSON object per record, given the decoded keys and values.
RecordsWriter = Callable[
    [Sequence[KafkaRecord], Sequence[JSONValue], Sequence[JSONValue]], list[dict[str, Any]]
]

#: What a JSON writer raises for a value it cannot write (UnicodeEncodeError included).
_UNWRITABLE = (TypeError, ValueError, RecursionError)
#: About how large each part of a body is: on the bridge's malloc settings (bridge/memory.py)
#: each allocation from 64 KiB on is an mmap, page faults and an munmap, which cost a
#: consumer reading small records a tenth of its time when a body was one buffer.
PART_BYTES = 32 * 1024
#: Records per JSON encoding. The fetched records of a read are already near the garbage
#: collector's first threshold (700 new containers): with all of a read's objects alive at
#: once too, nearly every read set off a collection.
_OBJECTS_PER_ENCODING = 64


def record_size(record: KafkaRecord) -> int:
    """What a record counts against `max_bytes`: its key and value bytes, before encoding."""
    return len(record.key or b"") + len(record.value or b"")


@dataclass(frozen=True)
class Decoded:
    """The keys and values of the records that decoded, in order, and the error of the
    first record that did not."""

    keys: list[JSONValue]
    values: list[JSONValue]
    failure: BridgeError | None


@dataclass(frozen=True)
class Rendered:
    """A response body holding the first `count` records, and the error of the next one."""

    count: int
    #: The body, in parts to be written in order (never empty).
    parts: list[bytes]
    failure: BridgeError | None

    @property
    def body(self) -> bytes:
        return b"".join(self.parts)


async def render_records(
    codec: Codec, records: Sequence[KafkaRecord], write: RecordsWriter
) -> Rendered:
    """The JSON body of `records` in `write`'s shape, up to the first record that cannot be
    decoded or written."""
    decoded = await decode_records(codec, records)
    count = len(decoded.keys)
    runs: list[bytes] = []  # each the objects of consecutive records, comma-separated
    for start in range(0, count, _OBJECTS_PER_ENCODING):
        end = min(start + _OBJECTS_PER_ENCODING, count)
        objects = write(records[start:end], decoded.keys[start:end], decoded.values[start:end])
        try:
            runs.append(jsontext.dumps(objects)[1:-1])
        except _UNWRITABLE:
            written, failure = _writable_prefix(
                codec.name, records[start:end], decoded, start, objects
            )
            runs += written
            if failure is not None:
                return Rendered(start + len(written), _parts(runs), failure)
    return Rendered(count, _parts(runs), decoded.failure)


def _parts(runs: list[bytes]) -> list[bytes]:
    """The JSON array of these runs of comma-separated elements, in parts of about
    PART_BYTES (larger where one run alone is)."""
    parts: list[bytes] = []
    pieces, size = [b"["], 0
    for run in runs:
        if size:
            pieces.append(b",")
        pieces.append(run)
        size += len(run)
        if size >= PART_BYTES:
            parts.append(b"".join(pieces))
            pieces, size = [b","], 0
    if size or not parts:
        pieces.append(b"]")
        parts.append(b"".join(pieces))
    else:
        parts[-1] += b"]"
    return parts


async def decode_records(codec: Codec, records: Sequence[KafkaRecord]) -> Decoded:
    """Decode `records` in order; stop at the first one whose key or value fails."""
    keys = [record.key for record in records]
    values = [record.value for record in records]
    decode_key = await _decoder(codec, keys)
    decode_value = await _decoder(codec, values)
    if decode_key is not None and decode_value is not None:
        try:
            return Decoded(_decode_all(decode_key, keys), _decode_all(decode_value, values), None)
        except (CodecError, CodecUnavailableError):
            pass  # which record failed, and on which side, is for the in-order pass to find
    return await _decode_in_order(codec, records, decode_key, decode_value)


def _decode_all(decode: Decode, payloads: list[bytes | None]) -> list[JSONValue]:
    return [None if payload is None else decode(payload) for payload in payloads]


def _nothing_to_decode(payload: bytes) -> JSONValue:
    raise AssertionError("a decoder prepared for no payloads was called")


async def _decoder(codec: Codec, payloads: list[bytes | None]) -> Decode | None:
    """The codec's decoder for these payloads; None if preparing failed on one of them."""
    present = [payload for payload in payloads if payload is not None]
    if not present:
        return _nothing_to_decode
    try:
        return await codec.deserializer(present)
    except CodecUnavailableError as exc:
        raise BridgeError(ErrorKind.SCHEMA_REGISTRY_ERROR, str(exc)) from None
    except CodecError:
        # A payload the codec could not prepare for (say, an unknown schema id): decode
        # record by record, so that only that record fails.
        return None


async def _decode_one(codec: Codec, prepared: Decode | None, payload: bytes | None) -> Any:
    if payload is None:
        return None
    if prepared is None:
        prepared = await codec.deserializer([payload])
    return prepared(payload)


async def _decode_in_order(
    codec: Codec,
    records: Sequence[KafkaRecord],
    decode_key: Decode | None,
    decode_value: Decode | None,
) -> Decoded:
    keys: list[JSONValue] = []
    values: list[JSONValue] = []
    for record in records:
        part = "key"
        try:
            key = await _decode_one(codec, decode_key, record.key)
            part = "value"
            value = await _decode_one(codec, decode_value, record.value)
        except CodecError as exc:
            return Decoded(keys, values, not_decodable(codec.name, record, part, str(exc)))
        except CodecUnavailableError as exc:
            if keys:
                return Decoded(keys, values, None)  # the rest stays for the next read
            raise BridgeError(ErrorKind.SCHEMA_REGISTRY_ERROR, str(exc)) from None
        keys.append(key)
        values.append(value)
    return Decoded(keys, values, None)


def _writable_prefix(
    fmt: str,
    records: Sequence[KafkaRecord],
    decoded: Decoded,
    offset: int,
    objects: list[dict[str, Any]],
) -> tuple[list[bytes], BridgeError | None]:
    """The records of `objects` (written for `records`, the decoded keys and values from
    `offset` on) before the first one that cannot be written (nested deeper than the writer
    goes, or a string that is not Unicode text: valid JSON in Kafka can hold both, and codecs
    are plugins), and its error (None when each can be written on its own). Each record is
    written on its own, as deep as in the whole body, so the parts always join into a body
    that can be written."""
    parts: list[bytes] = []
    for index, written in enumerate(objects):
        try:
            parts.append(jsontext.dumps([written])[1:-1])
        except _UNWRITABLE as exc:
            at = offset + index
            part, why = _unwritable_part(decoded.keys[at], decoded.values[at], exc)
            return parts, not_decodable(
                fmt, records[index], part, f"cannot be written as JSON: {why}"
            )
    return parts, None


def _unwritable_part(key: JSONValue, value: JSONValue, error: Exception) -> tuple[str, str]:
    """Which of a record's key and value cannot be written, and why."""
    for part, decoded in (("key", key), ("value", value)):
        try:
            jsontext.dumps([[decoded]])  # as deep as in a response: [{"value": ...}]
        except _UNWRITABLE as exc:
            return part, str(exc)
    return "value", str(error)  # each alone can be, the two together cannot


def not_decodable(fmt: str, record: KafkaRecord, part: str, why: str) -> BridgeError:
    return BridgeError(
        ErrorKind.RECORD_NOT_DECODABLE,
        f"The {part} of the record at offset {record.offset} of partition {record.partition} "
        f"of topic '{record.topic}' is not in this consumer's format '{fmt}' ({why}). "
        "The records before it were delivered; it stays next in line until the consumer "
        f"seeks past it (POST .../positions with offset {record.offset + 1}).",
    )

"""Group-less reads of a partition by offset: v1 `GET /topics/{t}/partitions/{p}/messages`
(Confluent's) and its v2 form `GET /topics/{t}/partitions/{p}/records`.

The embedded format comes from `Accept` (binary when it names none); nothing is left behind
to clean up, since no group or instance is involved.
"""

from __future__ import annotations

from aiohttp import web

from bridge.codec_registry import UnknownFormatError
from bridge.consumers.config import DEFAULT_FORMAT
from bridge.consumers.records import record_size, render_records
from bridge.dialects import DIALECTS
from bridge.errors import BridgeError, ErrorKind
from bridge.http import path_partition, query_int, record_response_type
from bridge.metrics import METRICS
from bridge.negotiation import requested_format
from bridge.services import SERVICES
from bridge.tracing import TRACING

_INT32_MAX = 2**31 - 1
#: v2 reads without `count` return up to this many records.
DEFAULT_V2_COUNT = 500


async def _read(request: web.Request, *, default_count: int, waits: bool) -> web.Response:
    topic = request.match_info["topic"]
    partition = path_partition(request)
    offset = query_int(request, "offset")
    if offset is None:
        raise BridgeError(ErrorKind.INVALID_BODY, "Query parameter 'offset' is required")
    count = query_int(request, "count", _INT32_MAX, minimum=1)
    count = default_count if count is None else count
    services = request.app[SERVICES]
    settings = services.settings
    timeout_ms = query_int(request, "timeout", _INT32_MAX) if waits else 0
    if timeout_ms is None:
        timeout_ms = settings.consumer_request_timeout_ms
    max_bytes = query_int(request, "max_bytes")
    limit = settings.consumer_request_max_bytes
    max_bytes = limit if max_bytes is None else min(max_bytes, limit)

    fmt = requested_format(request.headers.get("Accept")) or DEFAULT_FORMAT
    response_type = record_response_type(request, fmt)
    try:
        codec = services.codecs.get(fmt)
    except UnknownFormatError as exc:
        raise BridgeError(ErrorKind.NOT_ACCEPTABLE, f"Accept asks for an {exc}") from None
    (await services.metadata.topic(topic, [partition])).partition(partition)

    with request.app[TRACING].reading(topic=topic) as read:
        records = await services.partition_reader.read(
            topic, partition, offset, count=count, max_bytes=max_bytes, timeout_ms=timeout_ms
        )
        rendered = await render_records(
            codec, records, DIALECTS[response_type.version].records_body
        )
        delivered = records[: rendered.count]
        read.received(delivered)
    if rendered.failure is not None and not delivered:
        raise rendered.failure
    request.app[METRICS].consumed(fmt, len(delivered), sum(map(record_size, delivered)))
    return web.Response(body=rendered.body, headers={"Content-Type": response_type.content_type})


async def read_messages(request: web.Request) -> web.Response:
    """v1 (Confluent): `count` defaults to 1 and the read never waits for new records."""
    return await _read(request, default_count=1, waits=False)


async def read_partition_records(request: web.Request) -> web.Response:
    """v2 form: waits up to `timeout` when the offset is at the end of the partition."""
    return await _read(request, default_count=DEFAULT_V2_COUNT, waits=True)

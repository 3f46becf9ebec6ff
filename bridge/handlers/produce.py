"""Producing: `POST /topics/{topic}` and `POST /topics/{topic}/partitions/{partition}`."""

from __future__ import annotations

from aiohttp import web

from bridge.errors import BridgeError, ErrorKind
from bridge.http import context, json_response, no_content, path_partition, query_flag, read_json
from bridge.metrics import METRICS
from bridge.produce import DEFAULT_FORMAT, ProduceRequest
from bridge.propagation import request_producer
from bridge.services import SERVICES


async def _produce(request: web.Request, partition: int | None) -> web.Response:
    ctx = context(request)
    if ctx.body_type is None:
        raise BridgeError(
            ErrorKind.UNSUPPORTED_MEDIA_TYPE,
            "A produce request needs a Content-Type such as "
            f"application/vnd.kafka.binary.v{ctx.dialect.version}+json",
        )
    body_name = "produce_to_topic" if partition is None else "produce_to_partition"
    body = await read_json(request, body_name, "The record list")
    produce_request = ProduceRequest.from_body(
        topic=request.match_info["topic"],
        partition=partition,
        embedded_format=ctx.body_type.embedded_format or DEFAULT_FORMAT,
        body=body,
    )
    services = request.app[SERVICES]
    pipeline = services.produce
    metrics = request.app[METRICS]
    nowait = bool(request.query_string) and query_flag(request, "async")
    send = pipeline.produce_nowait if nowait else pipeline.produce
    if services.identity_producers is None:
        # No principal propagation: the shared producer, without the context of
        # `request_producer`, which would cost every request more than it does.
        result = await send(produce_request)
    else:
        async with request_producer(request) as producer:
            result = await send(produce_request, producer)
    metrics.produced(produce_request.embedded_format, result.written, result.written_bytes)
    if nowait:
        return no_content()
    failures = [d.error for d in result.deliveries if d.error is not None]
    if failures and len(failures) == len(result.deliveries):
        # Nothing was written: the request as a whole failed, retriable or not.
        raise failures[0]
    for failure in failures:
        metrics.error(failure.kind)  # reported inside a 200; the error middleware never sees it
    return json_response(request, ctx.dialect.produce_body(result))


async def produce_to_topic(request: web.Request) -> web.Response:
    return await _produce(request, partition=None)


async def produce_to_partition(request: web.Request) -> web.Response:
    return await _produce(request, partition=path_partition(request))

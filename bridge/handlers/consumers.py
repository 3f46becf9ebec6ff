"""Consumers: `/consumers/{group}` and everything under `/instances/{name}`, for both dialects.

v1 reads a topic at `.../topics/{topic}` (the first read subscribes); v2 subscribes or
assigns first and reads `.../records`. Both end in the same read and the same response.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import quote

from aiohttp import web
from aiokafka import TopicPartition

from bridge.access_log import echo_request_id
from bridge.consumers.config import ConsumerConfig
from bridge.consumers.instance import ConsumerInstance, Handout
from bridge.dialects import DIALECTS
from bridge.errors import BridgeError, ErrorKind
from bridge.http import (
    context,
    external_url,
    json_response,
    no_content,
    query_int,
    read_json,
    record_response_type,
)
from bridge.metrics import METRICS
from bridge.propagation import challenged, instance_owner, kafka_identity
from bridge.services import SERVICES
from bridge.tracing import TRACING

log = logging.getLogger(__name__)

_INT32_MAX = 2**31 - 1
#: A connection's transport takes this much of a response before a write waits for the client
#: to read (uvloop's default is 64 KiB). A read's body usually fits, so the handler returns,
#: and the instance prepares the next read, while the client is still receiving this one:
#: 5-15 % more records/s for sequential 500-record reads. Records whose bytes sit in this
#: buffer when the client hangs up count as handed out, as those in the kernel's socket
#: buffer always did; a larger body still waits, and gives its records back on a hang-up.
_WRITE_BUFFER_BYTES = 1 << 20


def _names(request: web.Request) -> tuple[str, str]:
    """The instance a request names; every instance route goes through here, which is where
    principal propagation turns another user's instance into an unknown one (404)."""
    group, name = request.match_info["group"], request.match_info["name"]
    request.app[SERVICES].consumers.check_owner(group, name, instance_owner(request))
    return group, name


async def _partitions(request: web.Request, *, optional: bool = False) -> list[TopicPartition]:
    """The `{"partitions": [{topic, partition}]}` body; [] for an allowed empty body."""
    body = await read_json(
        request,
        "partitions",
        "The partition list",
        document="consumer",
        empty={"partitions": []} if optional else None,
    )
    return list(
        dict.fromkeys(TopicPartition(p["topic"], p["partition"]) for p in body["partitions"])
    )


async def _offsets(request: web.Request, *, optional: bool) -> dict[TopicPartition, int] | None:
    """The `{"offsets": [{topic, partition, offset}]}` body; None for an allowed empty body."""
    body = await read_json(
        request,
        "offsets",
        "The offset list",
        document="consumer",
        empty={} if optional else None,
    )
    if "offsets" not in body:
        return None
    return {TopicPartition(o["topic"], o["partition"]): o["offset"] for o in body["offsets"]}


async def _check_exist(request: web.Request, partitions: list[TopicPartition]) -> None:
    """404 for a topic or partition the cluster does not have."""
    metadata = request.app[SERVICES].metadata
    for topic in dict.fromkeys(tp.topic for tp in partitions):
        numbers = [tp.partition for tp in partitions if tp.topic == topic]
        info = await metadata.topic(topic, numbers)
        for number in numbers:
            info.partition(number)


# --- the instance itself


async def create_consumer(request: web.Request) -> web.Response:
    group = request.match_info["group"]
    body = await read_json(
        request,
        "new_consumer",
        "The consumer configuration",
        document="consumer",
        empty={},
        invalid=ErrorKind.INVALID_CONSUMER_CONFIG,
    )
    services = request.app[SERVICES]
    config = ConsumerConfig.from_body(group, body, services.consumers.defaults)
    with challenged():
        await services.consumers.create(config, kafka_identity(request))
    base = external_url(request, services.settings.advertised_url)
    uri = f"{base}/consumers/{quote(group, safe='')}/instances/{quote(config.name, safe='')}"
    return json_response(request, {"instance_id": config.name, "base_uri": uri})


async def delete_consumer(request: web.Request) -> web.Response:
    await request.app[SERVICES].consumers.delete(*_names(request))
    return no_content()


# --- what it reads


async def subscribe(request: web.Request) -> web.Response:
    body = await read_json(request, "subscription", "The subscription", document="consumer")
    topics, pattern = body.get("topics"), body.get("topic_pattern")
    if topics is not None and pattern is not None:
        raise BridgeError(
            ErrorKind.SUBSCRIPTION_CONFLICT,
            "Subscriptions to topics, partitions, and patterns are mutually exclusive: "
            "give either topics or topic_pattern",
        )
    if topics is None and pattern is None:
        raise BridgeError(
            ErrorKind.INVALID_BODY, "A list (of Topics type) or a topic_pattern must be specified"
        )
    async with request.app[SERVICES].consumers.use(*_names(request)) as instance:
        await instance.subscribe(list(dict.fromkeys(topics or ())), pattern)
    return no_content()


async def get_subscription(request: web.Request) -> web.Response:
    async with request.app[SERVICES].consumers.use(*_names(request)) as instance:
        topics, assigned = instance.subscription()
    partitions = [{topic: numbers} for topic, numbers in assigned.items()]
    return json_response(request, {"topics": topics, "partitions": partitions})


async def unsubscribe(request: web.Request) -> web.Response:
    async with request.app[SERVICES].consumers.use(*_names(request)) as instance:
        await instance.unsubscribe()
    return no_content()


async def assign(request: web.Request) -> web.Response:
    partitions = await _partitions(request)
    async with request.app[SERVICES].consumers.use(*_names(request)) as instance:
        await _check_exist(request, partitions)
        await instance.assign(partitions)
    return no_content()


async def get_assignments(request: web.Request) -> web.Response:
    async with request.app[SERVICES].consumers.use(*_names(request)) as instance:
        assigned = instance.assignment()
    body = {"partitions": [{"topic": tp.topic, "partition": tp.partition} for tp in assigned]}
    return json_response(request, body)


# --- positions


async def seek(request: web.Request) -> web.Response:
    offsets = await _offsets(request, optional=False)
    async with request.app[SERVICES].consumers.use(*_names(request)) as instance:
        await instance.seek(offsets or {})
    return no_content()


async def seek_to_beginning(request: web.Request) -> web.Response:
    partitions = await _partitions(request, optional=True)
    async with request.app[SERVICES].consumers.use(*_names(request)) as instance:
        await instance.seek_to_beginning(partitions or None)
    return no_content()


async def seek_to_end(request: web.Request) -> web.Response:
    partitions = await _partitions(request, optional=True)
    async with request.app[SERVICES].consumers.use(*_names(request)) as instance:
        await instance.seek_to_end(partitions or None)
    return no_content()


# --- offsets


async def commit_offsets(request: web.Request) -> web.Response:
    offsets = await _offsets(request, optional=True)
    async with request.app[SERVICES].consumers.use(*_names(request)) as instance:
        committed = await instance.commit(offsets)
    body = context(request).dialect.commit_body(committed)
    return no_content() if body is None else json_response(request, body)


async def committed_offsets(request: web.Request) -> web.Response:
    partitions = await _partitions(request)
    async with request.app[SERVICES].consumers.use(*_names(request)) as instance:
        await _check_exist(request, partitions)
        committed = await instance.committed(partitions)
    body = {
        "offsets": [
            {"topic": c.topic, "partition": c.partition, "offset": c.offset, "metadata": ""}
            for c in committed
        ]
    }
    return json_response(request, body)


# --- reading


async def read_records(request: web.Request) -> web.StreamResponse:
    async with request.app[SERVICES].consumers.use(*_names(request)) as instance:
        return await _respond_with_records(request, instance)


async def read_topic(request: web.Request) -> web.StreamResponse:
    """v1: read a topic, subscribing to it on the first read."""
    topic = request.match_info["topic"]
    async with request.app[SERVICES].consumers.use(*_names(request)) as instance:
        await request.app[SERVICES].metadata.topic(topic)
        await instance.subscribe_for_topic_read(topic)
        return await _respond_with_records(request, instance)


def _give_back(instance: ConsumerInstance, handout: Handout) -> None:
    log.info(
        "consumer %s/%s: client went away; %d records will be read again",
        instance.config.group,
        instance.config.name,
        len(handout.taken),
    )
    instance.give_back(handout)


def _buffer_whole_bodies(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        low, high = transport.get_write_buffer_limits()
        if high < _WRITE_BUFFER_BYTES:
            transport.set_write_buffer_limits(high=_WRITE_BUFFER_BYTES, low=low)


async def _respond_with_records(
    request: web.Request, instance: ConsumerInstance
) -> web.StreamResponse:
    """Read, and write the response while the instance is still held: if the client is gone
    by then (the write fails, or the server cancels the handler for it), the records go back
    to be read again rather than being lost."""
    response_type = record_response_type(request, instance.config.format)
    timeout_ms = query_int(request, "timeout", _INT32_MAX)
    max_bytes = query_int(request, "max_bytes")
    limit = request.app[SERVICES].settings.consumer_request_max_bytes
    max_bytes = limit if max_bytes is None else min(max_bytes, limit)
    write = DIALECTS[response_type.version].records_body
    with request.app[TRACING].reading(group=instance.config.group) as read:
        handout = await instance.read(
            instance.config.request_timeout_ms if timeout_ms is None else timeout_ms,
            max_bytes,
            write,
        )
        read.received(handout.taken)
    response = web.StreamResponse(headers={"Content-Type": response_type.content_type})
    echo_request_id(request, response)  # sent here, before the request middleware sees it
    response.content_length = sum(map(len, handout.parts))
    _buffer_whole_bodies(request)
    try:
        await response.prepare(request)
        for part in handout.parts:
            await response.write(part)
        await response.write_eof()
    except ConnectionError:
        _give_back(instance, handout)
        return response
    except asyncio.CancelledError:
        _give_back(instance, handout)
        raise
    request.app[METRICS].consumed(instance.config.format, len(handout.taken), handout.size)
    instance.prepare_next(max_bytes, write)
    return response

"""Cluster metadata resources: brokers, topics, partitions and partition offsets."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bridge.http import json_response, path_partition
from bridge.kafka.metadata import PartitionInfo
from bridge.services import SERVICES


def _partition_json(info: PartitionInfo) -> dict[str, Any]:
    return {
        "partition": info.partition,
        "leader": info.leader,
        "replicas": [
            {"broker": broker, "leader": broker == info.leader, "in_sync": broker in info.in_sync}
            for broker in info.replicas
        ],
    }


async def list_brokers(request: web.Request) -> web.Response:
    brokers = await request.app[SERVICES].metadata.broker_ids()
    return json_response(request, {"brokers": brokers})


async def list_topics(request: web.Request) -> web.Response:
    return json_response(request, await request.app[SERVICES].metadata.topic_names())


async def get_topic(request: web.Request) -> web.Response:
    metadata = request.app[SERVICES].metadata
    topic = await metadata.topic(request.match_info["topic"])
    configs = await metadata.topic_configs(topic.name)
    return json_response(
        request,
        {
            "name": topic.name,
            "configs": configs,
            "partitions": [_partition_json(p) for p in topic.partitions],
        },
    )


async def list_partitions(request: web.Request) -> web.Response:
    topic = await request.app[SERVICES].metadata.topic(request.match_info["topic"])
    return json_response(request, [_partition_json(p) for p in topic.partitions])


async def get_partition(request: web.Request) -> web.Response:
    number = path_partition(request)
    topic = await request.app[SERVICES].metadata.topic(request.match_info["topic"], [number])
    return json_response(request, _partition_json(topic.partition(number)))


async def get_partition_offsets(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    number = path_partition(request)
    topic = await services.metadata.topic(request.match_info["topic"], [number])
    partition = topic.partition(number).partition
    offsets = await services.offsets.offset_range(topic.name, partition)
    return json_response(
        request, {"beginning_offset": offsets.beginning, "end_offset": offsets.end}
    )

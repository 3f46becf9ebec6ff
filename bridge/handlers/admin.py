"""Topic administration: `POST /admin/topics` (the Strimzi bridge's createTopic)."""

from __future__ import annotations

from aiohttp import web

from bridge.http import read_json
from bridge.services import SERVICES


async def create_topic(request: web.Request) -> web.Response:
    body = await read_json(request, "new_topic", "The new topic")
    await request.app[SERVICES].metadata.create_topic(
        body["topic_name"], body.get("partitions_count"), body.get("replication_factor")
    )
    return web.Response(status=201)

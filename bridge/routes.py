"""The route table: every path the bridge serves, for both dialects."""

from __future__ import annotations

import re

from aiohttp import web
from aiohttp.typedefs import Handler

from bridge.handlers import (
    admin,
    consumers,
    meta,
    metrics,
    openapi,
    partition_records,
    produce,
    topics,
)

#: aiohttp's default `{name}` pattern refuses `{` and `}`, which group and instance names
#: may hold; a segment is anything up to the next slash.
_SEGMENT = re.compile(r"\{(\w+)\}")


def _add(app: web.Application, method: str, template: str, handler: Handler) -> None:
    path = _SEGMENT.sub(r"{\1:[^/]+}", template)
    # Clients (and the v1 reference's own examples) send paths with a trailing slash;
    # a redirect would lose a POST body, so both spellings are routes.
    app.router.add_route(method, path, handler)
    if path != "/":
        app.router.add_route(method, path + "/", handler)


def add_probe_routes(app: web.Application) -> None:
    """Probes and metrics: on the API app, or on the management app when it has a port."""
    _add(app, "GET", "/healthy", meta.healthy)
    _add(app, "GET", "/ready", meta.ready)
    _add(app, "GET", "/metrics", metrics.metrics)


def add_routes(app: web.Application) -> None:
    _add(app, "GET", "/", meta.bridge_info)
    _add(app, "GET", "/openapi", openapi.openapi)
    _add(app, "GET", "/openapi.json", openapi.openapi)
    _add(app, "GET", "/brokers", topics.list_brokers)
    _add(app, "POST", "/admin/topics", admin.create_topic)
    _add(app, "GET", "/topics", topics.list_topics)
    _add(app, "GET", "/topics/{topic}", topics.get_topic)
    _add(app, "POST", "/topics/{topic}", produce.produce_to_topic)
    _add(app, "GET", "/topics/{topic}/partitions", topics.list_partitions)
    _add(app, "GET", "/topics/{topic}/partitions/{partition}", topics.get_partition)
    _add(app, "POST", "/topics/{topic}/partitions/{partition}", produce.produce_to_partition)
    _add(
        app,
        "GET",
        "/topics/{topic}/partitions/{partition}/offsets",
        topics.get_partition_offsets,
    )
    partition = "/topics/{topic}/partitions/{partition}"
    _add(app, "GET", f"{partition}/messages", partition_records.read_messages)
    _add(app, "GET", f"{partition}/records", partition_records.read_partition_records)
    _add(app, "POST", "/consumers/{group}", consumers.create_consumer)
    instance = "/consumers/{group}/instances/{name}"
    _add(app, "DELETE", instance, consumers.delete_consumer)
    # The v1 reference's commit example posts to the instance itself.
    _add(app, "POST", instance, consumers.commit_offsets)
    _add(app, "POST", f"{instance}/offsets", consumers.commit_offsets)
    _add(app, "GET", f"{instance}/offsets", consumers.committed_offsets)
    _add(app, "GET", f"{instance}/topics/{{topic}}", consumers.read_topic)
    _add(app, "GET", f"{instance}/records", consumers.read_records)
    _add(app, "POST", f"{instance}/subscription", consumers.subscribe)
    _add(app, "GET", f"{instance}/subscription", consumers.get_subscription)
    _add(app, "DELETE", f"{instance}/subscription", consumers.unsubscribe)
    _add(app, "POST", f"{instance}/assignments", consumers.assign)
    _add(app, "GET", f"{instance}/assignments", consumers.get_assignments)
    _add(app, "POST", f"{instance}/positions", consumers.seek)
    _add(app, "POST", f"{instance}/positions/beginning", consumers.seek_to_beginning)
    _add(app, "POST", f"{instance}/positions/end", consumers.seek_to_end)

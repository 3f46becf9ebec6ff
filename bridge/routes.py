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


class _RouteTable:
    """Routes in the order added, registered with one aiohttp resource per path holding all
    its methods, and the trailing-slash twins after every other path.

    aiohttp tries the resources under a request's path prefix one by one, in registration
    order; a resource per method and a twin after each path would make the later routes
    (a consumer's records, say) wait for a dozen failed matches.
    """

    def __init__(self) -> None:
        self._methods: dict[str, list[tuple[str, Handler]]] = {}

    def add(self, method: str, template: str, handler: Handler) -> None:
        path = _SEGMENT.sub(r"{\1:[^/]+}", template)
        self._methods.setdefault(path, []).append((method, handler))

    def register(self, app: web.Application) -> None:
        # Clients (and the v1 reference's own examples) send paths with a trailing slash;
        # a redirect would lose a POST body, so both spellings are routes.
        for twins in (False, True):
            for path, methods in self._methods.items():
                if twins and path == "/":
                    continue
                resource = app.router.add_resource(path + "/" if twins else path)
                for method, handler in methods:
                    resource.add_route(method, handler)


def add_probe_routes(app: web.Application) -> None:
    """Probes and metrics: on the API app, or on the management app when it has a port."""
    routes = _RouteTable()
    routes.add("GET", "/healthy", meta.healthy)
    routes.add("GET", "/ready", meta.ready)
    routes.add("GET", "/metrics", metrics.metrics)
    routes.register(app)


def add_routes(app: web.Application) -> None:
    routes = _RouteTable()
    routes.add("GET", "/", meta.bridge_info)
    routes.add("GET", "/openapi", openapi.openapi)
    routes.add("GET", "/openapi.json", openapi.openapi)
    routes.add("GET", "/brokers", topics.list_brokers)
    routes.add("POST", "/admin/topics", admin.create_topic)
    routes.add("GET", "/topics", topics.list_topics)
    routes.add("GET", "/topics/{topic}", topics.get_topic)
    routes.add("POST", "/topics/{topic}", produce.produce_to_topic)
    routes.add("GET", "/topics/{topic}/partitions", topics.list_partitions)
    routes.add("GET", "/topics/{topic}/partitions/{partition}", topics.get_partition)
    routes.add("POST", "/topics/{topic}/partitions/{partition}", produce.produce_to_partition)
    routes.add(
        "GET",
        "/topics/{topic}/partitions/{partition}/offsets",
        topics.get_partition_offsets,
    )
    partition = "/topics/{topic}/partitions/{partition}"
    routes.add("GET", f"{partition}/messages", partition_records.read_messages)
    routes.add("GET", f"{partition}/records", partition_records.read_partition_records)
    routes.add("POST", "/consumers/{group}", consumers.create_consumer)
    instance = "/consumers/{group}/instances/{name}"
    routes.add("DELETE", instance, consumers.delete_consumer)
    # The v1 reference's commit example posts to the instance itself.
    routes.add("POST", instance, consumers.commit_offsets)
    routes.add("POST", f"{instance}/offsets", consumers.commit_offsets)
    routes.add("GET", f"{instance}/offsets", consumers.committed_offsets)
    routes.add("GET", f"{instance}/topics/{{topic}}", consumers.read_topic)
    routes.add("GET", f"{instance}/records", consumers.read_records)
    routes.add("POST", f"{instance}/subscription", consumers.subscribe)
    routes.add("GET", f"{instance}/subscription", consumers.get_subscription)
    routes.add("DELETE", f"{instance}/subscription", consumers.unsubscribe)
    routes.add("POST", f"{instance}/assignments", consumers.assign)
    routes.add("GET", f"{instance}/assignments", consumers.get_assignments)
    routes.add("POST", f"{instance}/positions", consumers.seek)
    routes.add("POST", f"{instance}/positions/beginning", consumers.seek_to_beginning)
    routes.add("POST", f"{instance}/positions/end", consumers.seek_to_end)
    routes.register(app)

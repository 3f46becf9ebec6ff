"""The OpenAPI document (`schemas/openapi.json`, served at `GET /openapi`) against the bridge:
it is valid OpenAPI 3.1, it lists exactly the app's routes, its request schemas agree with the
JSON Schemas the bridge validates bodies with, and real answers fit its response schemas.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import uuid
from collections.abc import Awaitable, Callable, Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import ClientResponse, web
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi

import bridge_schemas
from bridge import __version__
from bridge.app import create_app, create_management_app
from bridge.errors import BridgeError
from bridge.settings import Settings
from bridge.validation import validate as validate_body
from tests.conftest import BridgeClient, NewTopicFactory

DOCUMENT: dict[str, Any] = json.loads(files("bridge_schemas").joinpath("openapi.json").read_bytes())
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
V1 = "application/vnd.kafka.v1+json"
V2 = "application/vnd.kafka.v2+json"
AiohttpClient = Callable[..., Awaitable[BridgeClient]]


# --- reading the document


def _pointer(*parts: str) -> str:
    """A `$ref` to the JSON pointer of `parts` in the document (RFC 6901, URI-encoded)."""
    escaped = (part.replace("~", "~0").replace("/", "~1") for part in parts)
    return "#/" + quote("/".join(escaped), safe="/~")


def _resolve(
    node: dict[str, Any], where: tuple[str, ...]
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """A Reference Object followed (once) to what it names, with that thing's location."""
    if "$ref" not in node:
        return node, where
    parts = tuple(node["$ref"].removeprefix("#/").split("/"))
    target: Any = DOCUMENT
    for part in parts:
        target = target[part]
    return target, parts


def _operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield method.upper(), path, operation


def _schema_validator(*location: str) -> Draft202012Validator:
    """A validator of the schema at `location`: the whole document is the root schema, so
    that its `#/components/...` references resolve."""
    return Draft202012Validator({**DOCUMENT, "$ref": _pointer(*location)})


def _app_operations(app: web.Application) -> set[tuple[str, str]]:
    """(method, path) of every route, leaving out HEAD and the trailing-slash twins (each of
    which must have its route without the slash)."""
    operations, twins = set(), set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if route.method == "HEAD":
            continue
        if path != "/" and path.endswith("/"):
            twins.add((route.method, path.rstrip("/")))
        else:
            operations.add((route.method, path))
    assert twins <= operations
    return operations


# --- the document itself


def test_the_document_is_valid_openapi_3_1_for_this_version() -> None:
    validate_openapi(DOCUMENT)
    assert DOCUMENT["openapi"].startswith("3.1.")
    assert DOCUMENT["info"]["version"] == __version__


def test_every_route_is_documented_and_every_operation_is_a_route() -> None:
    documented = {(method, path) for method, path, _ in _operations()}
    assert _app_operations(create_app(Settings())) == documented


def test_with_a_management_port_the_two_apps_serve_the_documented_routes() -> None:
    api = create_app(Settings(management_port=18081))
    management = create_management_app(api)
    documented = {(method, path) for method, path, _ in _operations()}
    assert _app_operations(api) | _app_operations(management) == documented
    assert ("GET", "/metrics") in _app_operations(management)


def test_operation_ids_are_unique() -> None:
    ids = [operation["operationId"] for _, _, operation in _operations()]
    assert len(ids) == len(set(ids))


def _examples() -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every example the document gives, with the location of the schema it illustrates."""
    for name, schema in DOCUMENT["components"]["schemas"].items():
        for example in schema.get("examples", ()):
            yield ("components", "schemas", name), example
    for name, body in DOCUMENT["components"]["requestBodies"].items():
        for media, content in body["content"].items():
            for example in content.get("examples", {}).values():
                where = ("components", "requestBodies", name, "content", media, "schema")
                yield where, example["value"]


def test_the_examples_fit_their_schemas() -> None:
    examples = list(_examples())
    assert len(examples) > 10
    for location, example in examples:
        errors = [e.message for e in _schema_validator(*location).iter_errors(example)]
        assert not errors, (location, example)


# --- request bodies: the document against the JSON Schemas the bridge checks bodies with

#: OpenAPI schema -> the (document, `$defs` name) of the bridge's own schemas it mirrors.
MIRRORED = {
    "NewTopic": [("v1", "new_topic"), ("v2", "new_topic")],
    "V2ProduceToTopic": [("v2", "produce_to_topic")],
    "V2ProduceToPartition": [("v2", "produce_to_partition")],
    "V1ProduceToTopic": [("v1", "produce_to_topic")],
    "V1ProduceToPartition": [("v1", "produce_to_partition")],
    "V2RecordToTopic": [("v2", "record_to_topic")],
    "V2RecordToPartition": [("v2", "record_to_partition")],
    "V1RecordToTopic": [("v1", "record_to_topic")],
    "V1RecordToPartition": [("v1", "record_to_partition")],
    "NewConsumer": [("consumer", "new_consumer")],
    "Subscription": [("consumer", "subscription")],
    "TopicPartition": [("consumer", "topic_partition")],
    "Partitions": [("consumer", "partitions")],
    "PartitionOffset": [("consumer", "offset")],
    "Offsets": [("consumer", "offsets")],
}


@pytest.mark.parametrize("name", sorted(MIRRORED))
def test_request_schemas_have_the_fields_of_the_bridges_own(name: str) -> None:
    ours = DOCUMENT["components"]["schemas"][name]
    for document, body in MIRRORED[name]:
        theirs = bridge_schemas.load(document)["$defs"][body]
        assert set(ours["properties"]) == set(theirs["properties"]), (document, body)
        assert sorted(ours.get("required", [])) == sorted(theirs.get("required", []))
        assert ours.get("additionalProperties") == theirs.get("additionalProperties")


#: Request body component -> (document, `$defs` name) the bridge validates that body with.
BODIES = {
    "NewTopic": (None, "new_topic"),
    "ProduceToTopic": (None, "produce_to_topic"),
    "ProduceToPartition": (None, "produce_to_partition"),
    "NewConsumer": ("consumer", "new_consumer"),
    "Subscription": ("consumer", "subscription"),
    "Partitions": ("consumer", "partitions"),
    "Offsets": ("consumer", "offsets"),
}


def test_the_request_examples_pass_the_bridges_own_validation() -> None:
    checked = 0
    for name, (document, body) in BODIES.items():
        for media, content in DOCUMENT["components"]["requestBodies"][name]["content"].items():
            dialect = "v1" if ".v1+" in media else "v2"
            for example in content.get("examples", {}).values():
                data = example["value"]
                if dialect == "v1" and isinstance(data, list):
                    data = {"records": data}  # as the v1 dialect reads a bare array
                try:
                    validate_body(data, document or dialect, body, name)
                except BridgeError as exc:
                    pytest.fail(f"{name} {media}: {exc.message}: {exc.details}")
                checked += 1
    assert checked >= 10


# --- the served document and real answers


async def test_get_openapi_serves_the_document(bridge: BridgeClient) -> None:
    for path in ("/openapi", "/openapi.json", "/openapi/"):
        # Not negotiated: a browser's Accept gets the document too.
        response = await bridge.get(path, headers={"Accept": "text/html"})
        assert response.status == 200, path
        assert response.content_type == "application/json"
        assert json.loads(await response.read()) == DOCUMENT
        await _conforms(response, "/openapi", "GET")


async def _conforms(response: ClientResponse, path: str, method: str) -> Any:
    """Check the answer against what the document gives for it; return the parsed body."""
    operation = DOCUMENT["paths"][path][method.lower()]
    status = str(response.status)
    assert status in operation["responses"], f"{method} {path}: {status} is not documented"
    declared, where = _resolve(
        operation["responses"][status], ("paths", path, method.lower(), "responses", status)
    )
    raw = await response.read()
    content = declared.get("content")
    if content is None:
        assert raw == b"", f"{method} {path} {status}: a body where none is documented"
        return None
    media = response.content_type
    assert media in content, f"{method} {path} {status}: {media} is not documented"
    body = json.loads(raw)
    validator = _schema_validator(*where, "content", media, "schema")
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
    assert not errors, (method, path, status, media, body)
    return body


async def test_produce_answers_fit_the_document(
    bridge: BridgeClient, new_topic: NewTopicFactory
) -> None:
    topic = await new_topic(partitions=2)
    value = base64.b64encode(b"value").decode()
    v2 = await bridge.post(
        f"/topics/{topic}",
        json={"records": [{"key": "a2V5", "value": value, "partition": 1}]},
        headers={"Content-Type": "application/vnd.kafka.binary.v2+json"},
    )
    assert (await _conforms(v2, "/topics/{topic}", "POST"))["offsets"][0]["partition"] == 1

    v1 = await bridge.post(
        f"/topics/{topic}/partitions/0",
        json=[{"value": {"n": 1}}, {"key": "k", "value": [1, 2]}],
        headers={"Content-Type": "application/vnd.kafka.json.v1+json"},
    )
    body = await _conforms(v1, "/topics/{topic}/partitions/{partition}", "POST")
    assert body["value_schema_id"] is None
    assert [o["error_code"] for o in body["offsets"]] == [None, None]

    fire_and_forget = await bridge.post(
        f"/topics/{topic}?async=true",
        json={"records": [{"value": "text"}]},
        headers={"Content-Type": "application/vnd.kafka.text.v2+json"},
    )
    assert fire_and_forget.status == 204
    await _conforms(fire_and_forget, "/topics/{topic}", "POST")

    read = await bridge.get(
        f"/topics/{topic}/partitions/0/records?offset=0&count=2&timeout=1000",
        headers={"Accept": "application/vnd.kafka.json.v2+json"},
    )
    records = await _conforms(read, "/topics/{topic}/partitions/{partition}/records", "GET")
    assert [r["value"] for r in records] == [{"n": 1}, [1, 2]]

    read_v1 = await bridge.get(
        f"/topics/{topic}/partitions/1/messages?offset=0",
        headers={"Accept": "application/vnd.kafka.binary.v1+json"},
    )
    records = await _conforms(read_v1, "/topics/{topic}/partitions/{partition}/messages", "GET")
    assert records == [{"key": "a2V5", "value": value, "partition": 1, "offset": 0}]

    described = await bridge.get(f"/topics/{topic}", headers={"Accept": V1})
    assert (await _conforms(described, "/topics/{topic}", "GET"))["name"] == topic


async def test_consumer_answers_fit_the_document(
    bridge: BridgeClient, new_topic: NewTopicFactory
) -> None:
    topic = await new_topic(partitions=1)
    group = f"openapi-{uuid.uuid4().hex[:8]}"
    instance = "/consumers/{group}/instances/{name}"
    created = await bridge.post(
        f"/consumers/{group}", json={"name": "c1", "format": "json"}, headers={"Content-Type": V2}
    )
    assert (await _conforms(created, "/consumers/{group}", "POST"))["instance_id"] == "c1"
    base = f"/consumers/{group}/instances/c1"
    try:
        assigned = await bridge.post(
            f"{base}/assignments",
            json={"partitions": [{"topic": topic, "partition": 0}]},
            headers={"Content-Type": V2},
        )
        await _conforms(assigned, f"{instance}/assignments", "POST")
        assignments = await bridge.get(f"{base}/assignments")
        await _conforms(assignments, f"{instance}/assignments", "GET")
        wrong_format = await bridge.get(
            f"{base}/records?timeout=0",
            headers={"Accept": "application/vnd.kafka.binary.v2+json"},
        )
        assert wrong_format.status == 406
        await _conforms(wrong_format, f"{instance}/records", "GET")
        commit_v1 = await bridge.post(f"{base}/offsets", headers={"Content-Type": V1})
        assert await _conforms(commit_v1, f"{instance}/offsets", "POST") == []
    finally:
        deleted = await bridge.delete(base)
        await _conforms(deleted, instance, "DELETE")


async def test_error_answers_fit_the_document(
    bridge: BridgeClient, new_topic: NewTopicFactory
) -> None:
    missing = await bridge.get("/topics/openapi-no-such-topic/partitions", headers={"Accept": V1})
    assert (await _conforms(missing, "/topics/{topic}/partitions", "GET"))["error_code"] == 40401

    topic = await new_topic(partitions=1)
    invalid = await bridge.post(
        f"/topics/{topic}",
        json={"records": [{"value": "not base64!", "colour": "red"}]},
        headers={"Content-Type": "application/vnd.kafka.binary.v2+json"},
    )
    body = await _conforms(invalid, "/topics/{topic}", "POST")
    assert body["error_code"] == 422
    assert body["validation_errors"]

    invalid_v1 = await bridge.post(
        "/consumers/openapi-g", json={"auto.offset.reset": "never"}, headers={"Content-Type": V1}
    )
    assert (await _conforms(invalid_v1, "/consumers/{group}", "POST"))["error_code"] == 42204

    bad_query = await bridge.get(f"/topics/{topic}/partitions/0/records?offset=-1")
    assert (await _conforms(bad_query, "/topics/{topic}/partitions/{partition}/records", "GET"))[
        "error_code"
    ] == 422

    not_json = await bridge.post(
        "/admin/topics", data=b"{", headers={"Content-Type": V2, "Accept": "application/json"}
    )
    assert (await _conforms(not_json, "/admin/topics", "POST"))["error_code"] == 400


async def test_bridge_resources_fit_the_document(bridge: BridgeClient) -> None:
    for path in ("/", "/healthy", "/ready", "/brokers", "/topics"):
        await _conforms(await bridge.get(path), path, "GET")
    metrics = await bridge.get("/metrics")
    assert metrics.status == 200
    assert (
        metrics.content_type in DOCUMENT["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    )


async def test_refusals_fit_the_document(
    bridge_settings: Settings, aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    """401 (authentication on) and 503 (the producer and consumer APIs switched off)."""
    users = tmp_path / "users"
    users.write_text("alice:secret\n")
    settings = dataclasses.replace(
        bridge_settings,
        auth_type="basic",
        auth_basic_credentials_file=str(users),
        producer_enabled=False,
        consumer_enabled=False,
    )
    client = await aiohttp_client(create_app(settings))
    for path in ("/", "/openapi", "/topics"):
        refused = await client.get(path, headers={"Accept": V1})
        assert refused.status == 401
        assert "WWW-Authenticate" in refused.headers
        await _conforms(refused, path, "GET")
    alice = {"Authorization": "Basic " + base64.b64encode(b"alice:secret").decode()}
    assert (await client.get("/healthy")).status == 200

    off = await client.post(
        "/topics/any/partitions/0",
        json={"records": [{"value": "x"}]},
        headers={**alice, "Content-Type": "application/vnd.kafka.text.v2+json"},
    )
    assert off.status == 503
    await _conforms(off, "/topics/{topic}/partitions/{partition}", "POST")
    off = await client.post("/consumers/g", headers={**alice, "Content-Type": V1})
    assert off.status == 503
    await _conforms(off, "/consumers/{group}", "POST")


async def test_too_many_requests_fits_the_document(
    bridge_settings: Settings, aiohttp_client: AiohttpClient, new_topic: NewTopicFactory
) -> None:
    topic = await new_topic(partitions=1)
    client = await aiohttp_client(
        create_app(dataclasses.replace(bridge_settings, max_inflight_requests=1))
    )

    # The one slot is held by a read waiting at the end of an empty partition.
    async def read_waiting() -> int:
        response = await client.get(f"/topics/{topic}/partitions/0/records?offset=0&timeout=1000")
        await response.read()
        return response.status

    slow = asyncio.create_task(read_waiting())
    await asyncio.sleep(0.2)  # for the read to be admitted before the next request
    refused = await client.get("/brokers")
    assert refused.status == 429
    assert refused.headers["Retry-After"].isdigit()
    await _conforms(refused, "/brokers", "GET")
    assert await slow == 200

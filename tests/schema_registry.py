"""An in-process schema registry for the tests: the part of the Confluent Schema Registry REST
API that the bridge (through python-schema-registry-client) uses, served over real HTTP.

Like a real registry, it keeps one global id per distinct schema (the same schema registered
under two subjects gets the same id), numbers each subject's versions from 1, rejects schemas
that do not parse (422, error code 42201), and answers with Confluent's error codes (40401
subject not found, 40402 version not found, 40403 schema not found).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import fastavro
from aiohttp import web
from jsonschema.exceptions import SchemaError
from jsonschema.validators import Draft7Validator, validator_for

_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


@dataclass
class _Store:
    #: id -> (schema type, schema text as registered)
    schemas: dict[int, tuple[str, str]] = field(default_factory=dict)
    #: (schema type, canonical text) -> id
    ids: dict[tuple[str, str], int] = field(default_factory=dict)
    #: subject -> ids, one per version (version n is at index n - 1)
    subjects: dict[str, list[int]] = field(default_factory=dict)


def _answer(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(data), status=status, headers={"Content-Type": _CONTENT_TYPE}
    )


def _error(status: int, code: int, message: str) -> web.Response:
    return _answer({"error_code": code, "message": message}, status)


def _canonical(schema_type: str, text: str) -> str:
    """The form two registrations of the same schema share; raises ValueError if invalid."""
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if schema_type == "AVRO":
        try:
            fastavro.parse_schema(parsed)
        except Exception as exc:  # fastavro raises several types for bad schemas
            raise ValueError(f"invalid Avro schema: {exc}") from None
    elif schema_type == "JSON":
        if isinstance(parsed, dict):
            try:
                validator_for(parsed, default=Draft7Validator).check_schema(parsed)
            except SchemaError as exc:
                raise ValueError(f"invalid JSON Schema: {exc.message}") from None
        elif not isinstance(parsed, bool):
            raise ValueError("a JSON Schema is an object or a boolean")
    else:
        raise ValueError(f"unsupported schemaType {schema_type!r}")
    return json.dumps(parsed, sort_keys=True, separators=(",", ":"))


def _schema_body(store: _Store, schema_id: int) -> dict[str, Any]:
    schema_type, text = store.schemas[schema_id]
    body: dict[str, Any] = {"schema": text}
    if schema_type != "AVRO":  # Confluent leaves schemaType out for Avro
        body["schemaType"] = schema_type
    return body


def _version_body(store: _Store, subject: str, version: int) -> dict[str, Any]:
    schema_id = store.subjects[subject][version - 1]
    body = {"subject": subject, "version": version, "id": schema_id}
    return {**body, **_schema_body(store, schema_id)}


async def _read_schema(request: web.Request) -> tuple[str, str] | web.Response:
    try:
        body = await request.json()
        text = body["schema"]
        schema_type = body.get("schemaType") or "AVRO"
    except (ValueError, KeyError, TypeError):
        return _error(422, 42201, "Invalid schema: expected {schema, schemaType?}")
    if body.get("references"):
        return _error(422, 42201, "Schema references are not supported by this test registry")
    try:
        canonical = _canonical(schema_type, text)
    except ValueError as exc:
        return _error(422, 42201, f"Invalid schema: {exc}")
    return schema_type, canonical


def create_app() -> web.Application:
    store = _Store()
    routes = web.RouteTableDef()

    @routes.post("/subjects/{subject}/versions")
    async def register(request: web.Request) -> web.Response:
        read = await _read_schema(request)
        if isinstance(read, web.Response):
            return read
        schema_type, canonical = read
        key = (schema_type, canonical)
        schema_id = store.ids.get(key)
        if schema_id is None:
            schema_id = len(store.schemas) + 1
            store.ids[key] = schema_id
            store.schemas[schema_id] = (schema_type, canonical)
        versions = store.subjects.setdefault(request.match_info["subject"], [])
        if schema_id not in versions:
            versions.append(schema_id)
        return _answer({"id": schema_id})

    @routes.post("/subjects/{subject}")
    async def lookup(request: web.Request) -> web.Response:
        subject = request.match_info["subject"]
        read = await _read_schema(request)
        if isinstance(read, web.Response):
            return read
        if subject not in store.subjects:
            return _error(404, 40401, f"Subject '{subject}' not found.")
        schema_id = store.ids.get(read)
        versions = store.subjects[subject]
        if schema_id is None or schema_id not in versions:
            return _error(404, 40403, "Schema not found")
        return _answer(_version_body(store, subject, versions.index(schema_id) + 1))

    @routes.get("/schemas/ids/{id}")
    async def by_id(request: web.Request) -> web.Response:
        raw = request.match_info["id"]
        schema_id = int(raw) if raw.isdigit() else -1
        if schema_id not in store.schemas:
            return _error(404, 40403, f"Schema {raw} not found")
        return _answer(_schema_body(store, schema_id))

    @routes.get("/subjects")
    async def subjects(request: web.Request) -> web.Response:
        return _answer(sorted(store.subjects))

    @routes.get("/subjects/{subject}/versions")
    async def versions(request: web.Request) -> web.Response:
        subject = request.match_info["subject"]
        if subject not in store.subjects:
            return _error(404, 40401, f"Subject '{subject}' not found.")
        return _answer(list(range(1, len(store.subjects[subject]) + 1)))

    @routes.get("/subjects/{subject}/versions/{version}")
    async def version(request: web.Request) -> web.Response:
        subject, raw = request.match_info["subject"], request.match_info["version"]
        if subject not in store.subjects:
            return _error(404, 40401, f"Subject '{subject}' not found.")
        count = len(store.subjects[subject])
        number = count if raw in ("latest", "-1") else int(raw) if raw.isdigit() else 0
        if not 1 <= number <= count:
            return _error(404, 40402, f"Version {raw} not found.")
        return _answer(_version_body(store, subject, number))

    app = web.Application()
    app.add_routes(routes)
    return app


@contextmanager
def running_registry() -> Iterator[str]:
    """Serve a fresh registry on a loopback port from a thread of its own; yields its URL."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(create_app())
    started = threading.Event()
    url: list[str] = []

    async def start() -> None:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        url.append(f"http://127.0.0.1:{port}")
        started.set()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=serve, name="test schema registry", daemon=True)
    thread.start()
    if not started.wait(timeout=10):
        raise RuntimeError("the test schema registry did not start")
    try:
        yield url[0]
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()

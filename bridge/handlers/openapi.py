"""The bridge's OpenAPI 3.1 document (`schemas/openapi.json`), served at `GET /openapi`."""

from __future__ import annotations

from importlib.resources import files

from aiohttp import web

#: Read once, at import: the document never changes while the bridge runs.
DOCUMENT: bytes = files("bridge_schemas").joinpath("openapi.json").read_bytes()


async def openapi(request: web.Request) -> web.Response:
    return web.Response(body=DOCUMENT, content_type="application/json")

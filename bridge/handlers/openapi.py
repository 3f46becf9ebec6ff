"""The bridge's OpenAPI 3.1 document (`schemas/openapi.json`), served at `GET /openapi`."""

from __future__ import annotations

import asyncio
from importlib.resources import files

from aiohttp import web

#: The document, read by the first request that asks for it (90 KB a bridge need never hold)
#: and then kept: it never changes while the bridge runs.
_document: bytes | None = None


def _read() -> bytes:
    return files("bridge_schemas").joinpath("openapi.json").read_bytes()


async def openapi(request: web.Request) -> web.Response:
    global _document
    if _document is None:
        _document = await asyncio.to_thread(_read)  # no file I/O on the event loop
    return web.Response(body=_document, content_type="application/json")

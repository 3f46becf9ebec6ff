"""What the bad-input tests share: the check that any answer at all is a sane one (no 5xx;
an error is the JSON envelope), and the check that a bridge still serves normally after
it was fed garbage."""

from __future__ import annotations

import base64
import uuid
from collections import Counter
from typing import Any

import orjson
from aiohttp import ClientResponse

from tests.conftest import BridgeClient
from tests.integration.helpers import BINARY_V2, V2

#: Answers checked and 5xx seen by `sane_answer` in this process; a debugging aid that says
#: how much a fuzz run covered (print it from a plugin or a debugger).
TALLY: Counter[str] = Counter()


def _json_media_type(content_type: str) -> bool:
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/vnd.kafka") and media.endswith("+json")
    )


def check_answer(
    status: int, content_type: str, raw: bytes, what: str = "", *, json_success: bool = True
) -> Any:
    """Check any answer to any request: below 500; an error (3xx and up) is the envelope,
    an `error_code` int and a `message` str, in a JSON type; a 2xx with a body is JSON
    unless `json_success` is False. Returns the parsed body (None when empty or not JSON)."""
    TALLY["answers"] += 1
    TALLY[f"status {status}"] += 1
    context = f"{what} -> {status} {content_type!r} {raw[:300]!r}"
    if status >= 500:
        TALLY["5xx"] += 1
    assert status < 500, context
    assert b"Traceback" not in raw, context
    if not raw:
        assert status < 400, context
        return None
    if status < 300 and not json_success:
        return None
    assert _json_media_type(content_type), context
    body = orjson.loads(raw)
    if status >= 300:
        assert isinstance(body, dict), context
        assert type(body.get("error_code")) is int, context
        assert isinstance(body.get("message"), str), context
        assert body["message"].strip(), context
    return body


async def sane_answer(response: ClientResponse, what: str = "") -> tuple[int, Any]:
    """`check_answer` of an aiohttp response: its status and parsed body."""
    raw = await response.read()
    content_type = response.headers.get("Content-Type", "")
    return response.status, check_answer(response.status, content_type, raw, what)


async def assert_still_serving(bridge: BridgeClient, topic: str, partition: int = 0) -> None:
    """A normal produce and a read of what it wrote, both answered as usual."""
    marker = uuid.uuid4().bytes
    value = base64.b64encode(marker).decode("ascii")
    produced = await bridge.post(
        f"/topics/{topic}/partitions/{partition}",
        data=orjson.dumps({"records": [{"value": value}]}),
        headers={"Content-Type": BINARY_V2, "Accept": V2},
    )
    assert produced.status == 200, await produced.read()
    offset = (await produced.json(content_type=None))["offsets"][0]["offset"]
    read = await bridge.get(
        f"/topics/{topic}/partitions/{partition}/records?offset={offset}&count=1&timeout=5000",
        headers={"Accept": BINARY_V2},
    )
    assert read.status == 200, await read.read()
    records = await read.json(content_type=None)
    assert [r["value"] for r in records] == [value], records

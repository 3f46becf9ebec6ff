"""The access log and request ids: one `bridge.access` line per request with its id, route
template, status and duration; a sane incoming X-Request-Id is kept, any other replaced; the
id is echoed on every response, error envelopes and handler-streamed reads included."""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bridge.app import create_app
from bridge.settings import Settings
from tests.conftest import BridgeClient, NewTopicFactory
from tests.integration.consumer_helpers import create_consumer, read_records
from tests.integration.helpers import V2, error_of, json_of

AiohttpClient = Callable[..., Awaitable[BridgeClient]]


@pytest.fixture
def access_lines(caplog: pytest.LogCaptureFixture) -> Callable[[], list[logging.LogRecord]]:
    caplog.set_level(logging.INFO, logger="bridge.access")
    return lambda: [r for r in caplog.records if r.name == "bridge.access"]


def fields(record: logging.LogRecord) -> dict[str, Any]:
    names = ("request_id", "method", "route", "path", "status", "duration_ms", "remote")
    return {name: getattr(record, name) for name in names}


async def test_one_line_per_request_with_its_id_route_status_and_duration(
    bridge: BridgeClient, access_lines: Callable[[], list[logging.LogRecord]]
) -> None:
    first = await bridge.get("/topics", headers={"Accept": V2})
    await json_of(first)
    second = await bridge.get("/topics/", headers={"Accept": V2})
    await json_of(second)

    lines = access_lines()
    assert len(lines) == 2
    logged = [fields(line) for line in lines]
    ids = [first.headers["X-Request-Id"], second.headers["X-Request-Id"]]
    assert ids[0] != ids[1]
    assert [entry["request_id"] for entry in logged] == ids
    assert [entry["path"] for entry in logged] == ["/topics", "/topics/"]
    for entry in logged:
        assert entry["method"] == "GET"
        assert entry["route"] == "/topics"
        assert entry["status"] == 200
        assert isinstance(entry["duration_ms"], float)
        assert entry["duration_ms"] >= 0
        assert entry["remote"] == "127.0.0.1"
    message = lines[0].getMessage()
    assert '"GET /topics" 200' in message
    assert f"id={ids[0]}" in message


async def test_a_sane_incoming_request_id_is_kept_and_any_other_replaced(
    bridge: BridgeClient, access_lines: Callable[[], list[logging.LogRecord]]
) -> None:
    given = f"trace-{uuid.uuid4()}"
    response = await bridge.get("/healthy", headers={"X-Request-Id": given})
    assert response.status == 200
    assert response.headers["X-Request-Id"] == given
    assert access_lines()[-1].request_id == given  # type: ignore[attr-defined]

    for insane in ("x" * 500, "two words", 'quote"d', ""):
        response = await bridge.get("/healthy", headers={"X-Request-Id": insane})
        echoed = response.headers["X-Request-Id"]
        assert echoed
        assert echoed != insane
        assert access_lines()[-1].request_id == echoed  # type: ignore[attr-defined]


async def test_error_responses_carry_the_id_and_log_their_status_and_kind(
    bridge: BridgeClient, access_lines: Callable[[], list[logging.LogRecord]]
) -> None:
    missing = f"missing-{uuid.uuid4().hex[:8]}"
    cases = [
        (f"/topics/{missing}", 404, "/topics/{topic}", "topic_not_found"),
        (f"/no/such/{missing}", 404, "unmatched", "route_not_found"),
    ]
    for path, status, route, kind in cases:
        response = await bridge.get(path, headers={"Accept": V2, "X-Request-Id": f"id-{kind}"})
        await error_of(response, status, 404)
        assert response.headers["X-Request-Id"] == f"id-{kind}"
        line = access_lines()[-1]
        assert fields(line)["status"] == status
        assert fields(line)["route"] == route
        assert line.error_kind == kind  # type: ignore[attr-defined]
        assert f"error={kind}" in line.getMessage()
    # 405: aiohttp's own error, turned into an envelope, still carries an id.
    response = await bridge.delete("/topics", headers={"Accept": V2})
    await error_of(response, 405, 405)
    assert response.headers["X-Request-Id"] == access_lines()[-1].request_id  # type: ignore[attr-defined]


async def test_a_streamed_read_carries_the_id(
    bridge: BridgeClient,
    new_topic: NewTopicFactory,
    access_lines: Callable[[], list[logging.LogRecord]],
) -> None:
    topic = await new_topic(partitions=1)
    path = await create_consumer(bridge, f"g-{uuid.uuid4().hex[:8]}")
    assigned = await bridge.post(
        f"{path}/assignments",
        json={"partitions": [{"topic": topic, "partition": 0}]},
        headers={"Content-Type": V2},
    )
    assert assigned.status == 204
    response = await bridge.get(
        f"{path}/records?timeout=10", headers={"Accept": "application/vnd.kafka.binary.v2+json"}
    )
    assert response.status == 200
    assert response.headers["X-Request-Id"] == access_lines()[-1].request_id  # type: ignore[attr-defined]
    assert fields(access_lines()[-1])["route"] == "/consumers/{group}/instances/{name}/records"
    assert await read_records(bridge, path, timeout_ms=10) == []
    assert (await bridge.delete(path)).status == 204


async def test_access_log_off_still_echoes_ids(
    bridge_settings: Settings,
    aiohttp_client: AiohttpClient,
    access_lines: Callable[[], list[logging.LogRecord]],
) -> None:
    quiet = await aiohttp_client(create_app(dataclasses.replace(bridge_settings, access_log=False)))
    response = await quiet.get("/healthy", headers={"X-Request-Id": "kept"})
    assert response.status == 200
    assert response.headers["X-Request-Id"] == "kept"
    assert (await quiet.get("/healthy")).headers["X-Request-Id"]
    assert access_lines() == []

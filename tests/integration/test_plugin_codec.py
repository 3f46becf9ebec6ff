"""A third-party embedded format, end to end: a distribution on sys.path registers `shout`
(text, upper-cased when produced) and a `broken` format whose module does not exist; the
bridge serves `application/vnd.kafka.shout.v2+json` and is not upset by the broken one, which
it only finds out about (and says so, in the log and to the client) when a request names it."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from bridge.app import create_app
from bridge.settings import Settings
from tests.conftest import BridgeClient, NewTopicFactory, ReadRecords
from tests.integration.conftest import EndOffsets
from tests.integration.helpers import (
    BINARY_V2,
    V1,
    check_landed,
    check_offsets,
    error_of,
    error_text,
    json_of,
)
from tests.plugin_fixture import (
    BROKEN_ENTRY_POINT,
    BROKEN_FORMAT,
    PLUGIN_FORMAT,
    PLUGIN_MODULE,
    write_plugin_distribution,
)

SHOUT_V2 = f"application/vnd.kafka.{PLUGIN_FORMAT}.v2+json"
SHOUT_V1 = f"application/vnd.kafka.{PLUGIN_FORMAT}.v1+json"
BROKEN_V2 = f"application/vnd.kafka.{BROKEN_FORMAT}.v2+json"


@pytest.fixture
async def plugin_bridge(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    bridge_settings: Settings,
    aiohttp_client: Callable[..., Awaitable[BridgeClient]],
    caplog: pytest.LogCaptureFixture,
) -> AsyncIterator[BridgeClient]:
    """A bridge created after the plugin distribution was put on sys.path."""
    caplog.set_level(logging.INFO, logger="bridge.services")  # the start-up's list of formats
    write_plugin_distribution(tmp_path)
    monkeypatch.syspath_prepend(tmp_path)  # also invalidates the import caches
    yield await aiohttp_client(create_app(bridge_settings))
    # Each test writes its own copy of the plugin; the next one must import that copy.
    for module in [m for m in sys.modules if m.startswith("kb_test_")]:
        del sys.modules[module]


async def test_plugin_format_produces_through_the_bridge(
    plugin_bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=2)
    records = [
        {"key": "user-1", "value": "hello, kafka"},
        {"value": "ça va?", "partition": 1},
        {"key": "k", "value": None},
    ]
    response = await plugin_bridge.post(
        f"/topics/{topic}", json={"records": records}, headers={"Content-Type": SHOUT_V2}
    )
    positions = check_offsets(await json_of(response), 3, dialect=2, partitions=[None, 1, None])
    check_landed(
        await read_records(topic, 3),
        positions,
        [(b"USER-1", b"HELLO, KAFKA"), (None, "ÇA VA?".encode()), (b"K", None)],
    )
    assert PLUGIN_MODULE in sys.modules


async def test_plugin_format_in_the_v1_dialect_and_to_a_partition(
    plugin_bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=2)
    response = await plugin_bridge.post(
        f"/topics/{topic}/partitions/1",
        json={"records": [{"value": "quiet"}]},
        headers={"Content-Type": SHOUT_V1},
    )
    positions = check_offsets(await json_of(response, V1), 1, dialect=1, partitions=[1])
    check_landed(await read_records(topic, 1), positions, [(None, b"QUIET")])


async def test_plugin_codec_errors_are_422_naming_the_record(
    plugin_bridge: BridgeClient, new_topic: NewTopicFactory, end_offsets: EndOffsets
) -> None:
    topic = await new_topic(partitions=1)
    response = await plugin_bridge.post(
        f"/topics/{topic}",
        json={"records": [{"value": "fine"}, {"value": 42}]},
        headers={"Content-Type": SHOUT_V2},
    )
    body = await error_of(response, 422, 422)
    assert "records[1].value: expected a string" in error_text(body)
    assert await end_offsets(topic) == {0: 0}


async def test_broken_plugin_does_not_stop_the_bridge_serving(
    caplog: pytest.LogCaptureFixture,
    plugin_bridge: BridgeClient,
    new_topic: NewTopicFactory,
    read_records: ReadRecords,
    end_offsets: EndOffsets,
) -> None:
    # Start-up lists every registered format without importing any plugin, so the broken
    # one is not noticed yet.
    started = [r.getMessage() for r in caplog.get_records("setup")]
    [listed] = [m for m in started if m.startswith("embedded formats available")]
    assert BROKEN_FORMAT in listed
    assert PLUGIN_FORMAT in listed
    assert not [r for r in caplog.get_records("setup") if r.levelno >= logging.ERROR]
    assert PLUGIN_MODULE not in sys.modules

    assert (await plugin_bridge.get("/ready")).status == 200
    topic = await new_topic(partitions=1)
    assert topic in await json_of(await plugin_bridge.get("/topics"))

    # Asking for the broken format is answered, every time, that it is not available and
    # why, listing the working formats: the built-ins and the plugin's good one. The log
    # says what could not be imported, once.
    for _ in range(2):
        broken = await plugin_bridge.post(
            f"/topics/{topic}",
            json={"records": [{"value": "x"}]},
            headers={"Content-Type": BROKEN_V2},
        )
        body = await error_of(broken, 415, 415)
        reason, known = body["message"].split("known formats:")
        assert f"'{BROKEN_FORMAT}' is not available" in reason
        assert BROKEN_ENTRY_POINT in reason
        assert "could not be imported" in reason
        assert {n.strip() for n in known.split(",")} >= {"binary", "json", "text", PLUGIN_FORMAT}
        assert BROKEN_FORMAT not in known
    problems = [r.getMessage() for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    [logged] = [m for m in problems if BROKEN_ENTRY_POINT in m]
    assert f"'{BROKEN_FORMAT}' is unavailable" in logged
    assert "kb_test_plugin_missing" in logged
    assert await end_offsets(topic) == {0: 0}

    # Built-in and plugin formats both still produce.
    response = await plugin_bridge.post(
        f"/topics/{topic}",
        json={"records": [{"value": "YmluYXJ5"}]},
        headers={"Content-Type": BINARY_V2},
    )
    positions = check_offsets(await json_of(response), 1, dialect=2)
    response = await plugin_bridge.post(
        f"/topics/{topic}",
        json={"records": [{"value": "loud"}]},
        headers={"Content-Type": SHOUT_V2},
    )
    positions += check_offsets(await json_of(response), 1, dialect=2)
    check_landed(await read_records(topic, 2), positions, [(None, b"binary"), (None, b"LOUD")])


async def test_without_the_distribution_the_format_is_unknown(
    bridge: BridgeClient, new_topic: NewTopicFactory
) -> None:
    # The plain bridge (no plugin on sys.path) does not know `shout`: the format really
    # comes from the plugin's entry point.
    topic = await new_topic(partitions=1)
    response = await bridge.post(
        f"/topics/{topic}", json={"records": [{"value": "x"}]}, headers={"Content-Type": SHOUT_V2}
    )
    body = await error_of(response, 415, 415)
    assert PLUGIN_FORMAT not in body["message"].split("known formats:")[1]

"""What consumers guarantee about delivery, whatever the dialect (checked with v2 media
types): max_bytes never loses a record, a record not in the consumer's format is never
skipped silently, commits never pass a record the client has not received, a group shares
its partitions, idle instances expire, the instance cap, concurrent reads, and shutdown."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import socket
import uuid
import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from aiohttp.web_runner import BaseRunner

from bridge.app import create_app
from bridge.services import SERVICES
from bridge.settings import Settings
from tests.conftest import BridgeClient, NewTopicFactory
from tests.integration.consumer_helpers import (
    FIRST_READ_TIMEOUT_MS,
    Batch,
    answers_until,
    b64,
    create_consumer,
    group_committed,
    next_offsets,
    put_records,
    raw,
    read_records,
    read_until,
)
from tests.integration.helpers import BINARY_V1, BINARY_V2, JSON_V2, V2, error_of, json_of
from tests.kafka_target import KafkaTarget

AiohttpClient = Callable[..., Awaitable[BridgeClient]]
Position = tuple[int, int]

#: Without auto-commit, and from the beginning of each partition.
MANUAL = {"auto.offset.reset": "earliest", "enable.auto.commit": False}
AUTO = {"auto.offset.reset": "earliest", "enable.auto.commit": True}


def unique_group() -> str:
    return f"g-{uuid.uuid4().hex[:12]}"


def size(record: dict[str, Any]) -> int:
    """What a binary record counts against max_bytes: key and value bytes, unencoded."""
    return len(raw(record["key"])) + len(raw(record["value"]))


def position(record: dict[str, Any]) -> Position:
    return (record["partition"], record["offset"])


def positions(records: Sequence[dict[str, Any]]) -> list[Position]:
    return [position(r) for r in records]


def check_partition_order(records: Sequence[dict[str, Any]]) -> None:
    """Within each partition, records came in offset order, without repeats."""
    seen: dict[int, int] = {}
    for record in records:
        partition, offset = position(record)
        assert offset > seen.get(partition, -1), (record, seen)
        seen[partition] = offset


async def subscribe(bridge: BridgeClient, path: str, *topics: str) -> None:
    response = await bridge.post(
        f"{path}/subscription", json={"topics": list(topics)}, headers={"Content-Type": V2}
    )
    assert response.status == 204, await response.text()


async def delete(bridge: BridgeClient, path: str) -> None:
    response = await bridge.delete(path, headers={"Accept": V2})
    assert response.status == 204, await response.text()


async def subscribed_consumer(
    bridge: BridgeClient, group: str, topic: str, body: dict[str, Any]
) -> str:
    path = await create_consumer(bridge, group, body)
    await subscribe(bridge, path, topic)
    return path


async def read_batches(
    bridge: BridgeClient, path: str, count: int, *, max_bytes: int | None = None
) -> list[Batch]:
    """Read until `count` records came; returns each non-empty answer."""
    answers = await answers_until(
        lambda: read_records(bridge, path, max_bytes=max_bytes, timeout_ms=2_000), count
    )
    return [answer for answer in answers if answer]


async def read_answer(response: aiohttp.ClientResponse) -> list[dict[str, Any]]:
    batch = await json_of(response, content_type=BINARY_V2)
    assert isinstance(batch, list), batch
    return batch


async def assert_nothing_more(bridge: BridgeClient, path: str, timeout_ms: int = 1_000) -> None:
    assert await read_records(bridge, path, timeout_ms=timeout_ms) == []


async def commit(bridge: BridgeClient, path: str) -> None:
    """Commit what the instance handed out (an empty body): 204 in v2."""
    response = await bridge.post(f"{path}/offsets", headers={"Accept": V2})
    assert response.status == 204, await response.text()


async def check_resuming_after(
    bridge: BridgeClient,
    kafka: KafkaTarget,
    group: str,
    topic: str,
    written: Sequence[Position],
    committed: Sequence[dict[str, Any]],
) -> None:
    """The group committed the offsets after the `committed` records (of the topic's two
    partitions); a new instance of it reads exactly the `written` records after those, each
    partition in offset order, and nothing more."""
    assert await group_committed(kafka, group, topic, 2) == next_offsets(committed)
    path = await subscribed_consumer(bridge, group, topic, MANUAL)
    rest = await read_until(bridge, path, len(written) - len(committed))
    assert sorted(positions(committed) + positions(rest)) == sorted(written)
    check_partition_order(rest)
    await assert_nothing_more(bridge, path)


async def assigned(bridge: BridgeClient, path: str) -> set[tuple[str, int]]:
    """The instance's partitions now (GET .../assignments), as (topic, partition)."""
    response = await bridge.get(f"{path}/assignments", headers={"Accept": V2})
    body = await json_of(response)
    return {(p["topic"], p["partition"]) for p in body["partitions"]}


async def put_spread(
    kafka: KafkaTarget, topic: str, partitions: int, count: int, value_size: int, tag: str = "r"
) -> list[Position]:
    """`count` records of `value_size` bytes (no key), round-robin over the partitions."""
    written: list[Position] = []
    for i in range(count):
        value = f"{tag}-{i:04d}-".encode().ljust(value_size, b"x")
        written += await put_records(kafka, topic, [value], partition=i % partitions)
    return written


async def spread_topic(
    new_topic: NewTopicFactory,
    kafka: KafkaTarget,
    partitions: int,
    count: int,
    value_size: int,
    tag: str = "r",
) -> tuple[str, list[Position]]:
    """A new topic of `partitions` partitions holding `count` records of `value_size` bytes,
    round-robin over them (put_spread); returns the topic and the records' positions."""
    topic = await new_topic(partitions=partitions)
    return topic, await put_spread(kafka, topic, partitions, count, value_size, tag)


# --- max_bytes


async def test_max_bytes_never_loses_a_record(
    bridge: BridgeClient, new_topic: NewTopicFactory, kafka: KafkaTarget
) -> None:
    topic, written = await spread_topic(new_topic, kafka, 3, 30, 100)
    path = await subscribed_consumer(bridge, unique_group(), topic, MANUAL)

    batches = await read_batches(bridge, path, 30, max_bytes=350)
    records = [r for batch in batches for r in batch]
    for batch in batches:
        assert sum(size(r) for r in batch) <= 350, [size(r) for r in batch]
        assert len(batch) <= 3
    # Every record exactly once, each partition in offset order.
    assert sorted(positions(records)) == sorted(written)
    check_partition_order(records)
    assert all(len(raw(r["value"])) == 100 for r in records)
    # Answers hold what fits, not one record each: fewer reads than records.
    assert len(batches) < 30, [len(b) for b in batches]

    # The next record alone is bigger than max_bytes: 422, and it stays next.
    big = b"B" * 400
    [(partition, offset)] = await put_records(kafka, topic, [big], partition=1, keys=[b"kk"])
    for _ in range(2):
        response = await bridge.get(
            f"{path}/records?timeout={FIRST_READ_TIMEOUT_MS}&max_bytes=350",
            headers={"Accept": BINARY_V2},
        )
        body = await error_of(response, 422, 422)
        assert "350" in body["message"], body
    [record] = await read_records(bridge, path, max_bytes=402, timeout_ms=2_000)
    assert position(record) == (partition, offset)
    assert raw(record["key"]) == b"kk"
    assert raw(record["value"]) == big
    await assert_nothing_more(bridge, path, timeout_ms=500)


# --- a record not in the consumer's format


async def test_poison_record_stays_until_skipped(
    bridge: BridgeClient, new_topic: NewTopicFactory, kafka: KafkaTarget
) -> None:
    topic = await new_topic(partitions=1)
    written = await put_records(
        kafka, topic, [b'{"n": 1}', b'{"n": 2}', b"\xffnot json{", b'{"n": 3}'], partition=0
    )
    poison = written[2][1]
    path = await subscribed_consumer(bridge, unique_group(), topic, {**MANUAL, "format": "json"})

    # The good records before it come first, in as many reads as it takes.
    good = await read_until(bridge, path, 2, accept=JSON_V2)
    assert [(r["value"], r["offset"]) for r in good] == [({"n": 1}, 0), ({"n": 2}, 1)]
    # Then 406 naming the record, as often as it is asked: it is not skipped.
    for _ in range(2):
        response = await bridge.get(f"{path}/records?timeout=5000", headers={"Accept": JSON_V2})
        body = await error_of(response, 406, 406)
        message = body["message"]
        assert topic in message, message
        assert f"offset {poison}" in message, message
        assert "partition 0" in message, message

    # The client seeks past it, and the next good record arrives.
    response = await bridge.post(
        f"{path}/positions",
        json={"offsets": [{"topic": topic, "partition": 0, "offset": poison + 1}]},
        headers={"Content-Type": V2},
    )
    assert response.status == 204, await response.text()
    after = await read_until(bridge, path, 1, accept=JSON_V2)
    assert [(r["value"], r["offset"]) for r in after] == [({"n": 3}, poison + 1)]


# --- commits


async def test_commit_then_resume(
    bridge: BridgeClient, new_topic: NewTopicFactory, kafka: KafkaTarget
) -> None:
    topic, first = await spread_topic(new_topic, kafka, 2, 10, 20, tag="first")
    group = unique_group()
    path = await subscribed_consumer(bridge, group, topic, MANUAL)
    read_first = await read_until(bridge, path, 10)
    assert sorted(positions(read_first)) == sorted(first)

    # Commit what was read (empty body: everything handed out): 204 in v2.
    await commit(bridge, path)
    assert await group_committed(kafka, group, topic, 2) == next_offsets(read_first)

    # Records after the commit, read but never committed, then the instance goes.
    second = await put_spread(kafka, topic, 2, 6, 20, tag="second")
    read_second = await read_until(bridge, path, 6)
    assert sorted(positions(read_second)) == sorted(second)
    await delete(bridge, path)

    # A new instance of the group reads exactly what follows the committed offsets.
    await check_resuming_after(bridge, kafka, group, topic, first + second, read_first)


async def test_auto_commit_commits_on_delete(
    bridge: BridgeClient, new_topic: NewTopicFactory, kafka: KafkaTarget
) -> None:
    topic, written = await spread_topic(new_topic, kafka, 2, 12, 50)
    group = unique_group()
    path = await subscribed_consumer(bridge, group, topic, AUTO)
    # Hand out some of them (at most 3 per read), then delete: that commits what was handed out.
    handed_out = await read_until(bridge, path, 5, max_bytes=160)
    assert len(handed_out) < len(written)
    await delete(bridge, path)
    await check_resuming_after(bridge, kafka, group, topic, written, handed_out)


async def test_records_not_handed_out_are_not_committed(
    bridge: BridgeClient, new_topic: NewTopicFactory, kafka: KafkaTarget
) -> None:
    topic, written = await spread_topic(new_topic, kafka, 2, 20, 100)
    group = unique_group()
    path = await subscribed_consumer(bridge, group, topic, MANUAL)
    # Small reads (2 records each) until both partitions handed something out: the
    # instance has fetched more than that, and holds it for the next reads.
    handed_out = await read_until(bridge, path, 1, max_bytes=250)
    loop = asyncio.get_running_loop()
    end = loop.time() + 30
    while {r["partition"] for r in handed_out} != {0, 1}:
        assert loop.time() < end, handed_out
        handed_out += await read_records(bridge, path, max_bytes=250, timeout_ms=2_000)
    assert len(handed_out) < len(written)
    await commit(bridge, path)
    assert await group_committed(kafka, group, topic, 2) == next_offsets(handed_out)
    await delete(bridge, path)
    await check_resuming_after(bridge, kafka, group, topic, written, handed_out)


async def _abandoned_read(bridge: BridgeClient, path: str) -> int:
    """GET `.../records` over a socket that reads the status line and headers and then hangs
    up, its receive buffer kept small so that most of the body is still in the bridge then.
    Returns the Content-Length the bridge announced."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (bridge.host, bridge.port))
    reader, writer = await asyncio.open_connection(sock=sock)
    try:
        writer.write(
            f"GET {path}/records?timeout={FIRST_READ_TIMEOUT_MS} HTTP/1.1\r\n"
            f"Host: {bridge.host}\r\nAccept: {BINARY_V2}\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        length = next(
            int(line.split(b":")[1])
            for line in head.lower().split(b"\r\n")
            if line.startswith(b"content-length:")
        )
    finally:
        writer.transport.abort()
    return length


async def test_the_next_read_prepared_ahead_follows_what_the_client_asks(
    bridge: BridgeClient, new_topic: NewTopicFactory, kafka: KafkaTarget
) -> None:
    """After each answer the instance prepares the next one (same dialect and max_bytes).
    A read asking for something else, or after a seek, gets what it asks for; records
    prepared but not handed out are never committed."""
    topic = await new_topic(partitions=1)
    written = await put_records(kafka, topic, [b"%03d" % i for i in range(12)], partition=0)
    group = unique_group()
    path = await create_consumer(bridge, group, MANUAL)
    response = await bridge.post(
        f"{path}/assignments",
        json={"partitions": [{"topic": topic, "partition": 0}]},
        headers={"Content-Type": V2},
    )
    assert response.status == 204, await response.text()

    first = await read_until(bridge, path, 1, max_bytes=6)  # two records a read
    assert positions(first) == written[:2]
    # Prepared with max_bytes=6: a read with 3 gets one record, the next in line.
    assert positions(await read_records(bridge, path, max_bytes=3)) == written[2:3]
    # The v1 dialect's shape, not the prepared v2 one.
    response = await bridge.get(
        f"{path}/records?timeout=1000&max_bytes=3", headers={"Accept": BINARY_V1}
    )
    assert await json_of(response, content_type=BINARY_V1) == [
        {"key": None, "value": b64(b"003"), "partition": 0, "offset": 3}
    ]
    await commit(bridge, path)
    assert await group_committed(kafka, group, topic, 1) == {0: 4}
    # A seek back: the records prepared meanwhile are not what comes next.
    response = await bridge.post(
        f"{path}/positions",
        json={"offsets": [{"topic": topic, "partition": 0, "offset": 1}]},
        headers={"Content-Type": V2},
    )
    assert response.status == 204, await response.text()
    rest = await read_until(bridge, path, len(written) - 1)
    assert positions(rest) == written[1:]
    await assert_nothing_more(bridge, path, timeout_ms=500)


class _UncancellingServer(TestServer):
    """A test server that, like the bridge's own (bridge/server.py), lets a handler run on
    when its client goes (aiohttp's test server cancels it)."""

    async def _make_runner(self, **kwargs: Any) -> BaseRunner:
        return await super()._make_runner(**{**kwargs, "handler_cancellation": False})


@pytest.mark.parametrize("cancelled", [True, False], ids=["handler-cancelled", "write-fails"])
async def test_a_response_the_client_does_not_take_gives_its_records_back(
    bridge_settings: Settings,
    aiohttp_client: AiohttpClient,
    new_topic: NewTopicFactory,
    kafka: KafkaTarget,
    cancelled: bool,
) -> None:
    """A client that hangs up in the middle of a body does not lose its records: the next
    read hands them out again, from the first on, whether the server cancels the handler
    or the handler's write fails. The body is larger than the sockets can buffer (a few MB
    on loopback), so the bridge is still writing it when the client goes."""
    consumer = {**bridge_settings.kafka_consumer, "max.partition.fetch.bytes": "16777216"}
    app = create_app(dataclasses.replace(bridge_settings, kafka_consumer=consumer))
    bridge = await aiohttp_client(app if cancelled else _UncancellingServer(app))
    topic = await new_topic(partitions=1)
    values = [b"%04d" % i + b"v" * 16_000 for i in range(300)]
    written = await put_records(kafka, topic, values, partition=0)
    path = await create_consumer(bridge, unique_group(), MANUAL)
    response = await bridge.post(
        f"{path}/assignments",
        json={"partitions": [{"topic": topic, "partition": 0}]},
        headers={"Content-Type": V2},
    )
    assert response.status == 204, await response.text()

    assert await _abandoned_read(bridge, path) > 6_000_000
    records = await read_until(bridge, path, len(written))
    assert positions(records) == written
    assert [raw(r["value"]) for r in records] == values
    await assert_nothing_more(bridge, path, timeout_ms=500)


# --- a group of instances


async def test_group_members_share_partitions(
    bridge: BridgeClient, new_topic: NewTopicFactory, kafka: KafkaTarget
) -> None:
    topic, written = await spread_topic(new_topic, kafka, 2, 8, 20, tag="before")
    group = unique_group()
    # Auto-commit, so that a member commits what it handed out when a rebalance takes a
    # partition away: each record reaches the group once.
    first = await subscribed_consumer(bridge, group, topic, AUTO)
    second = await subscribed_consumer(bridge, group, topic, AUTO)
    everything = {(topic, 0), (topic, 1)}
    received: dict[str, list[dict[str, Any]]] = {first: [], second: []}

    async def poll(path: str) -> None:
        received[path] += await read_records(bridge, path, timeout_ms=1_000)

    # Poll both until the group has settled: one partition each, and every record read.
    loop = asyncio.get_running_loop()
    end = loop.time() + 45
    while True:
        assert loop.time() < end, (await assigned(bridge, first), await assigned(bridge, second))
        await asyncio.gather(poll(first), poll(second))
        mine, theirs = await assigned(bridge, first), await assigned(bridge, second)
        total = len(received[first]) + len(received[second])
        if len(mine) == len(theirs) == 1 and mine | theirs == everything and total >= 8:
            break
    assert not mine & theirs
    both = received[first] + received[second]
    assert sorted(positions(both)) == sorted(written)

    # One leaves; the other takes over both partitions and reads what is written to both.
    await delete(bridge, first)
    later = await put_spread(kafka, topic, 2, 6, 20, tag="after")
    end = loop.time() + 45
    before = len(received[second])
    while len(received[second]) - before < len(later):
        assert loop.time() < end, (await assigned(bridge, second), received[second][before:])
        await poll(second)
    assert await assigned(bridge, second) == everything
    taken_over = received[second][before:]
    assert sorted(positions(taken_over)) == sorted(later)
    check_partition_order(received[second])
    await assert_nothing_more(bridge, second, timeout_ms=500)


# --- the instances' lifetime


@pytest.fixture
async def expiring_bridge(bridge_settings: Settings, aiohttp_client: AiohttpClient) -> BridgeClient:
    """A bridge whose idle instances expire after 1 s (checked every 0.25 s)."""
    settings = dataclasses.replace(bridge_settings, consumer_instance_timeout_ms=1_000)
    return await aiohttp_client(create_app(settings))


async def test_idle_instance_expires_and_busy_one_does_not(expiring_bridge: BridgeClient) -> None:
    client = expiring_bridge
    group = unique_group()
    idle = await create_consumer(client, group, {"name": "idle"})
    busy = await create_consumer(client, group, {"name": "busy"})
    assert await assigned(client, idle) == set()

    loop = asyncio.get_running_loop()
    end = loop.time() + 2.5
    while loop.time() < end:
        assert await assigned(client, busy) == set()
        await asyncio.sleep(0.3)

    response = await client.get(f"{idle}/assignments", headers={"Accept": V2})
    await error_of(response, 404, 404)
    response = await client.delete(idle, headers={"Accept": V2})
    await error_of(response, 404, 404)
    assert await assigned(client, busy) == set()
    # The expired name is free again.
    assert await create_consumer(client, group, {"name": "idle"}) == idle
    await delete(client, busy)


async def test_a_deleted_instance_is_freed(expiring_bridge: BridgeClient) -> None:
    # The expiry task once kept the last instance it had looked at, with its consumer and
    # fetched records, alive for as long as it slept.
    client = expiring_bridge
    group = unique_group()
    path = await create_consumer(client, group, {"name": "freed"})
    async with client.app[SERVICES].consumers.use(group, "freed") as instance:
        freed = weakref.ref(instance)
    del instance
    await asyncio.sleep(0.6)  # the expiry check (every 0.25 s here) has looked at it
    await delete(client, path)
    await asyncio.sleep(0.6)
    gc.collect()
    assert freed() is None, gc.get_referrers(freed())


async def test_instance_cap(bridge_settings: Settings, aiohttp_client: AiohttpClient) -> None:
    settings = dataclasses.replace(bridge_settings, consumer_max_instances=2)
    client = await aiohttp_client(create_app(settings))
    group = unique_group()
    first = await create_consumer(client, group)
    await create_consumer(client, unique_group())
    response = await client.post(f"/consumers/{group}", json={}, headers={"Content-Type": V2})
    await error_of(response, 429, 429)
    # Freeing one makes room for one.
    await delete(client, first)
    await create_consumer(client, group)
    response = await client.post(f"/consumers/{group}", json={}, headers={"Content-Type": V2})
    await error_of(response, 429, 429)


async def test_concurrent_reads_on_one_instance(
    bridge: BridgeClient, new_topic: NewTopicFactory, kafka: KafkaTarget
) -> None:
    topic, written = await spread_topic(new_topic, kafka, 3, 30, 100)
    path = await subscribed_consumer(bridge, unique_group(), topic, MANUAL)

    records: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    end = loop.time() + 30
    while len(records) < len(written):
        assert loop.time() < end, f"only {len(records)} records came"
        # Each read waits (up to 1 s) only when nothing is fetched yet; they run one at a
        # time on the instance, in arrival order.
        batches = await asyncio.gather(
            *(read_records(bridge, path, max_bytes=350, timeout_ms=1_000) for _ in range(5))
        )
        for batch in batches:
            assert sum(size(r) for r in batch) <= 350
            records += batch
    assert sorted(positions(records)) == sorted(written)
    await assert_nothing_more(bridge, path, timeout_ms=500)


async def test_shutdown_with_live_consumers(
    bridge_settings: Settings,
    aiohttp_client: AiohttpClient,
    new_topic: NewTopicFactory,
    kafka: KafkaTarget,
) -> None:
    client = await aiohttp_client(create_app(bridge_settings))
    topic, _ = await spread_topic(new_topic, kafka, 2, 10, 100)
    manual_group, auto_group = unique_group(), unique_group()
    reader = await subscribed_consumer(client, manual_group, topic, MANUAL)
    committer = await subscribed_consumer(client, auto_group, topic, AUTO)

    # The auto-commit instance hands out a few records; the other reads everything and
    # then waits in a long read while the bridge shuts down.
    handed_out = await read_until(client, committer, 4, max_bytes=250)
    await read_until(client, reader, 10)
    waiting = asyncio.create_task(
        client.get(f"{reader}/records?timeout=60000", headers={"Accept": BINARY_V2})
    )
    await asyncio.sleep(0.5)
    assert not waiting.done()

    loop = asyncio.get_running_loop()
    started = loop.time()
    await client.close()
    elapsed = loop.time() - started
    assert elapsed < 20, f"shutdown took {elapsed:.1f} s"
    done, _ = await asyncio.wait([waiting], timeout=5)
    assert done, "the waiting read never ended"
    # It ended one way or another: an answer (nothing came), or the connection closed.
    failure = waiting.exception()
    if failure is None:
        assert await read_answer(waiting.result()) == []
    else:
        assert isinstance(failure, aiohttp.ClientError), repr(failure)

    # Shutdown committed what the auto-commit instance handed out, and nothing for the other.
    assert await group_committed(kafka, auto_group, topic, 2) == next_offsets(handed_out)
    assert await group_committed(kafka, manual_group, topic, 2) == {}

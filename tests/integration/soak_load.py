"""The soak's load: worker coroutines that loop over the bridge's operations with a pause
between them, and the tally of what they saw (answers by status, records acknowledged).

Each worker has an HTTP client of its own holding one connection (or opening a new one per
request), so the bridge sees as many connections as there are workers. The load is meant
to run long on few cores, not to be fast: it looks for leaks, not for throughput.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import random
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

V1 = "application/vnd.kafka.v1+json"
V2 = "application/vnd.kafka.v2+json"
BINARY_V1 = "application/vnd.kafka.binary.v1+json"
BINARY_V2 = "application/vnd.kafka.binary.v2+json"
JSON_V2 = "application/vnd.kafka.json.v2+json"

#: A worker waits this long (uniformly drawn, seconds) between two operations.
PAUSE_S = (0.4, 1.2)
#: Records in one multi-record produce request.
BATCH_SIZES = (10, 50)
#: No request of the load may take longer than this; a slower one counts as a failure.
REQUEST_TIMEOUT_S = 30.0
#: Reads of a consumer instance between its subscription and its deletion.
READS_PER_INSTANCE = (3, 6)
#: The abandoned reads wait this long in the bridge; their client gives up much earlier.
ABANDONED_READ_TIMEOUT_MS = 3_000
ABANDON_AFTER_S = 0.3
#: At most this many unexpected answers are kept, with their bodies, for the failure message.
KEPT_PROBLEMS = 20


@dataclass(frozen=True)
class SoakTopics:
    #: Produced to in binary (v1 and v2); partition reads and consumers read it.
    binary: str
    #: Produced to in JSON (v2); partition reads and consumers read it.
    json: str
    #: Never written: a read at its end waits, which the abandoned reads need.
    quiet: str
    partitions: int


@dataclass
class Tally:
    """What the load saw. One event loop, so plain counters suffice."""

    statuses: Counter[int] = field(default_factory=Counter)
    operations: Counter[str] = field(default_factory=Counter)
    #: Unexpected answers and client-side failures: what, status, body.
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0
    #: The ids of the records the bridge acknowledged, by topic.
    acked: dict[str, set[str]] = field(default_factory=dict)
    #: Recently acknowledged offsets per (topic, partition), for the partition reads.
    recent: dict[tuple[str, int], deque[int]] = field(default_factory=dict)
    records_read: int = 0
    consumers_created: int = 0
    consumers_deleted: int = 0
    abandoned: int = 0

    def problem(self, what: str) -> None:
        self.problem_count += 1
        if len(self.problems) < KEPT_PROBLEMS:
            self.problems.append(what)

    def acknowledge(self, topic: str, ids: list[str], offsets: list[dict[str, Any]]) -> None:
        """Record the answer to a produce request: each offset entry belongs to a record."""
        if len(offsets) != len(ids):
            self.problem(f"produce to {topic}: {len(ids)} records, {len(offsets)} offsets")
            return
        acked = self.acked.setdefault(topic, set())
        for record_id, entry in zip(ids, offsets, strict=True):
            if entry.get("error_code") is not None or entry.get("offset") is None:
                self.problem(f"produce to {topic}: record {record_id} failed: {entry}")
                continue
            acked.add(record_id)
            recent = self.recent.setdefault((topic, entry["partition"]), deque(maxlen=200))
            recent.append(entry["offset"])


class Worker:
    """One client of the bridge: its own connection(s), random generator and record ids."""

    def __init__(
        self,
        index: int,
        url: str,
        topics: SoakTopics,
        tally: Tally,
        stop: asyncio.Event,
        *,
        force_close: bool,
    ) -> None:
        self.index = index
        self.url = url
        self.topics = topics
        self.tally = tally
        self.stop = stop
        self.rng = random.Random(index)
        self.force_close = force_close
        self._sequence = 0
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session is not None
        return self._session

    @contextlib.asynccontextmanager
    async def connected(self) -> AsyncIterator[None]:
        """The worker's HTTP client: one connection at a time, kept or closed per request."""
        connector = aiohttp.TCPConnector(limit=1, force_close=self.force_close)
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            self._session = session
            try:
                yield
            finally:
                self._session = None

    async def run(self, step: Callable[[Worker], Awaitable[None]]) -> None:
        """Repeat `step` with a pause after each until the load stops."""
        async with self.connected():
            await self.pause(0, PAUSE_S[1])  # the workers start spread out, not all at once
            while not self.stop.is_set():
                await step(self)
                await self.pause(*PAUSE_S)

    async def pause(self, low: float, high: float) -> None:
        """Sleep, but wake when the load stops."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), self.rng.uniform(low, high))

    def next_id(self) -> str:
        self._sequence += 1
        return f"w{self.index}-{self._sequence}"

    async def call(
        self,
        what: str,
        method: str,
        path: str,
        *,
        expect: int = 200,
        body: object = None,
        content_type: str | None = None,
        accept: str | None = None,
    ) -> Any:
        """One request: counted by status; the parsed JSON answer (None for no body), or
        None after counting a problem when the status is not `expect`."""
        headers = {}
        if content_type is not None:
            headers["Content-Type"] = content_type
        if accept is not None:
            headers["Accept"] = accept
        data = None if body is None else orjson.dumps(body)
        self.tally.operations[what] += 1
        try:
            async with self.session.request(
                method, self.url + path, data=data, headers=headers
            ) as response:
                raw = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.tally.problem(f"{what}: {method} {path}: {exc!r}")
            return None
        self.tally.statuses[status] += 1
        if status != expect:
            self.tally.problem(f"{what}: {method} {path}: {status} {raw[:300]!r}")
            return None
        try:
            return orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            self.tally.problem(f"{what}: {method} {path}: {status}, not JSON: {raw[:300]!r}")
            return None

    def known_offset(self, topic: str) -> tuple[int, int] | None:
        """A (partition, offset) of `topic` that the bridge acknowledged lately."""
        partition = self.rng.randrange(self.topics.partitions)
        recent = self.tally.recent.get((topic, partition))
        if not recent:
            return None
        return partition, self.rng.choice(recent)


def _binary_value(record_id: str) -> str:
    return base64.b64encode(record_id.encode() + b"|" + b"x" * 48).decode()


def record_id_of(topics: SoakTopics, topic: str, value: bytes) -> str:
    """The id a record of the load carries, as read back from Kafka."""
    if topic == topics.json:
        record_id: str = orjson.loads(value)["id"]
        return record_id
    return value.split(b"|", 1)[0].decode()


# --- producing


async def _produce(
    worker: Worker, what: str, topic: str, count: int, content_type: str, path: str
) -> None:
    ids = [worker.next_id() for _ in range(count)]
    if topic == worker.topics.json:
        records: list[dict[str, Any]] = [{"value": {"id": i, "pad": "x" * 40}} for i in ids]
    else:
        records = [{"value": _binary_value(i)} for i in ids]
    for record in records:
        if worker.rng.random() < 0.5:  # some keyed, so both partitioners run
            key = f"k{worker.rng.randrange(50)}"
            record["key"] = key if topic == worker.topics.json else _binary_value(key)
    answer = await worker.call(
        what, "POST", path, body={"records": records}, content_type=content_type
    )
    if answer is not None:
        worker.tally.acknowledge(topic, ids, answer.get("offsets", []))


def _batch(worker: Worker) -> int:
    return worker.rng.randint(*BATCH_SIZES)


async def produce_v2_binary(worker: Worker) -> None:
    topic = worker.topics.binary
    await _produce(worker, "produce v2 binary", topic, 1, BINARY_V2, f"/topics/{topic}")


async def produce_v2_binary_batch(worker: Worker) -> None:
    topic = worker.topics.binary
    count = _batch(worker)
    await _produce(worker, "produce v2 binary batch", topic, count, BINARY_V2, f"/topics/{topic}")


async def produce_v2_binary_to_partition(worker: Worker) -> None:
    topic = worker.topics.binary
    partition = worker.rng.randrange(worker.topics.partitions)
    path = f"/topics/{topic}/partitions/{partition}"
    await _produce(worker, "produce v2 binary to partition", topic, 1, BINARY_V2, path)


async def produce_v2_json(worker: Worker) -> None:
    topic = worker.topics.json
    await _produce(worker, "produce v2 json", topic, 1, JSON_V2, f"/topics/{topic}")


async def produce_v2_json_batch(worker: Worker) -> None:
    topic = worker.topics.json
    count = _batch(worker)
    await _produce(worker, "produce v2 json batch", topic, count, JSON_V2, f"/topics/{topic}")


async def produce_v1_binary(worker: Worker) -> None:
    topic = worker.topics.binary
    await _produce(worker, "produce v1 binary", topic, 1, BINARY_V1, f"/topics/{topic}")


async def produce_v1_binary_batch(worker: Worker) -> None:
    topic = worker.topics.binary
    count = _batch(worker)
    await _produce(worker, "produce v1 binary batch", topic, count, BINARY_V1, f"/topics/{topic}")


# --- reading partitions by offset, and metadata


async def read_v1_messages(worker: Worker) -> None:
    topic = worker.topics.binary
    known = worker.known_offset(topic)
    if known is None:
        await metadata(worker)
        return
    partition, offset = known
    path = f"/topics/{topic}/partitions/{partition}/messages?offset={offset}&count=5"
    answer = await worker.call("read v1 messages", "GET", path, accept=BINARY_V1)
    if answer is not None:
        worker.tally.records_read += len(answer)


async def read_v2_partition_records(worker: Worker) -> None:
    topic = worker.topics.json
    known = worker.known_offset(topic)
    if known is None:
        await metadata(worker)
        return
    partition, offset = known
    path = f"/topics/{topic}/partitions/{partition}/records?offset={offset}&count=5"
    answer = await worker.call("read v2 partition records", "GET", path, accept=JSON_V2)
    if answer is not None:
        worker.tally.records_read += len(answer)


def _metadata_requests(worker: Worker) -> list[tuple[str, str]]:
    """Each metadata look-up the load makes, as (path, Accept)."""
    topic = worker.rng.choice([worker.topics.binary, worker.topics.json])
    partition = worker.rng.randrange(worker.topics.partitions)
    return [
        ("/topics", V2),
        (f"/topics/{topic}", V2),
        (f"/topics/{topic}/partitions", V1),
        (f"/topics/{topic}/partitions/{partition}", V2),
        (f"/topics/{topic}/partitions/{partition}/offsets", V2),
        ("/brokers", V1),
    ]


async def metadata(worker: Worker) -> None:
    path, accept = worker.rng.choice(_metadata_requests(worker))
    await worker.call("metadata", "GET", path, accept=accept)


async def every_metadata(worker: Worker) -> None:
    """Each metadata look-up once: the Kafka clients behind them connect on first use."""
    for path, accept in _metadata_requests(worker):
        await worker.call("metadata", "GET", path, accept=accept)


async def abandoned_read(worker: Worker) -> None:
    """A long read whose client gives up and closes its connection while the bridge waits."""
    path = (
        f"/topics/{worker.topics.quiet}/partitions/0/records"
        f"?offset=0&timeout={ABANDONED_READ_TIMEOUT_MS}"
    )
    worker.tally.operations["abandoned read"] += 1
    try:
        async with asyncio.timeout(ABANDON_AFTER_S):
            async with worker.session.get(worker.url + path, headers={"Accept": BINARY_V2}) as r:
                worker.tally.problem(f"abandoned read answered before the client gave up: {r}")
    except TimeoutError:
        worker.tally.abandoned += 1


#: The mixed workers' operations and how often each is picked.
MIXED_OPERATIONS: list[tuple[Callable[[Worker], Awaitable[None]], int]] = [
    (produce_v2_binary, 20),
    (produce_v2_json, 15),
    (produce_v1_binary, 10),
    (produce_v2_binary_to_partition, 5),
    (produce_v2_binary_batch, 4),
    (produce_v2_json_batch, 3),
    (produce_v1_binary_batch, 3),
    (read_v1_messages, 7),
    (read_v2_partition_records, 7),
    (metadata, 14),
]


async def mixed(worker: Worker) -> None:
    operations, weights = zip(*MIXED_OPERATIONS, strict=True)
    await worker.rng.choices(operations, weights)[0](worker)


# --- consumer instances: each step is one instance's whole life


async def _lifetime(worker: Worker, read: Callable[[], Awaitable[None]]) -> None:
    """The reads of one instance, with a short pause between them; ends early at stop."""
    for _ in range(worker.rng.randint(*READS_PER_INSTANCE)):
        if worker.stop.is_set():
            return
        await read()
        await worker.pause(0.1, 0.4)


async def _delete(worker: Worker, what: str, instance: str, content_type: str) -> None:
    before = worker.tally.problem_count
    await worker.call(what, "DELETE", instance, expect=204, content_type=content_type)
    if worker.tally.problem_count == before:
        worker.tally.consumers_deleted += 1


def _instance_path(worker: Worker, created: Any) -> str:
    base_uri: str = created["base_uri"]
    assert base_uri.startswith(worker.url), base_uri
    return base_uri[len(worker.url) :]


async def subscribed_consumer(worker: Worker, group: str) -> None:
    """v2: create, subscribe to both topics, read, commit what was read, delete."""
    created = await worker.call(
        "consumer v2 create",
        "POST",
        f"/consumers/{group}",
        body={
            "name": f"sub-{worker.next_id()}",
            "format": "binary",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        },
        content_type=V2,
    )
    if created is None:
        return
    worker.tally.consumers_created += 1
    instance = _instance_path(worker, created)
    try:
        topics = [worker.topics.binary, worker.topics.json]
        await worker.call(
            "consumer v2 subscribe",
            "POST",
            f"{instance}/subscription",
            expect=204,
            body={"topics": topics},
            content_type=V2,
        )

        async def read() -> None:
            answer = await worker.call(
                "consumer v2 read",
                "GET",
                f"{instance}/records?timeout=1000&max_bytes=65536",
                accept=BINARY_V2,
            )
            worker.tally.records_read += len(answer or [])

        await _lifetime(worker, read)
        await worker.call(
            "consumer v2 commit", "POST", f"{instance}/offsets", expect=204, content_type=V2
        )
    finally:
        await _delete(worker, "consumer v2 delete", instance, V2)


async def assigned_consumer(worker: Worker, group: str) -> None:
    """v2, auto-commit: create, assign a partition, seek, read, delete (which commits)."""
    topic = worker.topics.json
    partition = worker.rng.randrange(worker.topics.partitions)
    created = await worker.call(
        "consumer v2 create",
        "POST",
        f"/consumers/{group}",
        body={"name": f"asg-{worker.next_id()}", "format": "json", "enable.auto.commit": True},
        content_type=V2,
    )
    if created is None:
        return
    worker.tally.consumers_created += 1
    instance = _instance_path(worker, created)
    try:
        await worker.call(
            "consumer v2 assign",
            "POST",
            f"{instance}/assignments",
            expect=204,
            body={"partitions": [{"topic": topic, "partition": partition}]},
            content_type=V2,
        )
        recent = worker.tally.recent.get((topic, partition))
        if recent:
            body = {"offsets": [{"topic": topic, "partition": partition, "offset": recent[0]}]}
            await worker.call(
                "consumer v2 seek",
                "POST",
                f"{instance}/positions",
                expect=204,
                body=body,
                content_type=V2,
            )
        else:
            await worker.call(
                "consumer v2 seek",
                "POST",
                f"{instance}/positions/beginning",
                expect=204,
                content_type=V2,
            )

        async def read() -> None:
            answer = await worker.call(
                "consumer v2 read",
                "GET",
                f"{instance}/records?timeout=500&max_bytes=65536",
                accept=JSON_V2,
            )
            worker.tally.records_read += len(answer or [])

        await _lifetime(worker, read)
    finally:
        await _delete(worker, "consumer v2 delete", instance, V2)


async def v1_consumer(worker: Worker, group: str) -> None:
    """v1: create, read a topic (the first read subscribes), commit, delete."""
    created = await worker.call(
        "consumer v1 create",
        "POST",
        f"/consumers/{group}",
        body={"format": "binary", "auto.offset.reset": "smallest", "auto.commit.enable": "false"},
        content_type=V1,
        accept=V1,
    )
    if created is None:
        return
    worker.tally.consumers_created += 1
    instance = _instance_path(worker, created)
    try:

        async def read() -> None:
            answer = await worker.call(
                "consumer v1 read",
                "GET",
                f"{instance}/topics/{worker.topics.binary}?timeout=1000&max_bytes=65536",
                accept=BINARY_V1,
            )
            worker.tally.records_read += len(answer or [])

        await _lifetime(worker, read)
        await worker.call(
            "consumer v1 commit",
            "POST",
            f"{instance}/offsets",
            content_type=V1,
            accept=V1,
        )
    finally:
        await _delete(worker, "consumer v1 delete", instance, V1)

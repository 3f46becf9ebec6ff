"""Principal propagation: the per-identity producer cache against the real broker, requests of
two callers going through two producers, consumer instances that belong to their creator,
the start-up checks, and Kafka refusing a caller's login (401).

The test broker takes no SASL, so the cache and the routing are tested there with
PLAINTEXT clients that carry each caller's identity. A Tansu broker started with
`--authentication` refuses every login (its in-memory storage keeps no SCRAM credentials),
which is what a refused caller looks like. A login that Kafka accepts needs a SASL broker:
the `sasl_broker` tests run when KAFKA_SASL_BOOTSTRAP_SERVERS, KAFKA_SASL_USERNAME and
KAFKA_SASL_PASSWORD name one (KAFKA_SASL_MECHANISM, default SCRAM-SHA-256, and
KAFKA_SASL_SECURITY_PROTOCOL, default SASL_PLAINTEXT).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from aiohttp import encode_basic_auth
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bridge.app import create_app
from bridge.codec_registry import CodecRegistry
from bridge.consumers.config import ConsumerConfig, ConsumerDefaults
from bridge.consumers.registry import ConsumerRegistry
from bridge.embedded_broker import EmbeddedBrokerError, resolve_binary
from bridge.errors import BridgeError, ErrorKind
from bridge.kafka.client_config import KafkaConfigError
from bridge.kafka.identity_clients import (
    IdentityProducers,
    KafkaIdentity,
    check_propagation,
    refusal,
)
from bridge.kafka.producer import OutgoingRecord, SharedProducer
from bridge.services import SERVICES
from bridge.settings import Settings
from bridge_codecs.base import CodecContext
from tests.conftest import BridgeClient, NewTopicFactory, ReadRecords
from tests.integration.helpers import BINARY_V2, V2, error_of, json_of

ALICE = KafkaIdentity("alice", "alice-secret")
BOB = KafkaIdentity("bob", "bob-secret")
CAROL = KafkaIdentity("carol", "carol-secret")

ClientFactory = Callable[..., Awaitable[BridgeClient]]


def propagating(settings: Settings, **changes: Any) -> Settings:
    return dataclasses.replace(
        settings, auth_type="basic", auth_principal_propagation=True, **changes
    )


@contextlib.asynccontextmanager
async def identity_producers(settings: Settings) -> AsyncIterator[IdentityProducers]:
    producers = IdentityProducers(settings)
    await producers.start()
    try:
        yield producers
    finally:
        await producers.close()


async def leased(producers: IdentityProducers, identity: KafkaIdentity) -> SharedProducer:
    """Use the identity's producer for one (empty) request and hand it back."""
    async with producers.lease(identity) as producer:
        return producer


async def writes(producer: SharedProducer, topic: str) -> bool:
    """Whether the producer still writes; a closed one refuses records."""
    [delivery] = await producer.send_all(topic, [OutgoingRecord(key=None, value=b"probe")])
    return delivery.error is None


async def closes(producer: SharedProducer, topic: str, timeout_s: float = 5.0) -> bool:
    """Whether the producer gets closed within the timeout (closing runs in the background)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not await writes(producer, topic):
            return True
        await asyncio.sleep(0.05)
    return False


# --- the cache, with real producers on the test broker


async def test_concurrent_first_uses_share_one_start(bridge_settings: Settings) -> None:
    async with identity_producers(propagating(bridge_settings)) as producers:
        first_uses = await asyncio.gather(*(leased(producers, ALICE) for _ in range(8)))
        assert all(p is first_uses[0] for p in first_uses)
        assert len(producers) == 1
        assert producers.cached(ALICE) is first_uses[0]
        # A later use is a cache hit.
        assert await leased(producers, ALICE) is first_uses[0]


async def test_beyond_the_size_the_least_recently_used_is_closed(
    bridge_settings: Settings, new_topic: NewTopicFactory
) -> None:
    topic = await new_topic(1)
    settings = propagating(bridge_settings, auth_principal_cache_size=2)
    async with identity_producers(settings) as producers:
        alice = await leased(producers, ALICE)
        bob = await leased(producers, BOB)
        assert await leased(producers, ALICE) is alice  # now Bob is the least recently used
        carol = await leased(producers, CAROL)
        assert len(producers) == 2
        assert producers.cached(BOB) is None
        assert producers.cached(ALICE) is alice
        assert producers.cached(CAROL) is carol
        assert await closes(bob, topic)
        assert await writes(alice, topic)
        assert await writes(carol, topic)
        # Bob's next request starts a producer of his own again.
        assert await leased(producers, BOB) not in (bob, alice, carol)


async def test_an_evicted_producer_in_use_is_closed_when_its_request_ends(
    bridge_settings: Settings, new_topic: NewTopicFactory
) -> None:
    topic = await new_topic(1)
    settings = propagating(bridge_settings, auth_principal_cache_size=1)
    async with identity_producers(settings) as producers:
        async with producers.lease(ALICE) as alice:
            await leased(producers, BOB)  # pushes Alice out of the cache
            assert producers.cached(ALICE) is None
            await asyncio.sleep(0.2)
            assert await writes(alice, topic), "closed under the request still using it"
        assert await closes(alice, topic)


async def test_unused_producers_expire_and_held_ones_do_not(
    bridge_settings: Settings, new_topic: NewTopicFactory
) -> None:
    topic = await new_topic(1)
    settings = propagating(bridge_settings, auth_principal_cache_ttl_ms=300)
    async with identity_producers(settings) as producers:
        alice = await leased(producers, ALICE)
        async with producers.lease(BOB) as bob:
            await asyncio.sleep(0.8)
            assert producers.cached(ALICE) is None
            assert await closes(alice, topic)
            assert producers.cached(BOB) is bob, "expired while a request held it"
        await asyncio.sleep(0.8)
        assert producers.cached(BOB) is None
        assert await closes(bob, topic)
        assert len(producers) == 0


async def test_another_password_is_another_identity(bridge_settings: Settings) -> None:
    async with identity_producers(propagating(bridge_settings)) as producers:
        alice = await leased(producers, ALICE)
        other = await leased(producers, KafkaIdentity("alice", "another-password"))
        assert other is not alice
        assert len(producers) == 2
        assert "alice-secret" not in repr(ALICE)


async def test_shutdown_closes_every_producer(
    bridge_settings: Settings, new_topic: NewTopicFactory
) -> None:
    topic = await new_topic(1)
    async with identity_producers(propagating(bridge_settings)) as producers:
        started = [await leased(producers, identity) for identity in (ALICE, BOB)]
    assert len(producers) == 0
    for producer in started:
        assert not await writes(producer, topic)


# --- start-up checks


async def test_propagation_without_basic_auth_stops_the_start(
    bridge_settings: Settings, aiohttp_client: ClientFactory
) -> None:
    settings = dataclasses.replace(bridge_settings, auth_principal_propagation=True)
    with pytest.raises(KafkaConfigError, match=r"needs http\.auth\.type=basic"):
        await aiohttp_client(create_app(settings))


def test_propagation_needs_a_password_mechanism(bridge_settings: Settings) -> None:
    common = {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "GSSAPI"}
    settings = propagating(bridge_settings, kafka_common=MappingProxyType(common))
    with pytest.raises(KafkaConfigError, match="SCRAM-SHA-256"):
        check_propagation(settings)
    for mechanism in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"):
        common["sasl.mechanism"] = mechanism
        check_propagation(propagating(bridge_settings, kafka_common=MappingProxyType(common)))


# --- requests: each caller's own producer and consumer instances


@pytest.fixture
def credentials_file(tmp_path: Path) -> str:
    path = tmp_path / "credentials"
    path.write_text("".join(f"{i.username}:{i.password}\n" for i in (ALICE, BOB)), encoding="utf-8")
    return str(path)


@pytest.fixture
async def propagating_bridge(
    bridge_settings: Settings, credentials_file: str, aiohttp_client: ClientFactory
) -> BridgeClient:
    settings = propagating(bridge_settings, auth_basic_credentials_file=credentials_file)
    return await aiohttp_client(create_app(settings))


def as_user(identity: KafkaIdentity, **headers: str) -> dict[str, str]:
    return {"Authorization": encode_basic_auth(identity.username, identity.password), **headers}


async def test_each_caller_produces_with_a_producer_of_their_own(
    propagating_bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(1)
    for identity in (ALICE, BOB):
        body = {"records": [{"value": "AQI="}]}
        response = await propagating_bridge.post(
            f"/topics/{topic}", json=body, headers=as_user(identity, **{"Content-Type": BINARY_V2})
        )
        await json_of(response, V2)
    response = await propagating_bridge.post(
        f"/topics/{topic}?async=true",
        json={"records": [{"value": "AwQ="}]},
        headers=as_user(ALICE, **{"Content-Type": BINARY_V2}),
    )
    assert response.status == 204
    services = propagating_bridge.app[SERVICES]
    producers = services.identity_producers
    assert producers is not None
    alice, bob = producers.cached(ALICE), producers.cached(BOB)
    assert alice is not None
    assert bob is not None
    assert len({id(alice), id(bob), id(services.producer)}) == 3
    assert len(producers) == 2
    records = await read_records(topic, 3)
    assert sorted(r.value for r in records) == [b"\x01\x02", b"\x01\x02", b"\x03\x04"]


async def test_a_consumer_instance_belongs_to_its_creator(
    propagating_bridge: BridgeClient,
) -> None:
    group = f"g-{uuid.uuid4().hex[:8]}"
    response = await propagating_bridge.post(
        f"/consumers/{group}",
        json={"name": "mine"},
        headers=as_user(ALICE, **{"Content-Type": V2}),
    )
    await json_of(response, V2)
    instance = f"/consumers/{group}/instances/mine"
    subscription = {"topics": ["some-topic"]}
    for method, path, body in (
        ("POST", f"{instance}/subscription", subscription),
        ("GET", f"{instance}/subscription", None),
        ("GET", f"{instance}/records", None),
        ("DELETE", instance, None),
    ):
        response = await propagating_bridge.request(
            method, path, json=body, headers=as_user(BOB, **{"Content-Type": V2, "Accept": V2})
        )
        error = await error_of(response, 404, 404)
        assert "not found" in error["message"]
    # Bob naming his own instance alike is a conflict, not a way in.
    response = await propagating_bridge.post(
        f"/consumers/{group}", json={"name": "mine"}, headers=as_user(BOB, **{"Content-Type": V2})
    )
    await error_of(response, 409, 409)
    response = await propagating_bridge.post(
        f"{instance}/subscription",
        json=subscription,
        headers=as_user(ALICE, **{"Content-Type": V2}),
    )
    assert response.status == 204, await response.text()
    response = await propagating_bridge.delete(instance, headers=as_user(ALICE))
    assert response.status == 204, await response.text()


# --- Kafka refusing a caller's login


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def refusing_broker() -> Iterator[str]:
    """A Tansu broker that requires SASL and, keeping no SCRAM credentials in memory (Tansu
    0.6), refuses every login."""
    try:
        binary = resolve_binary()
    except EmbeddedBrokerError as exc:
        pytest.skip(f"no Tansu binary: {exc}")
    for _ in range(3):
        port = _free_port()
        url = f"tcp://127.0.0.1:{port}"
        command = [binary, "broker", "--listener-url", url, "--advertised-listener-url", url]
        process = subprocess.Popen(
            [*command, "--storage-engine", "memory://tansu/", "--authentication"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while process.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            time.sleep(0.05)
        if process.poll() is None:
            break
    else:
        pytest.fail("the authenticating Tansu broker did not start")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def sasl_settings(bridge_settings: Settings, bootstrap: str) -> Settings:
    common = {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-256",
        "sasl.plain.username": "bridge",
        "sasl.plain.password": "bridge-secret",
    }
    return propagating(
        bridge_settings, bootstrap_servers=bootstrap, kafka_common=MappingProxyType(common)
    )


async def test_a_refused_login_is_unauthenticated_and_not_cached(
    bridge_settings: Settings, refusing_broker: str
) -> None:
    settings = sasl_settings(bridge_settings, refusing_broker)
    async with identity_producers(settings) as producers:
        for _ in range(2):
            with pytest.raises(BridgeError) as caught:
                await leased(producers, ALICE)
            assert caught.value.kind is ErrorKind.UNAUTHENTICATED
            assert "alice" in caught.value.message
            assert "alice-secret" not in caught.value.message
            assert len(producers) == 0


async def test_a_refused_login_creates_no_consumer_instance(
    bridge_settings: Settings, refusing_broker: str
) -> None:
    settings = sasl_settings(bridge_settings, refusing_broker)
    codecs = CodecRegistry(CodecContext(settings={}))
    consumers = ConsumerRegistry(settings, codecs)
    await consumers.start()
    try:
        config = ConsumerConfig.from_body("g", {"name": "c"}, ConsumerDefaults())
        with pytest.raises(BridgeError) as caught:
            await consumers.create(config, ALICE)
        assert caught.value.kind is ErrorKind.UNAUTHENTICATED
        assert len(consumers) == 0
    finally:
        await consumers.close()
        await codecs.close()


async def test_only_a_refusal_counts_as_one(bridge_settings: Settings) -> None:
    """No answer is not a refusal, and neither is a connection without SASL."""
    kwargs: dict[str, Any] = {
        "bootstrap_servers": f"127.0.0.1:{_free_port()}",
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "alice",
        "sasl_plain_password": "alice-secret",
    }
    assert await refusal(kwargs, 2.0) is None
    plaintext = {**kwargs, "bootstrap_servers": bridge_settings.bootstrap_servers}
    plaintext["security_protocol"] = "PLAINTEXT"
    assert await refusal(plaintext, 2.0) is None


# --- a broker that takes SASL logins


def _sasl_env() -> dict[str, str] | None:
    names = ("KAFKA_SASL_BOOTSTRAP_SERVERS", "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD")
    if not all(os.environ.get(n) for n in names):
        return None
    return {
        "bootstrap": os.environ["KAFKA_SASL_BOOTSTRAP_SERVERS"],
        "username": os.environ["KAFKA_SASL_USERNAME"],
        "password": os.environ["KAFKA_SASL_PASSWORD"],
        "mechanism": os.environ.get("KAFKA_SASL_MECHANISM", "SCRAM-SHA-256"),
        "protocol": os.environ.get("KAFKA_SASL_SECURITY_PROTOCOL", "SASL_PLAINTEXT"),
    }


needs_sasl_broker = pytest.mark.skipif(
    _sasl_env() is None,
    reason="needs a SASL broker: KAFKA_SASL_BOOTSTRAP_SERVERS, KAFKA_SASL_USERNAME, "
    "KAFKA_SASL_PASSWORD",
)


@pytest.fixture
def sasl() -> dict[str, str]:
    env = _sasl_env()
    assert env is not None
    return env


def sasl_client_kwargs(sasl: dict[str, str]) -> dict[str, Any]:
    return {
        "bootstrap_servers": sasl["bootstrap"],
        "security_protocol": sasl["protocol"],
        "sasl_mechanism": sasl["mechanism"],
        "sasl_plain_username": sasl["username"],
        "sasl_plain_password": sasl["password"],
    }


@pytest.fixture
async def sasl_bridge(
    sasl: dict[str, str], tmp_path: Path, aiohttp_client: ClientFactory
) -> BridgeClient:
    """The bridge logs in as the same user for its own clients; its callers are that user
    (Kafka knows them) and an impostor that only the bridge's credentials file knows."""
    credentials = tmp_path / "credentials"
    credentials.write_text(
        f"{sasl['username']}:{sasl['password']}\nimpostor:not-a-kafka-user\n", encoding="utf-8"
    )
    common = {
        "security.protocol": sasl["protocol"],
        "sasl.mechanism": sasl["mechanism"],
        "sasl.plain.username": sasl["username"],
        "sasl.plain.password": sasl["password"],
    }
    settings = propagating(
        Settings(),
        bootstrap_servers=sasl["bootstrap"],
        kafka_common=MappingProxyType(common),
        auth_basic_credentials_file=str(credentials),
    )
    return await aiohttp_client(create_app(settings))


@pytest.mark.sasl_broker
@needs_sasl_broker
async def test_sasl_the_caller_produces_and_consumes_as_themselves(
    sasl: dict[str, str], sasl_bridge: BridgeClient
) -> None:
    topic = f"propagation-{uuid.uuid4().hex[:12]}"
    admin = AIOKafkaAdminClient(**sasl_client_kwargs(sasl))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()
    caller = KafkaIdentity(sasl["username"], sasl["password"])
    response = await sasl_bridge.post(
        f"/topics/{topic}",
        json={"records": [{"value": "AQI="}]},
        headers=as_user(caller, **{"Content-Type": BINARY_V2}),
    )
    body = await json_of(response, V2)
    assert body["offsets"][0].get("error_code") is None, body
    producers = sasl_bridge.app[SERVICES].identity_producers
    assert producers is not None
    assert producers.cached(caller) is not None
    consumer = AIOKafkaConsumer(**sasl_client_kwargs(sasl), enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        await consumer.seek_to_beginning()
        batch = await consumer.getmany(timeout_ms=10_000)
        assert [r.value for rs in batch.values() for r in rs] == [b"\x01\x02"]
    finally:
        await consumer.stop()
    group = f"g-{uuid.uuid4().hex[:8]}"
    response = await sasl_bridge.post(
        f"/consumers/{group}", json={"name": "c"}, headers=as_user(caller, **{"Content-Type": V2})
    )
    await json_of(response, V2)
    response = await sasl_bridge.delete(f"/consumers/{group}/instances/c", headers=as_user(caller))
    assert response.status == 204


@pytest.mark.sasl_broker
@needs_sasl_broker
async def test_sasl_a_caller_kafka_refuses_gets_401(
    sasl: dict[str, str], sasl_bridge: BridgeClient
) -> None:
    impostor = KafkaIdentity("impostor", "not-a-kafka-user")
    response = await sasl_bridge.post(
        "/topics/anything",
        json={"records": [{"value": "AQI="}]},
        headers=as_user(impostor, **{"Content-Type": BINARY_V2}),
    )
    assert response.headers["WWW-Authenticate"].startswith("Basic ")
    error = await error_of(response, 401, 401)
    assert "impostor" in error["message"]
    response = await sasl_bridge.post(
        f"/consumers/g-{uuid.uuid4().hex[:8]}",
        json={"name": "c"},
        headers=as_user(impostor, **{"Content-Type": V2}),
    )
    await error_of(response, 401, 401)
    producers = sasl_bridge.app[SERVICES].identity_producers
    assert producers is not None
    assert producers.cached(impostor) is None

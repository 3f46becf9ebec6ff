"""Principal propagation on the Kafka side: the SASL identity a caller's clients log in as,
and the bounded, expiring cache of one started producer per identity.

An identity's producer starts on its first use (concurrent first uses wait for the same
start) and is closed when it is the least recently used one beyond
`http.auth.principal.cache.size`, when nobody used it for `http.auth.principal.cache.ttl.ms`,
or at shutdown. A request holds its producer for as long as it produces: eviction only
retires a held producer, and the last request to let go of it closes it. An identity that
Kafka refuses is never cached and answers 401.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from aiokafka.conn import collect_hosts, create_conn
from aiokafka.errors import AuthenticationFailedError, KafkaError, SaslAuthenticationFailed

from bridge.errors import BridgeError, ErrorKind
from bridge.kafka.client_config import KafkaConfigError, producer_kwargs
from bridge.kafka.failures import kafka_failure
from bridge.kafka.health import BrokerHealth
from bridge.kafka.producer import SharedProducer
from bridge.settings import Settings

log = logging.getLogger(__name__)

MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
_MAX_SWEEP_INTERVAL_S = 5.0
#: How aiokafka reports that Kafka refused a SASL login: the broker's error code (Kafka 1.0
#: and later), or, for SCRAM, the client failing to read a server-final message that carries
#: an error (`e=...`) instead of the server's signature (KeyError) or a wrong signature.
_REFUSED = (SaslAuthenticationFailed, AuthenticationFailedError, KeyError, ValueError)

_Key = tuple[str, bytes]


@dataclass(frozen=True, slots=True)
class KafkaIdentity:
    """The SASL username and password a caller's Kafka clients authenticate with."""

    username: str
    password: str = field(repr=False)


def check_propagation(settings: Settings) -> None:
    """Start-up check: propagation needs Basic credentials and a password-based mechanism."""
    if not settings.auth_principal_propagation:
        return
    if settings.auth_type != "basic":
        raise KafkaConfigError(
            "http.auth.principal.propagation=true needs http.auth.type=basic, whose user and "
            f"password become the Kafka SASL identity; http.auth.type is {settings.auth_type!r}"
        )
    kwargs = producer_kwargs(settings)
    protocol = str(kwargs.get("security_protocol", "PLAINTEXT"))
    mechanism = str(kwargs.get("sasl_mechanism", "PLAIN"))
    if not protocol.startswith("SASL_"):
        log.warning(
            "principal propagation is on but kafka.security.protocol is %s: each caller gets "
            "Kafka clients of their own, which log in as nobody",
            protocol,
        )
    elif mechanism not in MECHANISMS:
        raise KafkaConfigError(
            f"http.auth.principal.propagation=true needs kafka.sasl.mechanism "
            f"{', '.join(MECHANISMS)}; it is {mechanism!r}"
        )


def with_identity(kwargs: Mapping[str, Any], identity: KafkaIdentity) -> dict[str, Any]:
    """A Kafka client's arguments with the identity's username and password in place of the
    configured ones; mechanism and security protocol stay what the configuration says."""
    return {
        **kwargs,
        "sasl_plain_username": identity.username,
        "sasl_plain_password": identity.password,
    }


async def refusal(kwargs: Mapping[str, Any], timeout_s: float) -> BridgeError | None:
    """UNAUTHENTICATED if Kafka refuses the SASL login of a client with `kwargs`, else None.

    A client that cannot bootstrap only says that it could not connect (aiokafka logs the
    reason and moves on), so a failed start asks again on one connection of its own.
    """
    protocol = str(kwargs.get("security_protocol", "PLAINTEXT"))
    if not protocol.startswith("SASL_"):
        return None
    mechanism = kwargs.get("sasl_mechanism", "PLAIN")
    for host, port, _ in collect_hosts(kwargs["bootstrap_servers"]):
        try:
            async with asyncio.timeout(timeout_s):
                conn = await create_conn(
                    host,
                    port,
                    client_id=kwargs.get("client_id", "kafka-bridge"),
                    request_timeout_ms=int(timeout_s * 1000),
                    ssl_context=kwargs.get("ssl_context"),
                    security_protocol=protocol,
                    sasl_mechanism=mechanism,
                    sasl_plain_username=kwargs.get("sasl_plain_username"),
                    sasl_plain_password=kwargs.get("sasl_plain_password"),
                )
        except _REFUSED:
            return BridgeError(
                ErrorKind.UNAUTHENTICATED,
                f"Kafka refused the {mechanism} login of user "
                f"'{kwargs.get('sasl_plain_username')}'",
            )
        except (OSError, KafkaError, TimeoutError):
            continue
        conn.close()
        return None
    return None


@dataclass(eq=False)
class _Entry:
    identity: KafkaIdentity
    producer: SharedProducer
    last_used: float = field(default_factory=time.monotonic)
    #: Requests producing with it right now.
    leases: int = 0
    #: Out of the cache; closed when its last lease ends.
    retired: bool = False
    closed: bool = False


class IdentityProducers:
    """A started producer per Kafka identity, at most `auth_principal_cache_size` of them."""

    def __init__(self, settings: Settings, health: BrokerHealth | None = None) -> None:
        self._settings = settings
        #: Shared with the bridge's own clients: while Kafka is away, requests fail at once.
        self._health = health
        self._max_size = max(1, settings.auth_principal_cache_size)
        self._ttl_s = settings.auth_principal_cache_ttl_ms / 1000
        self._start_timeout_s = settings.produce_timeout_ms / 1000
        #: Least recently used first.
        self._entries: OrderedDict[_Key, _Entry] = OrderedDict()
        self._starting: dict[_Key, asyncio.Task[_Entry]] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.Task[None] | None = None
        # Cache keys carry a keyed hash of the password, so that a changed password gets a
        # client of its own, without the password itself being a dictionary key.
        self._hash_key = secrets.token_bytes(32)

    async def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep(), name="identity producer expiry")

    def __len__(self) -> int:
        return len(self._entries)

    def _key(self, identity: KafkaIdentity) -> _Key:
        digest = hmac.digest(self._hash_key, identity.password.encode(), "sha256")
        return identity.username, digest

    def cached(self, identity: KafkaIdentity) -> SharedProducer | None:
        """The identity's producer if one is cached; does not count as a use."""
        entry = self._entries.get(self._key(identity))
        return None if entry is None else entry.producer

    @asynccontextmanager
    async def lease(self, identity: KafkaIdentity) -> AsyncIterator[SharedProducer]:
        """The identity's producer, started if need be and held for one request."""
        key = self._key(identity)
        while True:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                break
            entry = await self._started(key, identity)
            # Another start may have pushed it out (and closed it) before this request
            # resumed; rare, and then this request starts one of its own.
            if not entry.closed:
                break
        entry.leases += 1
        try:
            yield entry.producer
        finally:
            entry.leases -= 1
            entry.last_used = time.monotonic()
            if entry.retired and entry.leases == 0:
                self._close_in_background(entry)

    async def _started(self, key: _Key, identity: KafkaIdentity) -> _Entry:
        task = self._starting.get(key)
        if task is None:
            task = asyncio.create_task(self._start(key, identity))
            task.add_done_callback(_consume_outcome)
            self._starting[key] = task
        # A caller that gives up must not cancel the start that others are waiting for.
        return await asyncio.shield(task)

    def _producer_settings(self, identity: KafkaIdentity) -> Settings:
        overrides = {
            **self._settings.kafka_producer,
            "sasl.plain.username": identity.username,
            "sasl.plain.password": identity.password,
        }
        return dataclasses.replace(self._settings, kafka_producer=MappingProxyType(overrides))

    async def _start(self, key: _Key, identity: KafkaIdentity) -> _Entry:
        try:
            settings = self._producer_settings(identity)
            producer = SharedProducer(settings, health=self._health)
            try:
                async with asyncio.timeout(self._start_timeout_s):
                    await producer.start()
            except Exception as exc:
                await producer.close()
                refused = None
                if not isinstance(exc, TimeoutError):  # a refusal is quick; no answer is not one
                    refused = await refusal(producer_kwargs(settings), self._start_timeout_s)
                if refused is not None:
                    log.info("Kafka refused the login of identity %r", identity.username)
                    raise refused from None
                cause = exc.__cause__ if isinstance(exc, RuntimeError) and exc.__cause__ else exc
                doing = f"starting a Kafka producer for user '{identity.username}'"
                raise kafka_failure(cause, doing) from exc
            except BaseException:
                await producer.close()
                raise
            entry = _Entry(identity, producer)
            self._entries[key] = entry
            while len(self._entries) > self._max_size:
                _, oldest = self._entries.popitem(last=False)
                self._retire(oldest, "least recently used beyond the cache size")
            log.info(
                "Kafka producer for identity %r started (%d cached)",
                identity.username,
                len(self._entries),
            )
            return entry
        finally:
            self._starting.pop(key, None)

    def _retire(self, entry: _Entry, why: str) -> None:
        log.info("Kafka producer for identity %r retired: %s", entry.identity.username, why)
        entry.retired = True
        if entry.leases == 0:
            self._close_in_background(entry)

    def expire_idle(self) -> None:
        """Retire every producer that nobody used for the time to live."""
        now = time.monotonic()
        for key, entry in list(self._entries.items()):
            if entry.leases == 0 and now - entry.last_used > self._ttl_s:
                del self._entries[key]
                self._retire(entry, f"unused for {self._ttl_s:g} s")

    async def _sweep(self) -> None:
        interval_s = min(self._ttl_s / 4, _MAX_SWEEP_INTERVAL_S)
        while True:
            await asyncio.sleep(interval_s)
            self.expire_idle()

    def _close_in_background(self, entry: _Entry) -> None:
        if entry.closed:
            return
        entry.closed = True
        task = asyncio.create_task(_close_logged(entry))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        """Shutdown: stop the expiry, abandon starts in progress, close every producer."""
        if self._sweeper is not None:
            self._sweeper.cancel()
        starting = list(self._starting.values())
        for task in starting:
            task.cancel()
        waiting = [t for t in (self._sweeper, *starting) if t is not None]
        if waiting:
            await asyncio.wait(waiting)
        entries = list(self._entries.values())
        self._entries.clear()
        for entry in entries:
            entry.retired = True
            self._close_in_background(entry)
        if self._closing:
            await asyncio.wait(list(self._closing))


def _consume_outcome(task: asyncio.Task[_Entry]) -> None:
    """A start whose every waiter gave up still has its failure retrieved (no asyncio noise);
    the failure itself was already logged or reported."""
    if not task.cancelled():
        task.exception()


async def _close_logged(entry: _Entry) -> None:
    try:
        await entry.producer.close()
    except Exception:
        log.exception("Kafka producer for identity %r failed to close", entry.identity.username)

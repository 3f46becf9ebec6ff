"""The bridge's consumer instances: creating them (up to a cap), finding them for a request,
expiring idle ones, and closing every one of them at shutdown."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaConsumer

from bridge.codec_registry import CodecRegistry, UnknownFormatError
from bridge.consumers.config import ConsumerConfig, ConsumerDefaults
from bridge.consumers.instance import KAFKA_TIMEOUT_S, ConsumerInstance
from bridge.errors import BridgeError, ErrorKind
from bridge.kafka.client_config import consumer_kwargs
from bridge.kafka.identity_clients import KafkaIdentity, refusal, with_identity
from bridge.settings import Settings

log = logging.getLogger(__name__)
#: Unless kafka.consumer.fetch.max.wait.ms says otherwise: how long the broker may hold a
#: fetch for a drained partition. Kafka's 500 ms default makes the other partitions' records
#: wait behind it; a read answers from what is buffered, so a short hold is cheap.
FETCH_MAX_WAIT_MS = 100

_DEFAULT_MAX_POLL_RECORDS = 500
_DEFAULT_AUTO_COMMIT_INTERVAL_MS = 5_000
#: The expiry check runs this often at most, and at least four times per idle timeout.
_MAX_EXPIRY_CHECK_S = 5.0


def _not_found(group: str, name: str) -> BridgeError:
    return BridgeError(
        ErrorKind.CONSUMER_NOT_FOUND,
        f"Consumer instance '{name}' of group '{group}' not found",
    )


class ConsumerRegistry:
    def __init__(self, settings: Settings, codecs: CodecRegistry) -> None:
        self._settings = settings
        self._codecs = codecs
        self._instances: dict[tuple[str, str], ConsumerInstance] = {}
        #: Names being created: taken, though their consumer has not started yet.
        self._reserved: set[tuple[str, str]] = set()
        #: Under principal propagation: the user each instance belongs to.
        self._owners: dict[tuple[str, str], str] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._reaper: asyncio.Task[None] | None = None
        # The bridge owns these per instance; the passthrough only supplies their defaults.
        kwargs = consumer_kwargs(settings)
        self._kwargs: dict[str, Any] = {
            k: v
            for k, v in kwargs.items()
            if k
            not in (
                "enable_auto_commit",
                "auto_offset_reset",
                "fetch_min_bytes",
                "isolation_level",
                "auto_commit_interval_ms",
            )
        }
        self.defaults = ConsumerDefaults(
            auto_offset_reset=kwargs.get("auto_offset_reset", "latest"),
            auto_commit=kwargs.get("enable_auto_commit", True),
            fetch_min_bytes=kwargs.get("fetch_min_bytes", 1),
            isolation_level=kwargs.get("isolation_level", "read_uncommitted"),
            request_timeout_ms=settings.consumer_request_timeout_ms,
        )
        self._max_poll_records = kwargs.get("max_poll_records") or _DEFAULT_MAX_POLL_RECORDS
        self._auto_commit_interval_s = (
            kwargs.get("auto_commit_interval_ms", _DEFAULT_AUTO_COMMIT_INTERVAL_MS) / 1000
        )

    async def start(self) -> None:
        self._reaper = asyncio.create_task(self._expire_idle(), name="consumer expiry")

    def __len__(self) -> int:
        return len(self._instances)

    async def create(
        self, config: ConsumerConfig, identity: KafkaIdentity | None = None
    ) -> ConsumerInstance:
        """A started instance; with an `identity` (principal propagation) its consumer logs in
        as that identity and only that user may use the instance."""
        key = (config.group, config.name)
        if key in self._instances or key in self._reserved:
            raise BridgeError(
                ErrorKind.CONSUMER_ALREADY_EXISTS,
                f"A consumer instance named '{config.name}' already exists in group "
                f"'{config.group}'",
            )
        if len(self._instances) + len(self._reserved) >= self._settings.consumer_max_instances:
            raise BridgeError(
                ErrorKind.TOO_MANY_CONSUMERS,
                f"The bridge already holds {self._settings.consumer_max_instances} consumer "
                "instances (consumer.max.instances); delete one or let idle ones expire",
            )
        try:
            codec = self._codecs.get(config.format)
        except UnknownFormatError as exc:
            raise BridgeError(
                ErrorKind.INVALID_CONSUMER_CONFIG,
                f"format: {config.format!r} is not an available format"
                f"{f' ({exc.reason})' if exc.reason else ''}; known formats: "
                f"{', '.join(exc.known)}",
            ) from None
        base_client_id = self._kwargs.get("client_id", "kafka-bridge")
        kwargs = self._kwargs if identity is None else with_identity(self._kwargs, identity)
        consumer = AIOKafkaConsumer(
            **{
                "fetch_max_wait_ms": FETCH_MAX_WAIT_MS,
                **kwargs,
                "client_id": f"{base_client_id}-{config.name}",
                "group_id": config.group,
                "enable_auto_commit": False,  # the instance commits only what it handed out
                "auto_offset_reset": config.auto_offset_reset,
                "fetch_min_bytes": config.fetch_min_bytes,
                "isolation_level": config.isolation_level,
            }
        )
        self._reserved.add(key)
        try:
            instance = await ConsumerInstance.open(
                config,
                consumer,
                codec,
                max_poll_records=self._max_poll_records,
                auto_commit_interval_s=self._auto_commit_interval_s,
            )
        except Exception as exc:
            timed_out = isinstance(exc.__cause__ or exc, TimeoutError)
            if identity is not None and not timed_out:
                # The start failed saying only that it could not connect: was it the login?
                refused = await refusal(kwargs, KAFKA_TIMEOUT_S)
                if refused is not None:
                    raise refused from None
            raise
        finally:
            self._reserved.discard(key)
        self._instances[key] = instance
        if identity is not None:
            self._owners[key] = identity.username
        log.info("consumer %s/%s created (format %s)", config.group, config.name, config.format)
        return instance

    @asynccontextmanager
    async def use(self, group: str, name: str) -> AsyncIterator[ConsumerInstance]:
        """The instance, held for one request: its requests run one at a time."""
        instance = self._instances.get((group, name))
        if instance is None:
            raise _not_found(group, name)
        async with instance.lock:
            if instance.closing:
                raise _not_found(group, name)
            instance.touch()
            try:
                yield instance
            finally:
                instance.touch()

    def check_owner(self, group: str, name: str, user: str | None) -> None:
        """Under principal propagation, another user's instance is as good as unknown (404)."""
        owner = self._owners.get((group, name))
        if user is not None and owner is not None and owner != user:
            raise _not_found(group, name)

    async def delete(self, group: str, name: str) -> None:
        self._owners.pop((group, name), None)
        instance = self._instances.pop((group, name), None)
        if instance is None:
            raise _not_found(group, name)
        await instance.close()
        log.info("consumer %s/%s deleted", group, name)

    async def _expire_idle(self) -> None:
        timeout_s = self._settings.consumer_instance_timeout_ms / 1000
        interval_s = min(timeout_s / 4, _MAX_EXPIRY_CHECK_S)
        while True:
            await asyncio.sleep(interval_s)
            # In a function of its own: a loop variable here would keep the last instance
            # looked at (its consumer and fetched records) alive through the sleep.
            self._expire_idle_now(timeout_s)

    def _expire_idle_now(self, timeout_s: float) -> None:
        now = time.monotonic()
        for key, instance in list(self._instances.items()):
            if instance.lock.locked() or now - instance.last_used <= timeout_s:
                continue
            del self._instances[key]
            self._owners.pop(key, None)
            log.info("consumer %s/%s expired after %.0f s idle", *key, timeout_s)
            self._close_in_background(instance)

    def _close_in_background(self, instance: ConsumerInstance) -> None:
        task = asyncio.create_task(self._close_logged(instance))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    @staticmethod
    async def _close_logged(instance: ConsumerInstance) -> None:
        try:
            await instance.close()
        except Exception:
            config = instance.config
            log.exception("consumer %s/%s failed to close", config.group, config.name)

    async def close(self) -> None:
        """Shutdown: close every instance, each committing and leaving its group."""
        if self._reaper is not None:
            self._reaper.cancel()
            await asyncio.wait([self._reaper])
        instances = list(self._instances.values())
        self._instances.clear()
        self._owners.clear()
        for instance in instances:
            self._close_in_background(instance)
        if self._closing:
            await asyncio.wait(list(self._closing))
        if instances:
            log.info("closed %d consumer instances", len(instances))

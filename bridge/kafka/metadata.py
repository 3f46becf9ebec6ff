"""Cluster metadata for the HTTP API: brokers, topics, partitions and topic configs.

Metadata requests are sent with `allow_auto_topic_creation=False`, so looking a topic up
never creates it (brokers create topics for ordinary metadata requests when they allow
auto-creation). Topic metadata is cached for `metadata.max.age.ms`; a topic that is not in
the cache is always asked for, so a topic created a moment ago is found at once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code
from aiokafka.protocol.metadata import MetadataRequest

from bridge.errors import BridgeError, ErrorKind
from bridge.kafka.client_config import admin_kwargs
from bridge.kafka.failures import kafka_call, kafka_failure
from bridge.kafka.starter import FIRST_ATTEMPT_S, START_WAIT_S, ClientStarter
from bridge.settings import Settings

#: Kafka's own internal topics, hidden from topic listings even where a broker does not
#: flag them as internal.
_INTERNAL_TOPICS = frozenset({"__consumer_offsets", "__transaction_state"})
_UNKNOWN_TOPIC = 3
_INVALID_TOPIC = 17
#: DescribeConfigs config_source value for a per-topic override.
_TOPIC_OVERRIDE_SOURCE = 1


@dataclass(frozen=True)
class PartitionInfo:
    partition: int
    leader: int
    replicas: tuple[int, ...]
    in_sync: tuple[int, ...]


@dataclass(frozen=True)
class TopicInfo:
    name: str
    internal: bool
    partitions: tuple[PartitionInfo, ...]

    def partition(self, number: int) -> PartitionInfo:
        for info in self.partitions:
            if info.partition == number:
                return info
        raise BridgeError(
            ErrorKind.PARTITION_NOT_FOUND,
            f"Partition {number} of topic '{self.name}' not found "
            f"(it has {len(self.partitions)} partitions)",
        )

    def has_partition(self, number: int) -> bool:
        return any(info.partition == number for info in self.partitions)


def _topic_from_response(entry: dict[str, Any]) -> TopicInfo:
    partitions = tuple(
        sorted(
            (
                PartitionInfo(
                    partition=p["partition"],
                    leader=p["leader"],
                    replicas=tuple(p["replicas"]),
                    in_sync=tuple(p["isr"]),
                )
                for p in entry["partitions"]
            ),
            key=lambda info: info.partition,
        )
    )
    internal = bool(entry.get("is_internal")) or entry["topic"] in _INTERNAL_TOPICS
    return TopicInfo(name=entry["topic"], internal=internal, partitions=partitions)


class ClusterMetadata:
    """Brokers, topics and configs, fetched without side effects and cached briefly."""

    def __init__(self, settings: Settings, timeout_s: float = 10.0) -> None:
        self._kwargs = admin_kwargs(settings)
        self._max_age_s = settings.metadata_max_age_ms / 1000
        self._timeout_s = timeout_s
        self._client: AIOKafkaClient | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self._starter: ClientStarter | None = None
        self._topics: dict[str, tuple[float, TopicInfo]] = {}

    async def start(self) -> None:
        """Connect in the background: a broker that does not answer yet is no failure."""
        self._client = AIOKafkaClient(**self._kwargs)
        self._admin = AIOKafkaAdminClient(**self._kwargs)
        self._starter = ClientStarter("Kafka metadata client", self._connect)
        await self._starter.first_attempt(FIRST_ATTEMPT_S)

    async def _connect(self) -> None:
        assert self._client is not None
        assert self._admin is not None
        await self._client.bootstrap()
        await self._admin.start()

    async def close(self) -> None:
        if self._starter is not None:
            await self._starter.close()
        if self._admin is not None:
            await self._admin.close()
        if self._client is not None:
            await self._client.close()

    async def _started(self, doing: str) -> None:
        assert self._starter is not None, "ClusterMetadata used before start()"
        await self._starter.wait(START_WAIT_S, doing)

    async def _metadata(
        self, topics: list[str] | None, timeout_s: float | None = None
    ) -> dict[str, Any]:
        assert self._client is not None, "ClusterMetadata used before start()"
        doing = "fetching cluster metadata"
        request = MetadataRequest(topics, allow_auto_topic_creation=False)
        async with kafka_call(doing, timeout_s or self._timeout_s):
            await self._started(doing)
            response = await self._send_to_any_broker(request)
        result: dict[str, Any] = response.to_object()
        return result

    async def _send_to_any_broker(self, request: MetadataRequest) -> Any:
        """The first answer of the known brokers, tried in random order: one broker that is
        away does not fail the request while another answers."""
        assert self._client is not None
        nodes = [broker.nodeId for broker in self._client.cluster.brokers()]
        random.shuffle(nodes)
        failure: KafkaError | None = None
        for node in nodes:
            try:
                return await self._client.send(node, request)
            except KafkaError as exc:
                failure = exc
        if failure is not None:
            raise failure
        raise BridgeError(ErrorKind.KAFKA_RETRIABLE, "no Kafka broker is known yet")

    async def broker_ids(self) -> list[int]:
        response = await self._metadata([])
        return sorted(broker["node_id"] for broker in response["brokers"])

    async def topic_names(self) -> list[str]:
        """Every topic that is not internal, sorted; refreshes the cache as it goes."""
        response = await self._metadata(None)
        now = time.monotonic()
        names = []
        for entry in response["topics"]:
            if entry["error_code"] != 0:
                continue
            info = _topic_from_response(entry)
            self._topics[info.name] = (now, info)
            if not info.internal:
                names.append(info.name)
        return sorted(names)

    def cached_topic(self, name: str) -> TopicInfo | None:
        """The topic's metadata while the cached entry is fresh; None otherwise."""
        cached = self._topics.get(name)
        if cached is not None and time.monotonic() - cached[0] < self._max_age_s:
            return cached[1]
        return None

    async def topic(self, name: str, partitions: Iterable[int] = ()) -> TopicInfo:
        """The topic's metadata; BridgeError TOPIC_NOT_FOUND when it does not exist.

        The cached entry serves only if it has every partition in `partitions`, so that
        partitions added since it was fetched are found at once.
        """
        cached = self._topics.get(name)
        if (
            cached is not None
            and time.monotonic() - cached[0] < self._max_age_s
            and all(cached[1].has_partition(p) for p in partitions)
        ):
            return cached[1]
        response = await self._metadata([name])
        for entry in response["topics"]:
            if entry["topic"] != name:
                continue
            if entry["error_code"] in (_UNKNOWN_TOPIC, _INVALID_TOPIC):
                self._topics.pop(name, None)
                why = " (not a valid topic name)" if entry["error_code"] == _INVALID_TOPIC else ""
                raise BridgeError(ErrorKind.TOPIC_NOT_FOUND, f"Topic '{name}' not found{why}")
            if entry["error_code"] != 0:
                raise kafka_failure(for_code(entry["error_code"])(), f"looking up topic '{name}'")
            info = _topic_from_response(entry)
            self._topics[name] = (time.monotonic(), info)
            return info
        raise BridgeError(ErrorKind.TOPIC_NOT_FOUND, f"Topic '{name}' not found")

    def forget(self, name: str) -> None:
        """Drop a topic from the cache (for example after the broker said it is gone)."""
        self._topics.pop(name, None)

    async def topic_configs(self, name: str) -> dict[str, str]:
        """The topic's per-topic configuration overrides (not broker defaults)."""
        assert self._admin is not None, "ClusterMetadata used before start()"
        resource = ConfigResource(ConfigResourceType.TOPIC, name)
        doing = f"describing configs of topic '{name}'"
        async with kafka_call(doing, self._timeout_s):
            await self._started(doing)
            responses = await self._admin.describe_configs([resource])
        configs: dict[str, str] = {}
        for response in responses:
            for entry in response.to_object()["resources"]:
                if entry["error_code"] != 0:
                    raise kafka_failure(
                        for_code(entry["error_code"])(), f"describing configs of '{name}'"
                    )
                for config in entry["config_entries"]:
                    overridden = config.get("config_source") == _TOPIC_OVERRIDE_SOURCE or (
                        "config_source" not in config and not config.get("is_default", True)
                    )
                    if overridden and config["config_value"] is not None:
                        configs[config["config_name"]] = config["config_value"]
        return configs

    async def create_topic(
        self, name: str, partitions: int | None, replication_factor: int | None
    ) -> None:
        """Create a topic: one partition unless told, replicated up to three times."""
        assert self._admin is not None, "ClusterMetadata used before start()"
        if replication_factor is None:
            replication_factor = min(3, len(await self.broker_ids()))
        topic = NewTopic(name, partitions or 1, replication_factor)
        doing = f"creating topic '{name}'"
        async with kafka_call(doing, self._timeout_s):
            await self._started(doing)
            response = await self._admin.create_topics([topic])
        for entry in response.topic_errors:
            code, message = entry[1], entry[2] if len(entry) > 2 else None
            if code == TopicAlreadyExistsError.errno:
                raise BridgeError(ErrorKind.TOPIC_ALREADY_EXISTS, f"Topic '{name}' already exists")
            if code != 0:
                raise kafka_failure(for_code(code)(message), f"creating topic '{name}'")
        self.forget(name)

    async def ping(self, timeout_s: float = 2.0) -> bool:
        """True when a broker answers a metadata request now (readiness probes are short)."""
        try:
            await self._metadata([], timeout_s)
        except BridgeError:
            return False
        return True

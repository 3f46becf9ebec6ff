"""The long-lived objects a running bridge shares between requests, and their lifecycle."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass

from aiohttp import web

from bridge.codec_registry import CodecRegistry
from bridge.consumers.registry import ConsumerRegistry
from bridge.kafka.client_config import check_common_properties
from bridge.kafka.health import BrokerHealth
from bridge.kafka.identity_clients import IdentityProducers, check_propagation
from bridge.kafka.metadata import ClusterMetadata
from bridge.kafka.offsets import OffsetReader
from bridge.kafka.partition_reader import PartitionReaderPool
from bridge.kafka.producer import SharedProducer
from bridge.produce import ProducePipeline
from bridge.settings import Settings
from bridge.tracing import NO_TRACING, TRACING
from bridge_codecs.base import CodecContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    settings: Settings
    codecs: CodecRegistry
    metadata: ClusterMetadata
    offsets: OffsetReader
    producer: SharedProducer
    produce: ProducePipeline
    consumers: ConsumerRegistry
    partition_reader: PartitionReaderPool
    #: Principal propagation's per-identity producers; None when it is off.
    identity_producers: IdentityProducers | None = None
    #: Whether Kafka answers: `/ready`, and the fast failure of requests while it does not.
    health: BrokerHealth | None = None


SETTINGS = web.AppKey("settings", Settings)
SERVICES = web.AppKey("services", Services)


async def kafka_services(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: open the Kafka clients and codecs at start-up, close them at shutdown."""
    settings = app[SETTINGS]
    check_common_properties(settings.kafka_common)
    check_propagation(settings)
    async with AsyncExitStack() as stack:
        codec_settings = dict(settings.properties)
        if settings.schema_registry_url:
            codec_settings["schema.registry.url"] = settings.schema_registry_url
        codecs = CodecRegistry(CodecContext(settings=codec_settings))
        stack.push_async_callback(codecs.close)
        # Each format's plugin is imported when a request first names it (CodecRegistry):
        # the schema formats and their registry client would cost several MB of memory
        # in a bridge that never uses them.
        log.info(
            "embedded formats available (each loaded on first use): %s",
            ", ".join(codecs.names()),
        )

        metadata = ClusterMetadata(settings)
        stack.push_async_callback(metadata.close)
        health = BrokerHealth(metadata.ping)
        stack.push_async_callback(health.close)
        offsets = OffsetReader(settings, health=health)
        stack.push_async_callback(offsets.close)
        producer = SharedProducer(settings, health=health)
        stack.push_async_callback(producer.close)
        # No broker needed yet (a sidecar may start first): the clients connect in the
        # background; only a configuration Kafka rejects stops the start-up.
        outcomes = await asyncio.gather(
            metadata.start(),
            offsets.start(),
            producer.start_in_background(),
            return_exceptions=True,
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

        pipeline = ProducePipeline(
            metadata,
            producer,
            codecs,
            auto_create_topics=settings.produce_auto_create_topics,
            tracing=app.get(TRACING, NO_TRACING),
        )
        partition_reader = PartitionReaderPool(settings, health=health)
        stack.push_async_callback(partition_reader.close)
        identity_producers = None
        if settings.auth_principal_propagation:
            identity_producers = IdentityProducers(settings, health)
            stack.push_async_callback(identity_producers.close)
            await identity_producers.start()
        # Closed first (the stack unwinds in reverse): consumers commit and leave their groups
        # while the rest is still up.
        consumers = ConsumerRegistry(settings, codecs)
        stack.push_async_callback(consumers.close)
        await consumers.start()
        app[SERVICES] = Services(
            settings,
            codecs,
            metadata,
            offsets,
            producer,
            pipeline,
            consumers,
            partition_reader,
            identity_producers=identity_producers,
            health=health,
        )
        yield

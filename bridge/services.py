"""The long-lived objects a running bridge shares between requests, and their lifecycle."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass

from aiohttp import web

from bridge.codec_registry import CodecRegistry
from bridge.consumers.registry import ConsumerRegistry
from bridge.kafka.client_config import check_common_properties
from bridge.kafka.metadata import ClusterMetadata
from bridge.kafka.offsets import OffsetReader
from bridge.kafka.partition_reader import PartitionReaderPool
from bridge.kafka.producer import SharedProducer
from bridge.produce import ProducePipeline
from bridge.settings import Settings
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


SETTINGS = web.AppKey("settings", Settings)
SERVICES = web.AppKey("services", Services)


async def kafka_services(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: open the Kafka clients and codecs at start-up, close them at shutdown."""
    settings = app[SETTINGS]
    check_common_properties(settings.kafka_common)
    async with AsyncExitStack() as stack:
        codec_settings = dict(settings.properties)
        if settings.schema_registry_url:
            codec_settings["schema.registry.url"] = settings.schema_registry_url
        codecs = CodecRegistry(CodecContext(settings=codec_settings))
        stack.push_async_callback(codecs.close)
        codecs.load_all()
        log.info("embedded formats available: %s", ", ".join(codecs.names()))

        metadata = ClusterMetadata(settings)
        stack.push_async_callback(metadata.close)
        await metadata.start()
        offsets = OffsetReader(settings)
        stack.push_async_callback(offsets.close)
        await offsets.start()
        producer = SharedProducer(settings)
        stack.push_async_callback(producer.close)
        await producer.start()

        pipeline = ProducePipeline(
            metadata, producer, codecs, auto_create_topics=settings.produce_auto_create_topics
        )
        partition_reader = PartitionReaderPool(settings)
        stack.push_async_callback(partition_reader.close)
        # Closed first (the stack unwinds in reverse): consumers commit and leave their groups
        # while the rest is still up.
        consumers = ConsumerRegistry(settings, codecs)
        stack.push_async_callback(consumers.close)
        await consumers.start()
        app[SERVICES] = Services(
            settings, codecs, metadata, offsets, producer, pipeline, consumers, partition_reader
        )
        yield

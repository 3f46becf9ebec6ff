"""Metadata resources over real HTTP against the real broker: every example request of the
references for /, /healthy, /ready, /brokers, /topics and the partition resources."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic

from tests.conftest import BridgeClient, NewTopicFactory
from tests.integration.helpers import (
    INTERNAL_TOPIC_PREFIX,
    JSON,
    JSON_V2,
    REFERENCE_HOST,
    V1,
    V1_REFERENCE_ACCEPT,
    V2,
    V2_REFERENCE_ACCEPT,
    check_offsets,
    check_partition_metadata,
    json_of,
)
from tests.kafka_target import KafkaTarget

V1_EXAMPLE = {"Host": REFERENCE_HOST, "Accept": V1_REFERENCE_ACCEPT}
CONFLUENT_V2_EXAMPLE = {"Host": REFERENCE_HOST, "Accept": V2_REFERENCE_ACCEPT}

# (request headers of the example, Content-Type of the response)
GET_TOPICS_EXAMPLES = [
    pytest.param(V1_EXAMPLE, V1, id="v1-reference"),
    pytest.param({"Host": REFERENCE_HOST, "Accept": V2}, V2, id="confluent-v2"),
    pytest.param({}, V2, id="kafka-bridge-v2"),
]
GET_TOPIC_EXAMPLES = [
    pytest.param(V1_EXAMPLE, V1, id="v1-reference"),
    pytest.param({"Accept": V2}, V2, id="confluent-v2"),
    pytest.param({}, V2, id="kafka-bridge-v2"),
]
PARTITION_EXAMPLES = [
    pytest.param(V1_EXAMPLE, V1, id="v1-reference"),
    pytest.param(CONFLUENT_V2_EXAMPLE, V2, id="confluent-v2"),
    pytest.param({}, V2, id="kafka-bridge-v2"),
]
BROKERS_EXAMPLES = [
    pytest.param(V1_EXAMPLE, V1, id="v1-reference"),
    pytest.param(CONFLUENT_V2_EXAMPLE, V2, id="confluent-v2"),
]


def skip(headers: dict[str, str]) -> list[str]:
    """The Kafka Bridge examples send no Accept; aiohttp would add "Accept: */*"."""
    return [] if "Accept" in headers else ["Accept"]


async def broker_ids(bridge: BridgeClient) -> list[int]:
    body = await json_of(await bridge.get("/brokers"))
    brokers: list[int] = body["brokers"]
    return brokers


# --- the bridge's own resources (Kafka Bridge v2 reference) -------------------------------


async def test_bridge_info_example(bridge: BridgeClient) -> None:
    body = await json_of(await bridge.get("/", skip_auto_headers=["Accept"]), content_type=JSON)
    assert set(body) == {"bridge_version"}
    assert isinstance(body["bridge_version"], str)
    assert body["bridge_version"]


@pytest.mark.parametrize("path", ["/healthy", "/ready"])
async def test_health_probes_answer_200_without_content(bridge: BridgeClient, path: str) -> None:
    response = await bridge.get(path)
    assert response.status == 200
    assert await response.read() == b""


@pytest.mark.parametrize("path", ["/", "/healthy", "/ready"])
async def test_probes_answer_whatever_the_client_accepts(bridge: BridgeClient, path: str) -> None:
    # Probes are not negotiated: a load balancer's Accept header must not fail them.
    response = await bridge.get(path, headers={"Accept": "text/html"})
    assert response.status == 200


# --- brokers -----------------------------------------------------------------------------


@pytest.mark.parametrize(("headers", "content_type"), BROKERS_EXAMPLES)
async def test_brokers_example(
    bridge: BridgeClient, headers: dict[str, str], content_type: str
) -> None:
    body = await json_of(await bridge.get("/brokers", headers=headers), content_type)
    assert set(body) == {"brokers"}
    brokers = body["brokers"]
    assert isinstance(brokers, list)
    assert brokers
    assert all(type(broker) is int for broker in brokers)
    assert len(set(brokers)) == len(brokers)


# --- topics --------------------------------------------------------------------------------


@pytest.mark.parametrize(("headers", "content_type"), GET_TOPICS_EXAMPLES)
async def test_list_topics_example(
    bridge: BridgeClient, new_topic: NewTopicFactory, headers: dict[str, str], content_type: str
) -> None:
    first = await new_topic(partitions=1)
    second = await new_topic(partitions=2)
    body = await json_of(
        await bridge.get("/topics", headers=headers, skip_auto_headers=skip(headers)), content_type
    )
    assert isinstance(body, list)
    assert all(isinstance(name, str) for name in body)
    assert {first, second} <= set(body)
    assert len(set(body)) == len(body)


async def test_list_topics_is_kafkas_topics_without_internal_ones(
    bridge: BridgeClient,
    new_topic: NewTopicFactory,
    admin: AIOKafkaAdminClient,
    kafka: KafkaTarget,
) -> None:
    topic = await new_topic(partitions=1)
    # Committing a group offset makes Apache Kafka create __consumer_offsets. (Tansu keeps
    # offsets without a topic, so there is nothing internal to hide there.)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=f"g-{uuid.uuid4().hex[:12]}",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.commit({tp: 0})
    finally:
        await consumer.stop()
    if kafka.apache:
        assert "__consumer_offsets" in await admin.list_topics()
    body = await json_of(await bridge.get("/topics"))
    in_kafka = await admin.list_topics()
    assert topic in body
    assert not [name for name in body if name.startswith(INTERNAL_TOPIC_PREFIX)]
    assert set(body) == {name for name in in_kafka if not name.startswith(INTERNAL_TOPIC_PREFIX)}


async def test_list_topics_sees_a_topic_created_a_moment_ago(
    bridge: BridgeClient, new_topic: NewTopicFactory
) -> None:
    before = await json_of(await bridge.get("/topics"))
    topic = await new_topic(partitions=1)
    assert topic not in before
    assert topic in await json_of(await bridge.get("/topics"))
    # ...and its metadata, although the bridge has just cached the list without it.
    body = await json_of(await bridge.get(f"/topics/{topic}"))
    assert body["name"] == topic


async def test_topic_created_after_a_404_is_found_at_once(
    bridge: BridgeClient, admin: AIOKafkaAdminClient
) -> None:
    topic = f"t-{uuid.uuid4().hex[:12]}"
    assert (await bridge.get(f"/topics/{topic}")).status == 404
    await admin.create_topics([NewTopic(topic, 2, 1)])
    body = await json_of(await bridge.get(f"/topics/{topic}"))
    assert [p["partition"] for p in body["partitions"]] == [0, 1]


@pytest.mark.apache_kafka
async def test_partitions_added_to_a_known_topic_are_found_at_once(
    bridge: BridgeClient, new_topic: NewTopicFactory, admin: AIOKafkaAdminClient
) -> None:
    topic = await new_topic(partitions=1)
    await json_of(await bridge.get(f"/topics/{topic}"))  # the bridge now knows 1 partition
    await admin.create_partitions({topic: NewPartitions(total_count=3)})
    for _ in range(100):  # bounded: until Kafka itself reports the new partitions
        [described] = await admin.describe_topics([topic])
        if len(described["partitions"]) == 3:
            break
        await asyncio.sleep(0.1)
    brokers = await broker_ids(bridge)
    check_partition_metadata(
        await json_of(await bridge.get(f"/topics/{topic}/partitions/2")), 2, brokers
    )
    response = await bridge.post(
        f"/topics/{topic}/partitions/2",
        data=b'{"records": [{"value": "new"}]}',
        headers={"Content-Type": JSON_V2},
    )
    check_offsets(await json_of(response), 1, dialect=2, partitions=[2])


@pytest.mark.parametrize(("headers", "content_type"), GET_TOPIC_EXAMPLES)
async def test_get_topic_example(
    bridge: BridgeClient, new_topic: NewTopicFactory, headers: dict[str, str], content_type: str
) -> None:
    topic = await new_topic(partitions=3)  # the example shows partitions 1 and 2
    brokers = await broker_ids(bridge)
    body = await json_of(
        await bridge.get(f"/topics/{topic}", headers=headers, skip_auto_headers=skip(headers)),
        content_type,
    )
    assert set(body) == {"name", "configs", "partitions"}
    assert body["name"] == topic
    configs = body["configs"]
    assert isinstance(configs, dict)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in configs.items())
    partitions = body["partitions"]
    assert [p["partition"] for p in partitions] == [0, 1, 2]
    for number, entry in enumerate(partitions):
        check_partition_metadata(entry, number, brokers)


async def test_get_topic_lists_no_configs_for_a_topic_without_overrides(
    bridge: BridgeClient, new_topic: NewTopicFactory
) -> None:
    topic = await new_topic(partitions=1)
    body = await json_of(await bridge.get(f"/topics/{topic}"))
    assert body["configs"] == {}


@pytest.mark.apache_kafka
async def test_get_topic_lists_per_topic_config_overrides(
    bridge: BridgeClient, admin: AIOKafkaAdminClient
) -> None:
    # Tansu reports a topic's own settings as defaults (config_source 5), so only Apache
    # Kafka can show an override.
    topic = f"t-{uuid.uuid4().hex[:12]}"
    await admin.create_topics([NewTopic(topic, 3, 1, topic_configs={"cleanup.policy": "compact"})])
    body = await json_of(await bridge.get(f"/topics/{topic}", headers=V1_EXAMPLE), V1)
    assert body["configs"] == {"cleanup.policy": "compact"}


# --- partitions ----------------------------------------------------------------------------


@pytest.mark.parametrize(("headers", "content_type"), PARTITION_EXAMPLES)
async def test_list_partitions_example(
    bridge: BridgeClient, new_topic: NewTopicFactory, headers: dict[str, str], content_type: str
) -> None:
    topic = await new_topic(partitions=3)
    brokers = await broker_ids(bridge)
    body = await json_of(
        await bridge.get(
            f"/topics/{topic}/partitions", headers=headers, skip_auto_headers=skip(headers)
        ),
        content_type,
    )
    assert isinstance(body, list)
    assert [p["partition"] for p in body] == [0, 1, 2]
    for number, entry in enumerate(body):
        check_partition_metadata(entry, number, brokers)


@pytest.mark.parametrize(("headers", "content_type"), PARTITION_EXAMPLES)
async def test_get_partition_example(
    bridge: BridgeClient, new_topic: NewTopicFactory, headers: dict[str, str], content_type: str
) -> None:
    topic = await new_topic(partitions=3)
    brokers = await broker_ids(bridge)
    body = await json_of(
        await bridge.get(
            f"/topics/{topic}/partitions/1", headers=headers, skip_auto_headers=skip(headers)
        ),
        content_type,
    )
    check_partition_metadata(body, 1, brokers)
    # The same answer as the partition's entry in the topic's metadata.
    topic_body = await json_of(await bridge.get(f"/topics/{topic}/partitions"))
    assert body == topic_body[1]


async def test_partition_offsets_example(bridge: BridgeClient, new_topic: NewTopicFactory) -> None:
    topic = await new_topic(partitions=3)
    response = await bridge.get(
        f"/topics/{topic}/partitions/1/offsets", skip_auto_headers=["Accept"]
    )
    empty = await json_of(response)
    assert empty == {"beginning_offset": 0, "end_offset": 0}
    # One record per request: Tansu's end offset is wrong after multi-record batches.
    produced = 3
    for number in range(produced):
        response = await bridge.post(
            f"/topics/{topic}/partitions/1",
            data=f'{{"records": [{{"value": {number}}}]}}'.encode(),
            headers={"Content-Type": JSON_V2},
        )
        [(_, offset)] = check_offsets(await json_of(response), 1, 2, [1])
        assert offset == number
    body = await json_of(await bridge.get(f"/topics/{topic}/partitions/1/offsets"))
    assert body == {"beginning_offset": 0, "end_offset": produced}
    assert all(type(value) is int for value in body.values())
    # The other partitions are untouched.
    for other in (0, 2):
        body = await json_of(await bridge.get(f"/topics/{topic}/partitions/{other}/offsets"))
        assert body == {"beginning_offset": 0, "end_offset": 0}


async def test_partition_offsets_in_the_v1_dialect(
    bridge: BridgeClient, new_topic: NewTopicFactory
) -> None:
    topic = await new_topic(partitions=1)
    body: dict[str, Any] = await json_of(
        await bridge.get(f"/topics/{topic}/partitions/0/offsets", headers=V1_EXAMPLE), V1
    )
    assert body == {"beginning_offset": 0, "end_offset": 0}

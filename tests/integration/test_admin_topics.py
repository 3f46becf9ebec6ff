"""`POST /admin/topics` creates topics (the Strimzi bridge's createTopic)."""

from __future__ import annotations

import uuid

from aiokafka.admin import AIOKafkaAdminClient

from tests.conftest import BridgeClient

V2_JSON = {"Content-Type": "application/vnd.kafka.json.v2+json"}


async def test_create_topic_then_it_is_served(
    bridge: BridgeClient, admin: AIOKafkaAdminClient
) -> None:
    name = f"admin-{uuid.uuid4().hex[:10]}"
    body = {"topic_name": name, "partitions_count": 3, "replication_factor": 1}
    response = await bridge.post("/admin/topics", json=body, headers=V2_JSON)
    assert response.status == 201, await response.text()
    assert name in await admin.list_topics()

    response = await bridge.get(f"/topics/{name}/partitions")
    assert response.status == 200
    assert [p["partition"] for p in await response.json(content_type=None)] == [0, 1, 2]

    again = await bridge.post("/admin/topics", json=body, headers=V2_JSON)
    assert again.status == 409
    assert (await again.json(content_type=None))["error_code"] == 409


async def test_create_topic_defaults_to_one_partition(bridge: BridgeClient) -> None:
    name = f"admin-{uuid.uuid4().hex[:10]}"
    response = await bridge.post("/admin/topics", json={"topic_name": name}, headers=V2_JSON)
    assert response.status == 201, await response.text()
    response = await bridge.get(f"/topics/{name}")
    assert len((await response.json(content_type=None))["partitions"]) == 1


async def test_create_topic_rejects_invalid_bodies(
    bridge: BridgeClient, admin: AIOKafkaAdminClient
) -> None:
    cases = [
        {},
        {"topic_name": ""},
        {"topic_name": "bad name with spaces"},
        {"topic_name": "ok", "partitions_count": 0},
        {"topic_name": "ok", "partitions_count": "3"},
        {"topic_name": "ok", "extra": True},
    ]
    for body in cases:
        response = await bridge.post("/admin/topics", json=body, headers=V2_JSON)
        assert response.status == 422, body
        error = await response.json(content_type=None)
        assert error["error_code"] == 422
        assert error["validation_errors"], body
    assert "bad name with spaces" not in await admin.list_topics()

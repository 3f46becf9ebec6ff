"""The bridge starts against the real broker and answers the basic resources."""

from __future__ import annotations

import base64

from tests.conftest import BridgeClient, NewTopicFactory, ReadRecords


async def test_metadata_and_binary_produce_round_trip(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=2)
    response = await bridge.get("/topics", headers={"Accept": "application/vnd.kafka.v2+json"})
    assert response.status == 200
    assert topic in await response.json(content_type=None)

    body = {"records": [{"key": base64.b64encode(b"k").decode(), "value": "dmFsdWU="}]}
    response = await bridge.post(
        f"/topics/{topic}",
        json=body,
        headers={"Content-Type": "application/vnd.kafka.binary.v2+json"},
    )
    assert response.status == 200, await response.text()
    result = await response.json(content_type=None)
    assert len(result["offsets"]) == 1
    [record] = await read_records(topic, 1)
    assert (record.key, record.value) == (b"k", b"value")

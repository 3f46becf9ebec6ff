"""Errors over real HTTP: status, Content-Type and the dialect's envelope and codes.

v1 writes `{"error_code", "message"}` with the Confluent codes (40401, 40402, 422, 42201...);
v2 writes the HTTP status as `error_code` and lists problems with a body in
`validation_errors`. Every error is JSON in a vnd.kafka or application/json type, and a
request that fails writes nothing to Kafka and creates no topic.
"""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import BridgeClient, NewTopicFactory
from tests.integration.conftest import EndOffsets, TopicExists
from tests.integration.helpers import (
    BINARY_V1,
    BINARY_V2,
    JSON,
    JSON_V2,
    TEXT_V2,
    V1,
    V1_REFERENCE_ACCEPT,
    V2,
    error_of,
    error_text,
)

#: (dialect, request headers for a GET, Content-Type for a binary produce)
DIALECTS = [
    pytest.param(1, {"Accept": V1_REFERENCE_ACCEPT}, BINARY_V1, id="v1"),
    pytest.param(2, {"Accept": V2}, BINARY_V2, id="v2"),
]
TOPIC_NOT_FOUND = {1: 40401, 2: 404}
PARTITION_NOT_FOUND = {1: 40402, 2: 404}
ONE_RECORD = b'{"records": [{"value": "a2Fma2E="}]}'


def missing_topic_name() -> str:
    return f"missing-{uuid.uuid4().hex[:12]}"


# --- unknown topics --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/topics/{t}",
        "/topics/{t}/partitions",
        "/topics/{t}/partitions/0",
        "/topics/{t}/partitions/0/offsets",
    ],
)
@pytest.mark.parametrize(("dialect", "headers", "content_type"), DIALECTS)
async def test_get_unknown_topic_is_404_and_creates_nothing(
    bridge: BridgeClient,
    topic_exists: TopicExists,
    path: str,
    dialect: int,
    headers: dict[str, str],
    content_type: str,
) -> None:
    topic = missing_topic_name()
    response = await bridge.get(path.format(t=topic), headers=headers)
    body = await error_of(response, 404, TOPIC_NOT_FOUND[dialect], dialect=dialect)
    assert topic in body["message"]
    assert not await topic_exists(topic)


@pytest.mark.parametrize("path", ["/topics/{t}", "/topics/{t}/partitions/0"])
@pytest.mark.parametrize("query", ["", "?async=true"])
@pytest.mark.parametrize(("dialect", "headers", "content_type"), DIALECTS)
async def test_produce_to_unknown_topic_is_404_and_creates_nothing(
    bridge: BridgeClient,
    topic_exists: TopicExists,
    path: str,
    query: str,
    dialect: int,
    headers: dict[str, str],
    content_type: str,
) -> None:
    topic = missing_topic_name()
    response = await bridge.post(
        path.format(t=topic) + query, data=ONE_RECORD, headers={"Content-Type": content_type}
    )
    body = await error_of(response, 404, TOPIC_NOT_FOUND[dialect], dialect=dialect)
    assert topic in body["message"]
    assert not await topic_exists(topic)


@pytest.mark.parametrize(("dialect", "headers", "content_type"), DIALECTS)
async def test_invalid_topic_name_is_topic_not_found(
    bridge: BridgeClient, dialect: int, headers: dict[str, str], content_type: str
) -> None:
    response = await bridge.get("/topics/bad$name", headers=headers)
    await error_of(response, 404, TOPIC_NOT_FOUND[dialect], dialect=dialect)
    response = await bridge.post(
        "/topics/bad$name", data=ONE_RECORD, headers={"Content-Type": content_type}
    )
    await error_of(response, 404, TOPIC_NOT_FOUND[dialect], dialect=dialect)


# --- unknown partitions ------------------------------------------------------------------


@pytest.mark.parametrize(("dialect", "headers", "content_type"), DIALECTS)
async def test_unknown_partition_is_404(
    bridge: BridgeClient,
    new_topic: NewTopicFactory,
    end_offsets: EndOffsets,
    dialect: int,
    headers: dict[str, str],
    content_type: str,
) -> None:
    topic = await new_topic(partitions=2)
    code = PARTITION_NOT_FOUND[dialect]
    for path in (f"/topics/{topic}/partitions/2", f"/topics/{topic}/partitions/2/offsets"):
        await error_of(await bridge.get(path, headers=headers), 404, code, dialect=dialect)
    response = await bridge.post(
        f"/topics/{topic}/partitions/2", data=ONE_RECORD, headers={"Content-Type": content_type}
    )
    await error_of(response, 404, code, dialect=dialect)
    assert await end_offsets(topic) == {0: 0, 1: 0}


@pytest.mark.parametrize("segment", ["abc", "-1", "1.0", "0x1", "+1", "1e0", "99999999999"])
@pytest.mark.parametrize(("dialect", "headers", "content_type"), DIALECTS)
async def test_partition_path_segment_that_is_not_a_partition_number_is_404(
    bridge: BridgeClient,
    new_topic: NewTopicFactory,
    end_offsets: EndOffsets,
    segment: str,
    dialect: int,
    headers: dict[str, str],
    content_type: str,
) -> None:
    topic = await new_topic(partitions=2)
    code = PARTITION_NOT_FOUND[dialect]
    for path in (
        f"/topics/{topic}/partitions/{segment}",
        f"/topics/{topic}/partitions/{segment}/offsets",
    ):
        await error_of(await bridge.get(path, headers=headers), 404, code, dialect=dialect)
    response = await bridge.post(
        f"/topics/{topic}/partitions/{segment}",
        data=ONE_RECORD,
        headers={"Content-Type": content_type},
    )
    await error_of(response, 404, code, dialect=dialect)
    assert await end_offsets(topic) == {0: 0, 1: 0}


@pytest.mark.parametrize(("dialect", "headers", "content_type"), DIALECTS)
async def test_partition_in_body_that_does_not_exist_is_404_and_writes_nothing(
    bridge: BridgeClient,
    new_topic: NewTopicFactory,
    end_offsets: EndOffsets,
    dialect: int,
    headers: dict[str, str],
    content_type: str,
) -> None:
    topic = await new_topic(partitions=2)
    records = [{"value": "YQ==", "partition": 0}, {"value": "Yg==", "partition": 2}]
    response = await bridge.post(
        f"/topics/{topic}", json={"records": records}, headers={"Content-Type": content_type}
    )
    body = await error_of(response, 404, PARTITION_NOT_FOUND[dialect], dialect=dialect)
    assert "2" in body["message"]
    assert await end_offsets(topic) == {0: 0, 1: 0}


# --- invalid record lists ----------------------------------------------------------------


@pytest.mark.parametrize("body", [b'{"records": []}', b"[]"], ids=["object", "bare-array"])
async def test_v1_empty_records_is_the_reference_422(
    bridge: BridgeClient, new_topic: NewTopicFactory, body: bytes
) -> None:
    topic = await new_topic(partitions=1)
    response = await bridge.post(
        f"/topics/{topic}",
        data=body,
        headers={"Content-Type": BINARY_V1, "Accept": V1_REFERENCE_ACCEPT},
    )
    # The v1 reference's own error example.
    assert await error_of(response, 422, 422, dialect=1) == {
        "error_code": 422,
        "message": "records may not be empty",
    }


@pytest.mark.parametrize("path", ["/topics/{t}", "/topics/{t}/partitions/0"])
async def test_v2_empty_records_is_422(
    bridge: BridgeClient, new_topic: NewTopicFactory, path: str
) -> None:
    topic = await new_topic(partitions=1)
    response = await bridge.post(
        path.format(t=topic), data=b'{"records": []}', headers={"Content-Type": JSON_V2}
    )
    body = await error_of(response, 422, 422)
    assert "empty" in error_text(body)


@pytest.mark.parametrize(("dialect", "headers", "content_type"), DIALECTS)
async def test_bad_base64_is_422_naming_the_record_and_writes_nothing(
    bridge: BridgeClient,
    new_topic: NewTopicFactory,
    end_offsets: EndOffsets,
    dialect: int,
    headers: dict[str, str],
    content_type: str,
) -> None:
    topic = await new_topic(partitions=1)
    records = [
        {"key": "a2V5", "value": "Y29uZmx1ZW50"},
        {"value": "not base64!"},
        {"key": "a2V5=", "value": "a2Fma2E="},
    ]
    response = await bridge.post(
        f"/topics/{topic}", json={"records": records}, headers={"Content-Type": content_type}
    )
    body = await error_of(response, 422, 422, dialect=dialect)
    text = error_text(body)
    assert "records[1].value" in text
    assert "records[2].key" in text  # every bad record is reported, not only the first
    assert "records[0]" not in text
    if dialect == 2:
        assert len(body["validation_errors"]) == 2
    assert await end_offsets(topic) == {0: 0}


async def test_text_value_that_is_not_a_string_is_422(
    bridge: BridgeClient, new_topic: NewTopicFactory, end_offsets: EndOffsets
) -> None:
    topic = await new_topic(partitions=1)
    records = [{"value": "fine"}, {"value": 5}, {"key": {"k": 1}, "value": "x"}]
    response = await bridge.post(
        f"/topics/{topic}", json={"records": records}, headers={"Content-Type": TEXT_V2}
    )
    body = await error_of(response, 422, 422)
    assert "records[1].value" in error_text(body)
    assert "records[2].key" in error_text(body)
    assert await end_offsets(topic) == {0: 0}


@pytest.mark.parametrize(("dialect", "headers", "content_type"), DIALECTS)
async def test_partition_in_path_and_body_is_422(
    bridge: BridgeClient,
    new_topic: NewTopicFactory,
    end_offsets: EndOffsets,
    dialect: int,
    headers: dict[str, str],
    content_type: str,
) -> None:
    topic = await new_topic(partitions=2)
    response = await bridge.post(
        f"/topics/{topic}/partitions/1",
        json={"records": [{"value": "YQ==", "partition": 1}]},
        headers={"Content-Type": content_type},
    )
    body = await error_of(response, 422, 422, dialect=dialect)
    assert "partition" in error_text(body)
    assert await end_offsets(topic) == {0: 0, 1: 0}


@pytest.mark.parametrize("partition", ["-1", '"1"', "1.5", "true", "{}", "2147483648"])
@pytest.mark.parametrize(("dialect", "headers", "content_type"), DIALECTS)
async def test_partition_in_body_that_is_not_a_partition_number_is_422(
    bridge: BridgeClient,
    new_topic: NewTopicFactory,
    end_offsets: EndOffsets,
    partition: str,
    dialect: int,
    headers: dict[str, str],
    content_type: str,
) -> None:
    topic = await new_topic(partitions=2)
    raw = f'{{"records": [{{"value": "YQ==", "partition": {partition}}}]}}'.encode()
    response = await bridge.post(
        f"/topics/{topic}", data=raw, headers={"Content-Type": content_type}
    )
    body = await error_of(response, 422, 422, dialect=dialect)
    assert "records[0].partition" in error_text(body)
    assert await end_offsets(topic) == {0: 0, 1: 0}


@pytest.mark.parametrize(("dialect", "headers", "content_type"), DIALECTS)
async def test_malformed_json_is_400(
    bridge: BridgeClient,
    new_topic: NewTopicFactory,
    dialect: int,
    headers: dict[str, str],
    content_type: str,
) -> None:
    topic = await new_topic(partitions=1)
    for raw in (b'{"records": [{"value": "YQ=="}', b"{records: []}", b"\xff\xfe"):
        response = await bridge.post(
            f"/topics/{topic}", data=raw, headers={"Content-Type": content_type}
        )
        await error_of(response, 400, 400, dialect=dialect)


@pytest.mark.parametrize(("dialect", "headers", "content_type"), DIALECTS)
async def test_missing_body_is_422(
    bridge: BridgeClient,
    new_topic: NewTopicFactory,
    dialect: int,
    headers: dict[str, str],
    content_type: str,
) -> None:
    topic = await new_topic(partitions=1)
    for path in (f"/topics/{topic}", f"/topics/{topic}/partitions/0"):
        response = await bridge.post(path, headers={"Content-Type": content_type})
        await error_of(response, 422, 422, dialect=dialect)
        response = await bridge.post(path, data=b"  \n", headers={"Content-Type": content_type})
        await error_of(response, 422, 422, dialect=dialect)


@pytest.mark.parametrize(
    "raw",
    [b"null", b'"records"', b"42", b'{"records": {}}', b'{"records": null}', b"{}", b"[1]"],
)
async def test_body_of_the_wrong_shape_is_422(
    bridge: BridgeClient, new_topic: NewTopicFactory, raw: bytes
) -> None:
    topic = await new_topic(partitions=1)
    response = await bridge.post(f"/topics/{topic}", data=raw, headers={"Content-Type": BINARY_V2})
    body = await error_of(response, 422, 422)
    assert body["validation_errors"]


async def test_v2_body_may_not_be_a_bare_array(
    bridge: BridgeClient, new_topic: NewTopicFactory
) -> None:
    # Only the v1 dialect takes the v1 reference's bare array of records.
    topic = await new_topic(partitions=1)
    response = await bridge.post(
        f"/topics/{topic}", data=b'[{"value": "YQ=="}]', headers={"Content-Type": BINARY_V2}
    )
    await error_of(response, 422, 422)


@pytest.mark.parametrize(
    "schema_field", ['"value_schema": "\\"string\\""', '"key_schema_id": 3', '"value_schema_id": 1']
)
@pytest.mark.parametrize(("dialect", "headers", "content_type"), DIALECTS)
async def test_schemas_with_the_binary_format_are_422(
    bridge: BridgeClient,
    new_topic: NewTopicFactory,
    end_offsets: EndOffsets,
    schema_field: str,
    dialect: int,
    headers: dict[str, str],
    content_type: str,
) -> None:
    topic = await new_topic(partitions=1)
    raw = f'{{{schema_field}, "records": [{{"key": "YQ==", "value": "YQ=="}}]}}'.encode()
    response = await bridge.post(
        f"/topics/{topic}", data=raw, headers={"Content-Type": content_type}
    )
    body = await error_of(response, 422, 422, dialect=dialect)
    assert "schema" in error_text(body)
    assert await end_offsets(topic) == {0: 0}


@pytest.mark.parametrize(
    ("dialect", "content_type", "record"),
    [
        pytest.param(1, BINARY_V1, '{"value": "YQ==", "headers": []}', id="v1-headers"),
        pytest.param(1, BINARY_V1, '{"value": "YQ==", "timestamp": 1}', id="v1-timestamp"),
        pytest.param(1, BINARY_V1, '{"value": "YQ==", "foo": 1}', id="v1-foo"),
        pytest.param(2, BINARY_V2, '{"value": "YQ==", "foo": 1}', id="v2-foo"),
        pytest.param(2, JSON_V2, '{"value": 1, "Key": "k"}', id="v2-Key"),
    ],
)
async def test_unknown_field_in_a_record_is_422(
    bridge: BridgeClient,
    new_topic: NewTopicFactory,
    end_offsets: EndOffsets,
    dialect: int,
    content_type: str,
    record: str,
) -> None:
    topic = await new_topic(partitions=1)
    raw = f'{{"records": [{record}]}}'.encode()
    response = await bridge.post(
        f"/topics/{topic}", data=raw, headers={"Content-Type": content_type}
    )
    body = await error_of(response, 422, 422, dialect=dialect)
    assert "records[0]" in error_text(body)
    assert await end_offsets(topic) == {0: 0}


async def test_unknown_top_level_field_is_422(
    bridge: BridgeClient, new_topic: NewTopicFactory
) -> None:
    topic = await new_topic(partitions=1)
    response = await bridge.post(
        f"/topics/{topic}",
        data=b'{"records": [{"value": "YQ=="}], "foo": true}',
        headers={"Content-Type": BINARY_V2},
    )
    body = await error_of(response, 422, 422)
    assert "foo" in error_text(body)


@pytest.mark.parametrize(
    "headers",
    [
        '[{"key": "h", "value": "not base64!"}]',
        '[{"key": "h"}]',
        '[{"value": "YQ=="}]',
        '[{"key": 1, "value": "YQ=="}]',
        '[{"key": "h", "value": "YQ==", "extra": 1}]',
        '{"h": "YQ=="}',
    ],
)
async def test_invalid_headers_are_422_naming_the_record(
    bridge: BridgeClient, new_topic: NewTopicFactory, end_offsets: EndOffsets, headers: str
) -> None:
    topic = await new_topic(partitions=1)
    raw = f'{{"records": [{{"value": "YQ=="}}, {{"value": "YQ==", "headers": {headers}}}]}}'
    response = await bridge.post(
        f"/topics/{topic}", data=raw.encode(), headers={"Content-Type": BINARY_V2}
    )
    body = await error_of(response, 422, 422)
    assert "records[1]" in error_text(body)
    assert await end_offsets(topic) == {0: 0}


@pytest.mark.parametrize("timestamp", ["-1", '"now"', "1.5"])
async def test_invalid_timestamp_is_422(
    bridge: BridgeClient, new_topic: NewTopicFactory, end_offsets: EndOffsets, timestamp: str
) -> None:
    topic = await new_topic(partitions=1)
    raw = f'{{"records": [{{"value": "YQ==", "timestamp": {timestamp}}}]}}'.encode()
    response = await bridge.post(f"/topics/{topic}", data=raw, headers={"Content-Type": BINARY_V2})
    body = await error_of(response, 422, 422)
    assert "records[0].timestamp" in error_text(body)
    assert await end_offsets(topic) == {0: 0}


async def test_timestamp_beyond_int64_is_422(
    bridge: BridgeClient, new_topic: NewTopicFactory, end_offsets: EndOffsets
) -> None:
    topic = await new_topic(partitions=1)
    raw = f'{{"records": [{{"value": "YQ==", "timestamp": {2**63}}}]}}'.encode()
    response = await bridge.post(f"/topics/{topic}", data=raw, headers={"Content-Type": BINARY_V2})
    body = await error_of(response, 422, 422)
    assert "records[0].timestamp" in error_text(body)
    assert await end_offsets(topic) == {0: 0}


async def test_invalid_async_flag_is_422(
    bridge: BridgeClient, new_topic: NewTopicFactory, end_offsets: EndOffsets
) -> None:
    topic = await new_topic(partitions=1)
    response = await bridge.post(
        f"/topics/{topic}?async=maybe", data=ONE_RECORD, headers={"Content-Type": BINARY_V2}
    )
    body = await error_of(response, 422, 422)
    assert "async" in body["message"]
    assert await end_offsets(topic) == {0: 0}


async def test_async_produce_validates_before_answering(
    bridge: BridgeClient, new_topic: NewTopicFactory, end_offsets: EndOffsets
) -> None:
    topic = await new_topic(partitions=1)
    response = await bridge.post(
        f"/topics/{topic}?async=true",
        data=b'{"records": [{"value": "YQ=="}, {"value": "nope!"}]}',
        headers={"Content-Type": BINARY_V2},
    )
    body = await error_of(response, 422, 422)
    assert "records[1].value" in error_text(body)
    assert await end_offsets(topic) == {0: 0}


# --- media types -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/xml", "application/vnd.kafka.v2+xml", "application/vnd.kafka.v2"],
)
async def test_content_type_the_bridge_does_not_read_is_415(
    bridge: BridgeClient, new_topic: NewTopicFactory, end_offsets: EndOffsets, content_type: str
) -> None:
    topic = await new_topic(partitions=1)
    response = await bridge.post(
        f"/topics/{topic}", data=ONE_RECORD, headers={"Content-Type": content_type}
    )
    await error_of(response, 415, 415)
    assert await end_offsets(topic) == {0: 0}


@pytest.mark.parametrize(("dialect", "headers", "content_type"), DIALECTS)
async def test_produce_without_content_type_is_415(
    bridge: BridgeClient,
    new_topic: NewTopicFactory,
    end_offsets: EndOffsets,
    dialect: int,
    headers: dict[str, str],
    content_type: str,
) -> None:
    topic = await new_topic(partitions=1)
    response = await bridge.post(
        f"/topics/{topic}", data=ONE_RECORD, headers=headers, skip_auto_headers=["Content-Type"]
    )
    await error_of(response, 415, 415, dialect=dialect)
    assert await end_offsets(topic) == {0: 0}


@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_unknown_embedded_format_is_415_naming_the_known_formats(
    bridge: BridgeClient, new_topic: NewTopicFactory, end_offsets: EndOffsets, version: str
) -> None:
    topic = await new_topic(partitions=1)
    response = await bridge.post(
        f"/topics/{topic}",
        data=ONE_RECORD,
        headers={"Content-Type": f"application/vnd.kafka.nope.{version}+json"},
    )
    body = await error_of(response, 415, 415, dialect=int(version[1]))
    message = body["message"]
    assert "nope" in message
    for known in ("binary", "json", "text"):
        assert known in message
    assert await end_offsets(topic) == {0: 0}


@pytest.mark.parametrize(
    "content_type", ["application/vnd.kafka.binary.v3+json", "application/vnd.kafka.v0+json"]
)
async def test_unsupported_api_version_is_415(
    bridge: BridgeClient, new_topic: NewTopicFactory, content_type: str
) -> None:
    topic = await new_topic(partitions=1)
    response = await bridge.post(
        f"/topics/{topic}", data=ONE_RECORD, headers={"Content-Type": content_type}
    )
    body = await error_of(response, 415, 415)
    assert "v1" in body["message"]
    assert "v2" in body["message"]


@pytest.mark.parametrize(
    "accept", ["text/html", "application/vnd.kafka.v3+json", "application/xml, text/*", "garbage"]
)
async def test_accept_the_bridge_cannot_answer_is_406(
    bridge: BridgeClient, new_topic: NewTopicFactory, end_offsets: EndOffsets, accept: str
) -> None:
    topic = await new_topic(partitions=1)
    await error_of(await bridge.get("/topics", headers={"Accept": accept}), 406, 406)
    await error_of(await bridge.get(f"/topics/{topic}", headers={"Accept": accept}), 406, 406)
    response = await bridge.post(
        f"/topics/{topic}", data=ONE_RECORD, headers={"Content-Type": BINARY_V2, "Accept": accept}
    )
    await error_of(response, 406, 406)
    assert await end_offsets(topic) == {0: 0}


# --- routing and transport ---------------------------------------------------------------


@pytest.mark.parametrize(("dialect", "headers", "content_type"), DIALECTS)
async def test_unknown_route_is_404_envelope(
    bridge: BridgeClient, dialect: int, headers: dict[str, str], content_type: str
) -> None:
    for path in ("/nope", "/topics/t/partitions/0/offsets/extra", "/v2/topics"):
        body = await error_of(await bridge.get(path, headers=headers), 404, 404, dialect=dialect)
        assert path in body["message"]


async def test_unknown_route_with_accept_application_json(bridge: BridgeClient) -> None:
    response = await bridge.get("/nope", headers={"Accept": "application/json"})
    await error_of(response, 404, 404, content_type=JSON)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/topics"),
        ("POST", "/topics"),
        ("PUT", "/topics/{t}"),
        ("DELETE", "/topics/{t}/partitions/0"),
        ("POST", "/topics/{t}/partitions/0/offsets"),
        ("POST", "/brokers"),
    ],
)
@pytest.mark.parametrize(("dialect", "headers", "content_type"), DIALECTS)
async def test_wrong_method_is_405_envelope(
    bridge: BridgeClient,
    new_topic: NewTopicFactory,
    method: str,
    path: str,
    dialect: int,
    headers: dict[str, str],
    content_type: str,
) -> None:
    topic = await new_topic(partitions=1)
    response = await bridge.request(method, path.format(t=topic), headers=headers)
    body = await error_of(response, 405, 405, dialect=dialect)
    assert method in body["message"]


async def test_wrong_method_lists_the_allowed_ones(
    bridge: BridgeClient, new_topic: NewTopicFactory
) -> None:
    topic = await new_topic(partitions=1)
    response = await bridge.delete("/topics")
    await error_of(response, 405, 405)
    assert response.headers.get("Allow") == "GET"
    response = await bridge.put(f"/topics/{topic}")
    await error_of(response, 405, 405)
    allowed = {m.strip() for m in response.headers.get("Allow", "").split(",")}
    assert allowed == {"GET", "POST"}


@pytest.mark.parametrize(("dialect", "headers", "content_type"), DIALECTS)
async def test_body_over_16_mib_is_413_envelope(
    bridge: BridgeClient,
    new_topic: NewTopicFactory,
    end_offsets: EndOffsets,
    dialect: int,
    headers: dict[str, str],
    content_type: str,
) -> None:
    topic = await new_topic(partitions=1)
    # A well-formed record list just over the limit.
    value = "QUFB" * (4 * 1024 * 1024 + 16)
    raw = f'{{"records": [{{"value": "{value}"}}]}}'.encode()
    assert len(raw) > 16 * 1024 * 1024
    response = await bridge.post(
        f"/topics/{topic}", data=raw, headers={"Content-Type": content_type}
    )
    await error_of(response, 413, 413, dialect=dialect)
    assert await end_offsets(topic) == {0: 0}


async def test_errors_answer_in_the_dialect_named_by_the_content_type(
    bridge: BridgeClient,
) -> None:
    # No Accept: the v1 Content-Type alone decides the dialect of the error.
    response = await bridge.post(
        f"/topics/{missing_topic_name()}", data=ONE_RECORD, headers={"Content-Type": BINARY_V1}
    )
    await error_of(response, 404, 40401, dialect=1, content_type=V1)

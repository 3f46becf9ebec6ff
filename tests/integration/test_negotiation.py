"""Content negotiation end to end: which dialect and Content-Type answer which headers, over
real HTTP, on metadata and produce requests alike (docs/content-negotiation.md)."""

from __future__ import annotations

import pytest

from tests.conftest import BridgeClient, NewTopicFactory, ReadRecords
from tests.integration.conftest import EndOffsets
from tests.integration.helpers import (
    BINARY_V1,
    BINARY_V2,
    JSON,
    TEXT_V2,
    V1,
    V1_REFERENCE_ACCEPT,
    V2,
    V2_REFERENCE_ACCEPT,
    check_landed,
    check_offsets,
    error_of,
    json_of,
)

#: (Accept header or None for none, the response Content-Type it gets, the dialect)
ACCEPT_CASES = [
    pytest.param(None, V2, 2, id="no-accept"),
    pytest.param("", V2, 2, id="blank"),
    pytest.param(V1_REFERENCE_ACCEPT, V1, 1, id="v1-reference-list"),
    pytest.param(
        "application/vnd.kafka.v1+json; q=0.9, application/json; q=0.5", V1, 1, id="v1-reference-q"
    ),
    pytest.param(V2_REFERENCE_ACCEPT, V2, 2, id="v2-reference-list"),
    pytest.param("application/vnd.kafka.v1+json", V1, 1, id="v1"),
    pytest.param("application/vnd.kafka.v2+json", V2, 2, id="v2"),
    pytest.param("application/json", JSON, 2, id="application-json"),
    pytest.param("*/*", V2, 2, id="any"),
    pytest.param("application/*", V2, 2, id="application-any"),
    pytest.param("application/vnd.kafka+json", V2, 2, id="kafka-any-version"),
    pytest.param("application/vnd.kafka.v1+json;q=0, */*", V2, 2, id="v1-excluded"),
    pytest.param(
        "application/vnd.kafka.v2+json;q=0.5, application/vnd.kafka.v1+json", V1, 1, id="v2-lower-q"
    ),
    pytest.param(
        "application/vnd.kafka.v2+json;q=0.1, application/json;q=0.8", JSON, 2, id="json-higher-q"
    ),
    pytest.param(
        "application/vnd.kafka.v2+json;q=0, application/vnd.kafka.v1+json;q=0, "
        "application/json;q=0.2",
        JSON,
        2,
        id="only-json-left",
    ),
    pytest.param(
        "application/vnd.kafka.v3+json, application/vnd.kafka.v1+json;q=0.1", V1, 1, id="v3-skipped"
    ),
    pytest.param("text/html, application/vnd.kafka.v1+json;q=0.2", V1, 1, id="html-first"),
    pytest.param("application/vnd.kafka.binary.v2+json", V2, 2, id="format-ignored-v2"),
    pytest.param("application/vnd.kafka.binary.v1+json", V1, 1, id="format-ignored-v1"),
    pytest.param("Application/VND.Kafka.V1+JSON", V1, 1, id="case-insensitive"),
]


@pytest.mark.parametrize(("accept", "content_type", "dialect"), ACCEPT_CASES)
async def test_accept_decides_the_dialect_of_metadata_answers(
    bridge: BridgeClient,
    new_topic: NewTopicFactory,
    accept: str | None,
    content_type: str,
    dialect: int,
) -> None:
    topic = await new_topic(partitions=1)
    headers = {} if accept is None else {"Accept": accept}
    # aiohttp sends "Accept: */*" unless told not to; None means no Accept at all.
    skip = ["Accept"] if accept is None else []
    response = await bridge.get("/topics", headers=headers, skip_auto_headers=skip)
    assert topic in await json_of(response, content_type)
    response = await bridge.get(f"/topics/{topic}", headers=headers, skip_auto_headers=skip)
    assert (await json_of(response, content_type))["name"] == topic
    # ...and errors come in the same dialect.
    response = await bridge.get(f"/topics/{topic}-missing", headers=headers, skip_auto_headers=skip)
    await error_of(
        response, 404, 40401 if dialect == 1 else 404, dialect=dialect, content_type=content_type
    )


@pytest.mark.parametrize(("accept", "content_type", "dialect"), ACCEPT_CASES)
async def test_accept_decides_the_dialect_of_produce_answers(
    bridge: BridgeClient,
    new_topic: NewTopicFactory,
    read_records: ReadRecords,
    accept: str | None,
    content_type: str,
    dialect: int,
) -> None:
    # A Content-Type without a version leaves the choice to Accept.
    topic = await new_topic(partitions=1)
    headers = {"Content-Type": "application/vnd.kafka.binary+json"}
    if accept is not None:
        headers["Accept"] = accept
    response = await bridge.post(
        f"/topics/{topic}",
        data=b'{"records": [{"value": "a2Fma2E="}]}',
        headers=headers,
        skip_auto_headers=["Accept"] if accept is None else [],
    )
    positions = check_offsets(await json_of(response, content_type), 1, dialect=dialect)
    check_landed(await read_records(topic, 1), positions, [(None, b"kafka")])


async def test_v1_content_type_answers_in_v1_without_accept(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=1)
    response = await bridge.post(
        f"/topics/{topic}",
        data=b'[{"value": "a2Fma2E="}]',
        headers={"Content-Type": BINARY_V1},
        skip_auto_headers=["Accept"],
    )
    positions = check_offsets(await json_of(response, V1), 1, dialect=1)
    check_landed(await read_records(topic, 1), positions, [(None, b"kafka")])


@pytest.mark.parametrize(
    ("content_type", "accept", "dialect"),
    [
        pytest.param(BINARY_V1, V2, 1, id="v1-body-v2-accept"),
        pytest.param(BINARY_V2, V1, 2, id="v2-body-v1-accept"),
        pytest.param(
            BINARY_V2, "application/vnd.kafka.v1+json, text/html", 2, id="v2-body-v1-html"
        ),
    ],
)
async def test_body_version_that_accept_excludes_is_406_and_writes_nothing(
    bridge: BridgeClient,
    new_topic: NewTopicFactory,
    end_offsets: EndOffsets,
    content_type: str,
    accept: str,
    dialect: int,
) -> None:
    topic = await new_topic(partitions=1)
    body = b'{"records": [{"value": "a2Fma2E="}]}'
    response = await bridge.post(
        f"/topics/{topic}", data=body, headers={"Content-Type": content_type, "Accept": accept}
    )
    error = await error_of(response, 406, 406, dialect=dialect)
    assert accept in error["message"]
    assert await end_offsets(topic) == {0: 0}


async def test_body_version_with_accept_json_answers_json(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords
) -> None:
    topic = await new_topic(partitions=1)
    response = await bridge.post(
        f"/topics/{topic}",
        data=b'[{"value": "a2Fma2E="}]',
        headers={"Content-Type": BINARY_V1, "Accept": "application/json"},
    )
    positions = check_offsets(await json_of(response, JSON), 1, dialect=1)
    check_landed(await read_records(topic, 1), positions, [(None, b"kafka")])


@pytest.mark.parametrize(
    "content_type",
    [
        "Application/Vnd.Kafka.Text.V2+JSON",
        "application/vnd.kafka.text.v2+json; charset=utf-8",
        " application/vnd.kafka.text.v2+json ",
    ],
)
async def test_content_type_is_case_insensitive_and_parameters_are_ignored(
    bridge: BridgeClient, new_topic: NewTopicFactory, read_records: ReadRecords, content_type: str
) -> None:
    topic = await new_topic(partitions=1)
    response = await bridge.post(
        f"/topics/{topic}",
        data='{"records": [{"value": "größe"}]}'.encode(),
        headers={"Content-Type": content_type},
    )
    positions = check_offsets(await json_of(response), 1, dialect=2)
    check_landed(await read_records(topic, 1), positions, [(None, "größe".encode())])


async def test_stray_content_type_on_a_get_is_ignored(
    bridge: BridgeClient, new_topic: NewTopicFactory
) -> None:
    topic = await new_topic(partitions=1)
    response = await bridge.get(f"/topics/{topic}", headers={"Content-Type": "text/plain"})
    assert (await json_of(response))["name"] == topic


# --- trailing slashes --------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/topics/",
        "/topics/{t}/",
        "/topics/{t}/partitions/",
        "/topics/{t}/partitions/0/",
        "/topics/{t}/partitions/0/offsets/",
        "/brokers/",
        "/healthy/",
        "/ready/",
    ],
)
async def test_get_paths_with_a_trailing_slash(
    bridge: BridgeClient, new_topic: NewTopicFactory, path: str
) -> None:
    topic = await new_topic(partitions=1)
    slashed = await bridge.get(path.format(t=topic), headers={"Accept": V1_REFERENCE_ACCEPT})
    plain = await bridge.get(path.format(t=topic)[:-1], headers={"Accept": V1_REFERENCE_ACCEPT})
    assert slashed.status == plain.status == 200
    assert slashed.headers.get("Content-Type") == plain.headers.get("Content-Type")
    assert await slashed.read() == await plain.read()


@pytest.mark.parametrize(
    ("path", "partition"), [("/topics/{t}/", None), ("/topics/{t}/partitions/1/", 1)]
)
async def test_produce_to_paths_with_a_trailing_slash(
    bridge: BridgeClient,
    new_topic: NewTopicFactory,
    read_records: ReadRecords,
    path: str,
    partition: int | None,
) -> None:
    topic = await new_topic(partitions=2)
    response = await bridge.post(
        path.format(t=topic),
        json={"records": [{"value": "slash"}]},
        headers={"Content-Type": TEXT_V2},
    )
    positions = check_offsets(await json_of(response), 1, dialect=2, partitions=[partition])
    check_landed(await read_records(topic, 1), positions, [(None, b"slash")])

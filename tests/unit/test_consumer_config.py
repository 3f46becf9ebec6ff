"""A consumer's creation body becomes its configuration: both dialects' spellings, string or
JSON values, defaults, and every invalid value named; and the base URL handed out."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import make_mocked_request

from bridge.consumers.config import ConsumerConfig, ConsumerDefaults
from bridge.errors import BridgeError, ErrorKind
from bridge.http import external_url

DEFAULTS = ConsumerDefaults(request_timeout_ms=5_000)


def config(body: dict[str, Any]) -> ConsumerConfig:
    return ConsumerConfig.from_body("g", body, DEFAULTS)


def problems(body: dict[str, Any]) -> list[str]:
    with pytest.raises(BridgeError) as caught:
        config(body)
    assert caught.value.kind is ErrorKind.INVALID_CONSUMER_CONFIG
    return list(caught.value.details)


def test_empty_body_takes_the_defaults_and_a_generated_name() -> None:
    first, second = config({}), config({})
    assert first.group == "g"
    assert first.format == "binary"
    assert first.auto_offset_reset == "latest"
    assert first.auto_commit is True
    assert first.fetch_min_bytes == 1
    assert first.isolation_level == "read_uncommitted"
    assert first.request_timeout_ms == 5_000
    assert first.name.startswith("kafka-bridge-consumer-")
    assert first.name != second.name


def test_the_strimzi_example() -> None:
    got = config(
        {
            "name": "consumer1",
            "format": "binary",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "fetch.min.bytes": 512,
            "consumer.request.timeout.ms": 30000,
            "isolation.level": "read_committed",
        }
    )
    assert got == ConsumerConfig(
        group="g",
        name="consumer1",
        format="binary",
        auto_offset_reset="earliest",
        auto_commit=False,
        fetch_min_bytes=512,
        isolation_level="read_committed",
        request_timeout_ms=30000,
    )


@pytest.mark.parametrize(
    ("reset", "expected"),
    [("smallest", "earliest"), ("largest", "latest"), ("EARLIEST", "earliest"), ("none", "none")],
)
def test_confluent_v1_spellings(reset: str, expected: str) -> None:
    got = config({"id": "my_consumer", "auto.offset.reset": reset, "auto.commit.enable": "false"})
    assert got.name == "my_consumer"
    assert got.auto_offset_reset == expected
    assert got.auto_commit is False


def test_numbers_as_strings_and_nulls_as_defaults() -> None:
    got = config({"fetch.min.bytes": "64", "consumer.request.timeout.ms": "0", "format": None})
    assert got.fetch_min_bytes == 64
    assert got.request_timeout_ms == 0
    assert got.format == "binary"


def test_every_invalid_value_is_named() -> None:
    found = problems(
        {
            "auto.offset.reset": "sometimes",
            "enable.auto.commit": "yes",
            "isolation.level": "dirty",
            "fetch.min.bytes": "lots",
            "consumer.request.timeout.ms": -1,
        }
    )
    joined = " ".join(found)
    for field in (
        "auto.offset.reset",
        "enable.auto.commit",
        "isolation.level",
        "fetch.min.bytes",
        "consumer.request.timeout.ms",
    ):
        assert field in joined
    assert len(found) == 5


@pytest.mark.parametrize(
    "body",
    [
        {"name": "a", "id": "b"},
        {"enable.auto.commit": True, "auto.commit.enable": False},
    ],
)
def test_two_spellings_that_disagree(body: dict[str, Any]) -> None:
    assert len(problems(body)) == 1


def test_two_spellings_that_agree() -> None:
    assert config({"name": "a", "id": "a"}).name == "a"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, "http://bridge.local:8080"),
        (
            {"Forwarded": "for=1.2.3.4;proto=https;host=proxy.example.com"},
            "https://proxy.example.com",
        ),
        (
            {"X-Forwarded-Proto": "https, http", "X-Forwarded-Host": "edge.example.com, inner"},
            "https://edge.example.com",
        ),
        ({"X-Forwarded-Path": "/kafka/"}, "http://bridge.local:8080/kafka"),
        ({"X-Forwarded-Prefix": "/api"}, "http://bridge.local:8080/api"),
    ],
)
def test_external_url_from_the_request(headers: dict[str, str], expected: str) -> None:
    request = make_mocked_request(
        "POST", "/consumers/g", headers={"Host": "bridge.local:8080", **headers}
    )
    assert external_url(request, None) == expected


def test_the_advertised_url_wins() -> None:
    request = make_mocked_request("POST", "/consumers/g", headers={"Host": "bridge.local"})
    assert external_url(request, "https://bridge.example.com/kafka/") == (
        "https://bridge.example.com/kafka"
    )

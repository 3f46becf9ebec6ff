"""The dialects: error codes and envelopes, produce response shapes, schema documents."""

from __future__ import annotations

import pytest

from bridge.dialects import DIALECTS
from bridge.errors import BridgeError, ErrorKind
from bridge.kafka.producer import Delivery
from bridge.produce import ProduceResult
from bridge.validation import validate

V1, V2 = DIALECTS[1], DIALECTS[2]


@pytest.mark.parametrize(
    ("kind", "v1", "v2"),
    [
        (ErrorKind.TOPIC_NOT_FOUND, (404, 40401), (404, 404)),
        (ErrorKind.PARTITION_NOT_FOUND, (404, 40402), (404, 404)),
        (ErrorKind.CONSUMER_NOT_FOUND, (404, 40403), (404, 404)),
        (ErrorKind.CONSUMER_FORMAT_MISMATCH, (406, 40601), (406, 406)),
        (ErrorKind.CONSUMER_ALREADY_SUBSCRIBED, (409, 40901), (409, 409)),
        (ErrorKind.KEY_SCHEMA_MISSING, (422, 42201), (422, 422)),
        (ErrorKind.VALUE_SCHEMA_MISSING, (422, 42202), (422, 422)),
        (ErrorKind.INVALID_CONSUMER_CONFIG, (422, 42204), (422, 422)),
        (ErrorKind.INVALID_SCHEMA, (422, 42205), (422, 422)),
        (ErrorKind.KAFKA_ERROR, (500, 50002), (500, 500)),
        (ErrorKind.KAFKA_RETRIABLE, (500, 50003), (503, 503)),
        (ErrorKind.MALFORMED_BODY, (400, 400), (400, 400)),
        (ErrorKind.INVALID_BODY, (422, 422), (422, 422)),
        (ErrorKind.UNSUPPORTED_MEDIA_TYPE, (415, 415), (415, 415)),
        (ErrorKind.NOT_ACCEPTABLE, (406, 406), (406, 406)),
    ],
)
def test_error_codes_follow_each_reference(
    kind: ErrorKind, v1: tuple[int, int], v2: tuple[int, int]
) -> None:
    error = BridgeError(kind, "m")
    assert V1.error_status(error) == v1
    assert V2.error_status(error) == v2


def test_every_error_kind_has_a_status_in_both_dialects() -> None:
    for kind in ErrorKind:
        assert kind in V1.error_codes, kind
        assert kind in V2.error_codes, kind


def test_v1_envelope_folds_details_into_the_message() -> None:
    error = BridgeError(ErrorKind.INVALID_BODY, "bad", ["records[0]: x", "records[2]: y"])
    assert V1.error_body(error) == {
        "error_code": 422,
        "message": "bad: records[0]: x; records[2]: y",
    }


def test_v2_envelope_lists_validation_errors() -> None:
    error = BridgeError(ErrorKind.INVALID_BODY, "bad", ["records[0]: x"])
    assert V2.error_body(error) == {
        "error_code": 422,
        "message": "bad",
        "validation_errors": ["records[0]: x"],
    }
    assert V2.error_body(BridgeError(ErrorKind.TOPIC_NOT_FOUND, "gone")) == {
        "error_code": 404,
        "message": "gone",
    }


RESULT = ProduceResult(
    deliveries=[
        Delivery(partition=2, offset=100),
        Delivery(error=BridgeError(ErrorKind.KAFKA_RETRIABLE, "try again")),
        Delivery(error=BridgeError(ErrorKind.KAFKA_ERROR, "no")),
    ]
)


def test_v1_produce_body() -> None:
    assert V1.produce_body(RESULT) == {
        "key_schema_id": None,
        "value_schema_id": None,
        "offsets": [
            {"partition": 2, "offset": 100, "error_code": None, "error": None},
            {"partition": None, "offset": None, "error_code": 2, "error": "try again"},
            {"partition": None, "offset": None, "error_code": 1, "error": "no"},
        ],
    }


def test_v2_produce_body() -> None:
    assert V2.produce_body(RESULT) == {
        "offsets": [
            {"partition": 2, "offset": 100},
            {"error_code": 503, "message": "try again"},
            {"error_code": 500, "message": "no"},
        ]
    }
    with_schemas = ProduceResult(deliveries=[Delivery(0, 1)], value_schema_id=7)
    assert V2.produce_body(with_schemas) == {
        "offsets": [{"partition": 0, "offset": 1}],
        "key_schema_id": None,
        "value_schema_id": 7,
    }


@pytest.mark.parametrize(
    ("dialect", "body", "data"),
    [
        ("v1", "produce_to_topic", {"records": [{"key": "a2V5", "value": "eA==", "partition": 1}]}),
        ("v1", "produce_to_partition", {"records": [{"value": None}]}),
        (
            "v2",
            "produce_to_topic",
            {
                "records": [
                    {
                        "key": {"k": 1},
                        "value": [1],
                        "partition": 0,
                        "timestamp": 1591897790000,
                        "headers": [{"key": "h", "value": "eA=="}],
                    }
                ]
            },
        ),
        ("v2", "produce_to_partition", {"records": [{"value": "x", "headers": None}]}),
        ("v2", "new_topic", {"topic_name": "a.b-c_d", "partitions_count": 3}),
    ],
)
def test_valid_bodies_pass(dialect: str, body: str, data: object) -> None:
    validate(data, dialect, body, "The body")


@pytest.mark.parametrize(
    ("dialect", "body", "data", "where"),
    [
        ("v1", "produce_to_topic", {"records": [{"key": "a"}]}, "body.records[0]"),
        ("v1", "produce_to_topic", {"records": [{"value": 1, "headers": []}]}, "records[0]"),
        ("v1", "produce_to_partition", {"records": [{"value": 1, "partition": 0}]}, "[0]"),
        ("v2", "produce_to_topic", {"records": [{"value": 1, "partition": -1}]}, "partition"),
        ("v2", "produce_to_topic", {"records": [{"value": 1, "partition": 1.5}]}, "partition"),
        ("v2", "produce_to_topic", {"records": [{"value": 1, "timestamp": "now"}]}, "timestamp"),
        ("v2", "produce_to_topic", {"records": [{"value": 1, "headers": [{"key": "h"}]}]}, "[0]"),
        ("v2", "produce_to_topic", [{"value": 1}], "body"),
        ("v2", "produce_to_topic", {"records": [], "value_schema_id": "7"}, "value_schema_id"),
    ],
)
def test_invalid_bodies_name_where(dialect: str, body: str, data: object, where: str) -> None:
    with pytest.raises(BridgeError) as caught:
        validate(data, dialect, body, "The record list")
    assert caught.value.kind is ErrorKind.INVALID_BODY
    assert caught.value.message == "The record list is not valid"
    assert any(where in detail for detail in caught.value.details), caught.value.details

"""Unit tests for bridge.negotiation: Content-Type parsing and Accept negotiation."""

from __future__ import annotations

import pytest

from bridge.errors import BridgeError, ErrorKind
from bridge.negotiation import (
    LATEST_VERSION,
    SUPPORTED_VERSIONS,
    BodyType,
    ResponseType,
    negotiate_response,
    parse_content_type,
)


def test_supported_versions_and_latest() -> None:
    assert sorted(SUPPORTED_VERSIONS) == [1, 2]
    assert LATEST_VERSION == 2
    assert max(SUPPORTED_VERSIONS) == LATEST_VERSION


# --- Content-Type -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("application/vnd.kafka.binary.v2+json", BodyType(2, "binary")),
        ("application/vnd.kafka.json.v2+json", BodyType(2, "json")),
        ("application/vnd.kafka.avro.v1+json", BodyType(1, "avro")),
        ("application/vnd.kafka.binary.v1+json", BodyType(1, "binary")),
        # Formats are plugins: any well-formed name is accepted here.
        ("application/vnd.kafka.protobuf.v2+json", BodyType(2, "protobuf")),
        ("application/vnd.kafka.my_fmt-2.v2+json", BodyType(2, "my_fmt-2")),
        ("application/vnd.kafka.0fmt.v1+json", BodyType(1, "0fmt")),
        ("application/vnd.kafka.v2x.v2+json", BodyType(2, "v2x")),
        ("application/vnd.kafka.v2+json", BodyType(2, None)),
        ("application/vnd.kafka.v1+json", BodyType(1, None)),
        ("application/vnd.kafka.binary+json", BodyType(None, "binary")),
        ("application/vnd.kafka.text+json", BodyType(None, "text")),
        ("application/vnd.kafka+json", BodyType(None, None)),
        ("application/json", BodyType(None, None)),
        ("application/octet-stream", BodyType(None, None)),
    ],
)
def test_content_type_forms(header: str, expected: BodyType) -> None:
    assert parse_content_type(header) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("APPLICATION/VND.KAFKA.BINARY.V2+JSON", BodyType(2, "binary")),
        ("Application/Vnd.Kafka.Json.v1+Json", BodyType(1, "json")),
        ("  application/vnd.kafka.v2+json  ", BodyType(2, None)),
        ("application/vnd.kafka.json.v2+json; charset=utf-8", BodyType(2, "json")),
        ("application/vnd.kafka.v2+json;charset=UTF-8", BodyType(2, None)),
        ("Application/JSON; Charset=UTF-8", BodyType(None, None)),
        ('application/json; charset="utf-8"; foo=bar', BodyType(None, None)),
        ("application/octet-stream; q=0.1", BodyType(None, None)),
    ],
)
def test_content_type_case_whitespace_and_parameters(header: str, expected: BodyType) -> None:
    assert parse_content_type(header) == expected


@pytest.mark.parametrize("header", [None, "", "   ", "\t"])
def test_content_type_absent_or_blank_is_none(header: str | None) -> None:
    assert parse_content_type(header) is None


@pytest.mark.parametrize(
    "header",
    [
        "application/vnd.kafka.v3+json",
        "application/vnd.kafka.v0+json",
        "application/vnd.kafka.binary.v3+json",
        "application/vnd.kafka.json.v99+json",
        "APPLICATION/VND.KAFKA.V7+JSON; charset=utf-8",
    ],
)
def test_content_type_unsupported_version_is_415(header: str) -> None:
    with pytest.raises(BridgeError) as info:
        parse_content_type(header)
    assert info.value.kind is ErrorKind.UNSUPPORTED_MEDIA_TYPE
    assert "v1, v2" in info.value.message
    assert "version" in info.value.message


@pytest.mark.parametrize(
    "header",
    [
        "text/plain",
        "text/json",
        "application/xml",
        "application/x-www-form-urlencoded",
        "application/vnd.kafka.v2+xml",
        "application/vnd.kafka.v2",
        "application/vnd.kafka",
        "application/vnd.kafka.binary.v2",
        "application/vnd.kafka.v9.v2+json",  # a format may not look like a version
        "application/vnd.kafka.binary.json.v2+json",
        "application/vnd.kafka..v2+json",
        "application/vnd.kafka.-bin.v2+json",
        "application/vnd.kafka.bin%ary.v2+json",
        "application/vnd.kafka.v02+json",
        "application/vnd.kafka.vx+json.extra",
        "application/vnd.kafkaa+json",
        "application/*",
        "*/*",
        "*",
        "application/",
        "/json",
        "garbage",
        "application/json/extra",
        "application/json, text/plain",
        "json",
    ],
)
def test_content_type_unsupported_type_is_415(header: str) -> None:
    with pytest.raises(BridgeError) as info:
        parse_content_type(header)
    assert info.value.kind is ErrorKind.UNSUPPORTED_MEDIA_TYPE
    # The message names what was sent and what would have been accepted.
    assert header.strip().lower() in info.value.message
    assert "application/vnd.kafka" in info.value.message
    assert "application/json" in info.value.message


def test_content_type_error_message_truncates_huge_header() -> None:
    header = "text/" + "x" * 10_000
    with pytest.raises(BridgeError) as info:
        parse_content_type(header)
    assert info.value.kind is ErrorKind.UNSUPPORTED_MEDIA_TYPE
    assert len(info.value.message) < 1_000


def test_content_type_errors_are_not_cached_as_results() -> None:
    # lru_cache must not turn a raised error into a cached success on the second call.
    for _ in range(2):
        with pytest.raises(BridgeError):
            parse_content_type("text/plain")


def test_content_type_repeated_calls_are_equal() -> None:
    first = parse_content_type("application/vnd.kafka.json.v2+json")
    second = parse_content_type("application/vnd.kafka.json.v2+json")
    assert first == second == BodyType(2, "json")


# --- Accept: defaults and the reference examples ------------------------------------------


@pytest.mark.parametrize("accept", [None, "", "   ", "*/*", "*", ",", " , ,"])
def test_accept_missing_blank_or_any_gives_latest_kafka(accept: str | None) -> None:
    assert negotiate_response(accept) == ResponseType(2, "application/vnd.kafka.v2+json")


def test_reference_v1_example_prefers_versioned_kafka() -> None:
    accept = "application/vnd.kafka.v1+json, application/vnd.kafka+json, application/json"
    assert negotiate_response(accept) == ResponseType(1, "application/vnd.kafka.v1+json")


def test_reference_weighted_example() -> None:
    accept = "application/vnd.kafka.v1+json; q=0.9, application/json; q=0.5"
    assert negotiate_response(accept) == ResponseType(1, "application/vnd.kafka.v1+json")


def test_reference_weighted_example_v2() -> None:
    accept = "application/vnd.kafka.v2+json; q=0.9, application/json; q=0.5"
    assert negotiate_response(accept) == ResponseType(2, "application/vnd.kafka.v2+json")


def test_accept_application_json_only() -> None:
    assert negotiate_response("application/json") == ResponseType(2, "application/json")


def test_accept_application_json_with_pinned_version() -> None:
    assert negotiate_response("application/json", version=1) == ResponseType(1, "application/json")


def test_accept_application_json_with_record_format_stays_plain_json() -> None:
    result = negotiate_response("application/json", record_format="binary")
    assert result == ResponseType(2, "application/json")


# --- Accept: versions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("application/vnd.kafka.v1+json", ResponseType(1, "application/vnd.kafka.v1+json")),
        ("application/vnd.kafka.v2+json", ResponseType(2, "application/vnd.kafka.v2+json")),
        ("application/vnd.kafka+json", ResponseType(2, "application/vnd.kafka.v2+json")),
        ("application/*", ResponseType(2, "application/vnd.kafka.v2+json")),
        # Unsupported versions never match; the supported one in the list wins.
        (
            "application/vnd.kafka.v3+json, application/vnd.kafka.v1+json;q=0.1",
            ResponseType(1, "application/vnd.kafka.v1+json"),
        ),
        (
            "application/vnd.kafka.v3+json, application/json;q=0.2",
            ResponseType(2, "application/json"),
        ),
        # Equal q: the more specific (versioned) range beats a less specific one.
        (
            "application/vnd.kafka+json, application/vnd.kafka.v1+json",
            ResponseType(1, "application/vnd.kafka.v1+json"),
        ),
        # Both versions listed explicitly at equal q: server preference (latest) wins.
        (
            "application/vnd.kafka.v1+json, application/vnd.kafka.v2+json",
            ResponseType(2, "application/vnd.kafka.v2+json"),
        ),
        # Higher q wins over server preference.
        (
            "application/vnd.kafka.v1+json;q=1, application/vnd.kafka.v2+json;q=0.5",
            ResponseType(1, "application/vnd.kafka.v1+json"),
        ),
    ],
)
def test_accept_version_selection(accept: str, expected: ResponseType) -> None:
    assert negotiate_response(accept) == expected


def test_pinned_version_with_other_versioned_accept_is_406() -> None:
    with pytest.raises(BridgeError) as info:
        negotiate_response("application/vnd.kafka.v2+json", version=1)
    assert info.value.kind is ErrorKind.NOT_ACCEPTABLE
    assert "application/vnd.kafka.v2+json" in info.value.message
    # The message says what could have been produced.
    assert "application/vnd.kafka.v1+json" in info.value.message
    assert "application/json" in info.value.message


@pytest.mark.parametrize(
    ("accept", "version", "expected"),
    [
        (None, 1, ResponseType(1, "application/vnd.kafka.v1+json")),
        (None, 2, ResponseType(2, "application/vnd.kafka.v2+json")),
        ("application/vnd.kafka+json", 1, ResponseType(1, "application/vnd.kafka.v1+json")),
        ("application/vnd.kafka.v1+json", 1, ResponseType(1, "application/vnd.kafka.v1+json")),
        ("*/*", 1, ResponseType(1, "application/vnd.kafka.v1+json")),
        (
            "application/vnd.kafka.v2+json, application/json;q=0.3",
            1,
            ResponseType(1, "application/json"),
        ),
        (
            "application/vnd.kafka.v2+json, */*;q=0.1",
            1,
            ResponseType(1, "application/vnd.kafka.v1+json"),
        ),
    ],
)
def test_accept_with_pinned_version(
    accept: str | None, version: int, expected: ResponseType
) -> None:
    assert negotiate_response(accept, version=version) == expected


def test_pinned_unsupported_version_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="version"):
        negotiate_response(None, version=3)


# --- Accept: q-values and exclusion ---------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        # q=0 on the most specific range excludes v1 even though */* would match it.
        (
            "application/vnd.kafka.v1+json;q=0, */*",
            ResponseType(2, "application/vnd.kafka.v2+json"),
        ),
        (
            "application/vnd.kafka.v2+json;q=0, */*",
            ResponseType(1, "application/vnd.kafka.v1+json"),
        ),
        (
            "application/vnd.kafka.v2+json;q=0, application/vnd.kafka.v1+json;q=0, */*",
            ResponseType(2, "application/json"),
        ),
        ("application/vnd.kafka+json;q=0, */*", ResponseType(2, "application/json")),
        ("application/json;q=0, application/*", ResponseType(2, "application/vnd.kafka.v2+json")),
        (
            "application/json, application/vnd.kafka+json;q=0.5",
            ResponseType(2, "application/json"),
        ),
        (
            "application/json;q=0.4, application/vnd.kafka+json;q=0.5",
            ResponseType(2, "application/vnd.kafka.v2+json"),
        ),
        # A less specific range's q does not override a more specific one.
        (
            "application/vnd.kafka.v2+json;q=0.1, application/*;q=0.9",
            ResponseType(1, "application/vnd.kafka.v1+json"),
        ),
        (
            "application/vnd.kafka.v2+json;q=0.1, application/vnd.kafka+json;q=0.9",
            ResponseType(1, "application/vnd.kafka.v1+json"),
        ),
        # `Q` is accepted as well as `q` (case-insensitive header).
        (
            "application/vnd.kafka.v2+json;Q=0, */*",
            ResponseType(1, "application/vnd.kafka.v1+json"),
        ),
        (
            "application/vnd.kafka.v2+json ; q=0 , */*",
            ResponseType(1, "application/vnd.kafka.v1+json"),
        ),
        ("*/*;q=0.5", ResponseType(2, "application/vnd.kafka.v2+json")),
        ("*/*;q=0.001", ResponseType(2, "application/vnd.kafka.v2+json")),
    ],
)
def test_accept_q_values(accept: str, expected: ResponseType) -> None:
    assert negotiate_response(accept) == expected


@pytest.mark.parametrize(
    "accept",
    [
        "*/*;q=0",
        "application/*;q=0",
        "application/vnd.kafka+json;q=0, application/json;q=0",
        "application/vnd.kafka.v1+json;q=0, application/vnd.kafka.v2+json;q=0.0, "
        "application/json;q=0.000",
        "application/vnd.kafka+json;q=0, application/json;q=0, application/*",
    ],
)
def test_accept_everything_excluded_is_406(accept: str) -> None:
    with pytest.raises(BridgeError) as info:
        negotiate_response(accept)
    assert info.value.kind is ErrorKind.NOT_ACCEPTABLE


def test_invalid_q_values_fall_back_to_one() -> None:
    # Decision: python-mimeparse treats an unparsable or out-of-range q as 1; we keep that.
    assert negotiate_response("application/json;q=abc, application/vnd.kafka+json;q=0.5") == (
        ResponseType(2, "application/json")
    )
    assert negotiate_response("application/json;q=7, application/vnd.kafka+json;q=0.5") == (
        ResponseType(2, "application/json")
    )


def test_duplicate_equally_specific_ranges_take_highest_q() -> None:
    accept = "application/json;q=0, application/json;q=0.8, application/vnd.kafka+json;q=0.5"
    assert negotiate_response(accept) == ResponseType(2, "application/json")


# --- Accept: wildcards and other types ----------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("text/html, */*;q=0.1", ResponseType(2, "application/vnd.kafka.v2+json")),
        ("text/*, application/*;q=0.2", ResponseType(2, "application/vnd.kafka.v2+json")),
        ("application/xml, application/json;q=0.5", ResponseType(2, "application/json")),
        # A Kafka type with an unknown serialization never matches.
        (
            "application/vnd.kafka.v2+xml, application/json;q=0.2",
            ResponseType(2, "application/json"),
        ),
        (
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            ResponseType(2, "application/vnd.kafka.v2+json"),
        ),
        ("application/json;charset=utf-8", ResponseType(2, "application/json")),
        (
            "application/vnd.kafka.v1+json;charset=utf-8",
            ResponseType(1, "application/vnd.kafka.v1+json"),
        ),
        # Parameters with quoted semicolons are not mistaken for ranges or q.
        (
            'application/vnd.kafka.v1+json;foo="a;q=0"',
            ResponseType(1, "application/vnd.kafka.v1+json"),
        ),
    ],
)
def test_accept_wildcards_and_other_types(accept: str, expected: ResponseType) -> None:
    assert negotiate_response(accept) == expected


@pytest.mark.parametrize(
    "accept",
    [
        "text/plain",
        "text/*",
        "application/xml",
        "application/vnd.kafka.v3+json",
        "application/vnd.kafka.binary.v9+json",
        "application/vnd.kafka.v2+xml",
        "image/png, text/html;q=0.9",
        "application/octet-stream",
    ],
)
def test_accept_nothing_producible_is_406(accept: str) -> None:
    with pytest.raises(BridgeError) as info:
        negotiate_response(accept)
    assert info.value.kind is ErrorKind.NOT_ACCEPTABLE
    assert accept.lower() in info.value.message
    assert "application/vnd.kafka.v2+json" in info.value.message
    assert "application/vnd.kafka.v1+json" in info.value.message


@pytest.mark.parametrize(
    "accept",
    [
        "garbage",
        "application",
        "application/json, garbage",
        "a/b/c",
        "/json",
        "application/",
        "*/json",
        "*/json;q=0.5, application/json",
    ],
)
def test_accept_malformed_is_406(accept: str) -> None:
    with pytest.raises(BridgeError) as info:
        negotiate_response(accept)
    assert info.value.kind is ErrorKind.NOT_ACCEPTABLE
    assert "Accept" in info.value.message


def test_accept_error_message_truncates_huge_header() -> None:
    accept = "text/" + "x" * 10_000
    with pytest.raises(BridgeError) as info:
        negotiate_response(accept)
    assert len(info.value.message) < 1_000


# --- Accept: case-insensitivity ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("APPLICATION/VND.KAFKA.V1+JSON", ResponseType(1, "application/vnd.kafka.v1+json")),
        ("Application/Json", ResponseType(2, "application/json")),
        ("APPLICATION/*", ResponseType(2, "application/vnd.kafka.v2+json")),
        (
            "Application/Vnd.Kafka.Binary.V1+Json",
            ResponseType(1, "application/vnd.kafka.v1+json"),
        ),
    ],
)
def test_accept_is_case_insensitive(accept: str, expected: ResponseType) -> None:
    assert negotiate_response(accept) == expected


# --- Accept: record formats -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "record_format", "expected"),
    [
        (None, "binary", ResponseType(2, "application/vnd.kafka.binary.v2+json")),
        (
            "application/vnd.kafka.v2+json",
            "json",
            ResponseType(2, "application/vnd.kafka.json.v2+json"),
        ),
        (
            "application/vnd.kafka.json.v2+json",
            "json",
            ResponseType(2, "application/vnd.kafka.json.v2+json"),
        ),
        (
            "application/vnd.kafka.binary.v1+json",
            "binary",
            ResponseType(1, "application/vnd.kafka.binary.v1+json"),
        ),
        (
            "application/vnd.kafka.avro+json",
            "avro",
            ResponseType(2, "application/vnd.kafka.avro.v2+json"),
        ),
        (
            "application/vnd.kafka+json",
            "avro",
            ResponseType(2, "application/vnd.kafka.avro.v2+json"),
        ),
        # Formats are opaque plugin names.
        (
            "application/vnd.kafka.proto_buf.v2+json",
            "proto_buf",
            ResponseType(2, "application/vnd.kafka.proto_buf.v2+json"),
        ),
        # Case-insensitive on both sides.
        (
            "application/vnd.kafka.JSON.v2+json",
            "Json",
            ResponseType(2, "application/vnd.kafka.json.v2+json"),
        ),
        # The wrong format does not match; the next acceptable range wins.
        (
            "application/vnd.kafka.binary.v2+json, application/json;q=0.5",
            "json",
            ResponseType(2, "application/json"),
        ),
        (
            "application/vnd.kafka.binary.v2+json, application/vnd.kafka.json.v1+json;q=0.5",
            "json",
            ResponseType(1, "application/vnd.kafka.json.v1+json"),
        ),
        # A format-specific exclusion is more specific than a format-less range.
        (
            "application/vnd.kafka.json.v2+json;q=0, application/vnd.kafka+json",
            "json",
            ResponseType(1, "application/vnd.kafka.json.v1+json"),
        ),
        (
            "application/vnd.kafka.json+json;q=0, application/vnd.kafka+json, "
            "application/json;q=0.1",
            "json",
            ResponseType(2, "application/json"),
        ),
        (
            "application/vnd.kafka.binary.v2+json;q=0, application/vnd.kafka.v2+json",
            "json",
            ResponseType(2, "application/vnd.kafka.json.v2+json"),
        ),
    ],
)
def test_accept_with_record_format(
    accept: str | None, record_format: str, expected: ResponseType
) -> None:
    assert negotiate_response(accept, record_format=record_format) == expected


@pytest.mark.parametrize(
    "accept",
    [
        "application/vnd.kafka.binary.v2+json",
        "application/vnd.kafka.binary+json",
        "application/vnd.kafka.avro.v2+json, application/vnd.kafka.binary.v1+json",
    ],
)
def test_accept_wrong_record_format_is_406(accept: str) -> None:
    with pytest.raises(BridgeError) as info:
        negotiate_response(accept, record_format="json")
    assert info.value.kind is ErrorKind.NOT_ACCEPTABLE
    assert "application/vnd.kafka.json.v2+json" in info.value.message


def test_record_format_with_pinned_version() -> None:
    assert negotiate_response(None, version=1, record_format="binary") == ResponseType(
        1, "application/vnd.kafka.binary.v1+json"
    )
    with pytest.raises(BridgeError) as info:
        negotiate_response(
            "application/vnd.kafka.binary.v2+json", version=1, record_format="binary"
        )
    assert info.value.kind is ErrorKind.NOT_ACCEPTABLE


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        # Without records, a format in Accept is irrelevant and ignored.
        ("application/vnd.kafka.binary.v2+json", ResponseType(2, "application/vnd.kafka.v2+json")),
        ("application/vnd.kafka.avro.v1+json", ResponseType(1, "application/vnd.kafka.v1+json")),
        ("application/vnd.kafka.json+json", ResponseType(2, "application/vnd.kafka.v2+json")),
        # Some format of v2 is acceptable, so v2 is acceptable.
        (
            "application/vnd.kafka.binary.v2+json;q=0, application/vnd.kafka.json.v2+json",
            ResponseType(2, "application/vnd.kafka.v2+json"),
        ),
    ],
)
def test_accept_format_ignored_without_record_format(accept: str, expected: ResponseType) -> None:
    assert negotiate_response(accept) == expected


@pytest.mark.parametrize("record_format", ["", "bad format", "-x", "a.b"])
def test_invalid_record_format_is_a_programming_error(record_format: str) -> None:
    with pytest.raises(ValueError, match="format"):
        negotiate_response(None, record_format=record_format)


def test_results_are_stable_across_cached_calls() -> None:
    accept = "application/vnd.kafka.v1+json;q=0.9, application/json;q=0.5"
    results = {negotiate_response(accept) for _ in range(3)}
    assert results == {ResponseType(1, "application/vnd.kafka.v1+json")}
    # The cache key includes the keyword arguments, not just the header.
    assert negotiate_response(accept, version=2) == ResponseType(2, "application/json")

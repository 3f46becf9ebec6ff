"""`bridge.body_checks` against jsonschema: the same verdict on every produce body.

The quick check lets a body skip jsonschema, so it must never pass one that the schema
refuses; and it is only worth having if it passes every body that the schema accepts. Both
are checked on hypothesis-generated bodies that are mostly valid and often wrong in one
place (a boundary number, a boolean for an integer, a missing or extra field), for each of
the four produce bodies. The field names come from the schema documents themselves, so a
field added there is generated here too.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

import bridge_schemas
from bridge import validation
from bridge.body_checks import FAST_CHECKS
from bridge.errors import BridgeError, ErrorKind
from bridge.validation import validate

BODIES = sorted(FAST_CHECKS)
EXAMPLES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: The wiring of the quick check into `validate`: fewer examples do.
WIRING = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_INT32_MAX = 2**31 - 1
_INT64_MAX = 2**63 - 1


@cache
def _validator(document: str, body: str) -> Draft202012Validator:
    schema = {**bridge_schemas.load(document), "$ref": f"#/$defs/{body}"}
    return Draft202012Validator(schema)


def _record_fields(document: str, body: str) -> list[str]:
    defs = bridge_schemas.load(document)["$defs"]
    record_ref: str = defs[body]["properties"]["records"]["items"]["$ref"]
    return sorted(defs[record_ref.rsplit("/", 1)[1]]["properties"])


def _body_fields(document: str, body: str) -> list[str]:
    return sorted(bridge_schemas.load(document)["$defs"][body]["properties"])


_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
_any_json = st.recursive(
    _json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


#: Per field: a value that is right, and values that are nearly right (or plainly wrong).
_RANGES = {
    "partition": _INT32_MAX,
    "timestamp": _INT64_MAX,
    "key_schema_id": _INT32_MAX,
    "value_schema_id": _INT32_MAX,
}
_WRONG_SCALARS = [True, False, "1", "", [], {}, [1], {"a": 1}]


def _good(name: str) -> st.SearchStrategy[Any]:
    """A value the schema accepts for field `name` (null where it may be null)."""
    if name in _RANGES:
        in_range = st.integers(0, _RANGES[name])
        return st.none() | in_range | in_range.map(float)
    if name == "headers":
        header = st.fixed_dictionaries({"key": st.text(max_size=5), "value": st.text(max_size=8)})
        return st.none() | st.lists(header, max_size=3)
    if name.endswith("_schema"):
        return st.none() | st.text(max_size=8)
    return _any_json  # key and value, or a field these tests do not know yet


_non_strings = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
_HEADER = st.fixed_dictionaries({"key": st.text(max_size=2), "value": st.text(max_size=2)})
#: A header one step from right: a field missing, one too many, a value that is no string.
_SPOILT_HEADER = (
    st.sampled_from(
        [{"key": "k"}, {"value": "dg=="}, {"key": "k", "value": "dg==", "extra": "x"}, {}]
    )
    | st.fixed_dictionaries({"key": _non_strings, "value": st.text(max_size=2)})
    | (st.fixed_dictionaries({"key": st.text(max_size=2), "value": _non_strings}))
)


def _bad(name: str) -> st.SearchStrategy[Any]:
    """A value that is nearly right for field `name`, or plainly wrong."""
    if name in _RANGES:
        high = _RANGES[name]
        edges = [-1, high + 1, -1.0, float(high + 1), 0.5, high - 0.5, 2.0**63, 1e300, -0.0]
        return st.sampled_from(edges + _WRONG_SCALARS) | st.integers()
    if name == "headers":  # see also _SPOILT_HEADER
        return st.sampled_from(["", {}, 1, True, {"key": "k", "value": "dg=="}])
    if name.endswith("_schema"):
        return _non_strings.filter(lambda v: v is not None) | st.sampled_from([[], {}])
    return st.nothing()  # any JSON fits


_STRANGERS = ["extra", "Value", "partitions", "Records", "records_", ""]


def _object(fields: list[str], required: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {required: _good(required)},
        optional={name: _good(name) for name in fields if name != required},
    )


def _spoilable(fields: list[str]) -> list[str]:
    return [name for name in fields if name in _RANGES or name.endswith(("_schema", "headers"))]


@st.composite
def _one_slip(draw: st.DrawFn, document: str, body: str) -> Any:
    """A valid body with one thing wrong: a field's value, a header, a missing `value` or
    `records`, a stranger field, a record that is no object, records that are no list."""
    record_fields = _record_fields(document, body)
    body_fields = _body_fields(document, body)
    candidate = draw(
        st.fixed_dictionaries(
            {"records": st.lists(_object(record_fields, "value"), min_size=1, max_size=4)},
            optional={n: _good(n) for n in body_fields if n != "records"},
        )
    )
    records: list[Any] = candidate["records"]
    record = records[draw(st.integers(0, len(records) - 1))]
    slips = ["records", "record", "body stranger", "record stranger", "no records", "no value"]
    slips += [f"body {name}" for name in _spoilable(body_fields)]
    slips += [f"record {name}" for name in _spoilable(record_fields)]
    if "headers" in record_fields:
        slips.append("header")
    slip = draw(st.sampled_from(slips))
    if slip == "records":
        candidate["records"] = draw(st.sampled_from([None, {}, record, "x", 1]))
    elif slip == "record":
        records[records.index(record)] = draw(_json_scalars | st.lists(_json_scalars, max_size=2))
    elif slip.endswith("stranger"):
        target = candidate if slip.startswith("body") else record
        target[draw(st.sampled_from(_STRANGERS))] = draw(_json_scalars)
    elif slip == "no records":
        del candidate["records"]
    elif slip == "no value":
        del record["value"]
    elif slip == "header":
        headers: list[Any] = draw(st.lists(_HEADER, max_size=3))
        headers.insert(draw(st.integers(0, len(headers))), draw(_SPOILT_HEADER))
        record["headers"] = headers
    else:
        where, name = slip.split(" ")
        (candidate if where == "body" else record)[name] = draw(_bad(name))
    return candidate


@st.composite
def _wild(draw: st.DrawFn, document: str, body: str) -> Any:
    """Bodies wrong anywhere and in many places at once, or any JSON at all."""
    record_fields = _record_fields(document, body)
    loose = {name: _good(name) | _bad(name) for name in record_fields + _STRANGERS[:2]}
    records = (
        st.lists(st.fixed_dictionaries({}, optional=loose) | _json_scalars, max_size=4) | _any_json
    )
    loose_body = {name: _good(name) | _bad(name) for name in _body_fields(document, body)}
    loose_body["records"] = records
    return draw(st.fixed_dictionaries({}, optional=loose_body) | _any_json)


def _bodies(document: str, body: str) -> st.SearchStrategy[Any]:
    """Produce bodies: valid (any JSON as keys and values), one slip away, or wild."""
    valid = st.fixed_dictionaries(
        {"records": st.lists(_object(_record_fields(document, body), "value"), max_size=4)},
        optional={n: _good(n) for n in _body_fields(document, body) if n != "records"},
    )
    return valid | _one_slip(document, body) | _wild(document, body)


@pytest.mark.parametrize(("document", "body"), BODIES, ids=["/".join(b) for b in BODIES])
@EXAMPLES
@given(data=st.data())
def test_quick_check_and_jsonschema_agree(document: str, body: str, data: st.DataObject) -> None:
    candidate = data.draw(_bodies(document, body))
    valid = _validator(document, body).is_valid(candidate)
    event("valid" if valid else "invalid")
    assert FAST_CHECKS[(document, body)](candidate) is valid


@pytest.mark.parametrize(("document", "body"), BODIES, ids=["/".join(b) for b in BODIES])
@WIRING
@given(data=st.data())
def test_validate_raises_exactly_when_jsonschema_refuses(
    document: str, body: str, data: st.DataObject
) -> None:
    candidate = data.draw(_bodies(document, body))
    if _validator(document, body).is_valid(candidate):
        validate(candidate, document, body, "The record list")
        return
    with pytest.raises(BridgeError) as caught:
        validate(candidate, document, body, "The record list")
    assert caught.value.kind is ErrorKind.INVALID_BODY
    assert caught.value.details  # jsonschema's explanation, as before the quick check


@pytest.mark.parametrize(
    ("document", "body", "candidate", "valid"),
    [
        ("v2", "produce_to_topic", {"records": [{"value": None}]}, True),
        ("v2", "produce_to_topic", {"records": []}, True),  # the pipeline refuses it later
        ("v2", "produce_to_topic", {"records": [{"key": "k"}]}, False),
        ("v2", "produce_to_topic", {"records": [{"value": 1, "partition": 2.0}]}, True),
        ("v2", "produce_to_topic", {"records": [{"value": 1, "partition": True}]}, False),
        ("v2", "produce_to_topic", {"records": [{"value": 1, "partition": 0.5}]}, False),
        ("v2", "produce_to_topic", {"records": [{"value": 1, "partition": _INT32_MAX + 1}]}, False),
        ("v2", "produce_to_topic", {"records": [{"value": 1, "timestamp": _INT64_MAX}]}, True),
        ("v2", "produce_to_topic", {"records": [{"value": 1, "timestamp": 2.0**63}]}, False),
        ("v2", "produce_to_topic", {"records": [{"value": 1, "timestamp": -1}]}, False),
        ("v2", "produce_to_topic", {"records": [{"value": 1, "headers": None}]}, True),
        ("v2", "produce_to_topic", {"records": [{"value": 1, "headers": [{"key": "a"}]}]}, False),
        (
            "v2",
            "produce_to_topic",
            {"records": [{"value": 1, "headers": [{"key": "a", "value": 1}]}]},
            False,
        ),
        (
            "v2",
            "produce_to_topic",
            {"records": [{"value": 1, "headers": [{"key": 1, "value": ""}]}]},
            False,
        ),
        (
            "v2",
            "produce_to_partition",
            {"records": [{"value": 1, "headers": [{"key": "", "value": ""}]}]},
            True,
        ),
        ("v2", "produce_to_partition", {"records": [{"value": 1, "partition": 0}]}, False),
        ("v1", "produce_to_topic", {"records": [{"value": 1, "timestamp": 0}]}, False),
        ("v1", "produce_to_topic", {"records": [{"value": 1}], "value_schema_id": 3.0}, True),
        ("v1", "produce_to_topic", {"records": [{"value": 1}], "value_schema_id": -1}, False),
        ("v1", "produce_to_topic", {"records": [{"value": 1}], "key_schema": 1}, False),
        ("v1", "produce_to_topic", {"records": {"value": 1}}, False),
        ("v1", "produce_to_topic", [{"value": 1}], False),
    ],
)
def test_chosen_cases(document: str, body: str, candidate: Any, valid: bool) -> None:
    assert _validator(document, body).is_valid(candidate) is valid
    assert FAST_CHECKS[(document, body)](candidate) is valid


def test_a_good_produce_body_never_reaches_jsonschema(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_jsonschema(document: str, body: str) -> None:
        raise AssertionError(f"jsonschema ran for a good {document} {body} body")

    monkeypatch.setattr(validation, "_validator", no_jsonschema)
    records = [{"key": f"k{i}", "value": {"n": i}, "partition": i % 3} for i in range(100)]
    validate({"records": records, "value_schema_id": None}, "v2", "produce_to_topic", "It")
    validate({"records": records}, "v1", "produce_to_topic", "It")
    with pytest.raises(AssertionError, match="jsonschema ran"):
        validate({"records": [{"key": "k"}]}, "v2", "produce_to_topic", "It")

"""`bridge_codecs.jsontext`: which documents take the exact parser, and that no integer loses
digits whichever parser reads it."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge_codecs import jsontext

#: The check it replaced, the reference for what counts as a long digit run.
_REFERENCE = re.compile(rb"[0-9]{19}")


@pytest.mark.parametrize(
    ("document", "long_run"),
    [
        (b"123456789012345678", False),  # 18 digits: always within 64 bits
        (b"1234567890123456789", True),  # 19 digits: may be beyond
        (b"-123456789012345678", False),
        (b"-9223372036854775808", True),
        (b"[1.2345678901234567890]", True),  # a long fraction: slower path, same float
        (b"1e" + b"9" * 19, True),  # a long exponent
        (b"123456789012345678e5", False),  # a float whatever its digits
        (b'{"s": "12345678901234567890"}', True),  # digits in a string: only costs speed
        (b'{"s": "123456789 0123456789"}', False),
        (b"\xd9\xa1" * 19, False),  # Arabic-Indic digits are not JSON number digits
        (b"", False),
    ],
)
def test_long_digit_runs_are_found_exactly_like_the_regular_expression(
    document: bytes, long_run: bool
) -> None:
    assert jsontext.has_long_digit_run(document) is long_run
    assert (_REFERENCE.search(document) is not None) is long_run


@given(st.binary(max_size=64) | st.text(alphabet='0123456789 -.e"x', max_size=64).map(str.encode))
def test_long_digit_run_check_agrees_with_the_regular_expression(document: bytes) -> None:
    assert jsontext.has_long_digit_run(document) is (_REFERENCE.search(document) is not None)


@pytest.mark.parametrize(
    "number",
    [
        2**63 - 1,
        -(2**63),
        2**63,
        2**64 - 1,
        2**64,
        -(2**63) - 1,
        10**18,
        -(10**18),
        123456789012345678,
        12345678901234567890123456789,
    ],
)
def test_integers_keep_every_digit(number: int) -> None:
    parsed = jsontext.loads(f'{{"n": [{number}], "s": "x"}}'.encode())
    assert parsed == {"n": [number], "s": "x"}
    assert type(parsed["n"][0]) is int


@given(st.integers(min_value=-(10**40), max_value=10**40))
def test_any_integer_round_trips(number: int) -> None:
    assert jsontext.loads(jsontext.dumps({"n": number})) == {"n": number}


@pytest.mark.parametrize("document", [b"NaN", b"[Infinity]", b"{", b"[1234567890123456789"])
def test_both_parsers_reject_what_is_not_json(document: bytes) -> None:
    with pytest.raises(json.JSONDecodeError):  # orjson's error is a subclass
        jsontext.loads(document)


def test_the_exact_parser_rejects_nan_too() -> None:
    with pytest.raises(ValueError, match="NaN is not a JSON value"):
        jsontext.loads(b"[12345678901234567890, NaN]")

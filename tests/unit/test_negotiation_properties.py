"""Properties of bridge.negotiation under arbitrary header text (hypothesis).

Whatever a client sends as Content-Type or Accept, the parser answers or raises a
`BridgeError` of the right kind (415 or 406), never anything else. Where a property holds
for every well-formed input it is checked as such: a generated media type parses to its
parts in any case and spacing, q=0 is never chosen, the highest q wins, and a range the
client ranked lower or a q=0 wildcard does not change the answer.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.errors import BridgeError, ErrorKind
from bridge.negotiation import (
    SUPPORTED_VERSIONS,
    BodyType,
    ResponseType,
    negotiate_response,
    parse_content_type,
    requested_format,
)

#: Pure functions of short strings: many examples still take well under a second each test.
FUZZ = settings(max_examples=400, deadline=None)
ROUND_TRIP = settings(max_examples=200, deadline=None)

_FORMAT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
#: Error messages echo the header, capped; a huge header must not come back whole.
_MAX_MESSAGE = 1_000

#: Pieces of real media types, so that generated text is often nearly valid, which is where
#: parsers break; random characters in between cover the rest.
_PIECES = [
    "application",
    "/",
    "vnd.kafka",
    ".",
    ".v1",
    ".v2",
    ".v0",
    ".v99",
    "binary",
    "json",
    "avro",
    "+json",
    "json",
    "*",
    "*/*",
    ";",
    ",",
    "q=",
    "q=0",
    "q=1",
    "q=0.5",
    "q=-1",
    "q=nan",
    "q=1e400",
    "charset=utf-8",
    '"',
    "=",
    " ",
    "\t",
    "octet-stream",
    "text/plain",
]
header_like = st.lists(st.one_of(st.sampled_from(_PIECES), st.text(max_size=3)), max_size=12).map(
    "".join
)
any_header = st.one_of(st.text(max_size=200), header_like)

versions = st.sampled_from(sorted(SUPPORTED_VERSIONS))
formats = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,11}", fullmatch=True).filter(
    # A format may not be spelt like a version (`v9`): the grammar reads that as one.
    lambda name: re.fullmatch(r"v[0-9]+", name) is None
)
#: q-values as clients write them: up to three decimals.
q_values = st.integers(min_value=0, max_value=1000).map(lambda n: n / 1000)


def _q(value: float) -> str:
    return f"{value:.3f}"


def _attempt(parse: Callable[[str], object], header: str) -> object:
    """What parsing gives: the result, or the BridgeError raised (anything else raises)."""
    try:
        return parse(header)
    except BridgeError as error:
        return error


def _outcome(parse: Callable[[str], object], header: str) -> object:
    """What parsing gives: the result, or the kind of the error raised."""
    result = _attempt(parse, header)
    return result.kind if isinstance(result, BridgeError) else result


def _random_case(text: str, mask: list[bool]) -> str:
    return "".join(c.upper() if up else c for c, up in zip(text, mask, strict=False))


@st.composite
def kafka_media_types(draw: st.DrawFn) -> tuple[str, int | None, str | None]:
    """A well-formed `application/vnd.kafka[.fmt][.vN]+json`, oddly cased and spaced, with
    parameters; and the version and format it names."""
    fmt = draw(st.none() | formats)
    version = draw(st.none() | versions)
    subtype = "vnd.kafka" + (f".{fmt}" if fmt else "") + (f".v{version}" if version else "")
    subtype += "+json"
    text = f"application/{subtype}"
    text = _random_case(text, draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text))))
    params = draw(st.lists(st.sampled_from(["charset=utf-8", 'charset="UTF-8"', "q=0.5"])))
    space = draw(st.sampled_from(["", " ", "  ", "\t"]))
    header = space + text + "".join(f";{space}{p}" for p in params) + space
    return header, version, fmt


# --- nothing but BridgeError ---------------------------------------------------------------


@FUZZ
@given(any_header)
def test_content_type_answers_or_raises_415(header: str) -> None:
    parsed = _attempt(parse_content_type, header)
    if isinstance(parsed, BridgeError):
        assert parsed.kind is ErrorKind.UNSUPPORTED_MEDIA_TYPE
        assert len(parsed.message) < _MAX_MESSAGE
        return
    assert parsed is None or isinstance(parsed, BodyType)
    if parsed is None:
        assert not header.strip()
        return
    assert parsed.version is None or parsed.version in SUPPORTED_VERSIONS
    assert parsed.embedded_format is None or _FORMAT_NAME.fullmatch(parsed.embedded_format)


@FUZZ
@given(
    any_header,
    st.none() | versions,
    st.none() | st.sampled_from(["binary", "json", "avro", "my_fmt-2"]),
)
def test_accept_answers_or_raises_406(
    accept: str, version: int | None, record_format: str | None
) -> None:
    chosen = _attempt(
        lambda text: negotiate_response(text, version=version, record_format=record_format),
        accept,
    )
    if isinstance(chosen, BridgeError):
        assert chosen.kind is ErrorKind.NOT_ACCEPTABLE
        assert len(chosen.message) < _MAX_MESSAGE
        return
    assert isinstance(chosen, ResponseType)
    assert chosen.version in SUPPORTED_VERSIONS
    if version is not None:
        assert chosen.version == version
    prefix = f"application/vnd.kafka.{record_format}" if record_format else "application/vnd.kafka"
    assert chosen.content_type in (f"{prefix}.v{chosen.version}+json", "application/json")


@FUZZ
@given(any_header)
def test_requested_format_answers_or_raises_406(accept: str) -> None:
    fmt = _attempt(requested_format, accept)
    if isinstance(fmt, BridgeError):
        assert fmt.kind is ErrorKind.NOT_ACCEPTABLE
        return
    assert fmt is None or (isinstance(fmt, str) and _FORMAT_NAME.fullmatch(fmt))


@FUZZ
@given(any_header)
def test_same_header_same_outcome(header: str) -> None:
    """The parse caches must never turn an error into a result, or change a result."""
    for parse in (parse_content_type, negotiate_response, requested_format):
        assert _outcome(parse, header) == _outcome(parse, header)


# --- round trips ---------------------------------------------------------------------------


@ROUND_TRIP
@given(kafka_media_types())
def test_generated_content_type_parses_to_its_parts(
    generated: tuple[str, int | None, str | None],
) -> None:
    header, version, fmt = generated
    assert parse_content_type(header) == BodyType(version, fmt)


@ROUND_TRIP
@given(kafka_media_types())
def test_content_type_ignores_case_and_surrounding_space(
    generated: tuple[str, int | None, str | None],
) -> None:
    header, _, _ = generated
    assert parse_content_type(header.upper()) == parse_content_type(f" {header.lower()}\t")


@ROUND_TRIP
@given(formats, st.none() | versions, st.integers(min_value=0, max_value=10**6))
def test_unsupported_version_is_415(fmt: str, pinned: int | None, version: int) -> None:
    if version in SUPPORTED_VERSIONS:
        version += max(SUPPORTED_VERSIONS)
    content_type = f"application/vnd.kafka.{fmt}.v{version}+json"
    assert _outcome(parse_content_type, content_type) is ErrorKind.UNSUPPORTED_MEDIA_TYPE
    # In Accept, an unsupported version matches nothing, whatever version is pinned: 406.
    accept = f"application/vnd.kafka.v{version}+json"
    chosen = _outcome(lambda text: negotiate_response(text, version=pinned), accept)
    assert chosen is ErrorKind.NOT_ACCEPTABLE


# --- q-values ------------------------------------------------------------------------------

#: The exact types a response without records can have, each matched by itself alone.
_EXACT = {
    "application/vnd.kafka.v2+json": ResponseType(2, "application/vnd.kafka.v2+json"),
    "application/vnd.kafka.v1+json": ResponseType(1, "application/vnd.kafka.v1+json"),
    "application/json": ResponseType(2, "application/json"),
}


@st.composite
def weighted_exact_accepts(draw: st.DrawFn) -> list[tuple[str, float]]:
    types = draw(st.lists(st.sampled_from(sorted(_EXACT)), min_size=1, max_size=3, unique=True))
    return [(t, draw(q_values)) for t in types]


def _accept(ranges: list[tuple[str, float]]) -> str:
    return ", ".join(f"{t}; q={_q(q)}" for t, q in ranges)


@ROUND_TRIP
@given(weighted_exact_accepts())
def test_highest_q_wins_and_q0_is_never_chosen(ranges: list[tuple[str, float]]) -> None:
    best = max(q for _, q in ranges)
    chosen = _outcome(negotiate_response, _accept(ranges))
    if chosen is ErrorKind.NOT_ACCEPTABLE:
        assert best == 0
        return
    weights = {t: q for t, q in ranges}
    chosen_type = next(t for t, response in _EXACT.items() if response == chosen)
    assert weights.get(chosen_type, 0) == best > 0


@ROUND_TRIP
@given(weighted_exact_accepts().filter(lambda r: len({q for _, q in r}) == len(r)), st.randoms())
def test_order_of_distinctly_weighted_ranges_does_not_matter(
    ranges: list[tuple[str, float]], rng: random.Random
) -> None:
    shuffled = list(ranges)
    rng.shuffle(shuffled)
    assert _outcome(negotiate_response, _accept(ranges)) == _outcome(
        negotiate_response, _accept(shuffled)
    )


@ROUND_TRIP
@given(weighted_exact_accepts())
def test_a_q0_wildcard_changes_nothing(ranges: list[tuple[str, float]]) -> None:
    """`*/*;q=0` only excludes what no more specific range names, which was excluded
    already."""
    accept = _accept(ranges)
    assert _outcome(negotiate_response, accept) == _outcome(
        negotiate_response, accept + ", */*;q=0"
    )


@ROUND_TRIP
@given(st.lists(st.tuples(formats, q_values), min_size=1, max_size=5), st.none() | versions)
def test_requested_format_is_the_highest_q_named(
    named: list[tuple[str, float]], version: int | None
) -> None:
    ver = f".v{version}" if version else ""
    accept = ", ".join(f"application/vnd.kafka.{fmt}{ver}+json;q={_q(q)}" for fmt, q in named)
    fmt = requested_format(accept)
    positive = [(f, q) for f, q in named if q > 0]
    if not positive:
        assert fmt is None
        return
    best = max(q for _, q in positive)
    # Ties go to the client's own order: the first of the best.
    assert fmt == next(f for f, q in positive if q == best)


@ROUND_TRIP
@given(formats, q_values)
def test_requested_format_ignores_ranges_without_a_format(fmt: str, q: float) -> None:
    accept = (
        "application/json, */*, application/vnd.kafka.v2+json, "
        f"application/vnd.kafka.{fmt}.v2+json;q={_q(q)}"
    )
    assert requested_format(accept) == (fmt if q > 0 else None)

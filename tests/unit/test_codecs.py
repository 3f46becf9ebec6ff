"""The built-in codecs against the codec contract, and the registry that finds codecs."""

from __future__ import annotations

import asyncio
import base64
import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from bridge.codec_registry import CodecRegistry, UnknownFormatError
from bridge_codecs.base import (
    Codec,
    CodecContext,
    CodecError,
    JSONValue,
    SerializeTarget,
    SimpleCodec,
)
from bridge_codecs.binary import BinaryCodec
from bridge_codecs.json import JsonCodec
from bridge_codecs.testing import CodecContract
from bridge_codecs.text import TextCodec
from tests.plugin_fixture import (
    BROKEN_ENTRY_POINT,
    BROKEN_FORMAT,
    PLUGIN_DISTRIBUTION,
    PLUGIN_FORMAT,
    PLUGIN_MODULE,
    write_distribution,
    write_plugin_distribution,
)

UNICODE = "héllo wörld ✓ 日本 😀"
BUILTINS = {"binary": BinaryCodec, "json": JsonCodec, "text": TextCodec}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --- the built-in codecs against the contract ---------------------------------------------


class TestBinaryContract(CodecContract):
    codec_name = "binary"
    codec_factory = BinaryCodec
    valid_values: ClassVar[tuple[JSONValue, ...]] = (
        "",
        "a2V5",
        "YQ==",
        "YWI=",
        b64(UNICODE.encode()),
        b64(bytes(range(256))),
    )
    invalid_values: ClassVar[tuple[JSONValue, ...]] = (
        "abc",  # incomplete group
        "a2V5=",  # surplus padding
        "a2V5====",
        "YQ",  # missing padding
        "a2V5\n",
        "a2 V5",
        "a-_5",  # URL-safe alphabet
        "=a2V",
        "a2==a2V5",  # data after padding
        "é===",
        UNICODE,
        0,
        1.5,
        True,
        None,
        [],
        ["a2V5"],
        {"a": "a2V5"},
    )
    # Any bytes are a binary payload.
    invalid_payloads: ClassVar[tuple[bytes, ...]] = ()


class TestJsonContract(CodecContract):
    codec_name = "json"
    codec_factory = JsonCodec
    valid_values: ClassVar[tuple[JSONValue, ...]] = (
        "",
        "plain",
        UNICODE,
        'quote " backslash \\ control \n\t\u0000',
        0,
        -1,
        1.5,
        -2.5e-300,
        2**63 - 1,
        -(2**63),
        2**64 - 1,
        2**64 + 1,
        -(2**63) - 1,
        10**40,
        -(10**40),
        True,
        False,
        None,
        [],
        {},
        [1, "two", 3.0, None, True],
        {"a": {"b": [{"c": None}, []]}, UNICODE: {"": 0}},
        {"big": [12345678901234567890123, "12345678901234567890"]},
    )
    invalid_values: ClassVar[tuple[JSONValue, ...]] = (
        "\ud800",  # a lone surrogate has no UTF-8 form
        {"k": ["\udfff"]},
        [10**40, "\ud800"],
    )
    invalid_payloads: ClassVar[tuple[bytes, ...]] = (
        b"",
        b" ",
        b"{",
        b"[1,]",
        b"{'a': 1}",
        b"NaN",
        b"Infinity",
        b"[12345678901234567890, NaN]",
        b"1e400",
        b"\xff",
        b'"\xff"',
        b"1 2",
    )


class TestTextContract(CodecContract):
    codec_name = "text"
    codec_factory = TextCodec
    valid_values: ClassVar[tuple[JSONValue, ...]] = (
        "",
        "hello",
        UNICODE,
        "line\nbreak\ttab \u0000 nul",
        "a2V5",
    )
    invalid_values: ClassVar[tuple[JSONValue, ...]] = (
        0,
        -1.5,
        2**70,
        True,
        None,
        [],
        ["a"],
        {},
        {"a": "b"},
        "\ud800",
    )
    invalid_payloads: ClassVar[tuple[bytes, ...]] = (
        b"\xff",
        b"\xc3\x28",
        b"caf\xe9",  # Latin-1
        b"\xed\xa0\x80",  # an encoded surrogate
    )


# --- what the contract does not pin down ----------------------------------------------------

CONTEXT = CodecContext()


def test_binary_rejects_with_an_actionable_message() -> None:
    for value in ("abc", "a2V5=", 42, {"a": 1}):
        with pytest.raises(CodecError, match="expected a base64-encoded string"):
            BinaryCodec(CONTEXT).encode(value)


def test_binary_decodes_to_padded_base64_without_newline() -> None:
    codec = BinaryCodec(CONTEXT)
    assert codec.decode(b"key") == "a2V5"
    assert codec.decode(b"a") == "YQ=="
    assert codec.decode(b"") == ""
    assert codec.encode("a2V5") == b"key"


def test_text_rejects_non_strings_with_an_actionable_message() -> None:
    with pytest.raises(CodecError, match="expected a string, got a JSON number"):
        TextCodec(CONTEXT).encode(42)
    with pytest.raises(CodecError, match="expected a string, got a JSON object"):
        TextCodec(CONTEXT).encode({"a": "b"})


def test_json_encodes_compactly_and_null_as_null() -> None:
    codec = JsonCodec(CONTEXT)
    assert codec.encode(None) == b"null"
    assert codec.encode({"a": [1, "é"]}) == '{"a":[1,"é"]}'.encode()
    # The standard-library fallback for big integers writes the same compact UTF-8 form.
    assert codec.encode({"a": [2**64, "é"]}) == '{"a":[18446744073709551616,"é"]}'.encode()


def test_json_keeps_big_integers_exact() -> None:
    codec = JsonCodec(CONTEXT)
    decoded = codec.decode(b"[18446744073709551617, -9223372036854775809, 1.5]")
    assert decoded == [18446744073709551617, -9223372036854775809, 1.5]
    assert all(isinstance(n, int) for n in decoded[:2])


def test_json_rejects_with_an_actionable_message() -> None:
    with pytest.raises(CodecError, match=r"^not valid JSON: "):
        JsonCodec(CONTEXT).decode(b"{")


# --- the contract catches codecs that break it -----------------------------------------------


class _LaxTextCodec(SimpleCodec):
    name = "lax"

    def encode(self, value: JSONValue) -> bytes:
        return str(value).encode()

    def decode(self, payload: bytes) -> JSONValue:
        return payload.decode()


class _WrongErrorCodec(_LaxTextCodec):
    def encode(self, value: JSONValue) -> bytes:
        if not isinstance(value, str):
            raise TypeError("not a string")
        return value.encode()


class _LossyJsonCodec(_LaxTextCodec):
    def decode(self, payload: bytes) -> JSONValue:
        # A JSON true read back as 1: equal in Python, a different JSON value.
        return 1 if payload == b"True" else payload.decode()


class _BytearrayCodec(_LaxTextCodec):
    def encode(self, value: JSONValue) -> bytes:
        return bytearray(str(value).encode())  # type: ignore[return-value]  # the bug under test


class _SchemaClaimingCodec(_LaxTextCodec):
    requires_schema = True


class _TwoPassCodec(_LaxTextCodec):
    async def deserializer(self, payloads: Iterable[bytes]) -> Callable[[bytes], JSONValue]:
        count = sum(1 for _ in payloads)
        seen = list(payloads)
        return lambda payload: payload.decode() if len(seen) == count else None


class _SyncCloseCodec(_LaxTextCodec):
    def close(self) -> None:  # type: ignore[override]
        pass


@pytest.mark.parametrize(
    ("factory", "values", "invalid", "method", "failure"),
    [
        (_WrongErrorCodec, ("a",), (1,), "test_rejects_invalid_values", AssertionError),
        (_LaxTextCodec, ("a",), (1,), "test_rejects_invalid_values", AssertionError),
        (_LossyJsonCodec, (True,), (), "test_round_trip", AssertionError),
        (_BytearrayCodec, ("a",), (), "test_encode_returns_bytes", AssertionError),
        (
            _SchemaClaimingCodec,
            ("a",),
            (),
            "test_requires_schema_matches_serializer",
            AssertionError,
        ),
        (_TwoPassCodec, ("a",), (), "test_round_trip", AssertionError),
        (_SyncCloseCodec, ("a",), (), "test_close_is_idempotent", TypeError),
        (_LaxTextCodec, (), (), "test_round_trip", AssertionError),
    ],
)
def test_contract_fails_codecs_that_break_it(
    factory: type[Codec],
    values: tuple[JSONValue, ...],
    invalid: tuple[JSONValue, ...],
    method: str,
    failure: type[Exception],
) -> None:
    class Contract(CodecContract):
        codec_name = "lax"
        codec_factory = factory
        valid_values = values
        invalid_values = invalid

    with pytest.raises(failure):
        getattr(Contract(), method)()


# --- the registry -------------------------------------------------------------------------

LOGGER = "bridge.codec_registry"

_EXTRAS_MODULE = "kb_test_extras"
_EXTRAS_SOURCE = '''\
"""Codecs that misbehave in the ways the registry must survive."""

import asyncio

from bridge_codecs.base import JSONValue, SimpleCodec


class _Text(SimpleCodec):
    def encode(self, value: JSONValue) -> bytes:
        return str(value).encode()

    def decode(self, payload: bytes) -> JSONValue:
        return payload.decode()


class EchoCodec(_Text):
    pass


class ExplodingCodec(_Text):
    def __init__(self, context):
        raise RuntimeError("boom")


class CancelledCodec(_Text):
    def __init__(self, context):
        raise asyncio.CancelledError()


class InterruptedCodec(_Text):
    def __init__(self, context):
        raise KeyboardInterrupt()


class SelfNamedCodec(_Text):
    name = "other-name"


class FailingCloseCodec(_Text):
    async def close(self) -> None:
        raise RuntimeError("cannot close")


def not_a_codec():
    return None
'''


@pytest.fixture(autouse=True)
def _forget_test_modules() -> Iterator[None]:
    # Every test writes its own copy of the throwaway packages; drop the imported ones so the
    # next test imports its own rather than reusing a module (and a class name) from this one.
    yield
    for module in [m for m in sys.modules if m.startswith("kb_test_")]:
        del sys.modules[module]


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "plugin"
    write_plugin_distribution(root)
    monkeypatch.syspath_prepend(root)
    return root


def add_extras(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entry_points: dict[str, str], dist: str
) -> None:
    """Put a distribution whose entry points name classes of the misbehaving module first."""
    root = tmp_path / dist
    values = {name: f"{_EXTRAS_MODULE}:{attr}" for name, attr in entry_points.items()}
    write_distribution(root, dist, values, modules={_EXTRAS_MODULE: _EXTRAS_SOURCE})
    monkeypatch.syspath_prepend(root)


def errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno >= logging.ERROR]


def test_lists_the_builtin_formats() -> None:
    names = CodecRegistry(CONTEXT).names()
    assert set(BUILTINS) <= set(names)
    assert names == sorted(names)


def test_serves_builtin_codecs_named_after_their_entry_points() -> None:
    registry = CodecRegistry(CONTEXT)
    for name, cls in BUILTINS.items():
        codec = registry.get(name)
        assert type(codec) is cls
        assert codec.name == name
        assert codec.context is CONTEXT


def test_caches_one_instance_per_format() -> None:
    registry = CodecRegistry(CONTEXT)
    assert registry.get("json") is registry.get("json")
    assert registry.get("json") is not CodecRegistry(CONTEXT).get("json")


def test_unknown_format_names_the_known_ones() -> None:
    registry = CodecRegistry(CONTEXT)
    with pytest.raises(UnknownFormatError) as raised:
        registry.get("foo")
    err = raised.value
    assert isinstance(err, LookupError)
    assert err.name == "foo"
    assert err.known == registry.names()
    assert str(err) == (
        f"embedded format 'foo' is not available; known formats: {', '.join(registry.names())}"
    )


def test_a_group_without_entry_points_knows_no_formats() -> None:
    registry = CodecRegistry(CONTEXT, group="kafka_bridge.no_such_group")
    assert registry.names() == []
    with pytest.raises(UnknownFormatError, match=r"known formats: none$"):
        registry.get("json")


def test_third_party_plugin_is_loaded_only_when_asked_for(plugin: Path) -> None:
    registry = CodecRegistry(CONTEXT)
    assert {PLUGIN_FORMAT, BROKEN_FORMAT, *BUILTINS} <= set(registry.names())
    assert PLUGIN_MODULE not in sys.modules

    codec = registry.get(PLUGIN_FORMAT)

    assert PLUGIN_MODULE in sys.modules
    assert type(codec).__module__ == PLUGIN_MODULE
    assert codec.name == PLUGIN_FORMAT  # set by the registry: the class left it empty
    serializer = asyncio.run(codec.serializer(SerializeTarget(topic="t", is_key=False)))
    assert serializer.encode("hi there") == b"HI THERE"


def test_broken_plugin_is_logged_once_and_then_unknown(
    plugin: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    registry = CodecRegistry(CONTEXT)

    for _ in range(2):
        with pytest.raises(UnknownFormatError) as raised:
            registry.get(BROKEN_FORMAT)
        assert BROKEN_FORMAT not in raised.value.known
        assert PLUGIN_FORMAT in raised.value.known
        # What the client is told, every time: the format is registered but its plugin broke.
        assert str(raised.value).startswith(
            f"embedded format '{BROKEN_FORMAT}' is not available: its plugin "
            f"({BROKEN_ENTRY_POINT} from distribution {PLUGIN_DISTRIBUTION}) could not be "
            "imported; the bridge's log says why; known formats: "
        )

    [record] = errors(caplog)
    message = record.getMessage()
    assert BROKEN_ENTRY_POINT in message
    assert PLUGIN_DISTRIBUTION in message
    assert "kb_test_plugin_missing" in message
    assert "reinstall" in message
    assert BROKEN_FORMAT not in registry.names()
    for name, cls in BUILTINS.items():
        assert type(registry.get(name)) is cls
    assert registry.get(PLUGIN_FORMAT).name == PLUGIN_FORMAT


def test_load_all_loads_every_plugin_in_isolation(
    plugin: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    registry = CodecRegistry(CONTEXT)

    registry.load_all()

    assert PLUGIN_MODULE in sys.modules
    assert BROKEN_FORMAT not in registry.names()
    assert {PLUGIN_FORMAT, *BUILTINS} <= set(registry.names())
    assert len(errors(caplog)) == 1


def test_construction_failures_are_isolated_and_logged_with_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    add_extras(
        tmp_path,
        monkeypatch,
        {"exploding": "ExplodingCodec", "notcodec": "not_a_codec", "echo": "EchoCodec"},
        "kb-test-extras",
    )
    registry = CodecRegistry(CONTEXT)

    registry.load_all()

    assert {"exploding", "notcodec"}.isdisjoint(registry.names())
    assert "echo" in registry.names()
    with pytest.raises(UnknownFormatError, match=r"ExplodingCodec from distribution .* failed"):
        registry.get("exploding")
    by_format = {r.args[0]: r for r in errors(caplog) if isinstance(r.args, tuple)}
    assert set(by_format) == {"exploding", "notcodec"}
    assert by_format["exploding"].exc_info is not None
    assert "kb-test-extras" in by_format["exploding"].getMessage()
    assert "not a subclass of bridge_codecs.base.Codec" in caplog.text


def test_missing_dependency_gets_an_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "needs-dep"
    source = "import kb_test_not_installed_dep\n"
    write_distribution(
        root,
        "kb-test-needs-dep",
        {
            "withextra": "kb_test_needs_dep:Codec [speedups,avro]",
            "noextra": "kb_test_needs_dep:Codec",
        },
        modules={"kb_test_needs_dep": source},
    )
    monkeypatch.syspath_prepend(root)
    registry = CodecRegistry(CONTEXT)

    registry.load_all()

    messages = {r.args[0]: r.getMessage() for r in errors(caplog) if isinstance(r.args, tuple)}
    assert "pip install 'kb-test-needs-dep[speedups,avro]'" in messages["withextra"]
    hint = "install the package that provides the module 'kb_test_not_installed_dep'"
    assert hint in messages["noextra"]
    assert {"withextra", "noextra"}.isdisjoint(registry.names())


@pytest.mark.parametrize(
    ("attr", "exception"),
    [("CancelledCodec", asyncio.CancelledError), ("InterruptedCodec", KeyboardInterrupt)],
)
def test_cancellation_and_interrupts_are_not_swallowed(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    attr: str,
    exception: type[BaseException],
) -> None:
    add_extras(tmp_path, monkeypatch, {"stopper": attr}, "kb-test-extras")
    registry = CodecRegistry(CONTEXT)

    with pytest.raises(exception):
        registry.get("stopper")

    assert errors(caplog) == []
    assert "stopper" in registry.names()  # not marked broken: nothing went wrong with it


def test_duplicate_names_keep_builtins_then_sys_path_order(
    plugin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Prepended after the plugin, so first on sys.path; still, the built-in `text` wins.
    add_extras(tmp_path, monkeypatch, {"text": "EchoCodec", "shout": "EchoCodec"}, "kb-test-dup")
    registry = CodecRegistry(CONTEXT)

    assert type(registry.get("text")) is TextCodec
    assert type(registry.get("shout")).__name__ == "EchoCodec"
    warnings = {
        r.args[0]: r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and isinstance(r.args, tuple)
    }
    assert "kafka-bridge" in warnings["text"]
    assert "kb-test-dup" in warnings["text"]
    assert "kb-test-dup" in warnings["shout"]
    assert PLUGIN_DISTRIBUTION in warnings["shout"]


def test_names_that_cannot_appear_in_a_media_type_are_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    bad = {"Upper": "EchoCodec", "dotted.name": "EchoCodec", "v3": "EchoCodec"}
    add_extras(tmp_path, monkeypatch, {**bad, "ok_name-2": "EchoCodec"}, "kb-test-names")
    registry = CodecRegistry(CONTEXT)

    assert set(bad).isdisjoint(registry.names())
    assert "ok_name-2" in registry.names()
    assert {r.args[0] for r in errors(caplog) if isinstance(r.args, tuple)} == set(bad)
    assert _EXTRAS_MODULE not in sys.modules


def test_a_class_named_otherwise_is_served_under_its_entry_point_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    add_extras(tmp_path, monkeypatch, {"alias": "SelfNamedCodec"}, "kb-test-alias")
    registry = CodecRegistry(CONTEXT)

    assert registry.get("alias").name == "other-name"
    assert "calls itself 'other-name'" in caplog.text


async def test_close_closes_every_codec_once_despite_failures(
    plugin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    add_extras(tmp_path, monkeypatch, {"failclose": "FailingCloseCodec"}, "kb-test-close")
    registry = CodecRegistry(CONTEXT)
    registry.get("failclose")
    shout = registry.get(PLUGIN_FORMAT)
    registry.get("json")
    assert vars(shout)["closed"] is False

    await registry.close()

    assert vars(shout)["closed"] is True
    assert "closing the codec of embedded format 'failclose' failed" in caplog.text
    caplog.clear()
    await registry.close()
    assert caplog.records == []

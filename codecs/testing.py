"""The contract every codec meets, as a pytest base class that codec test classes subclass.

A codec author writes::

    from bridge_codecs.testing import CodecContract

    class TestShoutCodec(CodecContract):
        codec_name = "shout"
        codec_factory = ShoutCodec
        valid_values = ("HELLO", "")
        invalid_values = (42, None)
        invalid_payloads = (b"\\xff",)

The tests are plain synchronous methods that run their coroutines with `asyncio.run`, so they
need no asyncio plugin and work whatever the author's pytest configuration is.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import ClassVar, TypeVar

import pytest

from bridge.codec_registry import FORMAT_NAME
from bridge_codecs.base import (
    Codec,
    CodecContext,
    CodecError,
    JSONValue,
    SchemaSpec,
    Serializer,
    SerializeTarget,
)

__all__ = ["CodecContract"]

_T = TypeVar("_T")


class CodecContract:
    """Tests any codec must pass. Not collected itself: subclass it as `Test...`."""

    #: The format's name: the codec class's `name` and its entry-point name.
    codec_name: ClassVar[str] = ""
    #: Makes the codec from a CodecContext; usually the codec class itself. (Typed `...`
    #: because mypy would take a `Callable[[CodecContext], Codec]` class attribute for a
    #: method and drop its first parameter.)
    codec_factory: ClassVar[Callable[..., Codec]]
    #: JSON values that must come back equal (same JSON types too) after encode and decode.
    valid_values: ClassVar[Sequence[JSONValue]] = ()
    #: JSON values the serializer must reject with CodecError.
    invalid_values: ClassVar[Sequence[JSONValue]] = ()
    #: Payloads the deserializer must reject with CodecError.
    invalid_payloads: ClassVar[Sequence[bytes]] = ()
    #: The schema produce requests name, for codecs that take one; required if the codec
    #: sets `requires_schema`.
    schema: ClassVar[SchemaSpec | None] = None
    #: The topic the serializer is prepared for (schema registry codecs derive subjects).
    topic: ClassVar[str] = "codec-contract"

    def make_context(self) -> CodecContext:
        """The context codecs are created with; override to pass settings (registry URLs)."""
        return CodecContext()

    def make_codec(self) -> Codec:
        """Create the codec under test; called inside the running event loop."""
        # Through the class: a plain function stored on it would otherwise bind `self`.
        return type(self).codec_factory(self.make_context())

    def run_with_codec(self, test: Callable[[Codec], Awaitable[_T]]) -> _T:
        """Run `test` on a fresh codec in a new event loop and close the codec afterwards."""

        async def body() -> _T:
            codec = self.make_codec()
            try:
                return await test(codec)
            finally:
                await codec.close()

        return asyncio.run(body())

    def target(self, *, is_key: bool) -> SerializeTarget:
        schema = self.schema if self.schema is not None else SchemaSpec()
        return SerializeTarget(topic=self.topic, is_key=is_key, schema=schema)

    def test_name_is_set(self) -> None:
        assert FORMAT_NAME.fullmatch(self.codec_name), (
            f"codec_name {self.codec_name!r} cannot appear in a media type: use lower-case "
            "letters, digits, '-' and '_'"
        )

        async def check(codec: Codec) -> None:
            assert isinstance(codec, Codec)
            assert type(codec).name == self.codec_name, (
                f"the codec class's name is {type(codec).name!r}, not {self.codec_name!r}"
            )

        self.run_with_codec(check)

    def test_encode_returns_bytes(self) -> None:
        assert self.valid_values, "declare some valid_values"

        async def check(codec: Codec) -> None:
            for is_key in (False, True):
                serializer = await codec.serializer(self.target(is_key=is_key))
                assert isinstance(serializer, Serializer)
                assert serializer.schema_id is None or isinstance(serializer.schema_id, int)
                for value in self.valid_values:
                    payload = serializer.encode(value)
                    assert isinstance(payload, bytes), (
                        f"encoding {value!r} gave {type(payload).__name__}, not bytes"
                    )

        self.run_with_codec(check)

    def test_round_trip(self) -> None:
        assert self.valid_values, "declare some valid_values"

        async def check(codec: Codec) -> None:
            for is_key in (False, True):
                serializer = await codec.serializer(self.target(is_key=is_key))
                payloads = [serializer.encode(value) for value in self.valid_values]
                # The interface promises only an iterable: a codec must not read it twice.
                decode = await codec.deserializer(iter(payloads))
                for value, payload in zip(self.valid_values, payloads, strict=True):
                    decoded = decode(payload)
                    assert _same_json(decoded, value), (
                        f"{value!r} came back as {decoded!r} (is_key={is_key})"
                    )

        self.run_with_codec(check)

    def test_rejects_invalid_values(self) -> None:
        if not self.invalid_values:
            pytest.skip("no invalid_values declared")

        async def check(codec: Codec) -> list[str]:
            serializer = await codec.serializer(self.target(is_key=False))
            return [
                problem
                for value in self.invalid_values
                if (problem := _rejection_problem(f"encoding {value!r}", serializer.encode, value))
            ]

        problems = self.run_with_codec(check)
        assert not problems, "\n".join(problems)

    def test_rejects_invalid_payloads(self) -> None:
        if not self.invalid_payloads:
            pytest.skip("no invalid_payloads declared")

        async def check(codec: Codec) -> list[str]:
            problems = []
            for payload in self.invalid_payloads:
                what = f"decoding {payload!r}"
                try:
                    # Preparing may already fail, e.g. on a schema id the registry lacks.
                    decode = await codec.deserializer([payload])
                except CodecError as exc:
                    if not str(exc):
                        problems.append(f"{what} raised CodecError without a message")
                    continue
                except Exception as exc:
                    problems.append(f"{what} raised {type(exc).__name__} ({exc}), not CodecError")
                    continue
                if problem := _rejection_problem(what, decode, payload):
                    problems.append(problem)
            return problems

        problems = self.run_with_codec(check)
        assert not problems, "\n".join(problems)

    def test_requires_schema_matches_serializer(self) -> None:
        async def check(codec: Codec) -> None:
            schemaless = SerializeTarget(topic=self.topic, is_key=False)
            if type(codec).requires_schema:
                assert self.schema is not None, "a codec that requires a schema needs `schema`"
                with pytest.raises(CodecError):
                    await codec.serializer(schemaless)
            else:
                assert isinstance(await codec.serializer(schemaless), Serializer)

        self.run_with_codec(check)

    def test_close_is_idempotent(self) -> None:
        async def check(codec: Codec) -> None:
            await codec.close()
            await codec.close()

        # run_with_codec closes it a third time.
        self.run_with_codec(check)


def _rejection_problem(what: str, function: Callable[[_T], object], argument: _T) -> str | None:
    """Why calling `function(argument)` did not fail with a CodecError, or None if it did."""
    try:
        result = function(argument)
    except CodecError as exc:
        return None if str(exc) else f"{what} raised CodecError without a message"
    except Exception as exc:
        return f"{what} raised {type(exc).__name__} ({exc}), not CodecError"
    return f"{what} succeeded with {result!r}; expected CodecError"


def _same_json(decoded: object, expected: JSONValue) -> bool:
    # `==` alone takes True for 1 and 1 for 1.0; the JSON texts tell those apart.
    try:
        decoded_text = json.dumps(decoded, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return decoded == expected and decoded_text == json.dumps(expected, sort_keys=True)

"""The JSON log format: one parseable object per line, with the structured extras and the
exception text; `configure_logging` choosing the format and level; times rendered as the
standard formatter renders them; and access lines written in batches without losing any or
changing their order."""

from __future__ import annotations

import asyncio
import io
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from bridge import access_log
from bridge.log_format import (
    FLUSH_INTERVAL_S,
    MAX_PENDING_LINES,
    BatchingStreamHandler,
    JsonFormatter,
    TextFormatter,
    configure_logging,
    sole_batching_handler,
)
from bridge.settings import Settings


def json_line(logger: str, level: int, message: str, *args: Any, **kwargs: Any) -> Any:
    """What the JSON formatter writes for one logging call, parsed."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    target = logging.getLogger(logger)
    target.addHandler(handler)
    target.propagate = False
    previous_level = target.level
    target.setLevel(logging.DEBUG)
    try:
        target.log(level, message, *args, **kwargs)
    finally:
        target.removeHandler(handler)
        target.propagate = True
        target.setLevel(previous_level)
    text = stream.getvalue()
    assert text.endswith("\n")
    assert text.count("\n") == 1, text
    return orjson.loads(text)


def test_a_line_is_one_json_object_with_time_level_logger_and_message() -> None:
    entry = json_line("bridge.test", logging.WARNING, "%d records to %s", 3, "orders")
    assert entry.keys() == {"time", "level", "logger", "message"}
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "bridge.test"
    assert entry["message"] == "3 records to orders"
    assert entry["time"].endswith("Z")
    parsed = datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))
    assert parsed.utcoffset() is not None
    assert parsed.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_extras_become_keys_of_their_own() -> None:
    extra = {"request_id": "abc-1", "status": 201, "duration_ms": 1.5, "remote": None}
    entry = json_line("bridge.access", logging.INFO, "a line", extra=extra)
    assert {key: entry[key] for key in extra} == extra
    assert entry["message"] == "a line"


def test_values_json_cannot_hold_are_written_as_their_repr() -> None:
    class Opaque:
        def __repr__(self) -> str:
            return "<opaque>"

    entry = json_line("bridge.test", logging.INFO, "odd", extra={"thing": Opaque(), "huge": 2**70})
    assert entry["thing"] == "<opaque>"
    assert entry["huge"] == repr(2**70)


def test_exceptions_and_line_breaks_stay_inside_the_one_line() -> None:
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        entry = json_line("bridge.test", logging.ERROR, "failed:\nsecond line", exc_info=True)
    assert entry["message"] == "failed:\nsecond line"
    assert entry["exception"].startswith("Traceback (most recent call last):")
    assert "ValueError: bad\nvalue" in entry["exception"]


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root, access = logging.getLogger(), logging.getLogger("bridge.access")
    handlers, level, access_level = root.handlers[:], root.level, access.level
    flags = (logging.logProcesses, logging.logThreads, logging.logMultiprocessing)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    access.setLevel(access_level)
    logging.logProcesses, logging.logThreads, logging.logMultiprocessing = flags


@pytest.mark.usefixtures("restored_logging")
def test_configure_logging_picks_format_and_level(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(Settings(log_format="json", log_level="WARNING"))
    logging.getLogger("bridge.test").info("dropped: below the level")
    logging.getLogger("bridge.test").warning("kept")
    # The access log is switched by `log.access` alone, not by the level.
    logging.getLogger("bridge.access").info("an access line", extra={"status": 200})
    sys.stderr.flush()
    lines = [orjson.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(line["logger"], line["message"]) for line in lines] == [
        ("bridge.test", "kept"),
        ("bridge.access", "an access line"),
    ]
    assert lines[1]["status"] == 200

    configure_logging(Settings(log_format="text", log_level="INFO", access_log=False))
    logging.getLogger("bridge.test").info("plain %s", "text")
    err = capsys.readouterr().err
    assert err.rstrip().endswith(" INFO bridge.test plain text")


def test_times_match_the_standard_rendering() -> None:
    record = logging.LogRecord("bridge.test", logging.INFO, __file__, 1, "m", (), None)
    for created in (1_700_000_000.0, 1_700_000_000.999, 1_700_000_001.5, 1_700_000_000.25):
        record.created = created
        record.msecs = int((created - int(created)) * 1000) + 0.0
        assert TextFormatter().formatTime(record) == logging.Formatter().formatTime(record)
        expected = (
            datetime.fromtimestamp(int(created), UTC).strftime("%Y-%m-%dT%H:%M:%S")
            + f".{int(record.msecs):03d}Z"
        )
        assert orjson.loads(JsonFormatter().format(record))["time"] == expected


class Writes(io.StringIO):
    """A stream that remembers each write."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


def batching_handler() -> tuple[BatchingStreamHandler, Writes]:
    stream = Writes()
    handler = BatchingStreamHandler({"bridge.access"}, stream)
    handler.setFormatter(TextFormatter("%(name)s %(message)s"))
    return handler, stream


def line(handler: logging.Handler, logger: str, message: str) -> None:
    handler.handle(logging.LogRecord(logger, logging.INFO, __file__, 1, message, (), None))


async def test_access_lines_on_the_loop_are_written_together_soon_after() -> None:
    handler, stream = batching_handler()
    for n in range(3):
        line(handler, "bridge.access", f"request {n}")
    assert stream.getvalue() == ""
    await asyncio.sleep(FLUSH_INTERVAL_S * 2)
    assert stream.writes == ["".join(f"bridge.access request {n}\n" for n in range(3))]
    # A full batch does not wait for the timer.
    for _ in range(MAX_PENDING_LINES):
        line(handler, "bridge.access", "x")
    assert stream.getvalue().count("\n") == 3 + MAX_PENDING_LINES


async def test_other_lines_and_flush_write_what_waits_first() -> None:
    handler, stream = batching_handler()
    line(handler, "bridge.access", "first")
    line(handler, "bridge.kafka", "second")
    assert stream.getvalue() == "bridge.access first\nbridge.kafka second\n"
    line(handler, "bridge.access", "third")
    handler.flush()  # what logging.shutdown does at exit
    assert stream.getvalue().endswith("bridge.access third\n")


def test_access_lines_off_the_loop_are_written_at_once() -> None:
    handler, stream = batching_handler()
    line(handler, "bridge.access", "from start-up or a thread")
    assert stream.getvalue() == "bridge.access from start-up or a thread\n"


@pytest.mark.parametrize("formatter", [TextFormatter(), JsonFormatter()], ids=["text", "json"])
async def test_lines_logged_directly_read_as_the_record_built_ones(
    formatter: logging.Formatter,
) -> None:
    def handler() -> tuple[BatchingStreamHandler, Writes]:
        stream = Writes()
        built = BatchingStreamHandler({"bridge.access"}, stream)
        built.setFormatter(formatter)
        return built, stream

    logger = logging.getLogger("bridge.access")
    fields = {"request_id": "ab-1", "status": 200, "duration_ms": 1.25, "path": "/topics/t"}
    by_record, by_record_stream = handler()
    record = logging.LogRecord(logger.name, logging.INFO, __file__, 1, "m %s", ("x",), None)
    record.__dict__.update(fields)
    by_record.handle(record)
    by_record.flush()
    directly, directly_stream = handler()
    assert directly.log_directly(logger, "m x", fields)
    directly.flush()
    expected, written = by_record_stream.getvalue(), directly_stream.getvalue()
    # The times differ by the moments the two lines were made: compare everything else.
    if isinstance(formatter, JsonFormatter):
        expected_entry, written_entry = orjson.loads(expected), orjson.loads(written)
        assert written_entry.pop("time")[:10] == expected_entry.pop("time")[:10]
        assert written_entry == expected_entry
        assert list(written_entry) == list(expected_entry)
    else:
        assert written.split(" ", 2)[2] == expected.split(" ", 2)[2]
        assert written.split(" ")[0] == expected.split(" ")[0]


def test_lines_go_through_logging_where_the_bridge_handler_is_not_alone() -> None:
    logger = logging.Logger("bridge.access")  # outside the logging tree: no root handlers
    stream = Writes()
    handler = BatchingStreamHandler({"bridge.access"}, stream)
    handler.setFormatter(TextFormatter())
    logger.addHandler(handler)
    assert sole_batching_handler(logger) is handler
    logger.addHandler(logging.NullHandler())  # say, a test capturing the log
    assert sole_batching_handler(logger) is None
    custom = BatchingStreamHandler({"bridge.access"}, stream)
    custom.setFormatter(TextFormatter("%(name)s %(message)s"))
    assert not custom.log_directly(logger, "m", {})
    assert stream.getvalue() == ""


@pytest.mark.usefixtures("restored_logging")
@pytest.mark.parametrize("log_format", ["json", "text"])
async def test_access_lines_written_directly_carry_their_fields(
    log_format: str, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(Settings(log_format=log_format))

    async def produce(request: web.Request) -> web.Response:
        return web.Response()

    app = web.Application()
    app.router.add_post("/topics/{topic}", produce)
    request = make_mocked_request("POST", "/topics/t%0Aforged", app=app)
    request._match_info = await app.router.resolve(request)
    request[access_log.REQUEST_ID] = "ab-1"
    assert sole_batching_handler(access_log.access_logger) is not None  # the direct path
    access_log._log(request, 201, 1.25, None)
    logging.getLogger().handlers[0].flush()
    line = capsys.readouterr().err
    route = "route=/topics/{topic}"
    message = f'{request.remote} "POST /topics/t%0Aforged" 201 1.2ms {route} id=ab-1'
    if log_format == "text":
        assert line.endswith(f" INFO bridge.access {message}\n")
        return
    entry = orjson.loads(line)
    assert entry["message"] == message
    assert {key: entry[key] for key in ("request_id", "method", "route", "path", "status")} == {
        "request_id": "ab-1",
        "method": "POST",
        "route": "/topics/{topic}",
        "path": "/topics/t%0Aforged",
        "status": 201,
    }
    assert entry["duration_ms"] == 1.25

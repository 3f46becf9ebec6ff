"""How the process logs: the text or JSON line format (`log.format`), the level, and the
access logger, configured once at start-up by `configure_logging`.

A JSON line is one object: `time` (ISO 8601, UTC), `level`, `logger`, `message`, then every
structured extra the call passed (`extra={...}`), and `exception` when there is one.

Access lines come once per request, so what each costs matters: both formats render the
time of a second once, and `BatchingStreamHandler` writes access lines logged on the event
loop in batches rather than with a system call each.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection
from typing import Any, TextIO

import orjson

from bridge.settings import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
ACCESS_LOGGER = "bridge.access"

#: How long a batched line may wait to be written, in seconds.
FLUSH_INTERVAL_S = 0.1
#: A batch is written at once when this many lines wait.
MAX_PENDING_LINES = 256

#: What every LogRecord has; anything else on a record came from `extra`.
_STANDARD_ATTRIBUTES = frozenset(
    {
        *logging.LogRecord("", 0, "", 0, "", (), None).__dict__,
        "message",
        "asctime",
        "taskName",
    }
)


def _fallback(value: Any) -> str:
    return repr(value)


class TextFormatter(logging.Formatter):
    """`logging.Formatter` that renders the date and time of each second once."""

    def __init__(self, fmt: str = TEXT_FORMAT) -> None:
        super().__init__(fmt)
        self._second: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        return self._time_text(record.created, record.msecs)

    def _time_text(self, created: float, msecs: float) -> str:
        second, text = self._second  # one tuple: formatters may be shared between threads
        if second != int(created):
            second = int(created)
            text = time.strftime(self.default_time_format, self.converter(second))
            self._second = (second, text)
        msec_format = self.default_msec_format
        return text if msec_format is None else msec_format % (text, msecs)

    def direct_line(
        self, created: float, level: str, logger: str, message: str, fields: dict[str, Any]
    ) -> str | None:
        """The line `format` gives a record of these, with no exception; None unless this
        formatter uses the default format, the only one it renders without a record."""
        if self._fmt != TEXT_FORMAT:
            return None
        return f"{self._time_text(created, _msecs(created))} {level} {logger} {message}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors."""

    def __init__(self) -> None:
        super().__init__()
        self._second: tuple[int, str] = (-1, "")

    def _utc_time(self, created: float, msecs: float) -> str:
        second, text = self._second
        if second != int(created):
            second = int(created)
            text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = (second, text)
        return f"{text}.{int(msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self._utc_time(record.created, record.msecs),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRIBUTES and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return _json_line(entry)

    def direct_line(
        self, created: float, level: str, logger: str, message: str, fields: dict[str, Any]
    ) -> str:
        """The line `format` gives a record of these, `fields` as its extras, no exception."""
        entry: dict[str, Any] = {
            "time": self._utc_time(created, _msecs(created)),
            "level": level,
            "logger": logger,
            "message": message,
        }
        for key, value in fields.items():
            if key not in _STANDARD_ATTRIBUTES and key not in entry:
                entry[key] = value
        return _json_line(entry)


def _json_line(entry: dict[str, Any]) -> str:
    try:
        line = orjson.dumps(entry, default=_fallback, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # say, an integer too large for JSON: keep the line, lose nothing
        line = orjson.dumps({k: v if isinstance(v, str) else repr(v) for k, v in entry.items()})
    return line.decode()


def _msecs(created: float) -> float:
    """A LogRecord's `msecs` for this creation time."""
    return int((created - int(created)) * 1000) + 0.0


#: The formatters that render a line without a LogRecord (`direct_line`).
_DIRECT_FORMATTERS = (TextFormatter, JsonFormatter)


class BatchingStreamHandler(logging.StreamHandler[TextIO]):
    """A stream handler that writes the lines of the `batched` loggers, when logged on a
    running event loop, in batches: at most FLUSH_INTERVAL_S after the first of them, or once
    MAX_PENDING_LINES wait.

    Any other line, a line logged outside an event loop (another thread, start-up), and
    `flush()` write what waits first and then at once, so lines keep their order and
    warnings are never late. `logging.shutdown`, which the interpreter runs at exit (after
    a graceful shutdown too), flushes: nothing is lost when the process exits.
    """

    def __init__(self, batched: Collection[str], stream: TextIO | None = None) -> None:
        super().__init__(stream)
        self._batched = frozenset(batched)
        self._pending: list[str] = []
        #: The loop a flush is scheduled on; None: none is.
        self._flush_on: asyncio.AbstractEventLoop | None = None
        #: The newest waiting record, for `handleError` should the batch fail to write.
        self._newest: logging.LogRecord | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self._newest = record
        self._add(line, record.name in self._batched)

    def log_directly(self, logger: logging.Logger, message: str, fields: dict[str, Any]) -> bool:
        """Write an INFO line of `logger` without building a LogRecord, as `emit` would have
        written it; False, and nothing written, when this handler cannot.

        For the lines logged once per request (the access log): the caller has made sure
        that this handler alone would receive the record (`sole_batching_handler`)."""
        formatter = self.formatter
        if self.filters or self.level > logging.INFO:
            return False
        if not isinstance(formatter, _DIRECT_FORMATTERS):
            return False
        line = formatter.direct_line(time.time(), "INFO", logger.name, message, fields)
        if line is None:
            return False
        with self.lock:  # type: ignore[union-attr]  # created by Handler.__init__
            self._add(line, logger.name in self._batched)
        return True

    def _add(self, line: str, batched: bool) -> None:
        self._pending.append(line + self.terminator)
        if batched and len(self._pending) < MAX_PENDING_LINES:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            if loop is not None:
                if self._flush_on is not loop:
                    self._flush_on = loop
                    loop.call_later(FLUSH_INTERVAL_S, self._timed_flush)
                return
        self._write_pending()

    def flush(self) -> None:
        self.acquire()
        try:
            self._write_pending()
        finally:
            self.release()

    def _timed_flush(self) -> None:
        self.acquire()
        try:
            self._flush_on = None
            self._write_pending()
        finally:
            self.release()

    def _write_pending(self) -> None:
        """Write the waiting lines in one go; the caller holds the lock."""
        text = "".join(self._pending)
        self._pending.clear()
        try:
            if text:
                self.stream.write(text)
            if self.stream and hasattr(self.stream, "flush"):
                self.stream.flush()
        except RecursionError:
            raise
        except Exception:
            if self._newest is not None:
                self.handleError(self._newest)


def sole_batching_handler(logger: logging.Logger) -> BatchingStreamHandler | None:
    """The one handler an INFO record of `logger` would reach, when that is a
    BatchingStreamHandler and no logger filter is in the way; None otherwise (say, while a
    test captures logs, or where logging was configured differently)."""
    if logger.filters or logger.disabled or not logger.isEnabledFor(logging.INFO):
        return None
    found: BatchingStreamHandler | None = None
    current: logging.Logger | None = logger
    while current is not None:
        for handler in current.handlers:
            if found is not None or not isinstance(handler, BatchingStreamHandler):
                return None
            found = handler
        current = current.parent if current.propagate else None
    return found


def formatter_for(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else TextFormatter()


def configure_logging(settings: Settings) -> None:
    """The root logger writes to stderr in the configured format and level."""
    # Neither format shows the process or the thread: records that do not look them up
    # spare every line a getpid() system call and two look-ups.
    logging.logProcesses = logging.logThreads = logging.logMultiprocessing = False
    handler = BatchingStreamHandler(batched={ACCESS_LOGGER})
    handler.setFormatter(formatter_for(settings.log_format))
    logging.basicConfig(level=settings.log_level, handlers=[handler], force=True)
    if settings.access_log:
        # `log.access` alone decides about access lines; a quieter level must not drop them.
        logging.getLogger(ACCESS_LOGGER).setLevel(logging.INFO)

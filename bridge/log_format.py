"""How the process logs: the text or JSON line format (`log.format`), the level, and the
access logger, configured once at start-up by `configure_logging`.

A JSON line is one object: `time` (ISO 8601, UTC), `level`, `logger`, `message`, then every
structured extra the call passed (`extra={...}`), and `exception` when there is one.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import orjson

from bridge.settings import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

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


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
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
        try:
            line = orjson.dumps(entry, default=_fallback, option=orjson.OPT_NON_STR_KEYS)
        except TypeError:  # say, an integer too large for JSON: keep the line, lose nothing
            line = orjson.dumps({k: v if isinstance(v, str) else repr(v) for k, v in entry.items()})
        return line.decode()


def formatter_for(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def configure_logging(settings: Settings) -> None:
    """The root logger writes to stderr in the configured format and level."""
    handler = logging.StreamHandler()
    handler.setFormatter(formatter_for(settings.log_format))
    logging.basicConfig(level=settings.log_level, handlers=[handler], force=True)
    if settings.access_log:
        # `log.access` alone decides about access lines; a quieter level must not drop them.
        logging.getLogger("bridge.access").setLevel(logging.INFO)

"""Builds the frozen `Settings` from defaults, a properties file, the environment and flags.

This module owns the table of known settings (`SETTINGS_TABLE`): one row per setting names its
property key, `Settings` field, type, environment variable, command-line flag and help text,
and every source (and `docs/configuration.md`) is driven from it. Defaults are read from the
`Settings` dataclass itself so they are written down once.

Precedence, lowest first: defaults, the properties file, `KAFKA_BRIDGE_*` environment
variables, command-line flags. `python -m bridge.config --markdown` prints the docs table.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from bridge import __version__
from bridge.properties import PropertiesSyntaxError, parse_properties
from bridge.settings import Settings

ENV_PREFIX = "KAFKA_BRIDGE_"
CONFIG_FILE_ENV = ENV_PREFIX + "CONFIG_FILE"
#: Keys outside the table that are allowed, longest prefix first: Kafka client passthrough
#: (prefix -> the `Settings` field that receives the rest of the key) and codec plugins, which
#: read their own keys from `Settings.properties`.
OPEN_PREFIXES: tuple[tuple[str, str | None], ...] = (
    ("kafka.producer.", "kafka_producer"),
    ("kafka.consumer.", "kafka_consumer"),
    ("kafka.admin.", "kafka_admin"),
    ("kafka.", "kafka_common"),
    ("codec.", None),
    # Read by the schema formats (subject naming strategy, credentials).
    ("schema.registry.", None),
)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class ConfigError(ValueError):
    """A setting that is unknown or has a bad value; the message names the key and source."""


# --- value parsers: each takes the stripped text and raises ValueError saying what it wants.


def _non_empty(text: str) -> str:
    if not text:
        raise ValueError("must not be empty")
    return text


def _bootstrap_servers(text: str) -> str:
    if not text:
        # An empty value is usually a template variable that was never filled in; falling
        # back to the in-memory development broker in that case would silently lose data.
        raise ValueError(
            "must not be empty (leave it unset to start the embedded development broker)"
        )
    servers = [part.strip() for part in text.split(",")]
    if any(not server or " " in server for server in servers):
        raise ValueError("expected host:port[,host:port...]")
    return ",".join(servers)


def _host(text: str) -> str:
    if not text or any(ch.isspace() for ch in text):
        raise ValueError("expected a host name or IP address")
    return text


def _int_range(low: int, high: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        # int() alone would also take "1_000", "+5" and non-ASCII digits.
        if not re.fullmatch(r"-?[0-9]+", text):
            raise ValueError("expected an integer")
        number = int(text)
        if number < low or (high is not None and number > high):
            raise ValueError(f"must be between {low} and {high}" if high else f"must be >= {low}")
        return number

    return parse


def _bool(text: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise ValueError("expected true or false")
    return text.lower() == "true"


def _optional_url(text: str) -> str | None:
    if not text:
        return None  # an empty value unsets it, so a flag can undo what a file set
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("expected an absolute http:// or https:// URL")
    if parts.query or parts.fragment:
        raise ValueError("must not have a query or a fragment")
    return text.rstrip("/")


def _log_level(text: str) -> str:
    level = text.upper()
    level = "WARNING" if level == "WARN" else level
    if level not in LOG_LEVELS:
        raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}")
    return level


def env_name(key: str) -> str:
    """`kafka.producer.linger.ms` -> `KAFKA_BRIDGE_KAFKA_PRODUCER_LINGER_MS`."""
    return ENV_PREFIX + key.upper().replace(".", "_")


@dataclass(frozen=True)
class SettingSpec:
    """One known setting: everything every source and the docs need to know about it."""

    key: str
    field: str
    type_name: str
    parse: Callable[[str], Any]
    help: str
    flag: str | None = None

    @property
    def env(self) -> str:
        return env_name(self.key)

    @property
    def default(self) -> Any:
        return _FIELD_DEFAULTS[self.field]


SETTINGS_TABLE: tuple[SettingSpec, ...] = (
    SettingSpec(
        "bootstrap.servers",
        "bootstrap_servers",
        "host:port list",
        _bootstrap_servers,
        "Kafka bootstrap servers. Unset: start an embedded in-memory broker (development mode).",
        "--bootstrap-servers",
    ),
    SettingSpec("http.host", "host", "host", _host, "Address the HTTP server binds.", "--host"),
    SettingSpec("http.port", "port", "int 1-65535", _int_range(1, 65535), "HTTP port.", "--port"),
    SettingSpec(
        "http.advertised.url",
        "advertised_url",
        "http(s) URL",
        _optional_url,
        "Base URL put in the URLs the bridge hands out (consumer base_uri). "
        "Unset: taken from each request.",
        "--advertised-url",
    ),
    SettingSpec(
        "schema.registry.url",
        "schema_registry_url",
        "http(s) URL",
        _optional_url,
        "Confluent-compatible schema registry, needed by the avro and jsonschema formats.",
        "--schema-registry-url",
    ),
    SettingSpec(
        "produce.auto.create.topics",
        "produce_auto_create_topics",
        "bool",
        _bool,
        "Let produce requests create missing topics where the broker allows auto-creation.",
    ),
    SettingSpec(
        "produce.timeout.ms",
        "produce_timeout_ms",
        "int > 0",
        _int_range(1),
        "Upper bound on how long a produce request waits for the broker's acknowledgements.",
    ),
    SettingSpec(
        "metadata.max.age.ms",
        "metadata_max_age_ms",
        "int > 0",
        _int_range(1),
        "How long cached topic metadata is trusted before it is fetched again.",
    ),
    SettingSpec(
        "consumer.instance.timeout.ms",
        "consumer_instance_timeout_ms",
        "int > 0",
        _int_range(1),
        "Idle consumer instances are closed after this long without a request.",
    ),
    SettingSpec(
        "consumer.request.timeout.ms",
        "consumer_request_timeout_ms",
        "int >= 0",
        _int_range(0),
        "How long a read waits for records when neither the request's timeout nor the "
        "consumer's own consumer.request.timeout.ms says.",
    ),
    SettingSpec(
        "consumer.request.max.bytes",
        "consumer_request_max_bytes",
        "int > 0",
        _int_range(1),
        "Upper bound on the unencoded key and value bytes in one read's response; a "
        "request's max_bytes can only lower it.",
    ),
    SettingSpec(
        "consumer.max.instances",
        "consumer_max_instances",
        "int > 0",
        _int_range(1),
        "How many consumer instances the bridge holds at once; creating one more is 429.",
    ),
    SettingSpec(
        "simpleconsumer.pool.size.max",
        "simpleconsumer_pool_size_max",
        "int > 0",
        _int_range(1),
        "How many group-less Kafka consumers serve partition reads by offset (.../messages, "
        "partition .../records); Confluent's name.",
    ),
    SettingSpec(
        "simpleconsumer.pool.timeout.ms",
        "simpleconsumer_pool_timeout_ms",
        "int >= 0",
        _int_range(0),
        "How long a partition read waits for a free pooled consumer before answering 503.",
    ),
    SettingSpec(
        "log.level",
        "log_level",
        "DEBUG, INFO, WARNING or ERROR",
        _log_level,
        "Log level (case-insensitive; WARN means WARNING).",
        "--log-level",
    ),
)

_FIELD_DEFAULTS: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(Settings)}
_BY_KEY = {spec.key: spec for spec in SETTINGS_TABLE}
_BY_ENV = {spec.env: spec.key for spec in SETTINGS_TABLE}


# --- sources: each yields (key, raw value, where it came from), in the order they apply.

Entry = tuple[str, str, str]


def _open_prefix(key: str, source: str) -> tuple[str, str | None]:
    """The open prefix `key` falls under and its passthrough field; ConfigError if none."""
    for prefix, field in OPEN_PREFIXES:
        if key.startswith(prefix):
            rest = key[len(prefix) :]
            if not rest or rest.endswith(".") or (prefix + rest + ".") in dict(OPEN_PREFIXES):
                raise ConfigError(f"{source}: {key!r} names no property after {prefix!r}")
            return prefix, field
    close = difflib.get_close_matches(key, list(_BY_KEY), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(f"{source}: unknown setting {key!r}{hint}")


def _file_entries(path: str) -> list[Entry]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path!r}: {exc}") from None
    try:
        return parse_properties(text, f"config file {path}")
    except PropertiesSyntaxError as exc:
        raise ConfigError(str(exc)) from None


def _env_key(name: str) -> str:
    if name in _BY_ENV:
        return _BY_ENV[name]
    # Kafka and codec property names use dots, never underscores, so `_` maps back to `.`.
    return name[len(ENV_PREFIX) :].lower().replace("_", ".")


def _env_entries(environ: Mapping[str, str]) -> list[Entry]:
    return [
        (_env_key(name), value.strip(), f"environment variable {name}")
        for name, value in sorted(environ.items())
        if name.startswith(ENV_PREFIX) and name != CONFIG_FILE_ENV
    ]


# --- command line


class _ArgParser(argparse.ArgumentParser):
    """Usage errors become `ConfigError` so `load_settings` never exits the process."""

    def error(self, message: str) -> Any:
        raise ConfigError(f"command line: {message}")


class _SettingAction(argparse.Action):
    """Appends `(key, value, source)` to one shared list so the last flag given wins."""

    def __init__(self, option_strings: Sequence[str], dest: str, key: str = "", **kw: Any):
        super().__init__(option_strings, dest, **kw)
        self.key = key

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        value = str(values)
        key = self.key
        source = f"command line {option_string}"
        if not key:  # --set / -D KEY=VALUE
            key, sep, value = value.partition("=")
            key = key.strip()
            if not sep or not key:
                raise ConfigError(f"{source} {values!r}: expected KEY=VALUE")
        entries = list(getattr(namespace, self.dest) or [])
        entries.append((key, value.strip(), source))
        setattr(namespace, self.dest, entries)


def _describe_default(value: Any) -> str:
    if value is None:
        return "unset"
    return str(value).lower() if isinstance(value, bool) else str(value)


def build_arg_parser() -> argparse.ArgumentParser:
    """The `kafka-bridge` command line; one flag per table row that has one, plus `--set`."""
    parser = _ArgParser(
        prog="kafka-bridge",
        description="HTTP sidecar for Apache Kafka (Confluent REST v1 and Kafka Bridge v2 APIs).",
        epilog="Precedence, lowest first: defaults, --config-file, KAFKA_BRIDGE_* environment "
        "variables, flags. Any property, including Kafka client passthrough "
        "(kafka.X, kafka.producer.X, kafka.consumer.X, kafka.admin.X), can be given with "
        "--set, in the file or as KAFKA_BRIDGE_<KEY with . as _>. See docs/configuration.md.",
    )
    parser.add_argument("--version", action="version", version=f"kafka-bridge {__version__}")
    parser.add_argument(
        "--config-file",
        metavar="PATH",
        help=f"Java-style properties file (env {CONFIG_FILE_ENV}).",
    )
    for spec in SETTINGS_TABLE:
        if spec.flag is None:
            continue
        parser.add_argument(
            spec.flag,
            action=_SettingAction,
            dest="cli_entries",
            key=spec.key,
            metavar=spec.key.rsplit(".", 1)[-1].upper(),
            help=f"{spec.help} Property {spec.key}, env {spec.env}; "
            f"default: {_describe_default(spec.default)}.",
        )
    parser.add_argument(
        "--set",
        "-D",
        action=_SettingAction,
        dest="cli_entries",
        metavar="KEY=VALUE",
        help="Set any property (repeatable), e.g. -D kafka.producer.linger.ms=5.",
    )
    return parser


# --- putting it together


def _build(entries: Sequence[Entry]) -> Settings:
    merged: dict[str, tuple[str, str]] = {}
    for key, value, source in entries:
        if key not in _BY_KEY:
            _open_prefix(key, source)
        merged[key] = (value, source)

    values: dict[str, Any] = {}
    passthrough: dict[str, dict[str, str]] = {f: {} for _, f in OPEN_PREFIXES if f is not None}
    properties: dict[str, str] = {}
    for key, (raw, source) in sorted(merged.items()):
        spec = _BY_KEY.get(key)
        if spec is not None:
            try:
                values[spec.field] = spec.parse(raw)
            except ValueError as exc:
                raise ConfigError(f"{source}: {key}={raw!r}: {exc}") from None
            if values[spec.field] is None:
                continue  # unset again: leave it out of `properties` as well
        else:
            prefix, field = _open_prefix(key, source)
            if field is not None:
                passthrough[field][key[len(prefix) :]] = raw
        properties[key] = raw

    for field, props in passthrough.items():
        values[field] = MappingProxyType(props)
    return Settings(**values, properties=MappingProxyType(properties))


def load_settings(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Settings from `argv` (default `sys.argv[1:]`) and `environ` (default `os.environ`).

    Raises `ConfigError` naming the key and the source of anything unknown or invalid.
    """
    environ = os.environ if environ is None else environ
    args = build_arg_parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    config_file = args.config_file or environ.get(CONFIG_FILE_ENV) or None
    entries = [
        *(_file_entries(config_file) if config_file else []),
        *_env_entries(environ),
        *(args.cli_entries or []),
    ]
    return _build(entries)


def render_markdown() -> str:
    """The settings table of `docs/configuration.md`."""
    rows = [
        "| Property | Environment variable | Flag | Type | Default | Meaning |",
        "|---|---|---|---|---|---|",
    ]
    for spec in SETTINGS_TABLE:
        flag = f"`{spec.flag}`" if spec.flag else "(`--set`)"
        rows.append(
            f"| `{spec.key}` | `{spec.env}` | {flag} | {spec.type_name} "
            f"| {_describe_default(spec.default)} | {spec.help} |"
        )
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    if sys.argv[1:] != ["--markdown"]:
        sys.exit("usage: python -m bridge.config --markdown")
    sys.stdout.write(render_markdown())

"""Builds the frozen `Settings` from defaults, a properties file, the environment and flags.

The settings themselves are listed in `bridge.settings_table`; this module owns the sources
and how they combine. Precedence, lowest first: defaults, the properties file,
`KAFKA_BRIDGE_*` environment variables, command-line flags.
`python -m bridge.config --markdown` prints the table of `docs/configuration.md`.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bridge import __version__
from bridge.properties import PropertiesSyntaxError, parse_properties
from bridge.settings import Settings
from bridge.settings_table import ENV_PREFIX, SETTINGS_TABLE, SettingSpec, env_name

__all__ = ["SETTINGS_TABLE", "ConfigError", "SettingSpec", "env_name", "load_settings"]

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


class ConfigError(ValueError):
    """A setting that is unknown or has a bad value; the message names the key and source."""


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

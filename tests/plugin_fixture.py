"""Throwaway third-party codec distributions, written to a directory for tests to put on sys.path.

`write_plugin_distribution` makes the one the codec tests and the HTTP tests share: format
`shout` (text, upper-cased when produced) and a `broken` entry point whose module does not
exist. Nothing is installed: a directory holding a package and a `.dist-info` folder is a
distribution as far as `importlib.metadata` is concerned, once the directory is on sys.path.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

__all__ = [
    "BROKEN_ENTRY_POINT",
    "BROKEN_FORMAT",
    "PLUGIN_DISTRIBUTION",
    "PLUGIN_FORMAT",
    "PLUGIN_MODULE",
    "write_distribution",
    "write_plugin_distribution",
]

PLUGIN_DISTRIBUTION = "kb_test_plugin"
PLUGIN_MODULE = "kb_test_plugin"
PLUGIN_FORMAT = "shout"
BROKEN_FORMAT = "broken"
BROKEN_ENTRY_POINT = "kb_test_plugin_missing:Nope"

_PLUGIN_SOURCE = '''\
"""A third-party embedded format for tests: text, upper-cased when produced."""

from bridge_codecs.base import CodecError, JSONValue, SimpleCodec


class ShoutCodec(SimpleCodec):
    # Left empty on purpose: the registry names the class after its entry point.
    name = ""

    def __init__(self, context):
        super().__init__(context)
        self.closed = False

    def encode(self, value: JSONValue) -> bytes:
        if not isinstance(value, str):
            raise CodecError("expected a string")
        return value.upper().encode("utf-8")

    def decode(self, payload: bytes) -> JSONValue:
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CodecError(f"not valid UTF-8 text: {exc}") from None

    async def close(self) -> None:
        self.closed = True
'''


def write_plugin_distribution(root: Path) -> None:
    """Write the `kb_test_plugin` package and its distribution metadata into `root`."""
    write_distribution(
        root,
        PLUGIN_DISTRIBUTION,
        {
            PLUGIN_FORMAT: f"{PLUGIN_MODULE}:ShoutCodec",
            BROKEN_FORMAT: BROKEN_ENTRY_POINT,
        },
        modules={PLUGIN_MODULE: _PLUGIN_SOURCE},
    )


def write_distribution(
    root: Path,
    name: str,
    entry_points: Mapping[str, str],
    *,
    modules: Mapping[str, str] | None = None,
    version: str = "1.0",
    group: str = "kafka_bridge.codecs",
) -> None:
    """Write distribution `name` into `root`: its entry points in `group` (name -> value, as
    in entry_points.txt) and `modules` (import name -> source of its `__init__.py`)."""
    for module, source in (modules or {}).items():
        package = root / module
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").write_text(source, encoding="utf-8")
    dist_info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    dist_info.mkdir(parents=True, exist_ok=True)
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
    )
    lines = [f"[{group}]", *(f"{ep} = {value}" for ep, value in entry_points.items()), ""]
    (dist_info / "entry_points.txt").write_text("\n".join(lines), encoding="utf-8")

"""The table of embedded formats: which names exist, and the one codec instance behind each.

Every format, built in or third party, comes from the `kafka_bridge.codecs` entry-point group.
Entry points stay unloaded (import strings) until a request first names their format, so
start-up imports no plugin code (the schema formats and their registry client are several MB
of a bridge's memory) and a broken plugin takes down only its own format: the first request
for it logs why and is answered that the format is not available, and so is every later one.
The request that loads a format waits for its import (avro: about 60 ms, once).
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from bridge_codecs.base import Codec, CodecContext

__all__ = ["DEFAULT_GROUP", "FORMAT_NAME", "CodecRegistry", "UnknownFormatError"]

log = logging.getLogger(__name__)

DEFAULT_GROUP = "kafka_bridge.codecs"

#: What a format name must look like to appear in `application/vnd.kafka.NAME.v2+json`: the
#: same rule as `bridge.negotiation` (which matches lower-cased media types, and reads `vN`
#: as an API version), so a name that fails it could never be asked for.
FORMAT_NAME = re.compile(r"(?!v[0-9]+$)[a-z0-9][a-z0-9_-]*")

_OWN_DISTRIBUTION = "kafka-bridge"


class UnknownFormatError(LookupError):
    """A format was asked for that no working plugin provides."""

    def __init__(self, name: str, known: Sequence[str], reason: str | None = None) -> None:
        self.name = name
        self.known = list(known)
        #: Why a format that was registered is not available (its plugin failed to load).
        self.reason = reason
        listed = ", ".join(self.known) if self.known else "none"
        why = f": {reason}" if reason else ""
        super().__init__(f"embedded format {name!r} is not available{why}; known formats: {listed}")


@dataclass(frozen=True)
class _Entry:
    name: str
    entry_point: EntryPoint
    distribution: str

    @property
    def builtin(self) -> bool:
        return _normalize(self.distribution) == _OWN_DISTRIBUTION


class CodecRegistry:
    """Finds codecs by format name, loading each plugin on first use and caching one instance.

    Not thread-safe: it is used from the event loop only, and `get` never awaits.
    """

    def __init__(self, context: CodecContext, group: str = DEFAULT_GROUP) -> None:
        self._context = context
        self._group = group
        self._entries: dict[str, _Entry] = {}
        self._instances: dict[str, Codec] = {}
        #: Formats whose plugin failed to load -> what a client is told about it.
        self._failed: dict[str, str] = {}
        self._discover()

    def names(self) -> list[str]:
        """The formats that can be asked for: discovered (their plugins need not be imported
        yet), minus those that failed to load."""
        return sorted(self._entries)

    def get(self, name: str) -> Codec:
        """The codec for `name`, loaded and created on first use; raise UnknownFormatError."""
        codec = self._instances.get(name)
        if codec is not None:
            return codec
        entry = self._entries.get(name)
        codec = self._load(entry) if entry is not None else None
        if codec is None:
            raise UnknownFormatError(name, self.names(), self._failed.get(name))
        self._instances[name] = codec
        return codec

    def load_all(self) -> None:
        """Load every discovered format now, so that `names()` lists only formats that work
        (for tools and tests; the served bridge loads each format on first use)."""
        for name in list(self._entries):
            # A failure has been logged by `get` and its name dropped; carry on with the rest.
            with contextlib.suppress(UnknownFormatError):
                self.get(name)

    async def close(self) -> None:
        """Close every codec created so far; one failing does not stop the others."""
        instances, self._instances = self._instances, {}
        for name, codec in instances.items():
            try:
                await codec.close()
            except Exception:
                log.exception("closing the codec of embedded format %r failed", name)

    def _discover(self) -> None:
        found = [
            _Entry(ep.name, ep, _distribution_name(ep)) for ep in entry_points(group=self._group)
        ]
        # Discovery order is sys.path order, and within one site-packages directory the order
        # the file system lists it in, so a plugin could shadow `binary` on one machine but not
        # on another. The bridge's own registrations therefore come first; the sort is stable.
        found.sort(key=lambda entry: not entry.builtin)
        for entry in found:
            if FORMAT_NAME.fullmatch(entry.name) is None:
                log.error(
                    "ignoring embedded format %r (%s, from distribution %s): the name cannot "
                    "appear in a media type; use lower-case letters, digits, '-' and '_'",
                    entry.name,
                    entry.entry_point.value,
                    entry.distribution,
                )
                continue
            first = self._entries.get(entry.name)
            if first is not None:
                log.warning(
                    "embedded format %r is registered by distribution %s (%s) and by "
                    "distribution %s (%s); using the one from %s",
                    entry.name,
                    first.distribution,
                    first.entry_point.value,
                    entry.distribution,
                    entry.entry_point.value,
                    first.distribution,
                )
                continue
            self._entries[entry.name] = entry

    def _load(self, entry: _Entry) -> Codec | None:
        ep = entry.entry_point
        # Only Exception: CancelledError, KeyboardInterrupt and SystemExit must go through.
        try:
            loaded = ep.load()
            if not (isinstance(loaded, type) and issubclass(loaded, Codec)):
                raise TypeError(f"{ep.value} is not a subclass of bridge_codecs.base.Codec")
            if not loaded.name:
                loaded.name = entry.name
            elif loaded.name != entry.name:
                log.warning(
                    "embedded format %r (%s) calls itself %r; serving it as %r",
                    entry.name,
                    ep.value,
                    loaded.name,
                    entry.name,
                )
            codec = loaded(self._context)
        except ImportError as exc:
            self._drop(entry, "could not be imported")
            log.error(
                "embedded format %r is unavailable: %s from distribution %s could not be "
                "imported: %s; %s",
                entry.name,
                ep.value,
                entry.distribution,
                exc,
                _install_hint(entry, exc),
            )
            return None
        except Exception:
            self._drop(entry, "failed to load")
            log.exception(
                "embedded format %r is unavailable: loading %s from distribution %s failed",
                entry.name,
                ep.value,
                entry.distribution,
            )
            return None
        return codec

    def _drop(self, entry: _Entry, what_happened: str) -> None:
        del self._entries[entry.name]
        self._failed[entry.name] = (
            f"its plugin ({entry.entry_point.value} from distribution {entry.distribution}) "
            f"{what_happened}; the bridge's log says why"
        )


def _install_hint(entry: _Entry, exc: ImportError) -> str:
    ep = entry.entry_point
    if ep.extras:
        extras = ",".join(ep.extras)
        return f"install its optional dependencies: pip install '{entry.distribution}[{extras}]'"
    missing = exc.name
    if missing is None:
        return f"try reinstalling {entry.distribution}"
    if missing.split(".")[0] == ep.module.split(".")[0]:
        return f"its own module {missing!r} is missing: reinstall {entry.distribution}"
    return f"install the package that provides the module {missing!r}"


def _distribution_name(ep: EntryPoint) -> str:
    dist = ep.dist
    name = dist.name if dist is not None else None
    return name or "<unknown distribution>"


def _normalize(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()

"""Keeps the served process's resident memory close to what it really uses.

Three things make the RSS of a bridge stay high after a load:
- Fetch responses and large response bodies are allocated and freed in bursts; glibc keeps
  the freed pages of its heap by default. Serving big buffers from mmap (returned at free)
  and trimming the heap's free top once it exceeds a small threshold keeps it near what is
  live; trimming periodically also gives back free pages inside the heaps.
- Objects in reference cycles (a deleted consumer instance and the fetched records its
  client still held, several MB) are freed only by a full collection, and with the start-up
  objects frozen (bridge/server.py) and no allocations once a load ends, none may run for a
  long time. A periodic collection frees them; it took under 1 ms even during a load.
- httpx, which python-schema-registry-client uses, imports its command-line client, and
  with it rich, click and pygments (about 4 MB), whenever those happen to be installed; the
  served process never runs that client.
See docs/performance.md. On other C libraries than glibc (musl, macOS) only the periodic
collection applies.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import gc
import logging
import sys
from collections.abc import AsyncIterator

log = logging.getLogger(__name__)

# mallopt parameters, from glibc's malloc.h.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Allocations from this size on come from mmap and go back to the system when freed.
MMAP_THRESHOLD_BYTES = 64 * 1024
#: Free memory at the top of the heap beyond this is given back at once.
TRIM_THRESHOLD_BYTES = 128 * 1024
#: How often cyclic garbage is collected and free memory inside the heaps (not only at their
#: top) is given back: the longest a load's leftovers stay resident once it ends.
TRIM_INTERVAL_S = 5.0
#: httpx's command-line client, which only `httpx`'s own console script runs.
_HTTPX_CLI = "httpx._main"


def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.gnu_get_libc_version  # noqa: B018 - only glibc has it
        libc.malloc_trim  # noqa: B018
        libc.mallopt  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def skip_httpx_cli() -> None:
    """Make `import httpx` leave out its command-line client (httpx falls back to a stub
    `httpx.main` when that import fails). A no-op once httpx is imported."""
    if "httpx" not in sys.modules:
        # A None entry makes importing that module fail (the import system's documented
        # way to block one), without importing anything now.
        sys.modules.setdefault(_HTTPX_CLI, None)  # type: ignore[arg-type]


def release_memory(libc: ctypes.CDLL | None) -> None:
    """Free cyclic garbage, then (on glibc) give the heaps' free pages back to the system."""
    gc.collect()
    if libc is not None:
        libc.malloc_trim(0)


@contextlib.asynccontextmanager
async def resident_memory_kept_low() -> AsyncIterator[None]:
    """Tune glibc's malloc for the process and release memory periodically while open."""
    skip_httpx_cli()
    libc = _glibc()
    if libc is not None:
        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
        libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)

    async def release_periodically() -> None:
        while True:
            await asyncio.sleep(TRIM_INTERVAL_S)
            release_memory(libc)

    releaser = asyncio.create_task(release_periodically(), name="memory release")
    try:
        yield
    finally:
        releaser.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await releaser

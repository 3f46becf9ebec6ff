"""Keeps the served process's resident memory close to its live heap, on glibc.

Fetch responses and large response bodies are allocated and freed in bursts; glibc keeps
the freed pages of its heap by default, so the RSS of a bridge after a load stays at its
peak. Serving big buffers from mmap (returned at free) and trimming the heap's free top
once it exceeds a small threshold keeps it near what is live (docs/performance.md).
Elsewhere (musl, macOS) this does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import logging
from collections.abc import AsyncIterator

log = logging.getLogger(__name__)

# mallopt parameters, from glibc's malloc.h.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Allocations from this size on come from mmap and go back to the system when freed.
MMAP_THRESHOLD_BYTES = 64 * 1024
#: Free memory at the top of the heap beyond this is given back at once.
TRIM_THRESHOLD_BYTES = 128 * 1024
#: How often free memory inside the heaps (not only at their top) is given back; a trim
#: takes well under a millisecond.
TRIM_INTERVAL_S = 5.0


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


@contextlib.asynccontextmanager
async def resident_memory_kept_low() -> AsyncIterator[None]:
    """Tune glibc's malloc for the process and trim its heaps periodically while open."""
    libc = _glibc()
    if libc is None:
        yield
        return
    libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)

    async def trim_periodically() -> None:
        while True:
            await asyncio.sleep(TRIM_INTERVAL_S)
            libc.malloc_trim(0)

    trimmer = asyncio.create_task(trim_periodically(), name="malloc trim")
    try:
        yield
    finally:
        trimmer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await trimmer

"""What the served process does to keep its resident memory low (bridge/memory.py): garbage in
reference cycles is collected periodically, and httpx comes without its command-line client."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import weakref
from collections.abc import Iterator

import pytest

from bridge import memory


class _Node:
    """Half of a reference cycle, holding a buffer as fetched records would."""

    def __init__(self) -> None:
        self.buffer = bytearray(1 << 20)
        self.peer: _Node | None = None


def _cycle() -> weakref.ref[_Node]:
    first, second = _Node(), _Node()
    first.peer, second.peer = second, first
    return weakref.ref(first)


@pytest.fixture
def no_automatic_collection() -> Iterator[None]:
    """Only the bridge's own collections may free the cycles (as after a load, when nothing
    allocates and so no automatic collection runs)."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.mark.usefixtures("no_automatic_collection")
def test_release_frees_garbage_in_reference_cycles() -> None:
    garbage = _cycle()
    assert garbage() is not None

    memory.release_memory(memory._glibc())

    assert garbage() is None


@pytest.mark.usefixtures("no_automatic_collection")
async def test_release_runs_periodically_while_open(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "TRIM_INTERVAL_S", 0.01)
    # The test process keeps its own malloc settings, and its httpx its command-line client.
    monkeypatch.setattr(memory, "_glibc", lambda: None)
    monkeypatch.setattr(memory, "skip_httpx_cli", lambda: None)
    async with memory.resident_memory_kept_low():
        freed = asyncio.Event()
        garbage = _cycle()
        weakref.finalize(garbage(), freed.set)
        async with asyncio.timeout(5):
            await freed.wait()


def test_httpx_and_the_schema_registry_client_import_without_the_httpx_cli() -> None:
    # A fresh interpreter: this one may have imported httpx already.
    script = (
        "import sys\n"
        "from bridge.memory import skip_httpx_cli\n"
        "skip_httpx_cli()\n"
        "import httpx, schema_registry.client\n"
        "assert callable(httpx.AsyncClient)\n"
        "print(sorted(m for m in ('rich', 'click', 'pygments') if sys.modules.get(m)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_skipping_the_httpx_cli_leaves_an_imported_httpx_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import httpx

    monkeypatch.delitem(sys.modules, "httpx._main", raising=False)
    memory.skip_httpx_cli()
    assert "httpx._main" not in sys.modules
    assert httpx.AsyncClient is not None

"""What the benchmarks run against: the broker, the schema registry, and the bridge process.

The broker and registry are found as the tests find them (KAFKA_BOOTSTRAP_SERVERS and
SCHEMA_REGISTRY_URL, else the embedded Tansu broker and the in-process registry of
`tests/schema_registry.py`). The bridge runs as its own process, started with the command
line a user would type, plus the development settings the embedded broker needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from benchmarks import ROOT
from bridge.config import load_settings
from bridge.embedded_broker import EmbeddedBroker, settings_for_embedded_broker
from bridge.settings import Settings


@dataclass(frozen=True)
class Kafka:
    bootstrap_servers: str
    #: True for the embedded Tansu broker, which needs the development settings.
    embedded: bool

    @property
    def description(self) -> str:
        if self.embedded:
            return "embedded Tansu broker (in memory), same machine"
        return f"KAFKA_BOOTSTRAP_SERVERS={self.bootstrap_servers}"


@contextlib.contextmanager
def kafka() -> Iterator[Kafka]:
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        yield Kafka(external, embedded=False)
        return
    with EmbeddedBroker() as broker:
        assert broker.bootstrap_servers is not None
        yield Kafka(broker.bootstrap_servers, embedded=True)


@contextlib.contextmanager
def schema_registry() -> Iterator[str]:
    external = os.environ.get("SCHEMA_REGISTRY_URL")
    if external:
        yield external
        return
    # The tests' registry; `python -m benchmarks` from the repository root can import it.
    from tests.schema_registry import running_registry

    with running_registry() as url:
        yield url


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def bridge_arguments(
    target: Kafka, port: int, registry_url: str | None, extra: Sequence[str]
) -> list[str]:
    """The bridge's command line: the user's flags plus, on the embedded broker, the
    settings `settings_for_embedded_broker` applies in development mode, as `-D` flags."""
    argv = ["--bootstrap-servers", target.bootstrap_servers, "--host", "127.0.0.1"]
    argv += ["--port", str(port)]
    if registry_url:
        argv += ["--schema-registry-url", registry_url]
    argv += list(extra)
    if target.embedded:
        plain = load_settings(argv)
        dev = settings_for_embedded_broker(plain, target.bootstrap_servers)
        for prefix, before, after in (
            ("kafka.producer.", plain.kafka_producer, dev.kafka_producer),
            ("kafka.consumer.", plain.kafka_consumer, dev.kafka_consumer),
        ):
            for prop, value in after.items():
                if before.get(prop) != value:
                    argv += ["-D", f"{prefix}{prop}={value}"]
    return argv


def bridge_settings(argv: Sequence[str]) -> Settings:
    """The settings the bridge process builds from `argv`, for the aiokafka side to share."""
    return load_settings(argv)


def code_state() -> str:
    """Which code of the bridge runs: the git commit, and whether its files have changes
    not committed yet (or "unknown" outside a git checkout)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        changed = subprocess.run(
            # No index lock: someone may be committing at the same time.
            ["git", "--no-optional-locks", "status", "--porcelain", "--", "bridge", "codecs"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        return "unknown"
    if not commit:
        return "unknown"
    return f"git {commit}" + (" with uncommitted changes to its code" if changed else "")


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in KiB, from /proc/<pid>/status."""
    figures: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            figures[name] = int(rest.split()[0])
    return figures


_PYTHON_M_BRIDGE = (sys.executable, "-m", "bridge")


class BridgeProcess:
    """`python -m bridge ARGS` in a process of its own; its log goes to a temporary file.

    `command` replaces `python -m bridge`, say to run it under valgrind."""

    def __init__(
        self, argv: Sequence[str], port: int, command: Sequence[str] = _PYTHON_M_BRIDGE
    ) -> None:
        self.argv = list(argv)
        self.command = list(command)
        self.url = f"http://127.0.0.1:{port}"
        self._process: asyncio.subprocess.Process | None = None
        fd, log_name = tempfile.mkstemp(prefix="kafka-bridge-bench-", suffix=".log")
        os.close(fd)
        self._log = Path(log_name)

    @property
    def pid(self) -> int:
        assert self._process is not None, "the bridge is not running"
        return self._process.pid

    def log_tail(self, chars: int = 3000) -> str:
        return self._log.read_text(errors="replace")[-chars:]

    async def start(self, timeout_s: float = 60.0) -> None:
        with self._log.open("wb") as log:
            self._process = await asyncio.create_subprocess_exec(
                *self.command,
                *self.argv,
                cwd=ROOT,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
        try:
            await self._wait_ready(timeout_s)
        except BaseException:
            await self.stop()
            raise

    async def _wait_ready(self, timeout_s: float) -> None:
        assert self._process is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        last = "no answer"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
            while loop.time() < deadline:
                if self._process.returncode is not None:
                    raise RuntimeError(f"the bridge exited while starting:\n{self.log_tail()}")
                try:
                    async with session.get(f"{self.url}/ready") as response:
                        if response.status == 200:
                            return
                        last = f"{response.status} {await response.text()}"
                except (aiohttp.ClientError, TimeoutError) as exc:
                    last = repr(exc)
                await asyncio.sleep(0.2)
        raise RuntimeError(
            f"the bridge was not ready within {timeout_s:g} s (/ready: {last}):\n{self.log_tail()}"
        )

    def memory_kib(self) -> dict[str, int]:
        return memory_kib(self.pid)

    async def stop(self, timeout_s: float = 20.0) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.returncode is None:
            process.terminate()
            try:
                async with asyncio.timeout(timeout_s):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()
        self._log.unlink(missing_ok=True)

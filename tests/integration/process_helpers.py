"""The bridge as operators run it, for the tests that need a separate process: starting
`python -m bridge` on the test session's broker with a management port, and waiting until
it answers its health probe."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tests.kafka_target import KafkaTarget

START_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class BridgeProcess:
    process: subprocess.Popen[bytes]
    url: str
    management_url: str
    #: Where the process logs, when it was started with a log file rather than a pipe.
    log_file: Path | None = None

    def log(self) -> str:
        """Everything the process wrote; from a pipe, only once it has exited."""
        if self.log_file is not None:
            return self.log_file.read_text(errors="replace")
        assert self.process.stderr is not None
        return self.process.stderr.read().decode()


def start_bridge(kafka: KafkaTarget, *flags: str, log_file: Path | None = None) -> BridgeProcess:
    """`python -m bridge` with `flags`. Its log goes to a pipe read at exit, or to `log_file`
    when the process logs more than a pipe holds before the test reads it (the bridge would
    block writing to a full pipe)."""
    port, management_port = free_port(), free_port()
    args = [
        sys.executable,
        "-m",
        "bridge",
        "--bootstrap-servers",
        kafka.bootstrap_servers,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--management-port",
        str(management_port),
        *flags,
    ]
    if not kafka.apache:  # what settings_for_embedded_broker does in-process
        args += ["-D", "kafka.producer.enable.idempotence=false"]
        args += ["-D", "kafka.consumer.session.timeout.ms=6000"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_BRIDGE_")}
    if log_file is None:
        process = subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env)
    else:
        with log_file.open("wb") as log:  # the child keeps its own copy of the descriptor
            process = subprocess.Popen(args, stderr=log, stdout=subprocess.DEVNULL, env=env)
    return BridgeProcess(
        process,
        f"http://127.0.0.1:{port}",
        f"http://127.0.0.1:{management_port}",
        log_file,
    )


async def wait_until_healthy(bridge: BridgeProcess, session: aiohttp.ClientSession) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert bridge.process.poll() is None, bridge.log()
        try:
            async with session.get(f"{bridge.management_url}/healthy") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("the bridge did not start")

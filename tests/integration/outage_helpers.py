"""A broker the outage tests own: stopped and started again on the same port, its data kept
across restarts when it can be.

Tansu keeps data in memory unless given another storage engine; its `s3://` engine keeps it in
an S3 bucket. When `moto` (a test dependency) is installed, a local moto S3 server on a
loopback port holds that bucket, so a restarted broker still has every topic and record, as
Apache Kafka with its log directory would. Without it the broker runs in memory and the tests
that need kept data (marked `persistent_broker`) are skipped.
"""

from __future__ import annotations

import contextlib
import importlib.util
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bridge.embedded_broker import EmbeddedBroker

S3_AVAILABLE = all(importlib.util.find_spec(name) for name in ("moto", "flask", "flask_cors"))

#: On tests that read back, after a restart, what the broker held before it.
persistent_broker = pytest.mark.persistent_broker
needs_persistent_broker = pytest.mark.skipif(
    not S3_AVAILABLE,
    reason="needs a broker that keeps its data across a restart: Tansu keeps it only with "
    "its s3:// storage, for which these tests run a moto S3 server (pip install moto[s3] "
    "flask flask-cors); in-memory Tansu forgets everything when stopped",
)

_BUCKET = "tansu"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_http(url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@contextlib.contextmanager
def s3_server() -> Iterator[str]:
    """A moto S3 server on a loopback port with the broker's bucket; yields its URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(url, timeout_s=30)
        # moto takes unsigned requests: a plain PUT creates the bucket.
        request = urllib.request.Request(f"{url}/{_BUCKET}", method="PUT")
        with urllib.request.urlopen(request, timeout=5):
            pass
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class RestartableBroker:
    """The tests' own broker: `stop()` and `start()` it again at the same address."""

    broker: EmbeddedBroker
    bootstrap_servers: str
    #: True when a restart keeps topics, records and committed offsets.
    persistent: bool

    def stop(self) -> None:
        self.broker.stop()

    def start(self) -> None:
        self.broker.start()


@contextlib.contextmanager
def restartable_broker() -> Iterator[RestartableBroker]:
    port = free_port()
    with contextlib.ExitStack() as stack:
        if S3_AVAILABLE:
            endpoint = stack.enter_context(s3_server())
            broker = EmbeddedBroker(
                port=port,
                storage_engine=f"s3://{_BUCKET}/",
                env={
                    "AWS_ENDPOINT": endpoint,
                    "AWS_ALLOW_HTTP": "true",
                    "AWS_ACCESS_KEY_ID": "test",
                    "AWS_SECRET_ACCESS_KEY": "test",
                    "AWS_DEFAULT_REGION": "us-east-1",
                },
            )
        else:
            broker = EmbeddedBroker(port=port)
        bootstrap_servers = broker.start()
        stack.callback(broker.stop)
        yield RestartableBroker(broker, bootstrap_servers, persistent=S3_AVAILABLE)

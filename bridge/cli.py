"""The `kafka-bridge` command: settings, logging, the development broker, the HTTP server.

This module owns the process lifecycle only; the application itself comes from
`bridge.app.create_app`.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType

from bridge import __version__
from bridge.config import ConfigError, load_settings
from bridge.embedded_broker import (
    EmbeddedBroker,
    EmbeddedBrokerError,
    settings_for_embedded_broker,
)
from bridge.log_format import configure_logging
from bridge.settings import Settings

logger = logging.getLogger("bridge")

_DEV_MODE_BANNER = (
    "*" * 78,
    "DEVELOPMENT MODE: no bootstrap.servers configured.",
    "Started an embedded IN-MEMORY Kafka-compatible broker (Tansu) on {servers}.",
    "Every topic and message is LOST when kafka-bridge exits. Not for production.",
    "For real use set bootstrap.servers (--bootstrap-servers or",
    "KAFKA_BRIDGE_BOOTSTRAP_SERVERS) to your Kafka cluster.",
    "*" * 78,
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bridge until SIGINT/SIGTERM; the exit status: 0, 1 on failure, 2 on bad config."""
    try:
        settings = load_settings(argv)
    except ConfigError as exc:
        print(f"kafka-bridge: configuration error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else 0
    configure_logging(settings)

    broker: EmbeddedBroker | None = None
    with _sigterm_interrupts():
        try:
            if settings.bootstrap_servers is None:
                broker = EmbeddedBroker()
                servers = broker.start()
                for line in _DEV_MODE_BANNER:
                    logger.warning(line.format(servers=servers))
                settings = settings_for_embedded_broker(settings, servers)
            return _serve(settings, embedded=broker is not None)
        except EmbeddedBrokerError as exc:
            logger.error("cannot start the embedded development broker: %s", exc)
            return 1
        except KeyboardInterrupt:
            return 130
        finally:
            if broker is not None:
                logger.info("stopping the embedded development broker")
                broker.stop()


def _serve(settings: Settings, *, embedded: bool) -> int:
    # Imported here so `--help` and configuration errors answer without loading the app.
    from bridge.kafka.client_config import KafkaConfigError
    from bridge.server import serve

    kafka = settings.bootstrap_servers
    if embedded:
        kafka = f"{kafka}, embedded development broker"
    scheme = "https" if settings.tls_cert_file else "http"

    def announce() -> None:
        management = (
            f"; probes and metrics on port {settings.management_port}"
            if settings.management_port is not None
            else ""
        )
        logger.info(
            "kafka-bridge %s listening on %s://%s:%s (Kafka: %s)%s",
            __version__,
            scheme,
            settings.host,
            settings.port,
            kafka,
            management,
        )

    try:
        with asyncio.Runner(loop_factory=_event_loop_factory()) as runner:
            runner.run(serve(settings, announce))
    except (KafkaConfigError, ConfigError) as exc:
        print(f"kafka-bridge: configuration error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        logger.error("kafka-bridge stopped: %s", exc)
        return 1
    return 0


def _event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop where it is installed (it is a dependency on Linux and macOS):
    it parses and writes HTTP traffic with less CPU than asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Until the server installs its own handlers, SIGTERM unwinds like Ctrl-C does, so the
    `finally` in `main` still stops the embedded broker (it runs in its own session)."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)

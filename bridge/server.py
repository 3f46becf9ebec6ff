"""The HTTP server of a running bridge: the API listener (HTTPS when configured), the optional
management listener, and the graceful shutdown that SIGTERM or SIGINT starts.

Shutdown order: both listeners stop accepting; requests in flight get up to
`http.shutdown.timeout.ms` to finish; then the app's cleanup closes every consumer instance
(committing what was handed out) and flushes and closes the producer.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import ssl
from collections.abc import Callable

from aiohttp import web

from bridge.app import create_app, create_management_app
from bridge.memory import resident_memory_kept_low
from bridge.metrics import METRICS
from bridge.settings import Settings
from bridge.tls import server_ssl_context

log = logging.getLogger(__name__)

#: The management listener only serves probes and metrics, which finish at once.
MANAGEMENT_SHUTDOWN_TIMEOUT_S = 1.0


async def serve(settings: Settings, on_listening: Callable[[], None]) -> None:
    """Serve until SIGTERM or SIGINT, then shut down gracefully."""
    # Bad TLS files fail before the bridge connects to Kafka.
    ssl_context = server_ssl_context(settings)
    app = create_app(settings)
    async with resident_memory_kept_low():
        await _serve_until_signalled(settings, app, ssl_context, on_listening)
    log.info("kafka-bridge stopped")


async def _serve_until_signalled(
    settings: Settings,
    app: web.Application,
    ssl_context: ssl.SSLContext | None,
    on_listening: Callable[[], None],
) -> None:
    shutdown_timeout_s = settings.shutdown_timeout_ms / 1000
    runners: list[web.AppRunner] = []
    try:
        api = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=shutdown_timeout_s
        )
        runners.append(api)
        await api.setup()  # starts the Kafka services (cleanup_ctx)
        if api.server is not None:
            app[METRICS].watch_server(api.server)
        await web.TCPSite(api, settings.host, settings.port, ssl_context=ssl_context).start()
        if settings.management_port is not None:
            management = web.AppRunner(
                create_management_app(app),
                access_log=None,
                handle_signals=False,
                shutdown_timeout=MANAGEMENT_SHUTDOWN_TIMEOUT_S,
            )
            runners.insert(0, management)
            await management.setup()
            management_host = settings.management_host or settings.host
            await web.TCPSite(management, management_host, settings.management_port).start()
        # Everything alive now (modules, codecs, compiled validators) lives as long as the
        # process: moved out of the collector's reach, full collections stay short, which
        # is what the latency of small requests hinges on (docs/performance.md).
        gc.freeze()
        on_listening()
        await _until_signalled()
        log.info(
            "shutting down: no new connections; requests in flight get up to %.1f s",
            shutdown_timeout_s,
        )
    finally:
        for runner in runners:
            await runner.cleanup()


async def _until_signalled() -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
